#include "lamella/platform.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

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
  // Each platform's names for the same settings (a platform sets only its own).
  if (auto v = first_of(
          env, {"AWS_LAMBDA_FUNCTION_NAME", "K_SERVICE", "FC_FUNCTION_NAME", "SCF_FUNCTIONNAME",
                "RUNTIME_FUNC_NAME", "FN_FN_NAME", "FN_NAME", "FUNCTION_TARGET", "FUNC_HANDLER"})) {
    f.name = std::move(*v);
  }
  if (auto v = first_of(env, {"AWS_LAMBDA_FUNCTION_VERSION", "K_REVISION", "FC_FUNCTION_VERSION",
                              "FC_VER_ID", "SCF_FUNCTIONVERSION", "RUNTIME_FUNC_VERSION"})) {
    f.version = std::move(*v);
  }
  if (auto v = first_of(env, {"AWS_REGION", "FC_REGION", "TENCENTCLOUD_REGION"})) {
    f.region = std::move(*v);
  }
  if (auto v = first_of(env, {"FC_ACCOUNT_ID"})) f.account_id = std::move(*v);
  constexpr std::uint64_t max_mb = 1024 * 1024;
  for (const std::string_view name : {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "FC_FUNCTION_MEMORY_SIZE",
                                      "RUNTIME_MEMORY", "FN_MEMORY"}) {
    if (!read_number(env, name, 1, max_mb, f.memory_mb)) return false;
  }
  constexpr std::uint64_t max_s = 24 * 3600;
  std::uint64_t seconds = 0;
  for (const std::string_view name :
       {"AWS_LAMBDA_FUNCTION_TIMEOUT", "FC_FUNCTION_TIMEOUT", "RUNTIME_TIMEOUT", "FUNC_TIMEOUT",
        "CLOUD_RUN_TIMEOUT_SECONDS"}) {
    if (!read_number(env, name, 1, max_s, seconds)) return false;
  }
  if (seconds != 0) f.timeout = std::chrono::seconds(seconds);
  return read_ms(env, "LAMELLA_FUNCTION_TIMEOUT_MS", f.timeout) && f.timeout.count() > 0;
}

struct platform_name {
  platform_kind kind;
  std::string_view name;
};

constexpr std::array<platform_name, 12> platform_names{{
    {platform_kind::lambda, "lambda"},
    {platform_kind::scf, "scf"},
    {platform_kind::functiongraph, "functiongraph"},
    {platform_kind::fc, "fc"},
    {platform_kind::http, "http"},
    {platform_kind::azure, "azure"},
    {platform_kind::openwhisk, "openwhisk"},
    {platform_kind::fission, "fission"},
    {platform_kind::fn, "fn"},
    {platform_kind::gcf, "gcf"},
    {platform_kind::kubeless, "kubeless"},
    {platform_kind::functiongraph_http, "functiongraph-http"},
}};

constexpr std::array<platform_kind, platform_names.size()> kinds_in_order = [] {
  std::array<platform_kind, platform_names.size()> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = platform_names[i].kind;
  return out;
}();

/// Why Fn's variables are unusable, as a sentence for the operator; empty when they are fine.
std::string fn_problem(const env_lookup& env) {
  const auto listener = first_of(env, {"FN_LISTENER"});
  if (!listener) return "FN_LISTENER is not set (Fn sets unix:/tmp/iofs/lsnr.sock)";
  if (!listener->starts_with("unix:") || listener->size() == 5) {
    return "FN_LISTENER=" + *listener + " is not a unix:<path> socket address";
  }
  // sockaddr_un holds 108 bytes with the terminating NUL.
  if (listener->size() - 5 > 107) return "FN_LISTENER's path is longer than 107 bytes";
  // FN_FORMAT names the protocol; http-stream is the only one left, and an FDK must refuse the
  // others (the retired default and json formats speak differently), as fdk-go does.
  if (const auto format = first_of(env, {"FN_FORMAT"}); format && *format != "http-stream") {
    return "FN_FORMAT=" + *format + " is not supported: lamella speaks Fn's http-stream format";
  }
  return {};
}

}  // namespace

