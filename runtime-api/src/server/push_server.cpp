// The push server (push_server.h): Beast sessions on the I/O threads, a bounded queue shared with
// the loops' in-process transports (or run by the server's workers: serve_directly()), and the
// lifecycle (initialize, pre-stop, pre-freeze, SIGTERM).
//
// Threads. One I/O thread runs `io_`: the acceptor, the signals, the grace timer, the watchdog
// and the stop sequence live on its `strand_`, and the sessions on `io_` itself (their reads,
// writes and timers). serve_directly() adds one worker per handler slot: an I/O context and
// thread of its own, owning connections (one each while workers are free) whose invocations run
// inline on that thread. The watchdog answers every invocation that outlives its deadline (one
// 10 ms sweep instead of a timer per invocation, whose arming and cancelling cost the I/O thread
// and every loop a hand-off per request). Each session's members run on its executor's one thread
// only. What sessions share with each other and with the loops is guarded by `mutex_`: the
// connection list, the busy count, the queue, the running invocations, the init state and the
// stop flags. The loops (the Python loop, C++ threads with max_invocations) call into the server
// through in_process_transport::send(); Node's event loop polls it (poll_next()) and is woken
// through the ready function when it found nothing. A job is answered exactly once: by whoever
// removes it from `queue_`/`running_` under the mutex; the answer is then written on its session's
// executor (or, for an inline job cut off while its handler runs, on its socket by that remover).
// Lifecycle hooks run on their own thread (`hooks_`), never on an I/O thread, so a slow hook
// does not stop the server from answering.
#include "server/push_server.h"

#include "client/lambda_protocol.h"
#include "common/base64.h"
#include "common/lifecycle.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <list>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lamella::push {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
// Connections are TCP or, on Fn, a UNIX socket: one generic protocol carries both, so that the
// acceptor and the sessions are the same code either way.
using stream_protocol = net::generic::stream_protocol;
using steady = std::chrono::steady_clock;

/// How often the watchdog looks for connections past their read or write deadline: a deadline is
/// enforced at most this late. (A timer per read or write, as beast::basic_stream arms, cost a
/// sixth of the server's own time per request: an armed and a cancelled wait on the reactor's
/// timer queue, and a completion handler, for every operation.)
constexpr unsigned sweep_every_ticks = 10;  // watchdog ticks of 10 ms

/// How many bytes of a streamed response may wait for a slow client before the handler's writes
/// wait (as a socket's buffer makes a writer wait).
constexpr std::size_t stream_buffer_limit = 1024 * 1024;

/// After an error answer (431, 413) the request's remaining bytes are read and dropped for at
/// most this long before closing: closing with unread input makes the kernel send a reset, which
/// can destroy the answer before the client reads it.
constexpr auto linger_time = std::chrono::seconds(2);
/// After the grace period, how long the last answers (on_timeout, on_overload) may take to write.
constexpr auto final_write_time = std::chrono::milliseconds(500);

/// Names an inherited listening socket the server adopts instead of binding (push_server.h).
constexpr const char* listen_fd_variable = "LAMELLA_LISTEN_FD";

void fail(beast::error_code ec, const char* what) {
  std::fprintf(stderr, "lamella: push server: %s: %s\n", what, ec.message().c_str());
}

/// Calls an adapter member; an exception becomes a 500 (exceptions never unwind through an Asio
/// handler).
template <class F>
reply guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lamella: push adapter threw: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "lamella: push adapter threw\n");
  }
  reply r;
  r.status = 500;
  r.headers.emplace_back("Content-Type", "text/plain");
  r.body = "internal error\n";
  return r;
}

reply plain_reply(unsigned status, std::string_view text) {
  reply r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain");
  r.body = std::string(text) + "\n";
  return r;
}

http_response api_response(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

/// Lambda's refusal of a post for an invocation that is unknown, already answered or timed out.
http_response invalid_request_id() {
  return api_response(400,
                      R"({"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"})");
}

/// How an answer ends its connection (write_reply()).
enum class framing {
  keep_alive,          ///< HTTP/1.1 keeps the connection without a Connection header
  keep_alive_http_10,  ///< an HTTP/1.0 client asked to keep it: said explicitly
  close,               ///< Connection: close
};

/// Appends `r` to `out` as an HTTP/1.1 response: the status line, the reply's headers (less the
/// framing ones, which are the server's own), Content-Length, Connection. No body for HEAD
/// (`head`), nor for a status that cannot have one (1xx, 204, 304), which has no Content-Length
/// either.
/// The status (500 for one out of range) and whether an answer with it has no body (1xx, 204,
/// 304).
std::pair<unsigned, bool> answer_status(const reply& r) {
  const auto status = r.status >= 100 && r.status <= 999 ? r.status : 500U;
  return {status, status < 200 || status == 204 || status == 304};
}

/// Appends the status line and the reply's headers, less the framing ones, to `out`.
void write_status_and_headers(const reply& r, unsigned status, std::string& out) {
  char digits[16];
  out.append("HTTP/1.1 ");
  out.append(digits, std::to_chars(digits, digits + sizeof digits, status).ptr);
  out.push_back(' ');
  const auto reason = http::obsolete_reason(http::int_to_status(status));
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  for (const auto& [name, value] : r.headers) {
    if (is_framing_header(name)) continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
}

void write_reply(const reply& r, framing how, bool head, std::string& out) {
  const auto [status, bodiless] = answer_status(r);
  char digits[16];
  write_status_and_headers(r, status, out);
  if (!bodiless) {
    out.append("Content-Length: ");
    out.append(digits, std::to_chars(digits, digits + sizeof digits, r.body.size()).ptr);
    out.append("\r\n");
  }
  if (how == framing::close) out.append("Connection: close\r\n");
  if (how == framing::keep_alive_http_10) out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
  if (!bodiless && !head) out.append(r.body);
}

/// Appends `bytes` to `out` as one chunk of a chunked body (nothing for no bytes: an empty chunk
/// would end the body).
void append_chunk(std::string_view bytes, std::string& out) {
  if (bytes.empty()) return;
  char digits[16];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, bytes.size(), 16).ptr);
  out.append("\r\n").append(bytes).append("\r\n");
}

std::string_view header_of(const http_request& req, std::string_view name) {
  for (const auto& [n, v] : req.headers) {
    if (iequals(n, name)) return v;
  }
  return {};
}

}  // namespace

class session;

/// One invocation from its request to its answer.
struct job {
  job(std::shared_ptr<session> s, request r) : owner(std::move(s)), req(std::move(r)) {}
  std::shared_ptr<session> owner;
  request req;
  invocation inv;
  // Run inline on its session's worker thread (serve_directly()); whoever takes it out
  // of running_ other than that thread writes the answer on `fd` itself, then sets cut_off.
  bool runs_inline = false;
  int fd = -1;
  std::atomic<bool> cut_off{false};
  // A response streamed to the client (adapter::streams()): the bytes the handler wrote that are
  // not yet in the socket (the handler waits while there are too many), and whether the
  // connection is gone (its writes then fail).
  std::atomic<std::size_t> unsent{0};
  std::atomic<bool> broken{false};
};

/// serve_directly(): a handler slot with an I/O context and thread of its own. The connections it
/// owns (one each while there are free workers) have their invocations run inline on its thread;
/// when idle it also runs invocations queued by connections the main I/O thread serves.
struct worker {
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(io);
  std::thread thread;
  std::atomic<unsigned> sessions{0};  // connections it owns
  bool running = false;               // a handler runs on its thread; guarded by impl::mutex_
};

/// `socket` (left without a descriptor) as a socket of `w`'s context, so that `w`'s thread alone
/// serves it. On failure `ec` is set and the socket returned is closed.
stream_protocol::socket move_socket(stream_protocol::socket& socket, worker& w,
                                    beast::error_code& ec) {
  stream_protocol::socket moved(w.io);
  const auto local = socket.local_endpoint(ec);
  const int fd = ec ? -1 : socket.release(ec);
  if (fd < 0) return moved;
  moved.assign(local.protocol(), fd, ec);
  if (ec) ::close(fd);
  return moved;
}

class server::impl : public std::enable_shared_from_this<server::impl> {
 public:
  impl(const platform_settings& settings, std::unique_ptr<adapter> a, server_options options)
      : settings_(settings),
        function_arn_("arn:aws:lambda:" + settings.function.region + ":" +
                      settings.function.account_id + ":function:" + settings.function.name),
        adapter_(std::move(a)),
        options_(std::move(options)),
        work_(net::make_work_guard(io_)),
        acceptor_(io_),
        grace_timer_(strand_),
        exit_when_stopped_(options_.exit_process_when_stopped) {
    if (!options_.shutdown_hooks) options_.shutdown_hooks = detail::run_shutdown_hooks;
    if (!options_.pre_freeze_hooks) options_.pre_freeze_hooks = detail::run_pre_freeze_hooks;
  }

