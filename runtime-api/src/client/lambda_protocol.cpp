#include "client/lambda_protocol.h"

#include <algorithm>
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
  std::string_view deadline;
  // One pass over the headers (about ten); the name's length picks the candidate to compare, so
  // each header costs one comparison (two for length 29). Two more names of one length would
  // not compile: case labels must differ.
  for (auto& field : response.headers) {
    const std::string_view name = field.first;
    std::string& value = field.second;
    const auto is = [name](std::string_view known) { return iequals(name, known); };
    switch (name.size()) {
      case request_id_header.size():  // == client_context_header.size()
        if (is(request_id_header)) {
          inv.request_id = std::move(value);
        } else if (is(client_context_header)) {
          inv.client_context = std::move(value);
        }
        break;
      case deadline_header.size():
        if (is(deadline_header)) deadline = value;
        break;
      case function_arn_header.size():
        if (is(function_arn_header)) inv.function_arn = std::move(value);
        break;
      case trace_id_header.size():
        if (is(trace_id_header)) inv.trace_id = std::move(value);
        break;
      case cognito_identity_header.size():
        if (is(cognito_identity_header)) inv.cognito_identity = std::move(value);
        break;
      case tenant_id_header.size():
        if (is(tenant_id_header)) inv.tenant_id = std::move(value);
        break;
      case content_type_header.size():
        if (is(content_type_header)) inv.content_type = std::move(value);
        break;
      case platform_context_header.size():
        if (is(platform_context_header)) inv.platform_context = std::move(value);
        break;
      default:
        break;
    }
  }
  // The id goes into the next request's target: refuse anything that could break out of it.
  const bool safe_id = std::all_of(inv.request_id.begin(), inv.request_id.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != '/' && c != '?' && c != '#' && c != '%';
  });
  if (inv.request_id.empty() || !safe_id) return errc::bad_runtime_response;
  if (!deadline.empty()) {
    std::int64_t ms = 0;
    const auto [end, ec] = std::from_chars(deadline.data(), deadline.data() + deadline.size(), ms);
    if (ec != std::errc{} || end != deadline.data() + deadline.size()) {
      return errc::bad_runtime_response;
    }
    inv.deadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  }
  if (inv.content_type.empty()) inv.content_type = "application/json";
  inv.payload = std::move(response.body);
  return inv;
}

}  // namespace lamella::detail
