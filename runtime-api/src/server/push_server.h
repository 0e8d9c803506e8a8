// The push server: an HTTP server inside the function's process for the push platforms (FC,
// HTTP containers). It turns each request into an invocation through a platform adapter
// (push_adapter.h) and hands invocations to the language adapters through an in-process
// transport that speaks the Lambda Runtime API, so that every language runs unchanged.
#pragma once

#include "server/push_adapter.h"

#include "lamella/error.h"
#include "lamella/outcome.h"
#include "lamella/platform.h"
#include "lamella/transport.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace lamella::push {

/// Runs a set of lifecycle hooks; returns the first failure, nullopt when all succeeded.
using hook_runner = std::function<std::optional<outcome>()>;

/// Settings of one server beyond the platform's.
struct server_options {
  /// Stop on SIGTERM and SIGINT (the process-wide server does; tests do not).
  bool handle_signals = false;
  /// After a stop (and the shutdown hooks), end the process: exit status 0, or 1 when init
  /// failed. For language adapters that cannot tell a platform shutdown from a lost Runtime API;
  /// C++ run() turns it off and returns instead.
  bool exit_process_when_stopped = false;
  /// The shutdown hooks (run by `GET /pre-stop` and after a stop) and the pre-freeze hooks.
  hook_runner shutdown_hooks;    ///< empty = detail::run_shutdown_hooks
  hook_runner pre_freeze_hooks;  ///< empty = detail::run_pre_freeze_hooks
};

/// An invocation's handler run by the server itself (server::serve_directly()).
using direct_handler = std::function<outcome(const invocation&)>;

/// The push server. Listens on construction; its I/O threads own the sockets; invocations wait in
/// a bounded queue until a loop's in-process transport asks for `/next`.
/// Thread-safe: every public member may be called from any thread. Transports it made must not be
/// used after the server is destroyed.
class server {
 public:
  /// Binds `settings.listen_address:settings.port` (TCP_NODELAY on every connection), or, when
  /// `settings.unix_socket` is set (Fn), listens on `phony<name>` in that path's directory, makes
  /// it mode 0666 and links `<name>` to it (relatively, made under a temporary name and renamed
  /// into place); a stop removes both names. When the environment variable LAMELLA_LISTEN_FD
  /// names an inherited listening TCP socket, the server adopts that socket instead of binding
  /// (then closes it on exec and unsets the variable): the bootstrap hands its Fission
  /// specialisation socket over this way, and a supervisor can use it for socket activation.
  /// Starts the I/O thread and prints `lamella: <platform> platform listening on
  /// <address>:<port>` (or `on unix:<path>`) to stderr.
  /// Errors: invalid_configuration (the address does not parse, bind/listen/chmod/link failed,
  /// or LAMELLA_LISTEN_FD is not a listening TCP socket; the system error is printed).
  static result<std::unique_ptr<server>> start(const platform_settings& settings,
                                               std::unique_ptr<adapter> platform_adapter,
                                               server_options options = {});

  /// Stops as request_stop() does, waits for the stop to complete, and joins the threads.
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// The port listened on (the real one when 0 was asked); 0 on a UNIX socket.
  [[nodiscard]] std::uint16_t port() const noexcept;

  /// A transport for one loop's lambda_client: `GET /next` blocks until an invocation is queued
  /// (or returns errc::shutting_down once the server has stopped); `POST .../{id}/response` and
  /// `.../error` answer that invocation's HTTP request (202; 400 for an unknown or expired id);
  /// poll_next() takes an invocation without waiting (an event loop), and on_ready() sets what
  /// the server calls once one is queued after a poll found none. `POST /runtime/init/error` puts
  /// the server in the failed-init state and then blocks until the server has stopped, as Lambda
  /// ends an environment whose init failed. A streamed response (begin_chunked on
  /// `.../{id}/response`) is gathered and answers the invocation when it ends (streamed_outcome());
  /// error trailers fail it; abort_chunked() fails it with Runtime.ResponseStreamAborted. Each loop
  /// needs its own transport.
  std::unique_ptr<transport> make_transport();

  /// Runs invocations by calling `handler` on worker threads of the server's own instead of
  /// handing them to loops through transports: C++ handlers, which need no thread of their own,
  /// save the two thread hand-offs per request that a loop costs. Starts `limit` (at least 1)
  /// workers, each an I/O context and thread: a new connection goes to a worker with none, else
  /// to the one with the fewest, and its invocations run inline on that worker's thread, one at a
  /// time; a connection that arrives while every worker is running a handler stays on the main
  /// I/O thread, and its invocations wait in the queue for a free worker (the queue limit
  /// applies, then on_overload()). So at most `limit` run at once, health checks are answered
  /// while all are busy, and an invocation that outlives its deadline is answered (on_timeout(),
  /// written on its socket by the main I/O thread with Connection: close) while its handler still
  /// runs. Marks the function's init as done. Call it once, instead of running loops. `handler`
  /// should not throw (an exception becomes a Runtime.HandlerError outcome) and runs on several
  /// threads at once when `limit` > 1.
  void serve_directly(direct_handler handler, unsigned limit);

  /// How many invocations serve_directly()'s handler is running now (those that outlived the
  /// grace period of a stop included).
  [[nodiscard]] std::size_t handlers_running();

  /// Begins a graceful stop, as SIGTERM does: stop accepting, close idle connections, let the
  /// queued and running invocations finish within the grace period, answer what is left with
  /// on_timeout()/on_overload(), then run the shutdown hooks. Returns at once; idempotent.
  void request_stop();

  /// Blocks until a stop has completed (the shutdown hooks included).
  void wait();

  /// Whether exiting is left to the caller (see server_options::exit_process_when_stopped).
  void set_exit_process_when_stopped(bool exit) noexcept;

  class impl;

 private:
  explicit server(std::shared_ptr<impl> p) noexcept;
  std::shared_ptr<impl> impl_;
};

/// The process-wide server for a push platform (fc, http), started on first use from the process
/// environment (platform_from_env) with signal handling and the platform's adapter. Later calls
/// return the same server; `exit_process_when_stopped` is taken from the first call.
/// Errors: invalid_configuration (not a push platform, or the server could not start).
/// Thread-safe.
result<server*> server_for_process(bool exit_process_when_stopped);

/// The adapter of a push platform, with the function's settings. REQUIRES: is_push(kind).
std::unique_ptr<adapter> make_platform_adapter(const platform_settings& settings);

}  // namespace lamella::push
