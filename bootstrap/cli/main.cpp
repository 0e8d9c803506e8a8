// `lamella`: the emulator's command line.
//
//   lamella serve FUNCTION_DIR [options]     serve the invoke endpoint until SIGINT/SIGTERM
//   lamella invoke FUNCTION_DIR [options]    run one invocation, print the response body
//
// Exit status: 0 success; 1 a function error (invoke) or a runtime failure; 2 a usage error.
#include "lamella/emulator.h"
#include "lamella/platform.h"
#include "lamella/transport.h"
#include "lamella/version.h"

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr std::string_view usage_text =
    R"(usage: lamella serve FUNCTION_DIR [options]
       lamella invoke FUNCTION_DIR [--event JSON|@FILE] [options]
       lamella --version | help

Runs a function locally as its platform runs it: the function's runtime (FUNCTION_DIR/bootstrap
if it is an executable, else the generic lamella bootstrap) behind the Lambda Runtime API (or
the --platform's own API, protocol and environment), with the platform's environment only.

options:
  --platform P        lambda (default): the Lambda Runtime API;
                      scf: Tencent SCF's runtime API and environment (same invoke endpoint);
                      functiongraph: Huawei FunctionGraph's custom-runtime API and
                      environment (same invoke endpoint);
                      fc, http, azure, openwhisk, fission, fn, gcf, kubeless,
                      functiongraph-http (serve only): start the runtime as that platform
                      starts it, serving on --port, restarted when it dies
                      (docs/platforms.md says how each platform calls it)
  --handler H         _HANDLER for the runtime (e.g. app.handler)
  --port P            invoke endpoint port for serve (default 9000)
  --runtime-port P    Runtime API port (default 0: any free port)
  --timeout S         function timeout in seconds (default 3)
  --memory MB         memory size reported to the function (default 128)
  --env K=V           a function environment variable (repeatable)
  --env-file F        function environment variables, one K=V per line (# comments)
  --name N            function name (default: function)
  --event JSON|@FILE  the event for invoke (default {})
)";

// A usage error: message printed with the usage text, exit status 2.
struct usage_error {
  std::string message;
};

struct cli_options {
  std::string command;  // serve | invoke
  fs::path dir;
  lamella::function_config function;
  std::uint16_t port = 9000;
  std::uint16_t runtime_port = 0;
  std::string event = "{}";
  std::string platform = "lambda";  // a name lamella::platform_from_name() knows
};

/// True when `platform` names a push platform (the runtime serves HTTP itself).
bool is_push_platform(std::string_view platform) {
  const auto kind = lamella::platform_from_name(platform);
  return kind && lamella::is_push(*kind);
}

std::uint16_t parse_port(std::string_view flag, std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > 65535) {
    throw usage_error{std::string(flag) + ": not a port number: " + std::string(text)};
  }
  return static_cast<std::uint16_t>(value);
}

double parse_positive(std::string_view flag, std::string_view text) {
  try {
    std::size_t used = 0;
    const double value = std::stod(std::string(text), &used);
    if (used == text.size() && value > 0 && std::isfinite(value)) return value;
  } catch (const std::exception&) {
  }
  throw usage_error{std::string(flag) + ": not a positive number: " + std::string(text)};
}

std::pair<std::string, std::string> parse_assignment(std::string_view flag, std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw usage_error{std::string(flag) + ": expected NAME=VALUE, got: " + std::string(text)};
  }
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

std::string read_file(const fs::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error{std::string(what) + ": cannot read " + path.string()};
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// K=V lines; blank lines and lines starting with '#' are skipped; an optional "export " prefix
// and one pair of matching surrounding quotes around the value are removed.
void read_env_file(const fs::path& path, lamella::function_config& function) {
  std::istringstream lines(read_file(path, "--env-file"));
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string_view text = line;
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    if (text.empty() || text.front() == '#') continue;
    if (text.substr(0, 7) == "export ") text.remove_prefix(7);
    auto [name, value] = parse_assignment("--env-file", text);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    function.env.emplace_back(std::move(name), std::move(value));
  }
}

