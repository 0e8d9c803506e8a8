// The conformance table (cases.json) run against every language's conformance handler through
// the real generic bootstrap: the languages cannot drift apart. Each language runs on every
// platform lamella serves, with the same bootstrap and language runtimes:
//   - pull platforms (Lambda, Tencent SCF): through the real emulator, which plays the platform's
//     runtime API;
//   - push platforms (Alibaba FC, HTTP containers): the bootstrap started as the platform starts
//     it (LAMELLA_PLATFORM=fc|http, port 0), driven by a plain HTTP client over loopback with
//     the requests the platform sends (FC: POST /invoke; http: a structured-mode CloudEvent).
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
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace lamella {
namespace {

const std::filesystem::path bin_dir = LAMELLA_BIN_DIR;
const std::filesystem::path cases_file = LAMELLA_CONFORMANCE_CASES;
const std::filesystem::path fn_dir = LAMELLA_CONFORMANCE_FN_DIR;

struct language_runner {
  std::string name;           // "<language>_<platform>"
  std::filesystem::path dir;  // task root
  std::string handler;
  runtime_dialect dialect = runtime_dialect::lambda;
};

/// Names the parameter in test output (gtest would print its bytes).
// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks up
void PrintTo(const language_runner& runner, std::ostream* os) { *os << runner.name; }

/// The language runners that are built (name, task root, _HANDLER).
std::vector<language_runner> languages() {
  std::vector<language_runner> out{{"cpp", fn_dir / "cpp", "libconformance.so:handle"}};
#ifdef LAMELLA_WITH_PYTHON
  out.push_back({"python", fn_dir / "python", "handler.handler"});
#endif
#ifdef LAMELLA_WITH_NODE
  out.push_back({"node", fn_dir / "node", "handler.handler"});
#endif
  return out;
}

std::vector<language_runner> runners() {
  std::vector<language_runner> out;
  for (const auto& [platform, dialect] :
       {std::pair{"lambda", runtime_dialect::lambda}, std::pair{"scf", runtime_dialect::scf}}) {
    for (auto lang : languages()) {
      lang.name += std::string("_") + platform;
      lang.dialect = dialect;
      out.push_back(std::move(lang));
    }
  }
  return out;
}

boost::json::array load_cases() {
  std::ifstream in(cases_file);
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str()).at("cases").as_array();
}

/// Replaces the string "$request_id" anywhere in `v` with `id`.
void substitute(boost::json::value& v, const std::string& id) {
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
function_config function_for(const language_runner& lang) {
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

class conformance : public ::testing::TestWithParam<language_runner> {};

TEST_P(conformance, every_case_of_the_table) {
  const auto& lang = GetParam();
  const auto cases = load_cases();
  ASSERT_GE(cases.size(), 5u) << "the table must not be empty: " << cases_file;
  std::mutex mutex;
  std::string logs;
  function_config c = function_for(lang);
  emulator_options o;
  o.dialect = lang.dialect;
  o.log = [&](std::string_view line) {
    std::lock_guard lock(mutex);
    logs.append(line);
  };
  emulator emu(std::move(c), std::move(o));
  for (const auto& entry : cases) {
    const auto& tc = entry.as_object();
    const std::string name(tc.at("name").as_string());
    SCOPED_TRACE(lang.name + " / " + name);
    invoke_request request;
    request.payload = boost::json::serialize(tc.at("event"));
    const auto r = emu.invoke(std::move(request)).get();
    ASSERT_EQ(r.status, 200u);
    const auto& expect = tc.at("expect").as_object();
    boost::system::error_code ec;
    const auto body = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << "not JSON: " << r.body.substr(0, 300);
    if (expect.contains("error_type")) {
      EXPECT_EQ(r.function_error, "Unhandled");
      EXPECT_EQ(body.at("errorType"), expect.at("error_type"));
      if (expect.contains("error_message")) {
        EXPECT_EQ(body.at("errorMessage"), expect.at("error_message"));
      }
    } else {
      EXPECT_TRUE(r.function_error.empty()) << r.body.substr(0, 300);
    }
    if (expect.contains("body")) {
      auto want = expect.at("body");
      substitute(want, r.request_id);
      EXPECT_EQ(body, want) << r.body.substr(0, 300);
    }
    if (expect.contains("body_string_length")) {
      ASSERT_TRUE(body.is_string());
      EXPECT_EQ(body.as_string().size(), expect.at("body_string_length").to_number<std::size_t>());
    }
    if (expect.contains("log_contains")) {
      (void)emu.last_instance();  // flushes pending log lines
      std::lock_guard lock(mutex);
      for (const auto& s : expect.at("log_contains").as_array()) {
        EXPECT_NE(logs.find(std::string(s.as_string())), std::string::npos) << s;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(languages, conformance, ::testing::ValuesIn(runners()),
                         [](const auto& param_info) { return param_info.param.name; });

// ---- push platforms (fc, http): the bootstrap serves HTTP itself ----

/// One language on one push platform.
struct push_runner {
  std::string name;  // "<language>_<platform>"
  language_runner language;
  std::string platform;  // "fc" or "http"
};

// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks up
void PrintTo(const push_runner& runner, std::ostream* os) { *os << runner.name; }

std::vector<push_runner> push_runners() {
  std::vector<push_runner> out;
  for (const char* platform : {"fc", "http"}) {
    for (const auto& lang : languages()) {
      out.push_back({lang.name + "_" + platform, lang, platform});
    }
  }
  return out;
}

/// The generic bootstrap started as a push platform starts it: the environment `lamella serve
/// --platform fc|http` gives (push_runtime_environment: Lambda's without the runtime API, plus
/// LAMELLA_PLATFORM and FC_CUSTOM_LISTEN_PORT or PORT), here with port 0 (any free port), in the
/// task root. Its stdout and stderr go into one pipe that a thread collects: the function's log.
class push_function {
 public:
  push_function(const language_runner& lang, const std::string& platform) {
    function_config c = function_for(lang);
    c.env.emplace_back("LAMELLA_FUNCTION_TIMEOUT_MS", "10000");
    std::vector<std::string> vars;
    for (const auto& [name, value] : push_runtime_environment(c, platform, 0)) {
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
    // The server says where it listens: `lamella: <platform> platform listening on <addr>:<port>`.
    static constexpr std::string_view listening = "platform listening on ";
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(60), [this] {
      const auto at = log_.find(listening);
      return closed_ || (at != std::string::npos && log_.find('\n', at) != std::string::npos);
    });
    const auto at = log_.find(listening);
    const auto eol = at == std::string::npos ? at : log_.find('\n', at);
    if (eol == std::string::npos) return;
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
  }

  /// The port the server listens on; 0 when it did not start (see log()).
  [[nodiscard]] std::uint16_t port() const { return port_; }

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
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string log_;      // guarded by mutex_
  bool closed_ = false;  // guarded by mutex_: the output has ended
};

/// FC's event invocation: `POST /invoke`, the event as the body (application/octet-stream), the
/// context in x-fc-* headers (platform-contracts.md §3).
std::string fc_invoke_request(std::string_view event, std::string_view request_id) {
  std::string r =
      "POST /invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n";
  r.append("x-fc-request-id: ").append(request_id).append("\r\n");
  r.append(
      "x-fc-function-name: conformance\r\nx-fc-function-memory: 128\r\n"
      "x-fc-function-timeout: 10\r\nx-fc-region: cn-hangzhou\r\n");
  r.append("Content-Length: ").append(std::to_string(event.size())).append("\r\n\r\n");
  r.append(event);
  return r;
}

/// A structured-mode CloudEvent (CloudEvents HTTP binding, platform-contracts.md §5.4) whose
/// `data` is the event: the http adapter gives the handler `data` unchanged.
std::string cloud_event_request(const boost::json::value& event, std::string_view id) {
  boost::json::object ce;
  ce["specversion"] = "1.0";
  ce["id"] = id;
  ce["source"] = "/lamella/conformance";
  ce["type"] = "dev.lamella.conformance";
  ce["datacontenttype"] = "application/json";
  ce["data"] = event;
  const std::string body = boost::json::serialize(ce);
  std::string r =
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/cloudevents+json; charset=UTF-8\r\n";
  r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  r.append(body);
  return r;
}

/// True for the ids the push server makes itself (push_server.cpp new_request_id): a random UUID
/// in version-4 layout, as Lambda's request ids.
bool is_server_made_request_id(std::string_view id) {
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
bool json_matches(const boost::json::value& want, const boost::json::value& got,
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
std::string media_type(std::string_view content_type) {
  return std::string(content_type.substr(0, content_type.find(';')));
}

class push_conformance : public ::testing::TestWithParam<push_runner> {};

// One server per (language, platform), every case against it over one keep-alive connection, as
// a platform's front end keeps connections open. What each platform must answer:
//   fc:   success 200 + x-fc-status: 200 + the result; a function error 404 + x-fc-status: 404 +
//         X-Fc-Error-Type: UnhandledInvocationError + the error JSON (fc_adapter.cpp).
//   http: success 200 + the result as JSON, or 204 with no body when the result is null
//         (cloud_event_reply); a function error 500 + the error JSON (the CloudEvent path of
//         http_adapter.cpp; plain HTTP requests get API Gateway's opaque 500 instead).
// "$request_id": on fc the handler must see the x-fc-request-id FC sent. On http no platform
// gives a request id: a CloudEvent's id names the event (redeliveries keep it), not one
// invocation, so the server makes a fresh UUID per request and returns none in the answer; the
// handler must see such a server-made id (which the CloudEvent's id sent here is not).
TEST_P(push_conformance, every_case_of_the_table) {
  const auto& runner = GetParam();
  const bool fc = runner.platform == "fc";
  const auto cases = load_cases();
  ASSERT_GE(cases.size(), 5u) << "the table must not be empty: " << cases_file;
  push_function fn(runner.language, runner.platform);
  ASSERT_NE(fn.port(), 0) << "the bootstrap did not start a server; its output:\n" << fn.log();
  testing::raw_connection connection(fn.port());
  int sequence = 0;
  for (const auto& entry : cases) {
    const auto& tc = entry.as_object();
    const std::string name(tc.at("name").as_string());
    SCOPED_TRACE(runner.name + " / " + name);
    const auto& expect = tc.at("expect").as_object();
    const std::string sent_id = "conformance-" + runner.name + "-" + std::to_string(++sequence);
    const std::string request =
        fc ? fc_invoke_request(boost::json::serialize(tc.at("event")), sent_id)
           : cloud_event_request(tc.at("event"), sent_id);
    ASSERT_TRUE(connection.send_bytes(request)) << fn.log();
    const auto r = connection.read_response();
    ASSERT_TRUE(r) << "the connection closed without an answer; the log:\n" << fn.log();

    const bool error = expect.contains("error_type");
    const bool no_content = !fc && !error && expect.contains("body") && expect.at("body").is_null();
    if (fc) {
      EXPECT_EQ(r->status, error ? 404u : 200u) << r->body.substr(0, 300);
      EXPECT_EQ(r->header("x-fc-status"), error ? "404" : "200");
      EXPECT_EQ(r->header("x-fc-error-type"), error ? "UnhandledInvocationError" : "");
    } else {
      EXPECT_EQ(r->status, error ? 500u : no_content ? 204u : 200u) << r->body.substr(0, 300);
    }
    if (no_content) {
      EXPECT_EQ(r->body, "");
    } else {
      EXPECT_EQ(media_type(r->header("content-type")), "application/json");
      boost::system::error_code ec;
      const auto body = boost::json::parse(r->body, ec);
      ASSERT_FALSE(ec) << "not JSON: " << r->body.substr(0, 300);
      if (error) {
        ASSERT_TRUE(body.is_object()) << r->body.substr(0, 300);
        EXPECT_EQ(body.at("errorType"), expect.at("error_type"));
        if (expect.contains("error_message")) {
          EXPECT_EQ(body.at("errorMessage"), expect.at("error_message"));
        }
      }
      if (expect.contains("body")) {
        EXPECT_TRUE(json_matches(expect.at("body"), body,
                                 [&](std::string_view id) {
                                   return fc ? id == sent_id : is_server_made_request_id(id);
                                 }))
            << "want " << expect.at("body") << "\ngot  " << r->body.substr(0, 300);
      }
      if (expect.contains("body_string_length")) {
        ASSERT_TRUE(body.is_string());
        EXPECT_EQ(body.as_string().size(),
                  expect.at("body_string_length").to_number<std::size_t>());
      }
    }
    if (expect.contains("log_contains")) {
      for (const auto& s : expect.at("log_contains").as_array()) {
        EXPECT_TRUE(fn.wait_for_log(s.as_string(), std::chrono::seconds(10)))
            << s << " is not in the log:\n"
            << fn.log();
      }
    }
  }
  // A platform stops an instance with SIGTERM: the server closes the idle connection, runs the
  // shutdown hooks and the process exits 0.
  EXPECT_EQ(fn.terminate(), 0) << fn.log();
  EXPECT_TRUE(connection.wait_closed());
}

INSTANTIATE_TEST_SUITE_P(platforms, push_conformance, ::testing::ValuesIn(push_runners()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace lamella
