// One invocation as a platform delivers it, independent of the platform.
#pragma once

#include <chrono>
#include <string>

namespace lamella {

/// One invocation: the event bytes and the metadata the platform sent with them.
/// Plain data: safe to copy and move; not synchronised (do not share a mutable one between
/// threads).
struct invocation {
  std::string payload;     ///< the event, exactly as the platform sent it
  std::string request_id;  ///< Lambda-Runtime-Aws-Request-Id (never empty once delivered)
  std::chrono::system_clock::time_point deadline;  ///< when the platform stops the invocation
  std::string function_arn;      ///< the ARN that was invoked (function, version or alias)
  std::string trace_id;          ///< X-Ray trace header, empty when the platform sent none
  std::string client_context;    ///< JSON client context, empty when absent
  std::string cognito_identity;  ///< JSON Cognito identity, empty when absent
  std::string tenant_id;         ///< tenant id for multi-tenant functions, empty when absent
  std::string content_type;      ///< content type of the event (Lambda sends application/json)
  /// Platform-specific context as a JSON object text (a CloudEvent's attributes, FC's
  /// credentials and function metadata), empty when the platform has none (Lambda). Language
  /// adapters expose it as `context.platform`.
  std::string platform_context;

  /// Time left until `deadline`, measured now; negative once the deadline has passed.
  [[nodiscard]] std::chrono::milliseconds remaining_time() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::system_clock::now());
  }
};

}  // namespace lamella
