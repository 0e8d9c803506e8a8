// The Lambda Runtime API (2018-06-01) as constants and pure functions; no I/O here.
#pragma once

#include "lamella/error.h"
#include "lamella/invocation.h"
#include "lamella/transport.h"

#include <string>
#include <string_view>

namespace lamella::detail {

inline constexpr std::string_view api_prefix = "/2018-06-01";
inline constexpr std::string_view next_target = "/2018-06-01/runtime/invocation/next";
inline constexpr std::string_view init_error_target = "/2018-06-01/runtime/init/error";

inline constexpr std::string_view request_id_header = "Lambda-Runtime-Aws-Request-Id";
inline constexpr std::string_view deadline_header = "Lambda-Runtime-Deadline-Ms";
inline constexpr std::string_view function_arn_header = "Lambda-Runtime-Invoked-Function-Arn";
inline constexpr std::string_view trace_id_header = "Lambda-Runtime-Trace-Id";
inline constexpr std::string_view client_context_header = "Lambda-Runtime-Client-Context";
inline constexpr std::string_view cognito_identity_header = "Lambda-Runtime-Cognito-Identity";
inline constexpr std::string_view tenant_id_header = "Lambda-Runtime-Aws-Tenant-Id";
inline constexpr std::string_view content_type_header = "Content-Type";
/// lamella's own: platform context (JSON) from an in-process push platform; never sent by Lambda.
inline constexpr std::string_view platform_context_header = "Lamella-Platform-Context";
inline constexpr std::string_view error_type_header = "Lambda-Runtime-Function-Error-Type";

/// Largest buffered response the Runtime API accepts: 6 MiB + 100 bytes (RIE interop/model.go).
inline constexpr std::size_t max_response_bytes = 6 * 1024 * 1024 + 100;

/// "/2018-06-01/runtime/invocation/<id>/response".
std::string response_target(std::string_view request_id);
/// "/2018-06-01/runtime/invocation/<id>/error".
std::string error_target(std::string_view request_id);

/// Maps a `/next` response to an invocation (moving the body out of `response`).
/// Errors: runtime_api_rejected (status other than 200), bad_runtime_response (no request id, a
/// request id that is not a plain printable token, or a deadline that is not a number).
result<invocation> parse_next_response(http_response&& response);

}  // namespace lamella::detail
