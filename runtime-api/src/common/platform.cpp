#include "lamella/platform.h"

#include <charconv>
#include <cstdlib>
#include <limits>

namespace lamella {
namespace {

/// Parses a whole decimal number in [min, max]; nullopt for anything else.
std::optional<std::uint64_t> parse_number(std::string_view text, std::uint64_t min,
                                          std::uint64_t max) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

/// Reads a numeric variable into `out` when set (an empty value counts as unset). False when it
/// is set but malformed or out of range.
template <class T>
bool read_number(const env_lookup& env, std::string_view name, std::uint64_t min, std::uint64_t max,
                 T& out) {
  const auto text = env(name);
  if (!text || text->empty()) return true;
  const auto value = parse_number(*text, min, max);
  if (!value) return false;
  out = static_cast<T>(*value);
  return true;
}

bool read_ms(const env_lookup& env, std::string_view name, std::chrono::milliseconds& out) {
  std::uint64_t ms = static_cast<std::uint64_t>(out.count());
  if (!read_number(env, name, 0, std::uint64_t{24} * 3600 * 1000, ms)) return false;
  out = std::chrono::milliseconds(ms);
  return true;
}

/// The first of `names` that is set and not empty.
std::optional<std::string> first_of(const env_lookup& env,
                                    std::initializer_list<std::string_view> names) {
  for (const auto name : names) {
    auto v = env(name);
    if (v && !v->empty()) return v;
  }
  return std::nullopt;
}

bool read_function(const env_lookup& env, function_settings& f) {
  if (auto v = first_of(env, {"AWS_LAMBDA_FUNCTION_NAME", "K_SERVICE", "FC_FUNCTION_NAME"})) {
    f.name = std::move(*v);
  }
  if (auto v = first_of(
          env, {"AWS_LAMBDA_FUNCTION_VERSION", "K_REVISION", "FC_FUNCTION_VERSION", "FC_VER_ID"})) {
    f.version = std::move(*v);
  }
  if (auto v = first_of(env, {"AWS_REGION", "FC_REGION"})) f.region = std::move(*v);
  if (auto v = first_of(env, {"FC_ACCOUNT_ID"})) f.account_id = std::move(*v);
  constexpr std::uint64_t max_mb = 1024 * 1024;
  if (!read_number(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 1, max_mb, f.memory_mb) ||
      !read_number(env, "FC_FUNCTION_MEMORY_SIZE", 1, max_mb, f.memory_mb)) {
    return false;
  }
  constexpr std::uint64_t max_s = 24 * 3600;
  std::uint64_t seconds = 0;
  if (!read_number(env, "AWS_LAMBDA_FUNCTION_TIMEOUT", 1, max_s, seconds) ||
      !read_number(env, "FC_FUNCTION_TIMEOUT", 1, max_s, seconds)) {
    return false;
  }
  if (seconds != 0) f.timeout = std::chrono::seconds(seconds);
  return read_ms(env, "LAMELLA_FUNCTION_TIMEOUT_MS", f.timeout) && f.timeout.count() > 0;
}

}  // namespace

std::string_view to_string(platform_kind kind) noexcept {
  switch (kind) {
    case platform_kind::lambda:
      return "lambda";
    case platform_kind::scf:
      return "scf";
    case platform_kind::fc:
      return "fc";
    case platform_kind::http:
      return "http";
  }
  return "unknown";
}

env_lookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

result<platform_settings> platform_from_env(const env_lookup& env) {
  platform_settings s;
  const auto chosen = env("LAMELLA_PLATFORM");
  const auto lambda_api = env("AWS_LAMBDA_RUNTIME_API");
  const auto scf_api = env("SCF_RUNTIME_API");
  const auto fc_port = first_of(env, {"FC_CUSTOM_LISTEN_PORT", "FC_SERVER_PORT"});
  const auto port = env("PORT");
  if (chosen && !chosen->empty()) {
    if (*chosen == "lambda") {
      s.kind = platform_kind::lambda;
    } else if (*chosen == "scf") {
      s.kind = platform_kind::scf;
    } else if (*chosen == "fc") {
      s.kind = platform_kind::fc;
    } else if (*chosen == "http") {
      s.kind = platform_kind::http;
    } else {
      return errc::invalid_configuration;
    }
  } else if (lambda_api && !lambda_api->empty()) {
    s.kind = platform_kind::lambda;
  } else if (scf_api && !scf_api->empty()) {
    s.kind = platform_kind::scf;
  } else if (fc_port) {
    s.kind = platform_kind::fc;
  } else if (port && !port->empty()) {
    s.kind = platform_kind::http;
  } else {
    return errc::invalid_configuration;
  }

  switch (s.kind) {
    case platform_kind::lambda:
      if (!lambda_api || lambda_api->empty()) return errc::invalid_configuration;
      s.runtime_api = *lambda_api;
      break;
    case platform_kind::scf: {
      const std::string host = scf_api && !scf_api->empty() ? *scf_api : "127.0.0.1";
      std::uint16_t scf_port = 9001;
      if (!read_number(env, "SCF_RUNTIME_API_PORT", 1, 65535, scf_port)) {
        return errc::invalid_configuration;
      }
      s.runtime_api = host + ":" + std::to_string(scf_port);
      break;
    }
    case platform_kind::fc: {
      s.port = 9000;
      s.concurrency = 1;                // FC's instanceConcurrency default
      s.body_limit = 32 * 1024 * 1024;  // FC's synchronous invocation limit
      const auto text = fc_port ? fc_port : port;
      if (text) {
        const auto p = parse_number(*text, 0, 65535);
        if (!p) return errc::invalid_configuration;
        s.port = static_cast<std::uint16_t>(*p);
      }
      break;
    }
    case platform_kind::http:
      s.port = 8080;
      s.concurrency = 16;
      if (!read_number(env, "PORT", 0, 65535, s.port)) return errc::invalid_configuration;
      break;
  }

  constexpr std::uint64_t max_concurrency = 1024;
  constexpr std::uint64_t max_bytes = std::uint64_t{1} << 32;
  if (!read_number(env, "LAMELLA_CONCURRENCY", 1, max_concurrency, s.concurrency) ||
      !read_number(env, "LAMELLA_QUEUE", 0, 1'000'000, s.queue_limit) ||
      !read_number(env, "LAMELLA_BODY_LIMIT", 0, max_bytes, s.body_limit) ||
      !read_ms(env, "LAMELLA_SHUTDOWN_GRACE_MS", s.shutdown_grace) ||
      !read_ms(env, "LAMELLA_HEADER_TIMEOUT_MS", s.header_timeout) ||
      !read_ms(env, "LAMELLA_IDLE_TIMEOUT_MS", s.idle_timeout) ||
      !read_ms(env, "LAMELLA_IO_TIMEOUT_MS", s.io_timeout) || !read_function(env, s.function)) {
    return errc::invalid_configuration;
  }
  return s;
}

}  // namespace lamella
