#include "emulator/emulator_protocol.h"

#include "client/lambda_protocol.h"

#include <boost/json.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace lamella::detail {

namespace {

// Appends `digits` lowercase hex digits of `value` (most significant first).
void append_hex(std::string& out, std::uint64_t value, int digits) {
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(hex[(value >> (4 * i)) & 0xF]);
}

// A two-field JSON object in the given field order.
std::string two_field_json(std::string_view first_key, std::string_view first,
                           std::string_view second_key, std::string_view second) {
  boost::json::object o;
  o[first_key] = first;
  o[second_key] = second;
  return boost::json::serialize(o);
}

std::string fixed2(double value) {
  std::array<char, 64> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), "%.2f", value);
  return std::string(buf.data(), static_cast<std::size_t>(std::max(n, 0)));
}

// Strips "?query" from a request target.
std::string_view path_of(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

bool consume_prefix(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

}  // namespace

std::optional<invocation_type> parse_invocation_type(std::string_view header) {
  if (header.empty() || header == "RequestResponse") return invocation_type::request_response;
  if (header == "Event") return invocation_type::event;
  if (header == "DryRun") return invocation_type::dry_run;
  return std::nullopt;
}

std::string format_seconds(std::chrono::milliseconds duration) {
  return fixed2(static_cast<double>(duration.count()) / 1000.0);
}

namespace {

/// `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id> Error: <phase> timed out
/// after N.NN seconds"}`.
std::string timed_out_body(std::string_view request_id, std::string_view phase,
                           std::chrono::milliseconds limit) {
  std::string message = "RequestId: ";
  message.append(request_id)
      .append(" Error: ")
      .append(phase)
      .append(" timed out after ")
      .append(format_seconds(limit))
      .append(" seconds");
  return two_field_json("errorType", "Sandbox.Timedout", "errorMessage", message);
}

}  // namespace

std::string timeout_error_body(std::string_view request_id, std::chrono::milliseconds timeout) {
  return timed_out_body(request_id, "Task", timeout);
}

std::string init_timeout_error_body(std::string_view request_id,
                                    std::chrono::milliseconds init_timeout) {
  return timed_out_body(request_id, "Init", init_timeout);
}

std::string describe_exit_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    const char* name = ::strsignal(sig);
    std::string text = name != nullptr ? name : "signal " + std::to_string(sig);
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return "signal: " + text;
  }
  return "unknown status " + std::to_string(wait_status);
}

std::string exit_error_body(std::string_view request_id, std::string_view reason) {
  std::string message = "RequestId: ";
  message.append(request_id).append(" Error: Runtime exited with error: ").append(reason);
  return two_field_json("errorType", "Runtime.ExitError", "errorMessage", message);
}

std::string entrypoint_error_body(std::string_view request_id, std::string_view reason) {
  std::string message = "RequestId: ";
  message.append(request_id).append(" Error: ").append(reason);
  return two_field_json("errorType", "Runtime.InvalidEntrypoint", "errorMessage", message);
}

std::string response_too_large_message() {
  return "Exceeded maximum allowed payload size (" + std::to_string(max_response_bytes) +
         " bytes).";
}

std::string response_too_large_body() { return streamed_too_large_body(max_response_bytes); }

std::string streamed_too_large_message(std::size_t limit) {
  return "Exceeded maximum allowed payload size (" + std::to_string(limit) + " bytes).";
}

std::string streamed_too_large_body(std::size_t limit) {
  return two_field_json("errorMessage",
                        "Response payload size exceeded maximum allowed payload size (" +
                            std::to_string(limit) + " bytes).",
                        "errorType", "Function.ResponseSizeTooLarge");
}

std::string truncated_response_body(std::string_view request_id) {
  std::string message = "RequestId: ";
  message.append(request_id)
      .append(" Error: the runtime closed its connection before the end of the streamed response");
  return two_field_json("errorType", "Runtime.TruncatedResponse", "errorMessage", message);
}

std::string api_error_body(std::string_view error_type, std::string_view message) {
  return two_field_json("errorMessage", message, "errorType", error_type);
}