  result<void> listen();
  /// Fn's socket dance (platform-contracts.md §12): listen on `phony<name>` in the socket's
  /// directory, make it 0666, then link `<name>` to it (relative), so that the agent, which waits
  /// for `<name>` to appear, never connects before listen() or before the permissions are set.
  result<void> listen_unix();
  /// Removes the socket files listen_unix() made (on stop: the FDK contract asks for it).
  void remove_socket_files() noexcept;
  /// Adopts the inherited listening TCP socket LAMELLA_LISTEN_FD names (`fd_text`).
  result<void> adopt(const char* fd_text);
  /// After the acceptor listens: signals, the "listening on `where`" line, the first accept.
  result<void> start_listening(const std::string& where);
  void run_thread() {
    thread_ = std::thread([this] { io_.run(); });
  }
  // After wait(): every socket and timer is closed, so the I/O threads run out of work.
  void shutdown_threads() {
    hooks_.join();
    work_.reset();
    if (thread_.joinable()) thread_.join();
    for (auto& w : workers_) {
      w->work.reset();
      if (w->thread.joinable()) w->thread.join();
    }
  }

  // Any thread.
  void request_stop() {
    // At once, not only in begin_stop(): the strand may run it after an answer that was posted
    // later (when the strand is busy, its next handler waits for its invoker to be posted again),
    // and that answer must already say Connection: close.
    stopping_ = true;
    net::post(strand_, [self = shared_from_this()] { self->begin_stop(); });
  }
  void serve_directly(direct_handler handler, unsigned limit);
  [[nodiscard]] std::size_t handlers_running() {
    const std::lock_guard lock(mutex_);
    return direct_running_;
  }
  void wait() {
    std::unique_lock lock(mutex_);
    finished_cv_.wait(lock, [&] { return finished_; });
  }
  std::uint16_t port() const noexcept { return port_; }
  void set_exit(bool exit) noexcept { exit_when_stopped_ = exit; }

  // Loop threads (through in_process_transport).
  result<http_response> next();
  result<std::optional<invocation>> poll_next(unsigned idle);
  void set_ready(std::function<void()> ready);
  http_response complete(std::string_view request_id, const outcome& o);
  /// Takes the job `request_id` names out of running_ (nullptr: unknown, already answered or
  /// timed out); under mutex_.
  std::shared_ptr<job> take_running(std::string_view request_id);
  /// Answers `j`, taken out of running_, with `o` (adapter_->on_outcome()).
  void answer_outcome(const std::shared_ptr<job>& j, const outcome& o);
  http_response init_failed(outcome o);
  // A response streamed to the client as the handler writes it (adapter::streams()); called on
  // the handler's thread, between begin_chunked() and end_chunked() of the in-process transport.
  /// The running job `request_id` names if its response is streamed to the client; nullptr when
  /// it is not running, runs inline, or the adapter gathers streamed responses.
  std::shared_ptr<job> streaming_job(std::string_view request_id);
  /// Sends `head` and the first bytes; waits while too much is unsent (stream_write()).
  void stream_start(const std::shared_ptr<job>& j, reply head, std::string first);
  /// Sends `bytes` as one chunk, then waits while more than stream_buffer_limit bytes are not
  /// yet in the socket. Errors: runtime_api_unreachable (the client's connection is gone).
  result<void> stream_write(const std::shared_ptr<job>& j, std::string_view bytes);
  /// Ends the stream (`ok`: completely; else the connection closes): 202, or Lambda's 400 when
  /// the invocation was answered meanwhile (its deadline, a stop).
  http_response stream_finish(const std::shared_ptr<job>& j, bool ok);

  // Sessions (each on its executor's thread).
  void on_request(const std::shared_ptr<session>& s, request req);
  void on_reply_written(bool counted);
  /// serve_directly(): hands the main-thread connection `s` (between two requests) to a worker
  /// whose handler is not running, if there is one; false when `s` stays.
  bool move_to_worker(session& s);
  [[nodiscard]] const platform_settings& settings() const noexcept { return settings_; }
  [[nodiscard]] bool stopping() const noexcept { return stopping_; }

 private:
  // strand_.
  bool track(const std::shared_ptr<session>& s);
  void accept();
  void begin_stop();
  void force_stop();
  void maybe_finish();
  void finish_stop();
  // Any thread.
  void answer(const std::shared_ptr<job>& j, reply r);  // written on its session's executor
  /// Takes `j` from the queue's side into running_ (its deadline set); under mutex_.
  void start_running(const std::shared_ptr<job>& j);
  /// The Runtime API's /next answer for a job start_running() took.
  http_response next_response(const std::shared_ptr<job>& j);
  // serve_directly().
  /// A worker without a connection, now counted as having one; nullptr when none is free.
  worker* claim_worker();
  /// On `w`'s thread: runs `j` (a request of the connection `w` owns), then drains the queue.
  void run_inline(worker& w, const std::shared_ptr<job>& j);
  /// On `w`'s thread: runs queued invocations until the queue is empty, then frees `w`.
  void drain(worker& w);
  /// Calls the direct handler; an exception becomes a function error.
  outcome call_direct(const invocation& inv) noexcept;
  /// Gives an idle worker the queue to drain (a connection of the main I/O thread queued one).
  void wake_idle_worker();
  /// Answers `j`, which was taken out of running_ while it may still run: through its session,
  /// or for an inline job by writing on its socket from this thread (its own is in the handler).
  void answer_cut_off(const std::shared_ptr<job>& j, reply r);
  /// Blocks while more than stream_buffer_limit bytes of `j`'s stream are not in the socket.
  static void wait_for_room(job& j);
  /// Every 10 ms: answers the inline jobs whose deadline has passed (on_timeout).
  void watch();
  /// Closes the connections whose read or write is past its deadline (every few watch() ticks).
  void close_overdue_connections();
  /// Calls the polling loop's ready function if a poll armed it (the end of the server).
  void wake_poller();
  void run_hook(const std::shared_ptr<session>& s, request req, dispatch::kind hook);
  void end_init_wait(const std::optional<outcome>& failure);
  std::string new_request_id();
  // Log marks (adapter::log_line, e.g. FC's "FC Invoke Start RequestId:"): any thread.
  void mark(log_mark what, const request& req, std::string_view request_id) const noexcept;

  const platform_settings settings_;
  const std::string function_arn_;  // for invocations whose adapter set none
  const std::unique_ptr<adapter> adapter_;
  server_options options_;

  net::io_context io_;
  net::strand<net::io_context::executor_type> strand_ = net::make_strand(io_);
  net::executor_work_guard<net::io_context::executor_type> work_;
  net::basic_socket_acceptor<stream_protocol> acceptor_;
  // Fn: set by listen() before the I/O thread starts, then the I/O thread's (remove_socket_files).
  std::filesystem::path socket_link_;   // the socket path the platform named (the link)
  std::filesystem::path socket_phony_;  // the socket file itself
  std::optional<net::signal_set> signals_;
  net::steady_timer grace_timer_;
  net::thread_pool hooks_{1};
  std::thread thread_;
  net::steady_timer watchdog_{strand_};
  std::uint16_t port_ = 0;
  std::string adopted_where_;  // "address:port" of an adopted socket (adopt())
  std::atomic<bool> exit_when_stopped_;
  std::atomic<bool> stopping_ = false;  // set by request_stop() or on strand_; read anywhere

  // strand_ only.
  bool stop_begun_ = false;
  bool stop_finished_ = false;
  unsigned sweep_ticks_ = 0;  // watch() ticks, for close_overdue_connections()

  // Shared by the sessions and the loops; guarded by mutex_.
  std::mutex mutex_;
  // Requests read and not yet answered, and whether init failed (init_failure_ is then set):
  // atomic, so that a request's start and end need not take mutex_ (two workers contended for it).
  std::atomic<std::size_t> busy_{0};
  std::atomic<bool> init_failed_{false};
  std::list<std::weak_ptr<session>> sessions_;
  std::vector<std::pair<std::shared_ptr<session>, request>> init_waiters_;
  direct_handler direct_;  // set by serve_directly(): the workers run invocations
  std::vector<std::unique_ptr<worker>> workers_;  // set with direct_, then never changed
  std::size_t next_worker_ = 0;                   // where claim_worker() looks first
  unsigned direct_running_ = 0;                   // handlers running on workers
  // Two condition variables, because notify_one() on a shared one could wake a wait()er instead
  // of a loop, and the job would wait for the next notification (seen: an invocation never ran).
  std::condition_variable queue_cv_;     // loops in next(): queue_ gained a job, or stopped_
  std::condition_variable finished_cv_;  // wait() and init_failed(): finished_ became true
  std::deque<std::shared_ptr<job>> queue_;
  std::unordered_map<std::string, std::shared_ptr<job>> running_;
  std::size_t waiting_loops_ = 0;  // loops blocked in next()
  // An event loop polling (poll_next()): what to call once when an invocation is queued after a
  // poll found none (`ready_armed_`), and how many of its slots were free at its last poll
  // (room, as waiting loops are: the queued invocations those slots will take are in the queue's
  // size, so queuing one does not count it down as well).
  std::function<void()> ready_;
  bool ready_armed_ = false;
  std::size_t polling_idle_ = 0;
  enum class init_state { pending, done, failed } init_ = init_state::pending;
  std::optional<outcome> init_failure_;
  bool stopped_ = false;   // no more invocations: next() ends
  bool finished_ = false;  // the stop is complete, shutdown hooks included
};

//------------------------------------------------------------------------------------------------
// One HTTP/1.1 connection: read a request (head, then body), hand it to the server, write the one
// answer the server gives back (maybe much later), repeat while keep-alive. I/O thread only.

