// What the conformance tests share: the table (cases.json), the language runners, and a
// push-platform function (the generic bootstrap started as a push platform starts it, its log
// collected), with JSON matching for "$request_id". Each platform's conformance test lives in
// its own file (conformance_test.cpp: lambda, scf, fc, http; <platform>_conformance_test.cpp)
// and drives the table through that platform's own protocol.
#pragma once

#include "raw_http.h"

#include "lamella/emulator.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace lamella::conformance {

inline const std::filesystem::path bin_dir = LAMELLA_BIN_DIR;
inline const std::filesystem::path cases_file = LAMELLA_CONFORMANCE_CASES;
inline const std::filesystem::path fn_dir = LAMELLA_CONFORMANCE_FN_DIR;

struct language_runner {
  std::string name;           // "<language>_<platform>"
  std::filesystem::path dir;  // task root
  std::string handler;
  runtime_dialect dialect = runtime_dialect::lambda;
};

/// Names the parameter in test output (gtest would print its bytes).
// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks up
inline void PrintTo(const language_runner& runner, std::ostream* os) { *os << runner.name; }

/// The language runners that are built (name, task root, _HANDLER).
inline std::vector<language_runner> languages() {
  std::vector<language_runner> out{{"cpp", fn_dir / "cpp", "libconformance.so:handle"}};
#ifdef LAMELLA_WITH_PYTHON
  out.push_back({"python", fn_dir / "python", "handler.handler"});
#endif
#ifdef LAMELLA_WITH_NODE
  out.push_back({"node", fn_dir / "node", "handler.handler"});
#endif
  return out;
}

inline boost::json::array load_cases() {
  std::ifstream in(cases_file);
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str()).at("cases").as_array();
}

/// Replaces the string "$request_id" anywhere in `v` with `id`.
inline void substitute(boost::json::value& v, const std::string& id) {
  if (v.is_string() && v.as_string() == "$request_id") {
    v = id;
  } else if (v.is_object()) {
    for (auto& kv : v.as_object()) substitute(kv.value(), id);
  } else if (v.is_array()) {
    for (auto& e : v.as_array()) substitute(e, id);
  }
}

/// The function as the runners start it: the generic bootstrap with the language's task root and
/// handler, a 10 s timeout.
inline function_config function_for(const language_runner& lang) {
  function_config c;
  c.dir = lang.dir;
  c.command = {(bin_dir / "bootstrap").string()};
  c.handler = lang.handler;
  c.name = "conformance";
  c.timeout = std::chrono::seconds(10);
  // Sanitizer builds: forward ASAN_OPTIONS (the emulator passes Lambda's environment only);
  // CPython's own allocations at exit are not leaks of ours.
  if (const char* asan = std::getenv("ASAN_OPTIONS")) {
    c.env.emplace_back(
        "ASAN_OPTIONS",
        std::string(asan) + (lang.name.starts_with("python") ? ":detect_leaks=0" : ""));
  }
  return c;
}

/// One language on one push platform.
struct push_runner {
  std::string name;  // "<language>_<platform>"
  language_runner language;
  std::string platform;  // the LAMELLA_PLATFORM name: "fc", "http", "azure", ...
};

// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks up
inline void PrintTo(const push_runner& runner, std::ostream* os) { *os << runner.name; }

/// Every built language on each of `platforms` ("fc", "azure", ...).
inline std::vector<push_runner> push_runners(std::initializer_list<const char*> platforms) {
  std::vector<push_runner> out;
  for (const char* platform : platforms) {
    for (const auto& lang : languages()) {
      out.push_back({lang.name + "_" + platform, lang, platform});
    }
  }
  return out;
}