cli_options parse_arguments(const std::vector<std::string_view>& args) {
  if (args.empty()) throw usage_error{"missing command"};
  cli_options o;
  o.command = std::string(args[0]);
  if (o.command != "serve" && o.command != "invoke") {
    throw usage_error{"unknown command: " + o.command};
  }
  bool have_dir = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.substr(0, 2) != "--") {
      if (have_dir) throw usage_error{"unexpected argument: " + std::string(arg)};
      o.dir = fs::path(arg);
      have_dir = true;
      continue;
    }
    // --flag VALUE or --flag=VALUE
    std::string_view flag = arg;
    std::optional<std::string_view> inline_value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    const auto value = [&]() -> std::string_view {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw usage_error{std::string(flag) + " needs a value"};
      return args[++i];
    };
    if (flag == "--handler") {
      o.function.handler = std::string(value());
    } else if (flag == "--port") {
      o.port = parse_port(flag, value());
    } else if (flag == "--runtime-port") {
      o.runtime_port = parse_port(flag, value());
    } else if (flag == "--timeout") {
      o.function.timeout =
          std::chrono::milliseconds(std::llround(parse_positive(flag, value()) * 1000.0));
    } else if (flag == "--memory") {
      o.function.memory_mb = static_cast<int>(parse_positive(flag, value()));
    } else if (flag == "--env") {
      o.function.env.push_back(parse_assignment(flag, value()));
    } else if (flag == "--env-file") {
      read_env_file(fs::path(value()), o.function);
    } else if (flag == "--name") {
      o.function.name = std::string(value());
      if (o.function.name.empty()) throw usage_error{"--name must not be empty"};
    } else if (flag == "--platform") {
      o.platform = std::string(value());
      if (!lamella::platform_from_name(o.platform)) {
        std::string names;
        for (const auto kind : lamella::all_platforms()) {
          names.append(names.empty() ? "" : ", ").append(lamella::to_string(kind));
        }
        throw usage_error{"--platform: expected one of " + names + "; got: " + o.platform};
      }
    } else if (flag == "--event" && o.command == "invoke") {
      const std::string_view event = value();
      o.event = event.substr(0, 1) == "@" ? read_file(fs::path(event.substr(1)), "--event")
                                          : std::string(event);
    } else {
      throw usage_error{"unknown option: " + std::string(flag)};
    }
  }
  if (!have_dir) throw usage_error{"missing FUNCTION_DIR"};
  if (o.command == "invoke" && is_push_platform(o.platform)) {
    throw usage_error{"--platform " + o.platform + " works with serve only"};
  }
  return o;
}

bool is_executable_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

// FUNCTION_DIR/bootstrap if executable, else the generic bootstrap next to this executable.
std::optional<fs::path> find_runtime(const fs::path& dir) {
  if (const auto own = dir / "bootstrap"; is_executable_file(own)) return own;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    if (const auto generic = self.parent_path() / "bootstrap"; is_executable_file(generic)) {
      return generic;
    }
  }
  return std::nullopt;
}

// What a push runtime's stop looks like: SIGTERM, then this long to exit before SIGKILL.
constexpr std::chrono::seconds push_stop_grace{10};

// Waits for one of `set` up to `timeout`; 0 on timeout.
int wait_signal(const sigset_t& set, std::chrono::milliseconds timeout) {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const timespec ts{static_cast<time_t>(secs.count()),
                    static_cast<long>(std::chrono::nanoseconds(timeout - secs).count())};
  for (;;) {
    const int sig = ::sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno != EINTR) return 0;
  }
}

// Starts `argv` in `dir` with exactly `env`, in its own process group (so that a terminal's
// Ctrl-C reaches it only through us, as a SIGTERM), with default signal handling and mask.
pid_t spawn_push_runtime(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const fs::path& dir) {
  std::vector<char*> raw_argv;
  raw_argv.reserve(argv.size() + 1);
  for (const auto& a : argv) raw_argv.push_back(const_cast<char*>(a.c_str()));
  raw_argv.push_back(nullptr);
  std::vector<char*> raw_env;
  raw_env.reserve(env.size() + 1);
  for (const auto& e : env) raw_env.push_back(const_cast<char*>(e.c_str()));
  raw_env.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int sig : {SIGTERM, SIGINT, SIGCHLD, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, raw_argv[0], &actions, &attr, raw_argv.data(), raw_env.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    std::cerr << "lamella: cannot start " << argv[0] << ": " << std::strerror(rc) << "\n";
    return -1;
  }
  return pid;
}

// A port that is free on 127.0.0.1 now (for --port 0: the runtime binds it itself, later), or 0.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// ---- `lamella serve --platform openwhisk|fission`: the platform's start-up request ----

/// What a platform sends a new container before its first invocation.
struct startup_request {
  std::string target;
  std::string body;
};