class session : public std::enable_shared_from_this<session> {
 public:
  /// `home`: the worker whose context `socket` belongs to, or nullptr (the main I/O thread's).
  session(server::impl& owner, stream_protocol::socket socket, worker* home)
      : owner_(owner), socket_(std::move(socket)), home_(home) {}
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  session(session&&) = delete;
  session& operator=(session&&) = delete;
  ~session() {
    if (home_ != nullptr) --home_->sessions;  // the worker is free for another connection
  }

  [[nodiscard]] worker* home() const noexcept { return home_; }

  /// Between two requests of a main-thread connection: a session on `w`'s context that takes
  /// over the socket, what was read ahead, and the peer; this one is left closed without a
  /// socket. The caller starts the new one on its executor (resume()).
  std::shared_ptr<session> move_to(worker& w) {
    beast::error_code ec;
    auto moved = move_socket(socket_, w, ec);
    if (ec) {
      fail(ec, "moving a connection to a worker");
      closed_ = true;
      return nullptr;
    }
    auto next = std::make_shared<session>(owner_, std::move(moved), &w);
    next->remote_ = std::move(remote_);
    next->first_ = false;
    const auto ahead = buffer_.size();
    next->buffer_.commit(net::buffer_copy(next->buffer_.prepare(ahead), buffer_.data()));
    closed_ = true;
    return next;
  }

  /// Starts reading the next request (a session move_to() made), on its executor.
  void resume() { read_head(); }
  /// The socket's descriptor (for an answer written from another thread: impl::answer_cut_off).
  [[nodiscard]] int native_handle() { return socket_.native_handle(); }

  /// Whether the read or write in progress is past its deadline at `now`. Any thread.
  [[nodiscard]] bool overdue(steady::time_point now) const noexcept {
    return deadline_.load(std::memory_order_relaxed) <= now.time_since_epoch().count();
  }

  /// Closes the connection if it is still overdue (the watchdog saw it so from another thread;
  /// the operation may have completed since). The pending operation ends with operation_aborted.
  void close_if_overdue() {
    if (overdue(steady::now())) close();
  }

  void start() {
    beast::error_code ec;
    const auto peer = socket_.remote_endpoint(ec);
    const int family = ec ? AF_UNSPEC : peer.protocol().family();
    if (family == AF_INET || family == AF_INET6) {
      // The generic endpoint holds a sockaddr_in(6): read its address as TCP's.
      tcp::endpoint ip;
      if (peer.size() <= ip.capacity()) {
        std::memcpy(ip.data(), peer.data(), peer.size());
        ip.resize(peer.size());
        remote_ = ip.address().to_string();
      }
      socket_.set_option(tcp::no_delay(true), ec);
    } else {
      remote_ = "127.0.0.1";  // a UNIX socket's peer is on this machine and has no address
    }
    read_head();
  }

  /// Writes `r` as the answer to the current request; `counted` when the server counted the
  /// request as busy. Keeps the connection unless the client or the server wants it closed.
  void respond(const reply& r, bool counted) {
    // An answer while a response streams (the invocation was cut off: its deadline, a stop): the
    // head went out already, and only closing tells the client the body is cut short.
    if (streaming_) close();
    if (closed_) {
      owner_.on_reply_written(counted);
      return;
    }
    keep_alive_ = keep_alive_ && !owner_.stopping();
    out_.clear();
    write_reply(r,
                !keep_alive_ ? framing::close
                : http_10_   ? framing::keep_alive_http_10
                             : framing::keep_alive,
                head_, out_);
    send_out([this, counted](beast::error_code ec) { on_write(ec, counted); });
  }

  /// Starts the streamed answer of `j` (impl::stream_start()): `head`, framed chunked (for an
  /// HTTP/1.0 client, ended by closing instead), then `first` as the first chunk.
  void stream_head(const std::shared_ptr<job>& j, const reply& head, std::string_view first) {
    if (closed_) return mark_broken(*j);
    streaming_ = true;
    stream_job_ = j;
    keep_alive_ = keep_alive_ && !owner_.stopping() && !http_10_;
    const auto [status, bodiless] = answer_status(head);
    stream_chunked_ = !http_10_;
    stream_discard_ = head_ || bodiless;
    write_status_and_headers(head, status, stream_pending_);
    if (!stream_discard_ && stream_chunked_)
      stream_pending_.append("Transfer-Encoding: chunked\r\n");
    if (!keep_alive_) stream_pending_.append("Connection: close\r\n");
    stream_pending_.append("\r\n");
    stream_chunk(first);
  }

  /// Sends `bytes` of the streamed answer as one chunk.
  void stream_chunk(std::string_view bytes) {
    if (!streaming_) return;  // closed since: the job is marked broken
    if (stream_discard_) return stream_sent(bytes.size());
    if (stream_chunked_) {
      append_chunk(bytes, stream_pending_);
    } else {
      stream_pending_.append(bytes);
    }
    stream_pending_payload_ += bytes.size();
    stream_flush();
  }

  /// Ends the streamed answer: when `ok`, with the last chunk, and the connection goes on; else
  /// by closing the connection (the client sees the body cut short, as from a function URL).
  void stream_end(bool ok) {
    if (!streaming_ || !ok) {
      close();
      return owner_.on_reply_written(true);
    }
    if (stream_chunked_ && !stream_discard_) stream_pending_.append("0\r\n\r\n");
    stream_ending_ = true;
    stream_flush();
  }

  /// Whether a request is between its read and its answer.
  [[nodiscard]] bool busy() const noexcept { return busy_; }

  /// The session's executor (the main I/O context's, or its worker's; one thread runs either):
  /// every member but executor() runs on it.
  [[nodiscard]] net::any_io_executor executor() { return socket_.get_executor(); }