/// The generic bootstrap started as a push platform starts it: the environment `lamella serve
/// --platform fc|http` gives (push_runtime_environment: Lambda's without the runtime API, plus
/// LAMELLA_PLATFORM and FC_CUSTOM_LISTEN_PORT or PORT), here with port 0 (any free port), in the
/// task root; on fn, FN_LISTENER names a socket in a fresh directory (removed afterwards). Its
/// stdout and stderr go into one pipe that a thread collects: the function's log.
class push_function {
 public:
  /// `extra_env` is added to (and overrides) the platform's environment.
  push_function(const language_runner& lang, const std::string& platform,
                const std::vector<std::pair<std::string, std::string>>& extra_env = {}) {
    function_config c = function_for(lang);
    c.env.emplace_back("LAMELLA_FUNCTION_TIMEOUT_MS", "10000");
    for (const auto& entry : extra_env) c.env.push_back(entry);
    if (platform == "fn") {
      // Short, under /tmp: a socket path holds at most 107 bytes.
      std::string dir = "/tmp/lamella-fn-XXXXXX";
      if (::mkdtemp(dir.data()) == nullptr) return;
      socket_dir_ = dir;
    }
    std::vector<std::string> vars;
    for (const auto& [name, value] : push_runtime_environment(c, platform, 0, socket_dir_)) {
      vars.push_back(std::string(name).append("=").append(value));
    }
    std::vector<char*> envp;
    envp.reserve(vars.size() + 1);
    for (auto& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::string program = c.command.front();
    std::array<char*, 2> argv{program.data(), nullptr};
    std::array<int, 2> out{-1, -1};
    if (::pipe2(out.data(), O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    posix_spawn_file_actions_addchdir_np(&actions, c.dir.c_str());
    const int rc =
        ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      pid_ = -1;
      return;
    }
    reader_ = std::thread([this, fd = out[0]] { collect(fd); });
    // The server says where it listens: `lamella: <platform> platform listening on <addr>:<port>`
    // (or `on unix:<path>`).
    static constexpr std::string_view listening = "platform listening on ";
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(60), [this] {
      const auto at = log_.find(listening);
      return closed_ || (at != std::string::npos && log_.find('\n', at) != std::string::npos);
    });
    const auto at = log_.find(listening);
    const auto eol = at == std::string::npos ? at : log_.find('\n', at);
    if (eol == std::string::npos) return;
    if (log_.compare(at + listening.size(), 5, "unix:") == 0) {
      const auto start = at + listening.size() + 5;
      socket_path_ = log_.substr(start, eol - start);
      return;
    }
    const auto colon = log_.rfind(':', eol);
    port_ = static_cast<std::uint16_t>(std::stoi(log_.substr(colon + 1, eol - colon - 1)));
  }
  push_function(const push_function&) = delete;
  push_function& operator=(const push_function&) = delete;
  ~push_function() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();
    if (!socket_dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(socket_dir_, ec);
    }
  }

  /// The port the server listens on; 0 when it did not start or listens on a UNIX socket.
  [[nodiscard]] std::uint16_t port() const { return port_; }

  /// The UNIX socket the server listens on (fn: the path after `unix:` in FN_LISTENER); empty
  /// when it did not start or listens on a port.
  [[nodiscard]] const std::filesystem::path& socket_path() const { return socket_path_; }

  /// fn: the directory FN_LISTENER's socket is in (the agent's /tmp/iofs); empty elsewhere.
  [[nodiscard]] const std::filesystem::path& socket_dir() const { return socket_dir_; }

  /// Everything the function printed so far.
  [[nodiscard]] std::string log() {
    const std::lock_guard lock(mutex_);
    return log_;
  }

  /// Waits until the log contains `text`: true, or false after `limit` or once the output ended
  /// without it. Output crosses a pipe and another thread, so it may trail the HTTP answer.
  bool wait_for_log(std::string_view text, std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, limit, [&] { return closed_ || log_.find(text) != std::string::npos; });
    return log_.find(text) != std::string::npos;
  }

  /// Sends SIGTERM, as the platform stops an instance, and waits for the process to end: its
  /// exit status, -signal when a signal ended it, or -1000 when it was still running after 30 s
  /// (it is then killed).
  int terminate() {
    if (pid_ <= 0) return -1000;
    ::kill(pid_, SIGTERM);
    auto exited = std::async(std::launch::async, [pid = pid_] {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return status;
    });
    int result = -1000;
    if (exited.wait_for(std::chrono::seconds(30)) == std::future_status::timeout) {
      ::kill(pid_, SIGKILL);
      exited.wait();
    } else {
      const int status = exited.get();
      result = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    reaped_ = true;
    return result;
  }

 private:
  void collect(int fd) {
    std::array<char, 16 * 1024> buf{};
    for (;;) {
      const auto n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      const std::lock_guard lock(mutex_);
      log_.append(buf.data(), static_cast<std::size_t>(n));
      changed_.notify_all();
    }
    ::close(fd);
    const std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  std::uint16_t port_ = 0;
  std::filesystem::path socket_dir_;   // fn: made here, removed by the destructor
  std::filesystem::path socket_path_;  // from the server's "listening on unix:" line
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string log_;      // guarded by mutex_
  bool closed_ = false;  // guarded by mutex_: the output has ended
};

/// True for the ids the push server makes itself (push_server.cpp new_request_id): a random UUID
/// in version-4 layout, as Lambda's request ids.
inline bool is_server_made_request_id(std::string_view id) {
  if (id.size() != 36 || id[14] != '4') return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (dash ? c != '-' : !hex) return false;
  }
  return true;
}