/// OpenWhisk's `POST /init` (a --docker action: no code; the function's --env as its init
/// parameters) or Fission's `POST /v2/specialize` (functionName = --handler, filepath = the
/// function's directory); nullopt for the platforms that send none.
std::optional<startup_request> platform_startup_request(std::string_view platform,
                                                        const lamella::function_config& function) {
  namespace json = boost::json;
  if (platform == "openwhisk") {
    json::object env;
    for (const auto& [name, value] : function.env) env[name] = value;
    json::object value;
    value["name"] = function.name;
    value["main"] = "main";
    value["binary"] = false;
    value["env"] = std::move(env);
    json::object body;
    body["value"] = std::move(value);
    return startup_request{"/init", json::serialize(body)};
  }
  if (platform == "fission") {
    json::object metadata;
    metadata["name"] = function.name;
    metadata["namespace"] = "default";
    json::object body;
    body["filepath"] = function.dir.string();
    body["functionName"] = function.handler;
    body["url"] = "";
    body["FunctionMetadata"] = std::move(metadata);
    body["envVersion"] = 2;
    return startup_request{"/v2/specialize", json::serialize(body)};
  }
  return std::nullopt;
}

/// Whether SIGINT or SIGTERM is pending (blocked, so the serve loop still sees it).
bool stop_requested() {
  sigset_t pending;
  sigemptyset(&pending);
  return ::sigpending(&pending) == 0 &&
         (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` now (a plain connect, so that
/// waiting for the runtime to listen logs nothing).
bool accepts_connections(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

/// Sends `startup` to the runtime on 127.0.0.1:`port`, retrying every 50 ms while it is not
/// listening yet (as OpenWhisk's invoker and Fission's fetcher retry), for at most 60 s, while
/// `child` runs and no stop is pending. Prints the answer; true on a 2xx answer.
bool play_platform_startup(std::string_view platform, const startup_request& startup,
                           std::uint16_t port, pid_t child) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const std::pair<std::string_view, std::string_view> content_type{"Content-Type",
                                                                   "application/json"};
  for (;;) {
    if (!accepts_connections(port)) {
      siginfo_t info{};
      const bool exited =
          ::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == child;
      if (exited || stop_requested() || std::chrono::steady_clock::now() > until) {
        std::cerr << "lamella: " << platform << ": the runtime did not start listening\n";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    auto client = lamella::make_beast_transport("127.0.0.1:" + std::to_string(port), {});
    lamella::http_request request;
    request.method = "POST";
    request.target = startup.target;
    request.headers.push_back(content_type);
    request.body = startup.body;
    if (const auto answer = client->send(request)) {
      const bool ok = answer->status >= 200 && answer->status < 300;
      std::cerr << "lamella: " << platform << " " << startup.target << ": " << answer->status
                << (answer->body.empty() ? "" : " ") << answer->body
                << (answer->body.ends_with('\n') ? "" : "\n");
      return ok;
    }
    std::cerr << "lamella: " << platform << ": the runtime did not answer " << startup.target
              << "\n";
    return false;
  }
}

/// How to call the function once the platform's start-up is done.
void print_call_examples(std::string_view platform, std::uint16_t port) {
  const std::string at = "127.0.0.1:" + std::to_string(port);
  if (platform == "openwhisk") {
    std::cerr << "curl -XPOST " << at
              << "/run -H 'Content-Type: application/json' "
                 "-d '{\"value\":{},\"activation_id\":\"local-1\"}'\n";
  } else if (platform == "fission") {
    std::cerr << "curl " << at << "/\n"
              << "curl -XPOST " << at << "/ -H 'Content-Type: application/json' -d '{}'\n";
  }
}

// The runtime of `lamella serve --platform NAME`, an HTTP server itself (lamella's push server,
// or the function's own), started with `env`: restarts it when it dies (with a growing pause
// when it keeps dying at once), and forwards SIGTERM/SIGINT to it as SIGTERM, waiting
// push_stop_grace before SIGKILL. `started_hook` (when set) runs after each start, as a
// platform sends a new instance its start-up request. Returns once it was told to stop.
int supervise_push_runtime(const lamella::function_config& function,
                           const std::vector<std::string>& env, const sigset_t& signals,
                           const std::function<void(pid_t)>& started_hook = {}) {
  std::chrono::milliseconds pause{100};
  for (;;) {
    const pid_t child = spawn_push_runtime(function.command, env, function.dir);
    const auto started = std::chrono::steady_clock::now();
    if (child >= 0 && started_hook) started_hook(child);
    int status = 0;
    bool exited = child < 0;
    while (!exited) {
      const int sig = wait_signal(signals, std::chrono::hours(24));
      if (sig == SIGCHLD) {
        exited = ::waitpid(child, &status, WNOHANG) == child;
        continue;
      }
      if (sig != SIGTERM && sig != SIGINT) continue;
      ::kill(child, SIGTERM);
      const auto deadline = std::chrono::steady_clock::now() + push_stop_grace;
      while (::waitpid(child, &status, WNOHANG) != child) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
          ::kill(-child, SIGKILL);  // its whole process group
          ::waitpid(child, &status, 0);
          break;
        }
        (void)wait_signal(signals, left);
      }
      return 0;
    }
    if (child >= 0) {
      std::cerr << "lamella: the runtime (pid " << child << ") "
                << (WIFSIGNALED(status)
                        ? "was killed by signal " + std::to_string(WTERMSIG(status))
                        : "exited with status " + std::to_string(WEXITSTATUS(status)))
                << "; restarting it\n";
    }
    // One that ran a while restarts at once; one that keeps dying at start waits longer each
    // time (up to 5 s), so that a broken runtime does not spin.
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(5)) {
      pause = std::chrono::milliseconds(100);
      continue;
    }
    const auto until = std::chrono::steady_clock::now() + pause;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      const int sig = wait_signal(signals, left);
      if (sig == SIGTERM || sig == SIGINT) return 0;
    }
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(5));
  }
}

// The signals the supervisor waits for, blocked in this thread (before any child exists).
sigset_t block_supervisor_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (const int sig : {SIGTERM, SIGINT, SIGCHLD}) sigaddset(&signals, sig);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

std::vector<std::string> env_strings(const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(std::string(name).append("=").append(value));
  return out;
}

// `lamella serve --platform fn`: Fn's agent talks to the runtime over a UNIX socket in a
// directory it gives (FN_LISTENER=unix:/tmp/iofs/lsnr.sock). Here the directory is a fresh one
// under /tmp (short: a socket path holds at most 107 bytes), removed when serving ends.
int serve_fn(const cli_options& parsed, const lamella::function_config& function) {
  std::string dir = (fs::temp_directory_path() / "lamella-fn-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) {
    std::cerr << "lamella: cannot create a socket directory: " << std::strerror(errno) << "\n";
    return 1;
  }
  const auto env = env_strings(lamella::push_runtime_environment(function, "fn", 0, dir));
  const sigset_t signals = block_supervisor_signals();
  const std::string socket = (fs::path(dir) / "lsnr.sock").string();
  std::cerr << "lamella: serving " << parsed.dir.string() << " (fn) on unix:" << socket << "\n"
            << "curl --unix-socket " << socket
            << " -XPOST http://localhost/call -H 'Fn-Call-Id: 01' -H \"Fn-Deadline: $(date -u "
               "-d +30sec +%Y-%m-%dT%H:%M:%SZ)\" -d '{}'\n";
  const int status = supervise_push_runtime(function, env, signals);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return status;
}

// `lamella serve --platform NAME` for the platforms that call a port: the platform's port
// variable and a Lambda-like environment.
int serve_push(const cli_options& parsed, const lamella::function_config& function) {
  if (parsed.platform == "fn") return serve_fn(parsed, function);
  const std::uint16_t port = parsed.port != 0 ? parsed.port : free_port();
  if (port == 0) {
    std::cerr << "lamella: no free port on 127.0.0.1\n";
    return 1;
  }
  const auto env = env_strings(lamella::push_runtime_environment(function, parsed.platform, port));
  const sigset_t signals = block_supervisor_signals();
  // The address and a curl line that calls as the platform does (payload shapes:
  // docs/platforms.md), written at once, so that a reader never sees the first line alone.
  const std::string at = "127.0.0.1:" + std::to_string(port);
  const std::string json_post = "curl -XPOST " + at + "/ -H 'Content-Type: application/json' ";
  std::string signature;
  for (const auto& [key, value] : function.env) {
    if (key == "FUNCTION_SIGNATURE_TYPE") signature = value;
  }
  std::string banner = "lamella: serving " + parsed.dir.string() + " (" + parsed.platform +
                       ") on http://" + at + "\n";
  const auto startup = platform_startup_request(parsed.platform, function);
  if (startup) {
    // OpenWhisk, Fission: the call examples follow once the start-up request succeeded.
  } else if (parsed.platform == "fc" || parsed.platform == "functiongraph-http") {
    banner += "curl -XPOST " + at + "/invoke -d '{}'\n";
  } else if (parsed.platform == "azure") {
    banner += "curl -XPOST " + at + "/" + function.name +
              R"( -H 'Content-Type: application/json' -d '{"Data":{"item":{}},"Metadata":{}}')" +
              "\n";
  } else if (parsed.platform == "kubeless") {
    banner += json_post + "-d '{}'\n";
  } else if (parsed.platform == "gcf" && signature == "event") {
    banner += json_post + R"(-d '{"context":{"eventId":"1"},"data":{}}')" + "\n";
  } else if (parsed.platform == "gcf" && signature == "cloudevent") {
    banner += json_post +
              "-H 'ce-id: 1' -H 'ce-specversion: 1.0' -H 'ce-source: //lamella' "
              "-H 'ce-type: dev.lamella.test' -d '{}'\n";
  } else {
    banner += "curl " + at + "/\n";
  }
  std::cerr << banner << std::flush;

  bool shown_examples = false;
  return supervise_push_runtime(function, env, signals, [&](pid_t child) {
    // Each new runtime gets the platform's start-up request, as a new container does.
    if (startup && play_platform_startup(parsed.platform, *startup, port, child) &&
        !shown_examples) {
      print_call_examples(parsed.platform, port);
      shown_examples = true;
    }
  });
}

int run(const cli_options& parsed) {
  std::error_code ec;
  const fs::path dir = fs::absolute(parsed.dir, ec).lexically_normal();
  if (ec || !fs::is_directory(dir, ec)) {
    std::cerr << "lamella: not a directory: " << parsed.dir.string() << "\n";
    return 2;
  }
  const auto runtime = find_runtime(dir);
  if (!runtime) {
    std::cerr << "lamella: " << dir.string()
              << " has no executable 'bootstrap' and the generic lamella bootstrap was not "
                 "found next to the lamella executable\n";
    return 2;
  }
  lamella::function_config function = parsed.function;
  function.dir = dir;
  function.command = {runtime->string()};

  if (is_push_platform(parsed.platform)) {
    return serve_push(parsed, function);
  }
  lamella::emulator_options options;
  options.runtime_port = parsed.runtime_port;
  if (parsed.platform == "scf") {
    options.dialect = lamella::runtime_dialect::scf;
    function.region = "ap-guangzhou";  // TENCENTCLOUD_REGION
  } else if (parsed.platform == "functiongraph") {
    options.dialect = lamella::runtime_dialect::functiongraph;
  }
  if (parsed.command == "serve") {
    options.invoke_port = parsed.port;
    lamella::emulator emu(std::move(function), std::move(options));
    std::cerr << "lamella: serving " << parsed.dir.string()
              << " on http://127.0.0.1:" << emu.invoke_port() << "\n"
              << "curl -XPOST 127.0.0.1:" << emu.invoke_port()
              << "/2015-03-31/functions/function/invocations -d '{}'\n";
    emu.wait();
    return 0;
  }
  options.invoke_endpoint = false;
  lamella::emulator emu(std::move(function), std::move(options));
  lamella::invoke_request request;
  request.payload = parsed.event;
  // A streamed response is printed as it arrives (on the emulator's thread, before the result).
  bool printed = false;
  bool at_line_start = true;  // the last byte printed was a newline (or nothing was printed)
  request.on_chunk = [&printed, &at_line_start](std::string_view chunk) {
    if (chunk.empty()) return;
    printed = true;
    at_line_start = chunk.back() == '\n';
    std::fwrite(chunk.data(), 1, chunk.size(), stdout);
    std::fflush(stdout);
  };
  const lamella::invoke_result result = emu.invoke(std::move(request)).get();
  emu.stop();
  const bool failed = result.status != 200 || !result.function_error.empty();
  if (!printed || failed) {
    // Buffered: the body. Streamed and failed: the error JSON after what was streamed.
    if (!at_line_start) std::fputc('\n', stdout);
    std::fwrite(result.body.data(), 1, result.body.size(), stdout);
    std::fputc('\n', stdout);
  } else if (!at_line_start) {
    std::fputc('\n', stdout);  // a streamed text that did not end its last line
  }
  std::fflush(stdout);
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--version" || args[0] == "version")) {
    std::cout << "lamella " << LAMELLA_VERSION << "\n";
    return 0;
  }
  if (!args.empty() && (args[0] == "help" || args[0] == "--help" || args[0] == "-h")) {
    std::cout << usage_text;
    return 0;
  }
  try {
    return run(parse_arguments(args));
  } catch (const usage_error& e) {
    std::cerr << "lamella: " << e.message << "\n\n" << usage_text;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "lamella: " << e.what() << "\n";
    return 1;
  }
}