std::string platform_problem(const env_lookup& env) {
  const auto chosen = first_of(env, {"LAMELLA_PLATFORM"});
  if (chosen && !platform_from_name(*chosen)) {
    return "LAMELLA_PLATFORM=" + *chosen + " names no platform lamella knows";
  }
  const auto settings = platform_from_env(env);
  if (settings) return {};
  if (chosen ? *chosen == "fn" : first_of(env, {"FN_LISTENER"}).has_value()) {
    if (auto why = fn_problem(env); !why.empty()) return "Fn: " + why;
  }
  return {};
}

std::string_view to_string(platform_kind kind) noexcept {
  for (const auto& entry : platform_names) {
    if (entry.kind == kind) return entry.name;
  }
  return "unknown";
}

std::optional<platform_kind> platform_from_name(std::string_view name) noexcept {
  for (const auto& entry : platform_names) {
    if (entry.name == name) return entry.kind;
  }
  return std::nullopt;
}

std::span<const platform_kind> all_platforms() noexcept { return kinds_in_order; }

env_lookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

result<platform_settings> platform_from_env(const env_lookup& env) {
  platform_settings s;
  const auto lambda_api = env("AWS_LAMBDA_RUNTIME_API");
  const auto scf_api = env("SCF_RUNTIME_API");
  const auto fc_port = first_of(env, {"FC_CUSTOM_LISTEN_PORT", "FC_SERVER_PORT"});
  const auto azure_port =
      first_of(env, {"FUNCTIONS_CUSTOMHANDLER_PORT", "FUNCTIONS_HTTPWORKER_PORT"});
  if (const auto chosen = first_of(env, {"LAMELLA_PLATFORM"})) {
    const auto kind = platform_from_name(*chosen);
    if (!kind) return errc::invalid_configuration;
    s.kind = *kind;
  } else {
    // The first variable a platform sets decides (the order says which wins when several are).
    static constexpr std::array<std::pair<std::string_view, platform_kind>, 13> markers{{
        {"AWS_LAMBDA_RUNTIME_API", platform_kind::lambda},
        {"SCF_RUNTIME_API", platform_kind::scf},
        {"RUNTIME_API_ADDR", platform_kind::functiongraph},
        {"FC_CUSTOM_LISTEN_PORT", platform_kind::fc},
        {"FC_SERVER_PORT", platform_kind::fc},
        {"FUNCTIONS_CUSTOMHANDLER_PORT", platform_kind::azure},
        {"FUNCTIONS_HTTPWORKER_PORT", platform_kind::azure},
        {"FN_LISTENER", platform_kind::fn},
        {"__OW_API_HOST", platform_kind::openwhisk},
        {"FUNCTION_TARGET", platform_kind::gcf},
        {"FUNC_HANDLER", platform_kind::kubeless},
        {"RUNTIME_CODE_ROOT", platform_kind::functiongraph_http},
        {"PORT", platform_kind::http},
    }};
    const auto* found = std::find_if(markers.begin(), markers.end(),
                                     [&](const auto& m) { return first_of(env, {m.first}); });
    if (found == markers.end()) return errc::invalid_configuration;
    s.kind = found->second;
  }

  // Reads the port variable `name` (when set) into s.port.
  const auto read_port = [&](std::string_view name) {
    return read_number(env, name, 0, 65535, s.port);
  };
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
    case platform_kind::functiongraph: {
      auto api = first_of(env, {"RUNTIME_API_ADDR"});
      if (!api) return errc::invalid_configuration;
      std::string_view text = *api;  // FunctionGraph's samples prepend "http://"
      if (text.starts_with("http://")) text.remove_prefix(7);
      while (text.ends_with('/')) text.remove_suffix(1);
      if (text.empty()) return errc::invalid_configuration;
      s.runtime_api = std::string(text);
      break;
    }
    case platform_kind::fc: {
      s.port = 9000;
      s.concurrency = 1;                // FC's instanceConcurrency default
      s.body_limit = 32 * 1024 * 1024;  // FC's synchronous invocation limit
      const auto text = fc_port ? fc_port : env("PORT");
      if (text && !text->empty()) {
        const auto p = parse_number(*text, 0, 65535);
        if (!p) return errc::invalid_configuration;
        s.port = static_cast<std::uint16_t>(*p);
      }
      break;
    }
    case platform_kind::http:
      s.port = 8080;
      s.concurrency = 16;
      if (!read_port("PORT")) return errc::invalid_configuration;
      break;
    case platform_kind::azure: {
      // The Functions host calls http://127.0.0.1:<port>/ and sends every invocation to this
      // one process: serve them concurrently. HTTP triggers take bodies up to 100 MB.
      s.listen_address = "127.0.0.1";
      s.port = 8080;
      s.concurrency = 16;
      s.body_limit = 100 * 1024 * 1024;
      if (azure_port) {
        const auto p = parse_number(*azure_port, 0, 65535);
        if (!p) return errc::invalid_configuration;
        s.port = static_cast<std::uint16_t>(*p);
      }
      break;
    }
    case platform_kind::openwhisk:
      // One /run at a time per container unless the operator allows more; /init may carry an
      // action's code (up to 48 MB).
      s.port = 8080;
      s.concurrency = 1;
      s.body_limit = 48 * 1024 * 1024;
      s.function.timeout = std::chrono::seconds(60);  // OpenWhisk's default action time limit
      break;
    case platform_kind::fission:
      s.port = 8888;
      s.concurrency = 16;
      s.function.timeout = std::chrono::seconds(60);  // Fission's default functionTimeout
      break;
    case platform_kind::fn: {
      // HTTP over the UNIX socket FN_LISTENER names, one call at a time; the FDK must impose no
      // read or write timeouts of its own (the agent's deadlines rule).
      if (!fn_problem(env).empty()) return errc::invalid_configuration;
      s.unix_socket = first_of(env, {"FN_LISTENER"})->substr(5);
      s.concurrency = 1;
      s.function.timeout = std::chrono::seconds(30);  // Fn's default per-call timeout
      s.idle_timeout = std::chrono::hours(2);
      s.io_timeout = std::chrono::hours(1);
      // The agent enforces its own request limits, and kills the container on any answer but
      // 200, 502 and 504: ours (a 431 or a 413) must not be the ones that strike. 1 MiB of
      // headers as Go's net/http (fdk-go) takes.
      s.header_limit = 1024 * 1024;
      s.body_limit = 64 * 1024 * 1024;
      break;
    }
    case platform_kind::gcf: {
      s.port = 8080;
      s.concurrency = 16;
      if (!read_port("PORT")) return errc::invalid_configuration;
      // The push adapter reads it; a framework refuses to start with a signature it lacks.
      const auto signature = first_of(env, {"FUNCTION_SIGNATURE_TYPE"});
      if (signature && *signature != "http" && *signature != "cloudevent" &&
          *signature != "event") {
        // The callers' own message speaks of platforms in general; name the culprit.
        std::fprintf(stderr,
                     "lamella: FUNCTION_SIGNATURE_TYPE=%s: expected http, cloudevent or event\n",
                     signature->c_str());
        return errc::invalid_configuration;
      }
      break;
    }
    case platform_kind::kubeless:
      s.port = 8080;
      s.concurrency = 16;
      s.function.timeout = std::chrono::seconds(180);  // Kubeless's FUNC_TIMEOUT default
      if (!read_port("FUNC_PORT")) return errc::invalid_configuration;
      break;
    case platform_kind::functiongraph_http:
      s.listen_address = "127.0.0.1";
      s.port = 8000;
      s.concurrency = 16;
      break;
  }
  if (is_push(s.kind) && s.kind != platform_kind::fn && !read_port("LAMELLA_PORT")) {
    return errc::invalid_configuration;
  }
  if (is_push(s.kind) && s.kind != platform_kind::fn) {
    // E.g. a FunctionGraph container image, whose server must be reachable on :8000 from
    // outside the container, where an HTTP function's is on loopback.
    if (auto address = first_of(env, {"LAMELLA_LISTEN_ADDRESS"})) {
      s.listen_address = std::move(*address);
    }
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