std::string invoke_error_body(std::string_view error_type, std::string_view message) {
  return two_field_json("errorType", error_type, "errorMessage", message);
}

std::string request_too_large_body(std::size_t size, std::size_t limit) {
  return invoke_error_body("RequestEntityTooLargeException",
                           std::to_string(size) + " byte payload is too large for the " +
                               (limit == max_event_request_bytes ? "Event" : "RequestResponse") +
                               " invocation type (limit " + std::to_string(limit) + " bytes)");
}

function_error normalize_function_error(std::string body, std::string_view header_type) {
  std::string fallback = header_type.empty() ? "Runtime.Unknown" : std::string(header_type);
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(body, ec);
  if (!ec) {
    if (const auto* obj = parsed.if_object()) {
      if (const auto* type = obj->if_contains("errorType"); type != nullptr && type->is_string()) {
        return {std::move(body), std::string(type->get_string())};
      }
    }
    return {std::move(body), std::move(fallback)};
  }
  std::string wrapped = two_field_json("errorType", fallback, "errorMessage", body);
  return {std::move(wrapped), std::move(fallback)};
}

std::string format_start_line(std::string_view request_id, std::string_view version) {
  std::string line = "START RequestId: ";
  line.append(request_id).append(" Version: ").append(version).push_back('\n');
  return line;
}

std::string format_end_line(std::string_view request_id) {
  std::string line = "END RequestId: ";
  line.append(request_id).push_back('\n');
  return line;
}

std::string format_report_line(
    std::string_view request_id, std::chrono::duration<double, std::milli> duration, int memory_mb,
    std::size_t max_memory_kb,
    std::optional<std::chrono::duration<double, std::milli>> init_duration) {
  const double ms = std::max(duration.count(), 0.0);
  const auto billed = std::max<long long>(1, static_cast<long long>(std::ceil(ms)));
  const std::size_t max_mb = (max_memory_kb + 1023) / 1024;
  std::string line = "REPORT RequestId: ";
  line.append(request_id)
      .append("\tDuration: ")
      .append(fixed2(ms))
      .append(" ms\tBilled Duration: ")
      .append(std::to_string(billed))
      .append(" ms\tMemory Size: ")
      .append(std::to_string(memory_mb))
      .append(" MB\tMax Memory Used: ")
      .append(std::to_string(max_mb))
      .append(" MB");
  if (init_duration) {
    line.append("\tInit Duration: ").append(fixed2(init_duration->count())).append(" ms");
  }
  line.push_back('\n');
  return line;
}

std::string_view log_tail(std::string_view log, std::size_t max_bytes) {
  return log.size() <= max_bytes ? log : log.substr(log.size() - max_bytes);
}

std::string format_request_id(std::uint64_t high, std::uint64_t low) {
  high = (high & ~std::uint64_t{0xF000}) | std::uint64_t{0x4000};          // version 4
  low = (low & ~(std::uint64_t{0xC} << 60)) | (std::uint64_t{0x8} << 60);  // variant 10xx
  std::string id;
  id.reserve(36);
  append_hex(id, high >> 32, 8);
  id.push_back('-');
  append_hex(id, (high >> 16) & 0xFFFF, 4);
  id.push_back('-');
  append_hex(id, high & 0xFFFF, 4);
  id.push_back('-');
  append_hex(id, low >> 48, 4);
  id.push_back('-');
  append_hex(id, low & 0xFFFFFFFFFFFF, 12);
  return id;
}

std::string format_trace_id(std::chrono::system_clock::time_point now, std::uint64_t random_a,
                            std::uint64_t random_b, std::uint64_t random_c) {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  std::string t = "Root=1-";
  append_hex(t, static_cast<std::uint64_t>(secs.count()) & 0xFFFFFFFF, 8);
  t.push_back('-');
  append_hex(t, random_a & 0xFFFFFFFF, 8);
  append_hex(t, random_b, 16);
  t.append(";Parent=");
  append_hex(t, random_c, 16);
  t.append(";Sampled=0");
  return t;
}

