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
  // One pass over the headers; most responses carry about ten.
  for (auto& [name, value] : response.headers) {
    if (name.size() < 17 || !iequals(name.substr(0, 15), "Lambda-Runtime-")) {
      if (iequals(name, "Content-Type")) inv.content_type = std::move(value);
      continue;
    }
    if (iequals(name, request_id_header)) {
      inv.request_id = std::move(value);
    } else if (iequals(name, deadline_header)) {
      deadline = value;
    } else if (iequals(name, function_arn_header)) {
      inv.function_arn = std::move(value);
    } else if (iequals(name, trace_id_header)) {
      inv.trace_id = std::move(value);
    } else if (iequals(name, client_context_header)) {
      inv.client_context = std::move(value);
    } else if (iequals(name, cognito_identity_header)) {
      inv.cognito_identity = std::move(value);
    } else if (iequals(name, tenant_id_header)) {
      inv.tenant_id = std::move(value);
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