  /// Closes the connection now (pending operations end with operation_aborted).
  void close() {
    if (closed_) return;
    closed_ = true;
    streaming_ = false;
    if (auto j = std::exchange(stream_job_, nullptr)) mark_broken(*j);
    beast::error_code ec;
    socket_.shutdown(stream_protocol::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  void read_head() {
    http_10_ = false;
    head_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(owner_.settings().header_limit));
    parser_->body_limit(owner_.settings().body_limit);
    // The first request must come within the header timeout (slow clients); later ones within the
    // idle timeout of a keep-alive connection.
    expire_in(first_ ? owner_.settings().header_timeout : owner_.settings().idle_timeout);
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_head(ec); });
  }

  void on_head(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    first_ = false;
    const auto& head = parser_->get();
    const auto expect = head[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      // curl waits for this before sending a body over 1 MiB.
      static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
      expire_in(owner_.settings().io_timeout);
      net::async_write(socket_, net::buffer(continue_line.data(), continue_line.size()),
                       [self = shared_from_this()](beast::error_code wec, std::size_t) {
                         if (wec) return self->close();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    // What was read with the head may hold the whole body (always, for a request without one):
    // parsed here, without an asynchronous operation.
    if (!parser_->is_done() && buffer_.size() != 0) {
      parser_->eager(true);
      beast::error_code ec;
      buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec && ec != http::error::need_more) return on_read_error(ec);
    }
    if (parser_->is_done()) return on_body({});
    expire_in(owner_.settings().io_timeout);
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    expire_never();  // the handler's time is the invocation's deadline (impl::watch())
    auto message = parser_->release();
    keep_alive_ = message.keep_alive();
    http_10_ = message.version() < 11;
    head_ = message.method() == http::verb::head;
    request req;
    req.method = std::string(message.method_string());
    req.target = std::string(message.target());
    req.headers.reserve(16);
    for (const auto& field : message) {
      req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    req.body = std::move(message.body());
    req.remote_address = remote_;
    busy_ = true;
    owner_.on_request(shared_from_this(), std::move(req));
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::header_limit) return refuse(431, "request header fields too large");
    if (ec == http::error::body_limit) return refuse(413, "payload too large");
    // The peer closed, the watchdog closed it past its deadline (a slow or idle client), or the
    // server is stopping: all expected. A parse error gets a 400.
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == net::error::eof || ec == net::error::connection_reset || closed_) {
      return close();
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
      return refuse(400, "bad request");
    }
    close();
  }

  /// Answers an unreadable request and closes the connection after a lingering read.
  void refuse(unsigned status, std::string_view text) {
    keep_alive_ = false;
    lingering_ = true;
    respond(plain_reply(status, text), false);
  }

  void on_write(beast::error_code ec, bool counted) {
    expire_never();
    busy_ = false;
    owner_.on_reply_written(counted);
    if (ec) {
      if (ec != net::error::operation_aborted) fail(ec, "write");
      return close();
    }
    if (lingering_) return linger();
    if (!keep_alive_ || owner_.stopping()) return close();
    // A connection the main I/O thread took because every worker was running a handler moves to
    // a worker as soon as one is free, between two requests (impl::move_to_worker()).
    if (home_ == nullptr && owner_.move_to_worker(*this)) return;
    read_head();
  }

  /// Half-closes, then reads and drops what the client still sends, for a bounded time.
  void linger() {
    beast::error_code ec;
    socket_.shutdown(stream_protocol::socket::shutdown_send, ec);
    expire_in(linger_time);
    drain();
  }
  void drain() {
    socket_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }

  /// The connection of a streaming job is gone: its writes fail from now on, and it waits no more.
  static void mark_broken(job& j) {
    j.broken = true;
    j.unsent = 0;
    j.unsent.notify_all();
  }

  /// `n` bytes of the streamed answer are in the socket (or dropped: HEAD): room for the handler.
  void stream_sent(std::size_t n) {
    if (!stream_job_) return;
    stream_job_->unsent -= n;
    stream_job_->unsent.notify_all();
  }

  /// Writes what the streamed answer has pending; when it has ended and all is sent, the request
  /// is answered (on_write()).
  void stream_flush() {
    if (stream_writing_ || closed_) return;
    if (stream_pending_.empty()) {
      if (!stream_ending_) return;
      streaming_ = false;
      stream_ending_ = false;
      stream_job_.reset();
      return on_write({}, true);
    }
    std::swap(out_, stream_pending_);
    stream_pending_.clear();
    const std::size_t payload = std::exchange(stream_pending_payload_, 0);
    stream_writing_ = true;
    send_out([this, payload](beast::error_code ec) {
      stream_writing_ = false;
      if (ec) return stream_failed();
      out_.clear();
      stream_sent(payload);
      stream_flush();
    });
  }

  /// A write of the streamed answer failed: the connection closes. If the handler had ended the
  /// stream, this is the request's answer; else its end (stream_end()) will be.
  void stream_failed() {
    const bool ended = std::exchange(stream_ending_, false);
    close();
    if (ended) owner_.on_reply_written(true);
  }

  /// Writes out_ (answers and streamed chunks alike), then calls `done(ec)`. Most writes fit in
  /// the socket's send buffer: sent at once, without an asynchronous operation; the remainder of
  /// one that does not is written asynchronously under the write timeout (`done` then runs from
  /// that completion, the session kept alive meanwhile).
  template <class Done>
  void send_out(Done done) {
    beast::error_code ec;
    if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
    const std::size_t sent = ec ? 0 : socket_.send(net::buffer(out_), 0, ec);
    if (ec == net::error::would_block || ec == net::error::try_again) ec = {};
    if (ec || sent == out_.size()) return done(ec);
    expire_in(owner_.settings().io_timeout);
    net::async_write(socket_, net::buffer(out_) + sent,
                     [self = shared_from_this(), done = std::move(done)](beast::error_code wec,
                                                                         std::size_t) mutable {
                       self->expire_never();
                       done(wec);
                     });
  }

  /// The read or write about to start must end within `limit` (watchdog: close_if_overdue()).
  void expire_in(std::chrono::milliseconds limit) {
    deadline_.store((steady::now() + limit).time_since_epoch().count(), std::memory_order_relaxed);
  }
  /// No operation waits on the peer (the request is with the handler, or the answer is sent).
  void expire_never() {
    deadline_.store(std::numeric_limits<steady::rep>::max(), std::memory_order_relaxed);
  }

  server::impl& owner_;
  stream_protocol::socket socket_;
  worker* const home_;
  // A response streamed to the client (stream_head() to stream_end()).
  std::shared_ptr<job> stream_job_;
  std::string stream_pending_;              // framed bytes not yet handed to the socket
  std::size_t stream_pending_payload_ = 0;  // the handler's bytes among them (job::unsent)
  bool streaming_ = false;
  bool stream_writing_ = false;  // an asynchronous write of out_ is in progress
  bool stream_ending_ = false;   // the handler ended the stream: answered once all is sent
  bool stream_chunked_ = true;   // Transfer-Encoding: chunked (not for an HTTP/1.0 client)
  bool stream_discard_ = false;  // HEAD, or a status without a body: the bytes are dropped
  // When the read or write in progress must have ended (steady clock ticks); written on the
  // session's thread, read by the watchdog's sweep.
  std::atomic<steady::rep> deadline_{std::numeric_limits<steady::rep>::max()};
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string out_;  // the answer being written (its capacity kept from one to the next)
  std::string remote_;
  std::array<char, 16 * 1024> scratch_{};
  bool first_ = true;
  bool keep_alive_ = true;
  bool busy_ = false;
  bool closed_ = false;
  bool lingering_ = false;
  bool http_10_ = false;  // the current request's version is HTTP/1.0
  bool head_ = false;     // the current request is a HEAD: its answer has no body
};

//------------------------------------------------------------------------------------------------
// The in-process transport: the Lambda Runtime API, answered by the server without a socket.

/// A response the handler streams through the in-process transport (begin_chunked() to
/// end_chunked()).
struct streamed {
  std::string request_id;
  std::string content_type;
  std::string bytes;          // gathered, or the head's bytes until it can be told
  std::shared_ptr<job> live;  // the job when its response goes to the client as written
  bool started = false;       // its head went out (impl::stream_start())
};

class in_process_transport final : public transport {
 public:
  explicit in_process_transport(std::shared_ptr<server::impl> server)
      : server_(std::move(server)) {}

  result<http_response> send(const http_request& request) override {
    const std::string_view target = request.target;
    if (request.method == "GET" && target == detail::next_target) return server_->next();
    if (request.method != "POST") return api_response(404, R"({"errorType":"NotFound"})");
    if (target == detail::init_error_target) {
      return server_->init_failed(
          outcome::failure_with_body(error_type_or_unknown(request), std::string(request.body)));
    }
    constexpr std::string_view prefix = "/2018-06-01/runtime/invocation/";
    if (target.substr(0, prefix.size()) == prefix) {
      const auto rest = target.substr(prefix.size());
      const auto slash = rest.find('/');
      if (slash != std::string_view::npos) {
        const auto id = rest.substr(0, slash);
        const auto what = rest.substr(slash + 1);
        if (what == "response") {
          const auto type = header_of(request, detail::content_type_header);
          return server_->complete(
              id, outcome::success(std::string(request.body),
                                   type.empty() ? "application/json" : std::string(type)));
        }
        if (what == "error") {
          return server_->complete(id, outcome::failure_with_body(error_type_or_unknown(request),
                                                                  std::string(request.body)));
        }
      }
    }
    return api_response(404, R"({"errorType":"NotFound"})");
  }

  result<std::optional<invocation>> poll_next(unsigned idle) override {
    return server_->poll_next(idle);
  }

  result<void> on_ready(std::function<void()> ready) override {
    server_->set_ready(std::move(ready));
    return {};
  }

  // A streamed response (Node's streamifyResponse): sent to the client as it is written when the
  // adapter streams (impl::streaming_job(); the head once streamed_head() can tell it), else
  // gathered and answered once (streamed_outcome()), as a platform that takes one answer wants.
  result<void> begin_chunked(const http_request& request) override {
    constexpr std::string_view prefix = "/2018-06-01/runtime/invocation/";
    constexpr std::string_view suffix = "/response";
    const std::string_view target = request.target;
    if (!target.starts_with(prefix) || !target.ends_with(suffix) ||
        target.size() <= prefix.size() + suffix.size()) {
      return errc::not_supported;
    }
    stream_.emplace();
    stream_->request_id =
        target.substr(prefix.size(), target.size() - prefix.size() - suffix.size());
    stream_->content_type = header_of(request, detail::content_type_header);
    stream_->live = server_->streaming_job(stream_->request_id);
    return {};
  }

  result<void> write_chunk(std::string_view bytes) override {
    if (!stream_) return errc::runtime_api_unreachable;
    if (stream_->started) {
      auto written = server_->stream_write(stream_->live, bytes);
      if (!written) drop_broken_stream();
      return written;
    }
    stream_->bytes.append(bytes);
    if (!stream_->live) return {};
    auto head = streamed_head(stream_->content_type, stream_->bytes);
    if (head.what == streamed_head_result::state::need_more) return {};
    if (head.what == streamed_head_result::state::invalid) {
      stream_->live.reset();  // gathered: its end fails it as an invalid stream
      return {};
    }
    stream_->started = true;
    server_->stream_start(stream_->live, std::move(head.head), stream_->bytes.substr(head.body_at));
    stream_->bytes.clear();
    if (stream_->live->broken) {
      drop_broken_stream();
      return errc::runtime_api_unreachable;
    }
    return {};
  }

  result<http_response> end_chunked(
      const std::vector<std::pair<std::string_view, std::string_view>>& trailers) override {
    if (!stream_) return errc::runtime_api_unreachable;
    const streamed done = std::move(*stream_);
    stream_.reset();
    std::string_view error_type;
    std::string_view error_body;
    for (const auto& [name, value] : trailers) {
      if (iequals(name, detail::error_type_header)) error_type = value;
      if (iequals(name, "Lambda-Runtime-Function-Error-Body")) error_body = value;
    }
    // Streamed to the client: a failure can only cut the body short (the status went out).
    if (done.started) return server_->stream_finish(done.live, error_type.empty());
    if (!error_type.empty()) {
      // The handler failed mid-stream: the invocation fails, as it would unstreamed.
      auto body = lamella::detail::base64_decode(error_body);
      return server_->complete(
          done.request_id,
          outcome::failure_with_body(std::string(error_type), body ? std::move(*body) : "{}"));
    }
    return server_->complete(done.request_id, streamed_outcome(done.content_type, done.bytes));
  }

  void abort_chunked() noexcept override {
    if (!stream_) return;
    try {
      if (stream_->started) {
        (void)server_->stream_finish(stream_->live, false);
        stream_.reset();
        return;
      }
      (void)server_->complete(stream_->request_id,
                              outcome::failure("Runtime.ResponseStreamAborted",
                                               "the handler abandoned its response stream"));
    } catch (...) {  // NOLINT(bugprone-empty-catch): the invocation then times out instead
    }
    stream_.reset();
  }

