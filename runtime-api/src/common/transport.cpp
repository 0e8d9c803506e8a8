#include "lamella/transport.h"

namespace lamella {

std::string_view http_response::header(std::string_view name) const noexcept {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

result<void> transport::begin_chunked(const http_request&) { return errc::not_supported; }

result<void> transport::write_chunk(std::string_view) { return errc::not_supported; }

result<http_response> transport::end_chunked(
    const std::vector<std::pair<std::string_view, std::string_view>>&) {
  return errc::not_supported;
}

void transport::abort_chunked() noexcept {}

result<std::optional<invocation>> transport::poll_next(unsigned) { return errc::not_supported; }

// NOLINTNEXTLINE(performance-unnecessary-value-param): by value, as an override may keep it
result<void> transport::on_ready(std::function<void()>) { return errc::not_supported; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    // ASCII folding only: header names are tokens, and locale-aware tolower() is a call per
    // character.
    const auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (fold(a[i]) != fold(b[i])) return false;
  }
  return true;
}

}  // namespace lamella
