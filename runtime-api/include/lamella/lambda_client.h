// The Lambda Runtime API (2018-06-01) client: one method per endpoint.
#pragma once

#include "lamella/error.h"
#include "lamella/invocation.h"
#include "lamella/outcome.h"
#include "lamella/transport.h"

#include <memory>
#include <string>
#include <string_view>

namespace lamella {

/// How an accepted or refused post ended, as far as the loop needs to know.
enum class post_status {
  accepted,  ///< 202: the platform took the response or error
  refused,   ///< 400/403/413: this invocation's post was refused; the runtime can go on serving
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

  /// `POST /runtime/invocation/{id}/response` with the outcome's payload and content type.
  /// A refusal (e.g. 413 for an oversized body) is returned as post_status::refused and logged;
  /// errors: runtime_api_unreachable, runtime_api_rejected (500 or an unexpected status).
  result<post_status> post_response(std::string_view request_id, const outcome& success);

  /// `POST /runtime/invocation/{id}/error` with the outcome's error JSON and the
  /// `Lambda-Runtime-Function-Error-Type` header. Same results as post_response().
  result<post_status> post_error(std::string_view request_id, const outcome& failure);

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