  [[nodiscard]] std::string_view name() const noexcept override { return "in-process"; }

 private:
  /// The client's connection of a streamed response is gone: the write failed, and as after a
  /// failed write on a network transport the stream is over (the invocation ends now, not at its
  /// deadline).
  void drop_broken_stream() {
    (void)server_->stream_finish(stream_->live, false);
    stream_.reset();
  }

  static std::string error_type_or_unknown(const http_request& request) {
    const auto type = header_of(request, detail::error_type_header);
    return type.empty() ? std::string("Unknown") : std::string(type);
  }

  std::shared_ptr<server::impl> server_;
  std::optional<streamed> stream_;  // a streamed response in progress
};

//------------------------------------------------------------------------------------------------
// server::impl

result<void> server::impl::listen() {
  if (const char* fd_text = std::getenv(listen_fd_variable); fd_text != nullptr) {
    if (auto r = adopt(fd_text); !r) return r;
    return start_listening(adopted_where_);
  }
  std::string where;
  if (!settings_.unix_socket.empty()) {
    if (auto r = listen_unix(); !r) return r;
    where = "unix:" + settings_.unix_socket;
  } else {
    beast::error_code ec;
    const auto address = net::ip::make_address(settings_.listen_address, ec);
    if (ec) {
      std::fprintf(stderr, "lamella: bad listen address '%s'\n", settings_.listen_address.c_str());
      return errc::invalid_configuration;
    }
    const tcp::endpoint endpoint(address, settings_.port);
    tcp::acceptor acceptor(io_);
    if (acceptor.open(endpoint.protocol(), ec); !ec) {
      acceptor.set_option(net::socket_base::reuse_address(true), ec);
      if (acceptor.bind(endpoint, ec); !ec)
        acceptor.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      std::fprintf(stderr, "lamella: cannot listen on %s:%u: %s\n",
                   settings_.listen_address.c_str(), static_cast<unsigned>(settings_.port),
                   ec.message().c_str());
      return errc::invalid_configuration;
    }
    port_ = acceptor.local_endpoint(ec).port();
    acceptor_ = std::move(acceptor);  // a TCP acceptor is a generic one
    where = settings_.listen_address + ":" + std::to_string(port_);
  }
  return start_listening(where);
}

result<void> server::impl::adopt(const char* fd_text) {
  // A listening socket the process inherited (LAMELLA_LISTEN_FD): the bootstrap's Fission
  // specialisation server hands its socket over so that connections queued meanwhile are kept
  // (and a socket-activating supervisor can pass one the same way).
  char* end = nullptr;
  const long fd = std::strtol(fd_text, &end, 10);
  int listening = 0;
  socklen_t size = sizeof listening;
  sockaddr_storage address{};
  socklen_t address_size = sizeof address;
  if (end == fd_text || *end != '\0' || fd < 0 || fd > 65535 ||
      ::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 ||
      listening == 0 ||
      ::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&address), &address_size) !=
          0 ||
      (address.ss_family != AF_INET && address.ss_family != AF_INET6)) {
    std::fprintf(stderr, "lamella: %s=%s is not a listening TCP socket\n", listen_fd_variable,
                 fd_text);
    return errc::invalid_configuration;
  }
  // Children the handler starts must not inherit it, nor the variable naming it.
  ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  ::unsetenv(listen_fd_variable);
  beast::error_code ec;
  tcp::acceptor acceptor(io_);
  acceptor.assign(address.ss_family == AF_INET ? tcp::v4() : tcp::v6(), static_cast<int>(fd), ec);
  if (!ec) {
    const auto local = acceptor.local_endpoint(ec);
    if (!ec) {
      port_ = local.port();
      adopted_where_ = local.address().to_string() + ":" + std::to_string(port_);
    }
  }
  if (ec) {
    std::fprintf(stderr, "lamella: cannot adopt the listening socket %ld: %s\n", fd,
                 ec.message().c_str());
    return errc::invalid_configuration;
  }
  acceptor_ = std::move(acceptor);  // a TCP acceptor is a generic one
  return {};
}

result<void> server::impl::start_listening(const std::string& where) {
  if (options_.handle_signals) {
    signals_.emplace(strand_, SIGTERM, SIGINT);
    signals_->async_wait([this](beast::error_code sec, int) {
      if (!sec) begin_stop();
    });
  }
  std::fprintf(stderr, "lamella: %s platform listening on %s\n",
               std::string(to_string(settings_.kind)).c_str(), where.c_str());
  net::post(strand_, [self = shared_from_this()] { self->watch(); });
  accept();
  return {};
}

result<void> server::impl::listen_unix() {
  namespace fs = std::filesystem;
  const fs::path link = settings_.unix_socket;
  const fs::path phony = link.parent_path() / ("phony" + link.filename().string());
  const fs::path temporary = link.parent_path() / ("." + link.filename().string() + ".tmp");
  std::error_code fs_ec;
  // Left over from an earlier process in this directory: bind() fails on an existing name.
  fs::remove(phony, fs_ec);
  fs::remove(temporary, fs_ec);
  beast::error_code ec;
  net::local::stream_protocol::acceptor acceptor(io_);
  const net::local::stream_protocol::endpoint endpoint(phony.string());
  if (acceptor.open(endpoint.protocol(), ec); !ec) {
    if (acceptor.bind(endpoint, ec); !ec) {
      acceptor.listen(net::socket_base::max_listen_connections, ec);
    }
  }
  const auto failed = [&](const char* what, const std::string& message) {
    std::fprintf(stderr, "lamella: cannot listen on unix:%s (%s %s): %s\n", link.c_str(), what,
                 phony.c_str(), message.c_str());
    fs::remove(phony, fs_ec);
    fs::remove(temporary, fs_ec);
    return errc::invalid_configuration;
  };
  if (ec) return failed("socket", ec.message());
  // The agent connects as another user: everyone may read and write (the contract asks 0666).
  if (::chmod(phony.c_str(), 0666) != 0) return failed("chmod", std::strerror(errno));
  // The link names its target relatively (the agent refuses any other), and appears at once
  // under its final name: made under a temporary name and renamed over whatever was there. The
  // agent's inotify watch sees the rename as the name's creation (IN_MOVED_TO).
  if (::symlink(phony.filename().c_str(), temporary.c_str()) != 0) {
    return failed("symlink", std::strerror(errno));
  }
  if (::rename(temporary.c_str(), link.c_str()) != 0) return failed("rename", std::strerror(errno));
  acceptor_ = std::move(acceptor);  // a UNIX acceptor is a generic one
  socket_link_ = link;
  socket_phony_ = phony;
  return {};
}

void server::impl::remove_socket_files() noexcept {
  if (socket_link_.empty()) return;
  std::error_code ec;
  std::filesystem::remove(socket_link_, ec);
  std::filesystem::remove(socket_phony_, ec);
  socket_link_.clear();
  socket_phony_.clear();
}

void server::impl::accept() {
  // A connection starts on the main I/O context (a worker may take it below); the acceptor's
  // completions run on strand_.
  acceptor_.async_accept(io_, net::bind_executor(strand_, [this](beast::error_code ec,
                                                                 stream_protocol::socket socket) {
                           if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
                           if (!ec) {
                             worker* home = claim_worker();
                             if (home != nullptr) {
                               // Moved to the worker's context: the connection is the worker's
                               // alone.
                               beast::error_code mec;
                               socket = move_socket(socket, *home, mec);
                               if (mec) fail(mec, "handing a connection to a worker");
                             }
                             auto s = std::make_shared<session>(*this, std::move(socket), home);
                             // Beyond the connection limit the socket is closed at once (the
                             // session dies here).
                             if (track(s)) net::dispatch(s->executor(), [s] { s->start(); });
                           } else {
                             fail(ec, "accept");
                           }
                           accept();
                         }));
}

bool server::impl::track(const std::shared_ptr<session>& s) {
  {
    const std::lock_guard lock(mutex_);
    sessions_.remove_if([](const std::weak_ptr<session>& w) { return w.expired(); });
    if (sessions_.size() < settings_.connection_limit && !stopping_) {
      sessions_.push_back(s);
      return true;
    }
  }
  s->close();  // not started: nothing else touches it
  return false;
}

bool server::impl::move_to_worker(session& s) {
  worker* w = claim_worker();  // nullptr without workers (not serve_directly()) or all running
  if (w == nullptr) return false;
  auto next = s.move_to(*w);
  if (!next) {
    --w->sessions;
    return false;
  }
  {
    // In place of `s`, which expires once its last handler returns (no new limit check: the
    // connection was counted when it was accepted).
    const std::lock_guard lock(mutex_);
    sessions_.push_back(next);
  }
  net::dispatch(next->executor(), [next] { next->resume(); });
  return true;
}