std::string function_arn(std::string_view region, std::string_view name) {
  std::string arn = "arn:aws:lambda:";
  arn.append(region).push_back(':');
  arn.append(emulated_account_id).append(":function:").append(name);
  return arn;
}

std::string log_stream_name(std::chrono::system_clock::time_point now, std::string_view version,
                            std::uint64_t random_high, std::uint64_t random_low) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::array<char, 16> date{};
  std::strftime(date.data(), date.size(), "%Y/%m/%d", &tm);
  std::string s = date.data();
  s.append("/[").append(version).push_back(']');
  append_hex(s, random_high, 16);
  append_hex(s, random_low, 16);
  return s;
}

env_list sanitizer_passthrough() {
  env_list out;
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name); value != nullptr) out.emplace_back(name, value);
  }
  return out;
}

namespace {

/// Sets each of `passthrough`, then each of `function_env`, in `env`: a name already there gets
/// the new value, a new name is appended (the function's own variables win over everything).
void apply_overrides(env_list& env, const env_list& passthrough, const env_list& function_env) {
  const auto set = [&env](const std::string& name, const std::string& value) {
    const auto it = std::find_if(env.begin(), env.end(),
                                 [&name](const auto& entry) { return entry.first == name; });
    if (it != env.end()) {
      it->second = value;
    } else {
      env.emplace_back(name, value);
    }
  };
  for (const auto& [name, value] : passthrough) set(name, value);
  for (const auto& [name, value] : function_env) set(name, value);
}

}  // namespace

