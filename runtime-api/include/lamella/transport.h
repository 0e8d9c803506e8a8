// The small HTTP interface the Runtime API client talks through, and its implementations.
#pragma once

#include "lamella/error.h"
#include "lamella/invocation.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lamella {

/// One HTTP/1.1 request. The body is a view: the caller keeps the bytes alive during send().
struct http_request {
  std::string_view method;  ///< "GET" or "POST"
  std::string target;       ///< origin-form target, e.g. "/2018-06-01/runtime/invocation/next"
  std::vector<std::pair<std::string_view, std::string_view>> headers;  ///< extra headers
  std::string_view body;                                               ///< request body
};

/// One HTTP/1.1 response, body fully read.
struct http_response {
  unsigned status = 0;                                       ///< status code
  std::vector<std::pair<std::string, std::string>> headers;  ///< in arrival order
  std::string body;                                          ///< the whole body

  /// The value of the first header named `name` (ASCII case-insensitive), or empty.
  [[nodiscard]] std::string_view header(std::string_view name) const noexcept;
};

/// ASCII case-insensitive equality, as HTTP header names compare.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// Settings shared by every transport implementation.
struct transport_options {
  /// Bound on establishing a connection. Why short: the Runtime API is local; a slow connect
  /// means it is gone, and the retry policy decides what happens next.
  std::chrono::milliseconds connect_timeout{1000};
};

/// Sends requests over one keep-alive connection to a fixed `host:port`.
/// There is deliberately no total timeout on a request: `GET /next` long-polls, and the
/// environment may be frozen between invocations.
/// Not thread-safe: one transport per loop (or per thread).
class transport {
 public:
  virtual ~transport() = default;

  /// Sends `request` and reads the whole response. Connects on first use and reconnects once,
  /// transparently, when a reused keep-alive connection turns out to be closed.
  /// Errors: `errc::runtime_api_unreachable` (with the system error in the log message).
  virtual result<http_response> send(const http_request& request) = 0;

  /// Starts a request whose body follows in pieces (HTTP/1.1 `Transfer-Encoding: chunked`):
  /// sends the head (`request.body` is ignored; the transport adds the Transfer-Encoding
  /// header). Then call write_chunk() any number of times and end_chunked() once, or
  /// abort_chunked(); no other call on this transport in between. Connects on first use; a reused
  /// connection that the server has closed is replaced before the head is sent.
  /// Errors: `runtime_api_unreachable`; `not_supported` when the transport has no chunked
  /// requests (the default implementation, and the curl transport).
  virtual result<void> begin_chunked(const http_request& request);

  /// Sends `bytes` as one chunk, now (nothing for empty `bytes`). On an error the connection is
  /// closed and the request is over. Errors: `runtime_api_unreachable`; `not_supported`.
  virtual result<void> write_chunk(std::string_view bytes);

  /// Sends the last chunk followed by `trailers` (names and values must be valid header text),
  /// then reads the whole response. Errors: `runtime_api_unreachable`; `not_supported`.
  virtual result<http_response> end_chunked(
      const std::vector<std::pair<std::string_view, std::string_view>>& trailers);

  /// Abandons a chunked request in progress by closing the connection, so that the server sees
  /// the body cut short; the next request connects again. No effect when none is in progress.
  virtual void abort_chunked() noexcept;

  /// `GET /next` without waiting, for a caller that must never block (an event loop): the
  /// invocation itself when one is ready now (only an in-process server can poll, so there is no
  /// wire form to write and parse back); std::nullopt when none is, after which the function
  /// given to on_ready() is called once, from another thread, as soon as one is queued. `idle`
  /// is how many invocation slots the caller has free, this one included: a server counts them
  /// as room in its queue, as it counts loops waiting in send(). Errors: `not_supported` (the
  /// default: a network transport can only wait); `shutting_down` (the server has stopped).
  virtual result<std::optional<invocation>> poll_next(unsigned idle);

  /// Sets the function poll_next() calls back (replacing an earlier one). It runs on a server
  /// thread and must neither block nor throw. Errors: `not_supported` (the default).
  virtual result<void> on_ready(std::function<void()> ready);

  /// A short name for logs and benchmarks ("beast", "curl").
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
};

/// The default transport: Boost.Beast over a blocking TCP socket with TCP_NODELAY.
/// `host_port` is "host:port" as in AWS_LAMBDA_RUNTIME_API.
std::unique_ptr<transport> make_beast_transport(std::string_view host_port,
                                                transport_options options);

}  // namespace lamella