/// True when `got` is `want`, where the string "$request_id" in `want` stands for any string
/// `is_request_id` accepts.
inline bool json_matches(const boost::json::value& want, const boost::json::value& got,
                         const std::function<bool(std::string_view)>& is_request_id) {
  if (want.is_string() && want.get_string() == "$request_id") {
    return got.is_string() && is_request_id(got.get_string());
  }
  if (want.is_object()) {
    if (!got.is_object() || got.get_object().size() != want.get_object().size()) return false;
    for (const auto& field : want.get_object()) {
      const auto* other = got.get_object().if_contains(field.key());
      if (other == nullptr || !json_matches(field.value(), *other, is_request_id)) return false;
    }
    return true;
  }
  if (want.is_array()) {
    if (!got.is_array() || got.get_array().size() != want.get_array().size()) return false;
    for (std::size_t i = 0; i < want.get_array().size(); ++i) {
      if (!json_matches(want.get_array()[i], got.get_array()[i], is_request_id)) return false;
    }
    return true;
  }
  return want == got;
}

/// The media type of a Content-Type value, without parameters.
inline std::string media_type(std::string_view content_type) {
  return std::string(content_type.substr(0, content_type.find(';')));
}

/// Checks one case's `expect` against what a platform delivered: `result` is the handler's result
/// (or, when `is_error`, the error object: errorType, errorMessage) as the platform's answer
/// carries it, already unwrapped from the platform's envelope. "$request_id" in expect.body
/// matches any id `is_request_id` accepts.
inline void expect_case(const boost::json::object& expect, const boost::json::value& result,
                        bool is_error, const std::function<bool(std::string_view)>& is_request_id) {
  if (expect.contains("error_type")) {
    EXPECT_TRUE(is_error) << "a function error was expected, got " << result;
    ASSERT_TRUE(result.is_object()) << result;
    EXPECT_EQ(result.at("errorType"), expect.at("error_type"));
    if (expect.contains("error_message")) {
      EXPECT_EQ(result.at("errorMessage"), expect.at("error_message"));
    }
    return;
  }
  EXPECT_FALSE(is_error) << result;
  if (expect.contains("body")) {
    EXPECT_TRUE(json_matches(expect.at("body"), result, is_request_id))
        << "want " << expect.at("body") << "\ngot  " << result;
  }
  if (expect.contains("body_string_length")) {
    ASSERT_TRUE(result.is_string()) << result;
    EXPECT_EQ(result.as_string().size(), expect.at("body_string_length").to_number<std::size_t>());
  }
}

/// Waits (up to 10 s each) for every string of expect.log_contains in the function's log.
inline void expect_logs(const boost::json::object& expect, push_function& fn) {
  if (!expect.contains("log_contains")) return;
  for (const auto& s : expect.at("log_contains").as_array()) {
    EXPECT_TRUE(fn.wait_for_log(s.as_string(), std::chrono::seconds(10)))
        << s << " is not in the log:\n"
        << fn.log();
  }
}

/// True when the case expects a function error (expect.error_type).
inline bool expects_error(const boost::json::object& tc) {
  return tc.at("expect").as_object().contains("error_type");
}

/// True when the case expects a null result (expect.body is null): the platforms that answer a
/// null result with 204 and no body (http, gcf, fission) check that instead of a result.
inline bool expects_null(const boost::json::object& tc) {
  const auto& expect = tc.at("expect").as_object();
  return !expects_error(tc) && expect.contains("body") && expect.at("body").is_null();
}

/// Sends one request over `connection` and reads the answer: nullopt, with a failure that shows
/// the function's log, when the connection could not carry it.
inline std::optional<testing::raw_response> round_trip(testing::raw_connection& connection,
                                                       push_function& fn,
                                                       std::string_view request) {
  if (!connection.send_bytes(request)) {
    ADD_FAILURE() << "the request could not be sent; the log:\n" << fn.log();
    return std::nullopt;
  }
  auto r = connection.read_response();
  if (!r) {
    ADD_FAILURE() << "the connection closed without an answer; the log:\n" << fn.log();
  }
  return r;
}

/// The body of an answer that must be JSON: checks its Content-Type is application/json;
/// nullopt, with a failure, when the body does not parse.
inline std::optional<boost::json::value> json_body(const testing::raw_response& r) {
  EXPECT_EQ(media_type(r.header("content-type")), "application/json");
  boost::system::error_code ec;
  auto body = boost::json::parse(r.body, ec);
  if (ec) {
    ADD_FAILURE() << "not JSON: " << r.body.substr(0, 300);
    return std::nullopt;
  }
  return body;
}