env_list lambda_environment(const function_config& function, std::string_view runtime_api,
                            std::string_view stream, const env_list& passthrough) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path task_root = fs::absolute(function.dir, ec);
  if (ec) task_root = function.dir;
  fs::path runtime_dir;
  if (!function.command.empty()) {
    runtime_dir = fs::absolute(fs::path(function.command.front()), ec).parent_path();
    if (ec) runtime_dir = fs::path(function.command.front()).parent_path();
  }

  env_list env;
  env.reserve(32 + passthrough.size() + function.env.size());
  env.emplace_back("AWS_LAMBDA_RUNTIME_API", runtime_api);
  if (!function.handler.empty()) env.emplace_back("_HANDLER", function.handler);
  env.emplace_back("LAMBDA_TASK_ROOT", task_root.lexically_normal().string());
  env.emplace_back("LAMBDA_RUNTIME_DIR", runtime_dir.lexically_normal().string());
  env.emplace_back("AWS_LAMBDA_FUNCTION_NAME", function.name);
  env.emplace_back("AWS_LAMBDA_FUNCTION_VERSION", function.version);
  env.emplace_back("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(function.memory_mb));
  env.emplace_back("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + function.name);
  env.emplace_back("AWS_LAMBDA_LOG_STREAM_NAME", stream);
  env.emplace_back("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
  env.emplace_back("AWS_REGION", function.region);
  env.emplace_back("AWS_DEFAULT_REGION", function.region);
  env.emplace_back("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE");
  env.emplace_back("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  env.emplace_back("AWS_SESSION_TOKEN", "lamella-emulator-session-token");
  env.emplace_back("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR");
  env.emplace_back("AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000");
  env.emplace_back("_AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129");
  env.emplace_back("_AWS_XRAY_DAEMON_PORT", "2000");
  env.emplace_back("TZ", ":UTC");
  env.emplace_back("LANG", "en_US.UTF-8");
  env.emplace_back("PATH", "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin");
  env.emplace_back("LD_LIBRARY_PATH",
                   "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:"
                   "/var/task/lib:/opt/lib");

  apply_overrides(env, passthrough, function.env);
  return env;
}

env_list scf_environment(const function_config& function, std::string_view host, std::uint16_t port,
                         const env_list& passthrough) {
  env_list env;
  env.reserve(24 + passthrough.size() + function.env.size());
  env.emplace_back("SCF_RUNTIME_API", host);
  env.emplace_back("SCF_RUNTIME_API_PORT", std::to_string(port));
  if (!function.handler.empty()) env.emplace_back("_HANDLER", function.handler);
  env.emplace_back("SCF_FUNCTIONNAME", function.name);
  env.emplace_back("SCF_NAMESPACE", "default");
  env.emplace_back("SCF_FUNCTIONVERSION", function.version);
  env.emplace_back("TENCENTCLOUD_REGION", function.region);
  env.emplace_back("TENCENTCLOUD_APPID", emulated_scf_appid);
  env.emplace_back("TENCENTCLOUD_UIN", emulated_scf_uin);
  env.emplace_back("TENCENTCLOUD_SECRETID", "AKIDLAMELLAEMULATOREXAMPLE");
  env.emplace_back("TENCENTCLOUD_SECRETKEY", "lamella-emulator-secret-key");
  env.emplace_back("TENCENTCLOUD_SESSIONTOKEN", "lamella-emulator-session-token");
  env.emplace_back("TZ", "UTC");
  env.emplace_back("LANG", "en_US.UTF-8");
  env.emplace_back("PATH", "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin");
  env.emplace_back("LD_LIBRARY_PATH", "/var/user:/var/user/lib:/opt/lib:/usr/local/lib:/usr/lib");

  apply_overrides(env, passthrough, function.env);
  return env;
}

env_list functiongraph_environment(const function_config& function, std::string_view runtime_api,
                                   const env_list& passthrough) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path code_root = fs::absolute(function.dir, ec);
  if (ec) code_root = function.dir;
  const auto timeout_ms = std::max<std::int64_t>(function.timeout.count(), 1);
  env_list env;
  env.reserve(24 + passthrough.size() + function.env.size());
  env.emplace_back("RUNTIME_API_ADDR", runtime_api);
  env.emplace_back("RUNTIME_PROJECT_ID", emulated_fg_project_id);
  env.emplace_back("RUNTIME_FUNC_NAME", function.name);
  env.emplace_back("RUNTIME_FUNC_VERSION",
                   function.version == "$LATEST" ? std::string("latest") : function.version);
  env.emplace_back("RUNTIME_PACKAGE", "default");
  if (!function.handler.empty()) env.emplace_back("RUNTIME_HANDLER", function.handler);
  env.emplace_back("RUNTIME_TIMEOUT", std::to_string((timeout_ms + 999) / 1000));
  env.emplace_back("RUNTIME_MEMORY", std::to_string(function.memory_mb));
  env.emplace_back("RUNTIME_CPU", "1");
  env.emplace_back("RUNTIME_USERDATA", "");
  env.emplace_back("RUNTIME_CODE_ROOT", code_root.lexically_normal().string());
  env.emplace_back("RUNTIME_MAX_RESP_BODY_SIZE", "6291456");
  env.emplace_back("RUNTIME_ROOT", "/home/snuser/runtime");
  env.emplace_back("RUNTIME_LOG_DIR", "/home/snuser/log");
  env.emplace_back("TZ", "UTC");
  env.emplace_back("LANG", "en_US.UTF-8");
  env.emplace_back("PATH", "/usr/local/bin:/usr/bin:/bin");
  env.emplace_back("LD_LIBRARY_PATH", "/opt/function/code:/opt/function/code/lib:/usr/local/lib");

  apply_overrides(env, passthrough, function.env);
  return env;
}

runtime_target parse_functiongraph_target(std::string_view target) {
  std::string_view path = path_of(target);
  runtime_target out;
  if (path == "/v1/runtime/invocation/request") {
    out.kind = runtime_target::next;
    return out;
  }
  if (!consume_prefix(path, "/v1/runtime/invocation/")) return out;
  runtime_target::kind_t kind = runtime_target::unknown;
  if (consume_prefix(path, "response/")) {
    kind = runtime_target::response;
  } else if (consume_prefix(path, "error/")) {
    kind = runtime_target::error;
  }
  if (kind == runtime_target::unknown || path.empty() || path.find('/') != std::string_view::npos) {
    return out;
  }
  out.kind = kind;
  out.request_id = path;
  return out;
}

runtime_target parse_scf_target(std::string_view target) {
  const std::string_view path = path_of(target);
  runtime_target out;
  if (path == "/runtime/init/ready") {
    out.kind = runtime_target::init_ready;
  } else if (path == "/runtime/invocation/next") {
    out.kind = runtime_target::next;
  } else if (path == "/runtime/invocation/response") {
    out.kind = runtime_target::response;
  } else if (path == "/runtime/invocation/error") {
    out.kind = runtime_target::error;
  }
  return out;
}

runtime_target parse_runtime_target(std::string_view target) {
  std::string_view path = path_of(target);
  runtime_target out;
  if (!consume_prefix(path, api_prefix)) return out;
  if (path == "/ping") {
    out.kind = runtime_target::ping;
  } else if (path == "/runtime/invocation/next") {
    out.kind = runtime_target::next;
  } else if (path == "/runtime/init/error") {
    out.kind = runtime_target::init_error;
  } else if (consume_prefix(path, "/runtime/invocation/")) {
    const auto slash = path.find('/');
    if (slash == std::string_view::npos || slash == 0) return out;
    const std::string_view id = path.substr(0, slash);
    const std::string_view action = path.substr(slash);
    if (action == "/response") {
      out.kind = runtime_target::response;
    } else if (action == "/error") {
      out.kind = runtime_target::error;
    } else {
      return out;
    }
    out.request_id = id;
  }
  return out;
}

bool is_invoke_target(std::string_view target) {
  std::string_view path = path_of(target);
  if (!consume_prefix(path, "/2015-03-31/functions/")) return false;
  const auto slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  return path.substr(slash) == "/invocations";
}

std::size_t parse_vm_hwm_kb(std::string_view proc_status) {
  constexpr std::string_view key = "VmHWM:";
  std::size_t pos = 0;
  while (pos < proc_status.size()) {
    const auto eol = proc_status.find('\n', pos);
    const std::string_view line =
        proc_status.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.substr(0, key.size()) == key) {
      std::string_view rest = line.substr(key.size());
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      std::size_t kb = 0;
      const auto [end, err] = std::from_chars(rest.data(), rest.data() + rest.size(), kb);
      return err == std::errc{} ? kb : 0;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return 0;
}

}  // namespace lamella::detail

namespace lamella {

std::vector<std::pair<std::string, std::string>> push_runtime_environment(
    const function_config& function, std::string_view platform, std::uint16_t port,
    const std::filesystem::path& socket_dir) {
  const std::string stream =
      detail::log_stream_name(std::chrono::system_clock::now(), function.version, 0, 0);
  auto env = detail::lambda_environment(function, "", stream, detail::sanitizer_passthrough());
  std::erase_if(env, [](const auto& entry) { return entry.first == "AWS_LAMBDA_RUNTIME_API"; });
  std::vector<std::pair<std::string, std::string>> platform_env;
  if (platform == "fn") {
    // Fn listens on a UNIX socket, not a port: what the Fn agent sets (FN_TYPE, FN_MEMORY too).
    const std::filesystem::path dir = socket_dir.empty() ? "/tmp/iofs" : socket_dir;
    platform_env = {{"FN_LISTENER", "unix:" + (dir / "lsnr.sock").string()},
                    {"FN_FORMAT", "http-stream"},
                    {"FN_TYPE", "sync"},
                    {"FN_MEMORY", std::to_string(function.memory_mb)}};
  } else {
    // Each platform's own port variable; LAMELLA_PORT for those that name none (fixed ports).
    const std::string port_variable = platform == "fc"         ? "FC_CUSTOM_LISTEN_PORT"
                                      : platform == "azure"    ? "FUNCTIONS_CUSTOMHANDLER_PORT"
                                      : platform == "kubeless" ? "FUNC_PORT"
                                      : platform == "http" || platform == "gcf" ? "PORT"
                                                                                : "LAMELLA_PORT";
    platform_env = {{port_variable, std::to_string(port)}};
  }
  platform_env.emplace_back("LAMELLA_PLATFORM", std::string(platform));
  for (auto& [name, value] : platform_env) {
    std::erase_if(env, [&name = name](const auto& entry) { return entry.first == name; });
    env.emplace_back(std::move(name), std::move(value));
  }
  return env;
}

}  // namespace lamella
