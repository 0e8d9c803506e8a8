#include "client/pull_transport.h"

#include "client/lambda_protocol.h"
#include "common/base64.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace lamella::detail {

bool consume_prefix(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

std::optional<std::int64_t> parse_count(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || value < 0) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> process_env(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
}

http_response translate_post_response(http_response&& answer) {
  if (answer.status >= 200 && answer.status < 300) answer.status = 202;
  return std::move(answer);
}

std::string make_request_id(std::uint64_t high, std::uint64_t low) {
  // Version 4, variant 10xx, as RFC 4122 random UUIDs.
  high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xffff), static_cast<unsigned>(high & 0xffff),
                static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return text;
}

http_response lambda_next_response(std::string body, std::string_view content_type,
                                   std::string_view request_id,
                                   std::optional<std::chrono::system_clock::time_point> deadline,
                                   std::string function_arn) {
  http_response out;
  out.status = 200;
  out.body = std::move(body);
  out.headers.emplace_back(request_id_header, request_id);
  if (deadline) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline->time_since_epoch()).count();
    out.headers.emplace_back(deadline_header, std::to_string(ms));
  }
  out.headers.emplace_back(function_arn_header, std::move(function_arn));
  if (!content_type.empty()) out.headers.emplace_back(content_type_header, content_type);
  return out;
}

buffered_pull_transport::buffered_pull_transport(std::unique_ptr<transport> inner,
                                                 std::string_view platform)
    : inner_(std::move(inner)), name_(std::string(platform) + "/" + std::string(inner_->name())) {
  std::random_device rd;
  rng_.seed((std::uint64_t{rd()} << 32) ^ rd());
}

result<void> buffered_pull_transport::begin_chunked(const http_request& request) {
  auto targets = targets_for_stream(request.target);
  if (!targets) return errc::not_supported;
  chunked_.emplace();
  chunked_->targets = std::move(*targets);
  for (const auto& [name, value] : request.headers) {
    if (iequals(name, "User-Agent") || iequals(name, "Content-Type")) {
      chunked_->headers.emplace_back(name, value);
    }
  }
  return {};
}

result<void> buffered_pull_transport::write_chunk(std::string_view bytes) {
  if (!chunked_) return errc::runtime_api_unreachable;
  chunked_->body.append(bytes);
  return {};
}

result<http_response> buffered_pull_transport::end_chunked(
    const std::vector<std::pair<std::string_view, std::string_view>>& trailers) {
  if (!chunked_) return errc::runtime_api_unreachable;
  auto stream = std::move(*chunked_);
  chunked_.reset();
  std::string_view error_type;
  std::string_view error_body;
  for (const auto& [name, value] : trailers) {
    if (iequals(name, error_type_header)) error_type = value;
    if (iequals(name, "Lambda-Runtime-Function-Error-Body")) error_body = value;
  }
  http_request request{"POST", {}, {}, stream.body};
  for (const auto& [name, value] : stream.headers) request.headers.emplace_back(name, value);
  if (error_type.empty()) return post(request, std::move(stream.targets.response), stream.body);
  auto decoded = base64_decode(error_body);
  const std::string body = decoded ? std::move(*decoded) : std::string();
  request.headers.emplace_back(error_type_header, error_type);
  return post(request, std::move(stream.targets.error), body);
}

void buffered_pull_transport::abort_chunked() noexcept { chunked_.reset(); }

result<http_response> buffered_pull_transport::post(const http_request& request, std::string target,
                                                    std::string_view body) {
  http_request translated{"POST", std::move(target), {}, body};
  for (const auto& [name, value] : request.headers) translated.headers.emplace_back(name, value);
  auto answer = inner_->send(translated);
  if (!answer) return answer.error();
  return translate_post_response(std::move(*answer));
}

http_response buffered_pull_transport::local_response(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

void buffered_pull_transport::log_init_error(const http_request& request, std::string_view note) {
  std::string_view type;
  for (const auto& [name, value] : request.headers) {
    if (iequals(name, error_type_header)) type = value;
  }
  std::fprintf(stderr, "lamella: init error%.*s: %.*s %.*s\n", static_cast<int>(note.size()),
               note.data(), static_cast<int>(type.size()), type.data(),
               static_cast<int>(request.body.size()), request.body.data());
}

std::string buffered_pull_transport::fresh_request_id() { return make_request_id(rng_(), rng_()); }

}  // namespace lamella::detail