std::string server::impl::new_request_id() {
  // A random UUID (version 4 layout), as Lambda's request ids.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr std::string_view hex = "0123456789abcdef";
  const std::uint64_t a = rng();
  // Version 4 and the RFC 4122 variant in their places.
  const std::uint64_t b = (rng() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  const std::uint64_t high = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  std::string text(36, '-');
  std::size_t at = 0;
  const auto put = [&](std::uint64_t bits, int digits) {
    for (int i = digits - 1; i >= 0; --i) text[at++] = hex[(bits >> (i * 4)) & 0xF];
  };
  put(high >> 32, 8);
  ++at;
  put(high >> 16, 4);
  ++at;
  put(high, 4);
  ++at;
  put(b >> 48, 4);
  ++at;
  put(b, 12);
  return text;
}

void server::impl::on_request(const std::shared_ptr<session>& s, request req) {
  ++busy_;
  if (init_failed_) {
    std::optional<outcome> failed;
    {
      const std::lock_guard lock(mutex_);
      failed = init_failure_;
    }
    return s->respond(guarded([&] { return adapter_->on_init_error(req, *failed); }), true);
  }

  const std::string id = new_request_id();
  dispatch d;
  try {
    d = adapter_->on_request(req, id);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lamella: push adapter threw: %s\n", e.what());
    d.what = dispatch::kind::reply_now;
    d.immediate = plain_reply(500, "internal error");
  }
  switch (d.what) {
    case dispatch::kind::reply_now:
      return s->respond(d.immediate, true);
    case dispatch::kind::initialize: {
      mark(log_mark::initialize_start, req, {});
      std::optional<outcome> failure;
      {
        const std::lock_guard lock(mutex_);
        if (init_ == init_state::pending) {
          init_waiters_.emplace_back(s, std::move(req));
          return;
        }
        failure = init_failure_;  // set when init failed since the check above
      }
      mark(log_mark::initialize_end, req, {});
      return s->respond(guarded([&] {
                          return adapter_->on_hook(req, dispatch::kind::initialize,
                                                   failure ? &*failure : nullptr);
                        }),
                        true);
    }
    case dispatch::kind::pre_stop:
    case dispatch::kind::pre_freeze:
      return run_hook(s, std::move(req), d.what);
    case dispatch::kind::invoke:
      break;
  }
  if (stopping_) return s->respond(guarded([&] { return adapter_->on_overload(req); }), true);
  auto j = std::make_shared<job>(s, std::move(req));
  j->inv = std::move(d.inv);
  if (j->inv.request_id.empty()) j->inv.request_id = id;
  if (j->inv.function_arn.empty()) j->inv.function_arn = function_arn_;
  {
    std::unique_lock lock(mutex_);
    if (init_ == init_state::failed) {  // since the check above
      const outcome failure = *init_failure_;
      lock.unlock();
      return s->respond(guarded([&] { return adapter_->on_init_error(j->req, failure); }), true);
    }
    const bool unique = running_.find(j->inv.request_id) == running_.end();
    worker* home = s->home();
    if (direct_ && unique && home != nullptr && !home->running) {
      // serve_directly(): this is the worker's own connection; it runs here and now.
      home->running = true;
      ++direct_running_;
      j->runs_inline = true;
      j->fd = s->native_handle();
      start_running(j);
      lock.unlock();
      return run_inline(*home, j);
    }
    // Room: one per loop waiting in next() or free slot of a polling loop (it takes the job at
    // once), plus the queue limit.
    if (queue_.size() < settings_.queue_limit + waiting_loops_ + polling_idle_ && unique) {
      queue_.push_back(j);
      const bool direct = static_cast<bool>(direct_);
      const bool blocked_loop = waiting_loops_ != 0;
      const bool wake_poller = std::exchange(ready_armed_, false);
      lock.unlock();
      if (direct) {
        wake_idle_worker();
      } else if (blocked_loop) {
        queue_cv_.notify_one();
      }
      if (wake_poller) ready_();
      return;
    }
  }
  s->respond(guarded([&] { return adapter_->on_overload(j->req); }), true);
}

void server::impl::run_hook(const std::shared_ptr<session>& s, request req, dispatch::kind hook) {
  net::post(hooks_, [self = shared_from_this(), s, req = std::move(req), hook]() mutable {
    const auto failure = hook == dispatch::kind::pre_stop ? self->options_.shutdown_hooks()
                                                          : self->options_.pre_freeze_hooks();
    auto r =
        guarded([&] { return self->adapter_->on_hook(req, hook, failure ? &*failure : nullptr); });
    net::post(s->executor(), [s, r = std::move(r)] { s->respond(r, true); });
  });
}

void server::impl::on_reply_written(bool counted) {
  if (counted) --busy_;
  maybe_finish();
}

void server::impl::answer(const std::shared_ptr<job>& j, reply r) {
  // On the session's own thread (a worker answering its connection), this writes at once.
  net::dispatch(j->owner->executor(), [j, r = std::move(r)] { j->owner->respond(r, true); });
}

result<http_response> server::impl::next() {
  std::shared_ptr<job> j;
  {
    std::unique_lock lock(mutex_);
    if (init_ == init_state::pending) {
      // The first /next from any loop means the function's init is done.
      init_ = init_state::done;
      net::post(strand_, [self = shared_from_this()] { self->end_init_wait(std::nullopt); });
    }
    ++waiting_loops_;
    queue_cv_.wait(
        lock, [&] { return !queue_.empty() || (stopped_ && !exit_when_stopped_) || finished_; });
    --waiting_loops_;
    if (queue_.empty()) {
      if (exit_when_stopped_) {
        // The process ends from the stop path; a language adapter must not exit first with an
        // error status, so this loop waits for that.
        queue_cv_.wait(lock, [] { return false; });
      }
      return errc::shutting_down;
    }
    j = std::move(queue_.front());
    queue_.pop_front();
    start_running(j);
  }
  return next_response(j);
}

result<std::optional<invocation>> server::impl::poll_next(unsigned idle) {
  std::shared_ptr<job> j;
  {
    const std::lock_guard lock(mutex_);
    if (init_ == init_state::pending) {
      init_ = init_state::done;  // as in next()
      net::post(strand_, [self = shared_from_this()] { self->end_init_wait(std::nullopt); });
    }
    if (queue_.empty()) {
      if (stopped_ || finished_) {
        ready_armed_ = false;
        polling_idle_ = 0;
        // As next(): when the process ends from the stop path, the loop just waits for that.
        if (exit_when_stopped_) return std::optional<invocation>();
        return errc::shutting_down;
      }
      ready_armed_ = static_cast<bool>(ready_);
      polling_idle_ = idle;
      return std::optional<invocation>();
    }
    j = std::move(queue_.front());
    queue_.pop_front();
    start_running(j);
    ready_armed_ = false;  // the loop polls again while it has a free slot
    polling_idle_ = idle > 0 ? idle - 1 : 0;
  }
  mark(log_mark::invoke_start, j->req, j->inv.request_id);  // before the handler's output
  return std::optional<invocation>(j->inv);  // a copy: the job keeps its own for on_outcome()
}

void server::impl::wake_poller() {
  bool armed = false;
  {
    const std::lock_guard lock(mutex_);
    armed = std::exchange(ready_armed_, false);
  }
  if (armed) ready_();
}

void server::impl::set_ready(std::function<void()> ready) {
  const std::lock_guard lock(mutex_);
  ready_ = std::move(ready);
}

void server::impl::start_running(const std::shared_ptr<job>& j) {
  // A deadline the platform sent (an adapter set it: Fn-Deadline, OpenWhisk's deadline, FC's
  // x-fc-function-timeout) stands, if it is sooner than the function's own timeout.
  const auto own = std::chrono::system_clock::now() + settings_.function.timeout;
  if (j->inv.deadline == std::chrono::system_clock::time_point{} || j->inv.deadline > own) {
    j->inv.deadline = own;
  }
  running_.emplace(j->inv.request_id, j);
}

worker* server::impl::claim_worker() {
  const std::lock_guard lock(mutex_);
  // A worker without a connection if there is one, else the one with the fewest (a CPU-bound
  // function run with one worker per core serves many connections per worker, as nginx does).
  // Never one whose handler is running: the connection would wait for it; the main I/O thread
  // takes it instead, so that health checks are answered and requests queue (bounded) meanwhile.
  worker* best = nullptr;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    auto& w = *workers_[(next_worker_ + i) % workers_.size()];
    if (w.running || (best != nullptr && w.sessions >= best->sessions)) continue;
    best = &w;
    if (w.sessions == 0) break;
  }
  if (best != nullptr) {
    ++best->sessions;
    next_worker_ = (next_worker_ + 1) % workers_.size();
  }
  return best;
}

outcome server::impl::call_direct(const invocation& inv) noexcept {
  try {
    return direct_(inv);
  } catch (const std::exception& e) {
    return outcome::failure("Runtime.HandlerError", e.what());
  } catch (...) {
    return outcome::failure("Runtime.HandlerError", "the handler threw");
  }
}

void server::impl::run_inline(worker& w, const std::shared_ptr<job>& j) {
  mark(log_mark::invoke_start, j->req, j->inv.request_id);  // before the handler's output
  // The deadline is the watchdog's (watch()): this thread cannot run a timer meanwhile.
  const outcome o = call_direct(j->inv);
  // One lock for what complete() and drain() would each take it for: the job leaves running_,
  // and the worker is free unless invocations are queued (the two workers contended for it).
  bool answered = false;
  bool freed = false;
  {
    const std::lock_guard lock(mutex_);
    answered = take_running(j->inv.request_id) != nullptr;
    if (queue_.empty() || stopped_) {
      w.running = false;
      --direct_running_;
      freed = true;
    }
  }
  if (answered) {
    answer_outcome(j, o);
  } else {
    // The watchdog or a stop took it and wrote the answer on the socket: wait until it has,
    // then close (the connection's state is that thread's answer, sent with Connection: close).
    j->cut_off.wait(false);
    j->owner->close();
    on_reply_written(true);
  }
  if (!freed) drain(w);
}

