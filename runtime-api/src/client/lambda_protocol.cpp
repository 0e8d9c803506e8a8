#include "client/lambda_protocol.h"

#include <charconv>
#include <cstdint>

namespace lamella::detail {

std::string response_target(std::string_view request_id) {
  std::string t;
  t.reserve(64 + request_id.size());
  t.append("/2018-06-01/runtime/invocation/").append(request_id).append("/response");
  return t;
}

std::string error_target(std::string_view request_id) {
  std::string t;
  t.reserve(64 + request_id.size());
  t.append("/2018-06-01/runtime/invocation/").append(request_id).append("/error");
  return t;
}

result<invocation> parse_next_response(http_response&& response) {
  if (response.status != 200) return errc::runtime_api_rejected;
  invocation inv;
  inv.request_id = response.header(request_id_header);
  if (inv.request_id.empty()) return errc::bad_runtime_response;
  const std::string_view deadline = response.header(deadline_header);
  if (!deadline.empty()) {
    std::int64_t ms = 0;
    const auto [end, ec] = std::from_chars(deadline.data(), deadline.data() + deadline.size(), ms);
    if (ec != std::errc{} || end != deadline.data() + deadline.size()) {
      return errc::bad_runtime_response;
    }
    inv.deadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  }
  inv.function_arn = response.header(function_arn_header);
  inv.trace_id = response.header(trace_id_header);
  inv.client_context = response.header(client_context_header);
  inv.cognito_identity = response.header(cognito_identity_header);
  inv.tenant_id = response.header(tenant_id_header);
  inv.content_type = response.header("Content-Type");
  if (inv.content_type.empty()) inv.content_type = "application/json";
  inv.payload = std::move(response.body);
  return inv;
}

}  // namespace lamella::detail
