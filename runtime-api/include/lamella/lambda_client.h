// The Lambda Runtime API (2018-06-01) client: one method per endpoint.
#pragma once

#include "lamella/error.h"
#include "lamella/invocation.h"
#include "lamella/outcome.h"
#include "lamella/transport.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lamella {

/// How an accepted or refused post ended, as far as the loop needs to know.
enum class post_status {
  accepted,  ///< 202: the platform took the response or error
  refused,   ///< 400/403/413: this invocation's post was refused; the runtime can go on serving
};

class lambda_client;

/// A streamed response in progress; made by lambda_client::stream_response().
/// It writes on its client's connection: the client must outlive the stream, and must not be
/// used for anything else until finish() or fail() (a request in between abandons the stream).
/// Destroying a stream that was not finished closes the connection: the platform sees a
/// truncated response, and the client's next request connects again.
/// Movable, not copyable; a moved-from stream is closed. Not thread-safe (as its client).
class response_stream {
 public:
  response_stream(response_stream&& other) noexcept;
  response_stream& operator=(response_stream&& other) noexcept;
  response_stream(const response_stream&) = delete;
  response_stream& operator=(const response_stream&) = delete;
  /// Abandons the stream if it is still open (see the class comment).
  ~response_stream();

  /// Sends `bytes` as one HTTP chunk, now (an empty `bytes` sends nothing).
  /// Errors: runtime_api_unreachable (the stream is then closed); stream_closed.
  result<void> write(std::string_view bytes);

  /// Ends the body (the terminating chunk), then reads the platform's answer: accepted (202) or
  /// refused (400/403/413, logged), as lambda_client::post_response(). The stream is closed
  /// afterwards, whatever the result. Errors: runtime_api_unreachable, runtime_api_rejected,
  /// stream_closed.
  result<post_status> finish();

  /// Ends the body as failed: the terminating chunk carries the trailers
  /// `Lambda-Runtime-Function-Error-Type: <error_type>` and
  /// `Lambda-Runtime-Function-Error-Body: <base64 of error_json>`; then reads the answer as
  /// finish(). CR, LF and other control characters in `error_type` are replaced by spaces.
  result<post_status> fail(std::string_view error_type, std::string_view error_json);

  /// True until finish(), fail() or an error closed the stream.
  [[nodiscard]] bool is_open() const noexcept { return transport_ != nullptr; }

 private:
  friend class lambda_client;
  response_stream(transport& t, std::string target) noexcept;
  result<post_status> end(
      const std::vector<std::pair<std::string_view, std::string_view>>& trailers);

  transport* transport_;  // null once closed
  std::string target_;
};

/// A client of the Lambda Runtime API over one transport.
/// Not thread-safe: one client per loop; use several clients for several concurrent loops.
class lambda_client {
 public:
  /// Takes ownership of `transport`, which is connected to AWS_LAMBDA_RUNTIME_API.
  /// `language` names the handler language in the User-Agent ("cpp", "python", "node").
  explicit lambda_client(std::unique_ptr<transport> transport, std::string_view language = "cpp");

  /// `GET /runtime/invocation/next`: blocks until the platform delivers an invocation.
  /// Errors: runtime_api_unreachable; runtime_api_rejected (non-200, e.g. 403 or 500);
  /// bad_runtime_response (no request id).
  result<invocation> next();

  /// next() without waiting (transport::poll_next()), for an event loop: the invocation when one
  /// is ready, std::nullopt when none is (then the on_ready() function is called once one is).
  /// `idle`: the caller's free invocation slots, this one included. Errors: not_supported (a
  /// transport that can only wait: use next()), shutting_down, bad_runtime_response.
  result<std::optional<invocation>> poll_next(unsigned idle);

  /// Sets what poll_next() calls back, from another thread, when an invocation is ready after a
  /// poll found none (it must neither block nor throw). Errors: not_supported.
  result<void> on_ready(std::function<void()> ready) {
    return transport_->on_ready(std::move(ready));
  }

  /// `POST /runtime/invocation/{id}/response` with the outcome's payload and content type.
  /// A refusal (e.g. 413 for an oversized body) is returned as post_status::refused and logged;
  /// errors: runtime_api_unreachable, runtime_api_rejected (500 or an unexpected status).
  result<post_status> post_response(std::string_view request_id, const outcome& success);

  /// `POST /runtime/invocation/{id}/error` with the outcome's error JSON and the
  /// `Lambda-Runtime-Function-Error-Type` header. Same results as post_response().
  result<post_status> post_error(std::string_view request_id, const outcome& failure);

  /// Starts a streamed `POST /runtime/invocation/{id}/response` (Lambda response streaming):
  /// sends the head with `Lambda-Runtime-Function-Response-Mode: streaming`,
  /// `Transfer-Encoding: chunked`, `Trailer: Lambda-Runtime-Function-Error-Type,
  /// Lambda-Runtime-Function-Error-Body` and `Content-Type: <content_type>` (empty =
  /// application/octet-stream). The body then goes through the returned stream.
  /// Errors: runtime_api_unreachable; not_supported (a transport without chunked requests, e.g.
  /// curl).
  result<response_stream> stream_response(std::string_view request_id,
                                          std::string_view content_type);

  /// `POST /runtime/init/error`: reports that initialisation failed. The caller exits non-zero
  /// afterwards. Errors as post_response().
  result<post_status> post_init_error(const outcome& failure);

  /// The transport's name ("beast", "curl").
  [[nodiscard]] std::string_view transport_name() const noexcept { return transport_->name(); }

 private:
  result<post_status> post(std::string target, const outcome& o, bool with_error_type);

  std::unique_ptr<transport> transport_;
  std::string user_agent_;
};

/// The User-Agent lamella sends: "lamella/<version> (<language>; <transport>)".
std::string user_agent(std::string_view language, std::string_view transport_name);

}  // namespace lamella