void server::impl::drain(worker& w) {
  for (;;) {
    std::shared_ptr<job> j;
    {
      const std::lock_guard lock(mutex_);
      if (queue_.empty() || stopped_) {
        w.running = false;
        --direct_running_;
        return;
      }
      j = std::move(queue_.front());
      queue_.pop_front();
      start_running(j);
    }
    // A connection of the main I/O thread: its timer and answers are that thread's.
    mark(log_mark::invoke_start, j->req, j->inv.request_id);
    (void)complete(j->inv.request_id, call_direct(j->inv));
  }
}

void server::impl::wake_idle_worker() {
  worker* idle = nullptr;
  {
    const std::lock_guard lock(mutex_);
    // Preferably one without a connection, whose own requests would wait meanwhile.
    for (auto& w : workers_) {
      if (!w->running && (idle == nullptr || w->sessions == 0)) {
        idle = w.get();
        if (w->sessions == 0) break;
      }
    }
    if (idle != nullptr) {
      idle->running = true;
      ++direct_running_;
    }
  }
  // None idle: the first worker whose handler returns drains the queue.
  if (idle != nullptr)
    net::post(idle->io, [self = shared_from_this(), idle] { self->drain(*idle); });
}

void server::impl::answer_cut_off(const std::shared_ptr<job>& j, reply r) {
  if (!j->runs_inline) return answer(j, std::move(r));
  // Its session's thread is in the handler and touches nothing until cut_off is set.
  std::string bytes;
  write_reply(r, framing::close, j->req.method == "HEAD", bytes);
  std::string_view left = bytes;
  const auto give_up = steady::now() + final_write_time;
  while (!left.empty() && steady::now() < give_up) {
    const auto n = ::send(j->fd, left.data(), left.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      left.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd writable{j->fd, POLLOUT, 0};
      ::poll(&writable, 1, 50);
    } else {
      break;  // the client has gone
    }
  }
  // The end of the answer (Connection: close) for a client that reads until it: the session
  // itself closes once the handler returns.
  ::shutdown(j->fd, SHUT_WR);
  j->cut_off = true;
  j->cut_off.notify_all();
}

void server::impl::watch() {
  watchdog_.expires_after(std::chrono::milliseconds(10));
  watchdog_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    std::vector<std::shared_ptr<job>> late;
    {
      const std::lock_guard lock(self->mutex_);
      const auto now = std::chrono::system_clock::now();
      for (auto it = self->running_.begin(); it != self->running_.end();) {
        if (it->second->inv.deadline <= now) {
          late.push_back(std::move(it->second));
          it = self->running_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (const auto& j : late) {
      self->mark(log_mark::invoke_end, j->req, j->inv.request_id);
      self->answer_cut_off(j, guarded([&] { return self->adapter_->on_timeout(j->req, j->inv); }));
    }
    if (++self->sweep_ticks_ % sweep_every_ticks == 0) self->close_overdue_connections();
    if (!self->stop_finished_) self->watch();
  });
}

void server::impl::close_overdue_connections() {
  const auto now = steady::now();
  std::vector<std::shared_ptr<session>> overdue;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& w : sessions_) {
      if (auto s = w.lock(); s && s->overdue(now)) overdue.push_back(std::move(s));
    }
  }
  for (auto& s : overdue) net::dispatch(s->executor(), [s] { s->close_if_overdue(); });
}

void server::impl::serve_directly(direct_handler handler, unsigned limit) {
  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned i = 0; i < std::max(1U, limit); ++i) {
    workers.push_back(std::make_unique<worker>());
    auto& w = *workers.back();
    w.thread = std::thread([&w] { w.io.run(); });
  }
  unsigned queued = 0;
  {
    const std::lock_guard lock(mutex_);
    direct_ = std::move(handler);
    workers_ = std::move(workers);
    if (init_ == init_state::pending) {
      init_ = init_state::done;  // the handler is ready: this is the end of the function's init
      net::post(strand_, [self = shared_from_this()] { self->end_init_wait(std::nullopt); });
    }
    queued = static_cast<unsigned>(queue_.size());  // what arrived before
  }
  for (unsigned i = 0; i < queued; ++i) wake_idle_worker();
}

http_response server::impl::next_response(const std::shared_ptr<job>& j) {
  mark(log_mark::invoke_start, j->req, j->inv.request_id);  // before the handler's output
  const invocation& inv = j->inv;
  http_response r;
  r.status = 200;
  const auto deadline_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(inv.deadline.time_since_epoch())
          .count();
  r.headers.reserve(9);
  r.headers.emplace_back(detail::request_id_header, inv.request_id);
  r.headers.emplace_back(detail::deadline_header, std::to_string(deadline_ms));
  r.headers.emplace_back(detail::function_arn_header, inv.function_arn);
  if (!inv.trace_id.empty()) r.headers.emplace_back(detail::trace_id_header, inv.trace_id);
  if (!inv.client_context.empty()) {
    r.headers.emplace_back(detail::client_context_header, inv.client_context);
  }
  if (!inv.cognito_identity.empty()) {
    r.headers.emplace_back(detail::cognito_identity_header, inv.cognito_identity);
  }
  if (!inv.tenant_id.empty()) r.headers.emplace_back(detail::tenant_id_header, inv.tenant_id);
  r.headers.emplace_back(detail::content_type_header,
                         inv.content_type.empty() ? "application/json" : inv.content_type);
  if (!inv.platform_context.empty()) {
    r.headers.emplace_back(detail::platform_context_header, inv.platform_context);
  }
  r.body = inv.payload;  // the job keeps its copy for on_outcome()
  return r;
}

std::shared_ptr<job> server::impl::take_running(std::string_view request_id) {
  const auto it = running_.find(std::string(request_id));
  if (it == running_.end()) return nullptr;
  auto j = std::move(it->second);
  running_.erase(it);
  return j;
}

void server::impl::answer_outcome(const std::shared_ptr<job>& j, const outcome& o) {
  mark(log_mark::invoke_end, j->req, j->inv.request_id);
  answer(j, guarded([&] { return adapter_->on_outcome(j->req, j->inv, o); }));
}

http_response server::impl::complete(std::string_view request_id, const outcome& o) {
  std::shared_ptr<job> j;
  {
    const std::lock_guard lock(mutex_);
    j = take_running(request_id);
  }
  if (!j) return invalid_request_id();
  answer_outcome(j, o);
  return api_response(202, R"({"status":"OK"})");
}

std::shared_ptr<job> server::impl::streaming_job(std::string_view request_id) {
  const std::lock_guard lock(mutex_);
  const auto it = running_.find(std::string(request_id));
  if (it == running_.end() || it->second->runs_inline) return nullptr;
  const auto& j = it->second;
  try {
    return adapter_->streams(j->req) ? j : nullptr;
  } catch (...) {
    return nullptr;  // an adapter that cannot tell gathers, as by default
  }
}

void server::impl::stream_start(const std::shared_ptr<job>& j, reply head, std::string first) {
  try {
    reply mapped = adapter_->on_stream_head(j->req, j->inv, head);
    head = std::move(mapped);
  } catch (...) {  // NOLINT(bugprone-empty-catch): the head as streamed_head() read it
  }
  j->unsent += first.size();
  const auto s = j->owner;
  net::post(s->executor(), [s, j, head = std::move(head), first = std::move(first)] {
    s->stream_head(j, head, first);
  });
  wait_for_room(*j);
}

result<void> server::impl::stream_write(const std::shared_ptr<job>& j, std::string_view bytes) {
  if (j->broken) return errc::runtime_api_unreachable;
  j->unsent += bytes.size();
  const auto s = j->owner;
  net::post(s->executor(), [s, chunk = std::string(bytes)] { s->stream_chunk(chunk); });
  wait_for_room(*j);
  if (j->broken) return errc::runtime_api_unreachable;
  return {};
}

void server::impl::wait_for_room(job& j) {
  auto unsent = j.unsent.load();
  while (unsent > stream_buffer_limit && !j.broken) {
    j.unsent.wait(unsent);
    unsent = j.unsent.load();
  }
}

http_response server::impl::stream_finish(const std::shared_ptr<job>& j, bool ok) {
  {
    const std::lock_guard lock(mutex_);
    if (!take_running(j->inv.request_id)) return invalid_request_id();
  }
  mark(log_mark::invoke_end, j->req, j->inv.request_id);
  const auto s = j->owner;
  net::post(s->executor(), [s, ok] { s->stream_end(ok); });
  return api_response(202, R"({"status":"OK"})");
}

http_response server::impl::init_failed(outcome o) {
  std::deque<std::shared_ptr<job>> queued;
  {
    const std::lock_guard lock(mutex_);
    if (init_ != init_state::failed) {
      init_ = init_state::failed;
      init_failed_ = true;
      init_failure_ = o;
      queued.swap(queue_);
    }
  }
  for (const auto& j : queued) {
    answer(j, guarded([&] { return adapter_->on_init_error(j->req, o); }));
  }
  net::post(strand_, [self = shared_from_this(), o] { self->end_init_wait(o); });
  // The environment serves init errors until the platform stops it; then the caller exits.
  wait();
  return api_response(202, R"({"status":"OK"})");
}