/// What a platform answered to one case, unwrapped from its envelope: what expect_case checks.
struct platform_answer {
  /// The handler's result, or the error object (errorType, errorMessage) when `is_error`.
  boost::json::value result;
  /// The platform marked the answer a function error.
  bool is_error = false;
  /// False when the answer carries no result to check (a 204 for a null result, which the
  /// exchange checked itself).
  bool has_result = true;
  /// The ids "$request_id" in expect.body stands for (by default none).
  std::function<bool(std::string_view)> is_request_id = [](std::string_view) { return false; };
};

/// The answer of the platforms that return the result as a JSON body: `error_status` (e.g. 500)
/// with the error JSON for a function error, 200 with the result otherwise. Checks the status
/// and Content-Type and fills `answer` from the body.
inline void read_json_answer(const testing::raw_response& r, const boost::json::object& tc,
                             unsigned error_status, platform_answer& answer) {
  answer.is_error = expects_error(tc);
  EXPECT_EQ(r.status, answer.is_error ? error_status : 200u) << r.body.substr(0, 300);
  auto body = json_body(r);
  ASSERT_TRUE(body);
  answer.result = std::move(*body);
}

/// The answer of the platforms that return an event's result as HTTP (http's CloudEvents, gcf,
/// fission): as read_json_answer with 500 for a function error, except that a null result is
/// 204 with no body (then `answer` has no result).
inline void read_event_answer(const testing::raw_response& r, const boost::json::object& tc,
                              platform_answer& answer) {
  if (!expects_null(tc)) {
    read_json_answer(r, tc, 500u, answer);
    return;
  }
  EXPECT_EQ(r.status, 204u) << r.body.substr(0, 300);
  EXPECT_EQ(r.body, "");
  answer.has_result = false;
}

/// A structured-mode CloudEvent's body (CloudEvents HTTP binding, platform-contracts.md §5.4)
/// whose `data` is `event`: the http adapter (and fission's) gives the handler `data` unchanged.
inline std::string structured_cloud_event(const boost::json::value& event, std::string_view id) {
  boost::json::object ce;
  ce["specversion"] = "1.0";
  ce["id"] = id;
  ce["source"] = "/lamella/conformance";
  ce["type"] = "dev.lamella.conformance";
  ce["datacontenttype"] = "application/json";
  ce["data"] = event;
  return boost::json::serialize(ce);
}

/// A platform's protocol for one case: sends `tc` (its event; `number` counts the cases from 1
/// for the ids the platform sends), checks the platform's own answer (status, headers, envelope)
/// and fills `answer`. It may use ASSERT_*: a fatal failure ends the table.
using case_exchange =
    std::function<void(const boost::json::object& tc, int number, platform_answer& answer)>;

/// Runs every case of the table (cases.json) against a started function through `exchange`, then
/// checks each case's result (expect_case) and log lines (expect_logs). Traces "<trace> / <case>".
/// Returns at the first fatal failure.
inline void run_table(push_function& fn, const std::string& trace, const case_exchange& exchange) {
  const auto cases = load_cases();
  ASSERT_GE(cases.size(), 5u) << "the table must not be empty: " << cases_file;
  int number = 0;
  for (const auto& entry : cases) {
    const auto& tc = entry.as_object();
    SCOPED_TRACE(trace + " / " + std::string(tc.at("name").as_string()));
    platform_answer answer;
    exchange(tc, ++number, answer);
    if (::testing::Test::HasFatalFailure()) return;
    const auto& expect = tc.at("expect").as_object();
    if (answer.has_result) {
      expect_case(expect, answer.result, answer.is_error, answer.is_request_id);
    }
    expect_logs(expect, fn);
  }
}

/// A platform stops an instance with SIGTERM: the process must exit 0 and, when `connection` is
/// given, close the idle keep-alive connection.
inline void expect_clean_stop(push_function& fn, testing::raw_connection* connection = nullptr) {
  EXPECT_EQ(fn.terminate(), 0) << fn.log();
  if (connection != nullptr) {
    EXPECT_TRUE(connection->wait_closed());
  }
}

/// Waits (up to 10 s) for `path` to exist (a link counts), as Fn's agent waits for lsnr.sock
/// to be created.
inline bool wait_for_link(const std::filesystem::path& path) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::error_code ec;
  while (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace lamella::conformance