void server::impl::end_init_wait(const std::optional<outcome>& failure) {
  std::vector<std::pair<std::shared_ptr<session>, request>> waiters;
  {
    const std::lock_guard lock(mutex_);
    waiters.swap(init_waiters_);
  }
  for (auto& waiter : waiters) {
    // Not a structured binding: lambdas cannot capture those before clang 16 (clang-tidy 14).
    const std::shared_ptr<session>& s = waiter.first;
    const request& req = waiter.second;
    mark(log_mark::initialize_end, req, {});
    auto r = guarded([&] {
      return adapter_->on_hook(req, dispatch::kind::initialize, failure ? &*failure : nullptr);
    });
    net::dispatch(s->executor(), [s, r = std::move(r)] { s->respond(r, true); });
  }
}

void server::impl::mark(log_mark what, const request& req,
                        std::string_view request_id) const noexcept {
  try {
    std::string line = adapter_->log_line(what, req, request_id);
    if (line.empty()) return;
    line.push_back('\n');
    // One write per line (stdio locks the stream per call), flushed at once: the handler's own
    // output goes straight to fd 1 (Python unbuffered, Node), and the order must hold.
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  } catch (...) {  // NOLINT(bugprone-empty-catch): a log mark must never stop an invocation
  }
}

void server::impl::begin_stop() {
  if (stop_begun_) return;
  stop_begun_ = true;
  std::list<std::weak_ptr<session>> sessions;
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    sessions = sessions_;
  }
  beast::error_code ec;
  acceptor_.close(ec);
  remove_socket_files();  // nobody may connect from now on
  if (signals_) signals_->cancel(ec);
  // Idle connections go now; busy ones close after their answer (respond() sees stopping()).
  for (const auto& w : sessions) {
    if (auto s = w.lock()) {
      net::dispatch(s->executor(), [s] {
        if (!s->busy()) s->close();
      });
    }
  }
  grace_timer_.expires_after(settings_.shutdown_grace);
  grace_timer_.async_wait([self = shared_from_this()](beast::error_code tec) {
    if (!tec) self->force_stop();
  });
  maybe_finish();
}

void server::impl::force_stop() {
  // The grace period is over: answer what is left, give the answers a moment, then close all.
  std::deque<std::shared_ptr<job>> queued;
  std::unordered_map<std::string, std::shared_ptr<job>> running;
  {
    const std::lock_guard lock(mutex_);
    queued.swap(queue_);
    running.swap(running_);
  }
  for (const auto& j : queued) answer(j, guarded([&] { return adapter_->on_overload(j->req); }));
  for (const auto& entry : running) {
    const auto& j = entry.second;
    mark(log_mark::invoke_end, j->req, j->inv.request_id);
    answer_cut_off(j, guarded([&] { return adapter_->on_timeout(j->req, j->inv); }));
  }
  std::vector<std::pair<std::shared_ptr<session>, request>> waiters;
  {
    const std::lock_guard lock(mutex_);
    waiters.swap(init_waiters_);
  }
  for (auto& waiter : waiters) {
    // Not a structured binding: lambdas cannot capture those before clang 16 (clang-tidy 14).
    const std::shared_ptr<session>& s = waiter.first;
    const request& req = waiter.second;
    auto r = guarded([&] { return adapter_->on_overload(req); });
    net::dispatch(s->executor(), [s, r = std::move(r)] { s->respond(r, true); });
  }
  grace_timer_.expires_after(final_write_time);
  grace_timer_.async_wait([self = shared_from_this()](beast::error_code tec) {
    if (!tec) self->finish_stop();
  });
}

void server::impl::maybe_finish() {
  if (!stopping_) return;
  {
    const std::lock_guard lock(mutex_);
    if (busy_ != 0 || !queue_.empty()) return;
  }
  net::dispatch(strand_, [self = shared_from_this()] { self->finish_stop(); });
}

void server::impl::finish_stop() {
  // Not before begin_stop() (request_stop() sets stopping_ before it runs): it ends with
  // maybe_finish() itself.
  if (stop_finished_ || !stop_begun_) return;
  stop_finished_ = true;
  grace_timer_.cancel();
  watchdog_.cancel();
  std::list<std::weak_ptr<session>> sessions;
  bool init_failed = false;
  {
    const std::lock_guard lock(mutex_);
    sessions = sessions_;
    stopped_ = true;
    init_failed = init_ == init_state::failed;
  }
  for (const auto& w : sessions) {
    if (auto s = w.lock()) net::dispatch(s->executor(), [s] { s->close(); });
  }
  queue_cv_.notify_all();
  wake_poller();
  net::post(hooks_, [self = shared_from_this(), init_failed] {
    (void)self->options_.shutdown_hooks();
    if (self->exit_when_stopped_) {
      detail::exit_now(init_failed ? 1 : 0);
    }
    {
      const std::lock_guard lock(self->mutex_);
      self->finished_ = true;
    }
    self->queue_cv_.notify_all();
    self->finished_cv_.notify_all();
    self->wake_poller();
  });
}

//------------------------------------------------------------------------------------------------
// server

server::server(std::shared_ptr<impl> p) noexcept : impl_(std::move(p)) {}

result<std::unique_ptr<server>> server::start(const platform_settings& settings,
                                              std::unique_ptr<adapter> platform_adapter,
                                              server_options options) {
  auto p = std::make_shared<impl>(settings, std::move(platform_adapter), std::move(options));
  if (auto r = p->listen(); !r) return r.error();
  p->run_thread();
  return std::unique_ptr<server>(new server(std::move(p)));
}

server::~server() {
  impl_->set_exit(false);
  impl_->request_stop();
  impl_->wait();
  impl_->shutdown_threads();
}

std::uint16_t server::port() const noexcept { return impl_->port(); }

std::unique_ptr<transport> server::make_transport() {
  return std::make_unique<in_process_transport>(impl_);
}

void server::request_stop() { impl_->request_stop(); }

void server::serve_directly(direct_handler handler, unsigned limit) {
  impl_->serve_directly(std::move(handler), limit);
}

std::size_t server::handlers_running() { return impl_->handlers_running(); }

void server::wait() { impl_->wait(); }

void server::set_exit_process_when_stopped(bool exit) noexcept { impl_->set_exit(exit); }

result<server*> server_for_process(bool exit_process_when_stopped) {
  static std::mutex mutex;
  static server* instance = nullptr;  // never destroyed: it serves until the process ends
  const std::lock_guard lock(mutex);
  if (instance != nullptr) return instance;
  auto settings = platform_from_env(process_environment());
  if (!settings || !is_push(settings->kind)) return errc::invalid_configuration;
  server_options options;
  options.handle_signals = true;
  options.exit_process_when_stopped = exit_process_when_stopped;
  auto s = server::start(*settings, make_platform_adapter(*settings), std::move(options));
  if (!s) return s.error();
  instance = s->release();
  return instance;
}

std::unique_ptr<adapter> make_platform_adapter(const platform_settings& settings) {
  function_info f;
  f.name = settings.function.name;
  f.version = settings.function.version;
  f.region = settings.function.region;
  f.account_id = settings.function.account_id;
  f.memory_mb = settings.function.memory_mb;
  f.timeout = settings.function.timeout;
  if (settings.kind == platform_kind::fc) return make_fc_adapter(fc_options{std::move(f)});
  if (settings.kind == platform_kind::fn) return make_fn_adapter(fn_options{std::move(f)});
  if (settings.kind == platform_kind::functiongraph_http) {
    return make_functiongraph_adapter(functiongraph_options{std::move(f)});
  }
  // azure, gcf, kubeless: settings of their own that platform_settings does not carry are read
  // from the process environment here (platform_from_env has validated them).
  const auto env = process_environment();
  if (settings.kind == platform_kind::azure) return make_azure_adapter({std::move(f)});
  if (settings.kind == platform_kind::gcf) {
    const auto named = gcf_signature_from_name(env("FUNCTION_SIGNATURE_TYPE").value_or("http"));
    return make_gcf_adapter({std::move(f), named.value_or(gcf_signature::http)});
  }
  if (settings.kind == platform_kind::kubeless) {
    return make_kubeless_adapter(
        {std::move(f), env("FUNC_RUNTIME").value_or(""), env("FUNC_MEMORY_LIMIT").value_or("")});
  }
  if (settings.kind == platform_kind::openwhisk) {
    openwhisk_options options;
    options.function = std::move(f);
    // One process environment: __OW_* per activation only when activations do not overlap.
    options.export_activation_variables = settings.concurrency <= 1;
    return make_openwhisk_adapter(std::move(options));
  }
  if (settings.kind == platform_kind::fission) {
    const char* specialized = std::getenv("LAMELLA_FISSION_SPECIALIZED");
    return make_fission_adapter(fission_options{
        std::move(f), specialized != nullptr && std::string_view(specialized) == "1"});
  }
  http_options options;
  options.function = std::move(f);
  return make_http_adapter(std::move(options));
}

}  // namespace lamella::push
