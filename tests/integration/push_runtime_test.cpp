// Push platforms end to end: real function processes (samples/cpp-hello's bootstrap and
// push_function) started with LAMELLA_PLATFORM=http PORT=0, driven over loopback HTTP.
// Assertions hold for any http adapter: the answer's body contains the request's body.
#include "raw_http.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace {

using lamella::testing::raw_connection;
using lamella::testing::raw_response;

/// A function process with pipes to its stdin, stdout and stderr.
class function_process {
 public:
  function_process(const std::string& path, const std::vector<std::string>& env) {
    int in[2];
    int out[2];
    int err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
        ::pipe2(err, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<std::string> vars = env;
    // Sanitizer settings pass through, so that the child reports as the test does.
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"}) {
      if (const char* v = std::getenv(name)) vars.push_back(std::string(name) + "=" + v);
    }
    std::vector<char*> envp;
    envp.reserve(vars.size() + 1);
    for (auto& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::string program = path;
    std::array<char*, 2> argv{program.data(), nullptr};
    const int rc = ::posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) throw std::runtime_error("spawn " + path);
    stdin_ = in[1];
    stdout_.fd = out[0];
    stderr_.fd = err[0];
    // The first line on stderr says where the server listens.
    const std::string line = read_line(stderr_);
    const auto colon = line.rfind(':');
    if (line.find("platform listening on") == std::string::npos || colon == std::string::npos) {
      throw std::runtime_error("unexpected first line: " + line);
    }
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
  }
  function_process(const function_process&) = delete;
  function_process& operator=(const function_process&) = delete;
  ~function_process() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (stdin_ >= 0) ::close(stdin_);
    ::close(stdout_.fd);
    ::close(stderr_.fd);
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// The next line the function printed on stdout (empty at the end). Throws after 60 s without
  /// one, so that a test waiting for a line that never comes fails instead of hanging.
  std::string stdout_line() { return read_line(stdout_); }
  /// Writes a line to the function's stdin.
  void release() { ASSERT_EQ(::write(stdin_, "go\n", 3), 3); }
  void signal(int sig) { ::kill(pid_, sig); }
  /// Waits for the process to end; its exit status, or -signal. After 60 s the process is
  /// killed and the wait throws: a function that never exits fails the test instead of hanging it.
  int wait() {
    int status = 0;
    for (int waited_ms = 0; ::waitpid(pid_, &status, WNOHANG) == 0; waited_ms += 10) {
      if (waited_ms >= 60'000) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        reaped_ = true;
        throw std::runtime_error("the function did not exit within 60 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

 private:
  /// A pipe from the function and what was read from it beyond the last line returned.
  struct pipe_reader {
    int fd = -1;
    std::string pending;
  };

  static std::string read_line(pipe_reader& p) {
    for (;;) {
      if (const auto nl = p.pending.find('\n'); nl != std::string::npos) {
        std::string line = p.pending.substr(0, nl);
        p.pending.erase(0, nl + 1);
        return line;
      }
      pollfd ready{p.fd, POLLIN, 0};
      if (::poll(&ready, 1, 60'000) == 0) {
        throw std::runtime_error("no line from the function within 60 s (so far: '" + p.pending +
                                 "')");
      }
      std::array<char, 4096> buf{};
      const auto n = ::read(p.fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::exchange(p.pending, {});  // the end: what is left, maybe empty
      p.pending.append(buf.data(), static_cast<std::size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int stdin_ = -1;
  pipe_reader stdout_;
  pipe_reader stderr_;
  std::uint16_t port_ = 0;
  bool reaped_ = false;
};

const std::string cpp_hello = std::string(LAMELLA_SAMPLES_DIR) + "/cpp-hello/bootstrap";
const std::string push_function = LAMELLA_PUSH_FUNCTION;

std::vector<std::string> http_env(std::vector<std::string> extra = {}) {
  std::vector<std::string> env = {"LAMELLA_PLATFORM=http", "PORT=0", "K_SERVICE=push-test"};
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

/// Blocks until connecting to `port` is refused: the server has stopped accepting.
void wait_until_refused(std::uint16_t port) {
  for (;;) {
    try {
      raw_connection probe(port);
    } catch (const std::runtime_error&) {
      return;
    }
    std::this_thread::yield();
  }
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(push_runtime_test, curl_gets_the_echo_from_cpp_hello) {
  ASSERT_EQ(std::system("curl --version > /dev/null 2>&1"), 0) << "curl (scripts/setup) missing";
  function_process fn(cpp_hello, http_env({"_HANDLER=echo"}));
  const std::string command =
      "curl -s -S -i -X POST -H 'Content-Type: application/json' "
      "--data '{\"token\":\"curl-token-7\"}' http://127.0.0.1:" +
      std::to_string(fn.port()) + "/echo";
  std::FILE* p = ::popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  while (const auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  EXPECT_EQ(::pclose(p), 0);
  EXPECT_TRUE(out.rfind("HTTP/1.1 200", 0) == 0) << out;
  EXPECT_TRUE(contains(out, "curl-token-7")) << out;
}

TEST(push_runtime_test, the_http_answer_names_the_request_id_the_handler_saw) {
  function_process fn(cpp_hello, http_env({"_HANDLER=echo"}));
  raw_connection c(fn.port());
  const auto r = c.exchange("POST", "/id", R"({"token":"id-check"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  const std::string id = r->header("x-amzn-RequestId");
  ASSERT_EQ(id.size(), 36U) << "a UUID";
  // The echoed event carries the invocation's id in requestContext.requestId.
  EXPECT_TRUE(contains(r->body, R"("requestId":")" + id + '"')) << r->body;
}

TEST(push_runtime_test, many_concurrent_keep_alive_clients_are_all_answered_correctly) {
  function_process fn(cpp_hello, http_env({"_HANDLER=echo", "LAMELLA_QUEUE=1000"}));
  constexpr int clients = 64;
  constexpr int per_client = 25;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  threads.reserve(clients);
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      raw_connection c(fn.port());
      for (int i = 0; i < per_client; ++i) {
        const std::string token = "tok-" + std::to_string(t) + "-" + std::to_string(i) + "-end";
        const auto r = c.exchange("POST", "/load", R"({"token":")" + token + R"("})");
        if (r && r->status == 200 && contains(r->body, token)) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), clients * per_client);
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.wait(), 0);
}

TEST(push_runtime_test, oversized_head_and_body_are_refused_and_the_server_keeps_serving) {
  function_process fn(cpp_hello, http_env({"_HANDLER=echo", "LAMELLA_BODY_LIMIT=65536"}));
  {
    raw_connection c(fn.port());
    const auto r = c.exchange("POST", "/x", "{}", "X-Big: " + std::string(10000, 'h') + "\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431U);
  }
  {
    raw_connection c(fn.port());
    const auto r = c.exchange("POST", "/x", std::string(100000, 'b'));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413U);
  }
  raw_connection c(fn.port());
  const auto r = c.exchange("POST", "/x", R"({"token":"after-refusals"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_TRUE(contains(r->body, "after-refusals"));
}

TEST(push_runtime_test,
     a_silent_client_is_closed_after_the_header_timeout_while_others_are_served) {
  function_process fn(cpp_hello, http_env({"_HANDLER=echo", "LAMELLA_HEADER_TIMEOUT_MS=300"}));
  raw_connection silent(fn.port());  // connects and sends nothing
  raw_connection other(fn.port());
  const auto r = other.exchange("POST", "/x", R"({"token":"while-silent"})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(contains(r->body, "while-silent"));
  EXPECT_TRUE(silent.wait_closed());
}

TEST(push_runtime_test, a_head_request_is_answered_without_a_body_and_the_connection_keeps_going) {
  function_process fn(cpp_hello, http_env({"_HANDLER=echo"}));
  raw_connection c(fn.port());
  ASSERT_TRUE(c.send_request("HEAD", "/head"));
  const auto head = c.read_response(/*bodiless=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200U);
  EXPECT_NE(head->header("Content-Length"), "") << "the length a GET would have";
  EXPECT_NE(head->header("Content-Length"), "0");
  // Had the HEAD's answer carried a body, this answer would start inside it.
  const auto next = c.exchange("POST", "/after", R"({"token":"after-head"})");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200U);
  EXPECT_TRUE(contains(next->body, "after-head")) << next->body;
}

TEST(push_runtime_test, an_http_10_client_that_asks_to_keep_the_connection_is_told_so) {
  function_process fn(cpp_hello, http_env({"_HANDLER=echo"}));
  raw_connection c(fn.port());
  const std::string body = R"({"token":"old-client"})";
  ASSERT_TRUE(
      c.send_bytes("POST /ten HTTP/1.0\r\nConnection: keep-alive\r\n"
                   "Content-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body));
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->header("Connection"), "keep-alive") << "HTTP/1.0 closes unless told otherwise";
  EXPECT_TRUE(contains(r->body, "old-client"));
  const auto again = c.exchange("POST", "/again", R"({"token":"still-open"})");
  ASSERT_TRUE(again);
  EXPECT_TRUE(contains(again->body, "still-open"));
}

TEST(push_runtime_test,
     a_connection_taken_while_every_worker_is_busy_keeps_its_pipelined_requests) {
  // One worker, blocked: the second connection is taken by the main I/O thread and its first
  // request queues. Once the worker is free, the connection moves to it between two requests,
  // with the second pipelined request already read: that one must be answered too, in order.
  function_process fn(push_function, http_env({"LAMELLA_CONCURRENCY=1"}));
  auto blocked = std::async(std::launch::async, [&] {
    raw_connection c(fn.port());
    return c.exchange("POST", "/a", R"({"do":"block"})");
  });
  ASSERT_EQ(fn.stdout_line(), "blocked");
  raw_connection c(fn.port());
  std::string both;
  for (const std::string token : {"first-piped", "second-piped"}) {
    const std::string body = R"({"token":")" + token + R"("})";
    both += "POST /p HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  ASSERT_TRUE(c.send_bytes(both));
  fn.release();
  const auto a = blocked.get();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 200U);
  for (const std::string token : {"first-piped", "second-piped"}) {
    const auto r = c.read_response();
    ASSERT_TRUE(r) << token;
    EXPECT_EQ(r->status, 200U);
    EXPECT_TRUE(contains(r->body, token)) << r->body;
  }
  for (int i = 0; i < 20; ++i) {
    const std::string token = "moved-" + std::to_string(i);
    const auto r = c.exchange("POST", "/m", R"({"token":")" + token + R"("})");
    ASSERT_TRUE(r) << token;
    EXPECT_TRUE(contains(r->body, token)) << r->body;
  }
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.wait(), 0);
}

TEST(push_runtime_test, sigterm_lets_the_slow_request_finish_runs_the_hook_and_exits_zero) {
  function_process fn(push_function, http_env({"LAMELLA_CONCURRENCY=2"}));
  auto slow = std::async(std::launch::async, [&] {
    raw_connection c(fn.port());
    return c.exchange("POST", "/slow", R"({"do":"block"})");
  });
  ASSERT_EQ(fn.stdout_line(), "blocked");  // the handler is running
  fn.signal(SIGTERM);
  wait_until_refused(fn.port());  // the server is stopping, with the request still in flight
  fn.release();
  const auto r = slow.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_TRUE(contains(r->body, "released"));
  EXPECT_EQ(fn.stdout_line(), "shutdown hook ran");
  EXPECT_EQ(fn.wait(), 0);
}

TEST(push_runtime_test, a_handler_that_outlives_the_grace_period_is_answered_and_left_behind) {
  // The C++ handler runs on its connection's own worker thread; when the grace period ends with
  // it still blocked, the server answers its client itself (504, as for a timeout), runs the
  // shutdown hook and the process exits 0 without waiting for the handler.
  function_process fn(push_function, http_env({"LAMELLA_SHUTDOWN_GRACE_MS=300"}));
  auto stuck = std::async(std::launch::async, [&] {
    raw_connection c(fn.port());
    return c.exchange("POST", "/stuck", R"({"do":"block"})");
  });
  ASSERT_EQ(fn.stdout_line(), "blocked");
  fn.signal(SIGTERM);
  const auto r = stuck.get();  // never released
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504U);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_EQ(fn.stdout_line(), "shutdown hook ran");
  EXPECT_EQ(fn.wait(), 0);
}

TEST(push_runtime_test, fc_serves_invoke_and_initialize) {
  function_process fn(cpp_hello, {"LAMELLA_PLATFORM=fc", "FC_CUSTOM_LISTEN_PORT=0", "_HANDLER=echo",
                                  "FC_FUNCTION_NAME=fc-test"});
  raw_connection c(fn.port());
  const auto init = c.exchange("POST", "/initialize");
  ASSERT_TRUE(init);
  EXPECT_EQ(init->status, 200U);
  const auto r =
      c.exchange("POST", "/invoke", R"({"token":"fc-token-3"})", "x-fc-request-id: fc-req-1\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_TRUE(contains(r->body, "fc-token-3"));
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.wait(), 0);
}

TEST(push_runtime_test, a_full_queue_answers_503) {
  function_process fn(push_function, http_env({"LAMELLA_CONCURRENCY=1", "LAMELLA_QUEUE=1"}));
  auto running = std::async(std::launch::async, [&] {
    raw_connection c(fn.port());
    return c.exchange("POST", "/a", R"({"do":"block"})");
  });
  ASSERT_EQ(fn.stdout_line(), "blocked");  // the one loop is busy
  // Two more: one waits in the queue, the other finds it full. Which is which depends on
  // arrival order, so the test checks that exactly one was refused.
  auto send = [&](const std::string& token) {
    return std::async(std::launch::async, [&fn, token] {
      raw_connection c(fn.port());
      return c.exchange("POST", "/b", R"({"token":")" + token + R"("})");
    });
  };
  auto b = send("bee");
  auto c = send("cee");
  // The refused one is answered while the loop is still blocked; wait for it first.
  std::optional<std::optional<raw_response>> refused;  // set once one of them is answered
  std::future<std::optional<raw_response>>* other = nullptr;
  while (!refused) {
    if (b.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready) {
      refused = b.get();
      other = &c;
    } else if (c.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready) {
      refused = c.get();
      other = &b;
    }
  }
  ASSERT_TRUE(*refused);
  EXPECT_EQ((*refused)->status, 503U);
  fn.release();
  const auto first = running.get();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200U);
  const auto queued = other->get();
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->status, 200U);
}

}  // namespace

namespace {

/// `parties` concurrent CloudEvent invocations of the generic bootstrap's handler in `dir`
/// (LAMELLA_CONCURRENCY=parties); each answer's JSON body.
std::vector<std::string> meet(const std::string& handler, const std::string& dir, int parties) {
  function_process fn(LAMELLA_GENERIC_BOOTSTRAP,
                      http_env({"_HANDLER=" + handler, "LAMBDA_TASK_ROOT=" + dir,
                                "LAMELLA_CONCURRENCY=" + std::to_string(parties),
                                "PATH=/usr/local/bin:/usr/bin:/bin"}));
  std::vector<std::string> bodies(static_cast<std::size_t>(parties));
  std::vector<std::thread> callers;
  callers.reserve(static_cast<std::size_t>(parties));
  for (int i = 0; i < parties; ++i) {
    callers.emplace_back([&, i] {
      raw_connection c(fn.port());
      const std::string event = R"({"specversion":"1.0","id":"meet-)" + std::to_string(i) +
                                R"(","source":"test","type":"meet","data":{"parties":)" +
                                std::to_string(parties) + "}}";
      c.send_bytes(
          "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\n"
          "Content-Length: " +
          std::to_string(event.size()) + "\r\n\r\n" + event);
      const auto answer = c.read_response();
      bodies[static_cast<std::size_t>(i)] = answer ? answer->body : "(connection closed)";
    });
  }
  for (auto& t : callers) t.join();
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.wait(), 0) << "a graceful stop exits 0";
  return bodies;
}

}  // namespace

// Instance concurrency in the interpreted languages: the handlers below answer {"met": true}
// only when `parties` invocations are inside them at the same time.
TEST(push_runtime_test, python_handlers_run_concurrently_on_threads) {
  for (const auto& body : meet("app.handler", LAMELLA_PUSH_FIXTURES "/python", 4)) {
    EXPECT_TRUE(contains(body, R"("met": true)")) << body;
  }
}

#ifdef LAMELLA_WITH_NODE
TEST(push_runtime_test, node_handlers_run_concurrently_on_the_event_loop) {
  for (const auto& body : meet("index.handler", LAMELLA_PUSH_FIXTURES "/node", 8)) {
    EXPECT_TRUE(contains(body, R"("met":true)")) << body;
  }
}
#endif

//------------------------------------------------------------------------------------------------
// Lifecycle hooks of Python and Node handlers on FC (the generic bootstrap, fixtures in
// push/python/hooks.py and push/node/hooks.js: every hook writes a marker line to stdout), and
// FC's log marker lines.

namespace {

/// A language's hooks fixture.
struct hooks_fixture {
  std::string language;  ///< names the test parameter
  std::string dir;
  std::string handler;
  std::string second_hook;  ///< the second shutdown hook's marker (Node's is async)
  std::string sigterm_env;  ///< the variable that installs a SIGTERM handler/listener
  std::string sigterm_mark;
};

hooks_fixture python_hooks() {
  return {"python",
          LAMELLA_PUSH_FIXTURES "/python",
          "hooks.handler",
          "shutdown hook 2",
          "SIGTERM_HANDLER=1",
          "sigterm handler 15"};
}

#ifdef LAMELLA_WITH_NODE
hooks_fixture node_hooks() {
  return {"node",
          LAMELLA_PUSH_FIXTURES "/node",
          "hooks.handler",
          "shutdown hook 2 (async)",
          "SIGTERM_LISTENER=1",
          "sigterm listener"};
}
#endif

std::vector<std::string> fc_env(const hooks_fixture& f, std::vector<std::string> extra = {}) {
  std::vector<std::string> env = {"LAMELLA_PLATFORM=fc",       "FC_CUSTOM_LISTEN_PORT=0",
                                  "FC_FUNCTION_NAME=hooks",    "_HANDLER=" + f.handler,
                                  "LAMBDA_TASK_ROOT=" + f.dir, "PATH=/usr/local/bin:/usr/bin:/bin"};
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

/// Waits until the function's init is done (its handler module ran: hooks registered).
void initialized(function_process& fn) {
  raw_connection c(fn.port());
  const auto r = c.exchange("POST", "/initialize", "", "x-fc-request-id: init-0\r\n");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200U);
  ASSERT_EQ(fn.stdout_line(), "FC Initialize Start RequestId: init-0");
  ASSERT_EQ(fn.stdout_line(), "FC Initialize End RequestId: init-0");
}

/// One FC event invocation with request id `id`: its markers and the handler's line, in order.
void invoke_and_expect_lines(function_process& fn, const std::string& id,
                             const std::string& event = "{}") {
  raw_connection c(fn.port());
  const auto r = c.exchange("POST", "/invoke", event, "x-fc-request-id: " + id + "\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U) << r->body;
  EXPECT_EQ(fn.stdout_line(), "FC Invoke Start RequestId: " + id);
  EXPECT_EQ(fn.stdout_line(), "handling " + id);
  EXPECT_EQ(fn.stdout_line(), "FC Invoke End RequestId: " + id);
}

void pre_freeze_and_pre_stop_run_the_hooks(const hooks_fixture& f) {
  function_process fn(LAMELLA_GENERIC_BOOTSTRAP, fc_env(f));
  initialized(fn);
  {
    raw_connection c(fn.port());
    const auto r = c.exchange("GET", "/pre-freeze");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200U);
    EXPECT_EQ(r->header("x-fc-status"), "200");
  }
  // The hook's line comes before the next invocation's: /pre-freeze waited for the hook (Node's
  // is async).
  EXPECT_EQ(fn.stdout_line(), "pre-freeze hook");
  invoke_and_expect_lines(fn, "after-freeze");
  {
    raw_connection c(fn.port());
    const auto r = c.exchange("GET", "/pre-stop");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200U) << r->body;
    EXPECT_EQ(r->header("x-fc-status"), "200");
  }
  EXPECT_EQ(fn.stdout_line(), "shutdown hook 1");
  EXPECT_EQ(fn.stdout_line(), f.second_hook);
  invoke_and_expect_lines(fn, "after-stop");  // still serving until FC stops the instance
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.stdout_line(), "") << "the shutdown hooks ran once, at /pre-stop";
  EXPECT_EQ(fn.wait(), 0);
}

void sigterm_runs_the_hooks_and_exits_zero(const hooks_fixture& f, bool with_handler) {
  function_process fn(LAMELLA_GENERIC_BOOTSTRAP,
                      fc_env(f, with_handler ? std::vector<std::string>{f.sigterm_env}
                                             : std::vector<std::string>{}));
  initialized(fn);
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.stdout_line(), "shutdown hook 1");
  EXPECT_EQ(fn.stdout_line(), f.second_hook);
  // A SIGTERM handler the function installed itself runs too, last, after the hooks.
  if (with_handler) {
    EXPECT_EQ(fn.stdout_line(), f.sigterm_mark);
  }
  EXPECT_EQ(fn.stdout_line(), "");
  EXPECT_EQ(fn.wait(), 0);
}

void a_failing_hook_makes_pre_stop_answer_the_fc_error(const hooks_fixture& f) {
  function_process fn(LAMELLA_GENERIC_BOOTSTRAP, fc_env(f, {"HOOK_FAILS=1"}));
  initialized(fn);
  raw_connection c(fn.port());
  const auto r = c.exchange("GET", "/pre-stop");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404U);
  EXPECT_EQ(r->header("x-fc-status"), "404");
  EXPECT_TRUE(contains(r->body, "hook-broke")) << r->body;
  EXPECT_TRUE(contains(r->body, "Runtime.HookError")) << r->body;
  EXPECT_EQ(fn.stdout_line(), "shutdown hook 1");  // the hooks before it ran
  // The server keeps serving.
  const auto after = c.exchange("POST", "/invoke", "{}");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200U);
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.wait(), 0);
}

}  // namespace

// What Python and Node do alike, once per language.
class push_runtime_hooks : public ::testing::TestWithParam<hooks_fixture> {};

TEST_P(push_runtime_hooks, run_on_fc_pre_freeze_and_pre_stop) {
  pre_freeze_and_pre_stop_run_the_hooks(GetParam());
}

// Node's second hook is async: it is awaited.
TEST_P(push_runtime_hooks, shutdown_hooks_run_on_sigterm_and_the_process_exits_zero) {
  sigterm_runs_the_hooks_and_exits_zero(GetParam(), false);
}

// Python's signal.signal() handler, Node's process.on('SIGTERM') listener.
TEST_P(push_runtime_hooks, a_sigterm_handler_runs_after_the_shutdown_hooks) {
  sigterm_runs_the_hooks_and_exits_zero(GetParam(), true);
}

// Python's hook raises, Node's rejects.
TEST_P(push_runtime_hooks, a_failing_hook_makes_pre_stop_answer_404) {
  a_failing_hook_makes_pre_stop_answer_the_fc_error(GetParam());
}

TEST_P(push_runtime_hooks, fc_log_lines_surround_each_invocation) {
  function_process fn(LAMELLA_GENERIC_BOOTSTRAP, fc_env(GetParam()));
  initialized(fn);
  invoke_and_expect_lines(fn, "fc-log-1");
  invoke_and_expect_lines(fn, "fc-log-2");
}

namespace {

std::vector<hooks_fixture> hooks_fixtures() {
  std::vector<hooks_fixture> out{python_hooks()};
#ifdef LAMELLA_WITH_NODE
  out.push_back(node_hooks());
#endif
  return out;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(languages, push_runtime_hooks, ::testing::ValuesIn(hooks_fixtures()),
                         [](const auto& param_info) { return param_info.param.language; });

TEST(push_runtime_test, a_python_sigterm_handler_set_during_an_invocation_still_runs) {
  const auto f = python_hooks();
  function_process fn(LAMELLA_GENERIC_BOOTSTRAP, fc_env(f));
  initialized(fn);
  // signal.signal() took SIGTERM from the server; lamella takes it back after the invocation.
  invoke_and_expect_lines(fn, "installs", R"({"install_sigterm": true})");
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.stdout_line(), "shutdown hook 1");
  EXPECT_EQ(fn.stdout_line(), f.second_hook);
  EXPECT_EQ(fn.stdout_line(), f.sigterm_mark);
  EXPECT_EQ(fn.wait(), 0);
}

#ifdef LAMELLA_WITH_NODE
namespace {

/// The push environment of a streaming handler of tests/integration/node/fn/stream.mjs.
std::vector<std::string> node_stream_env(const std::string& name) {
  return http_env({"_HANDLER=stream." + name, "LAMBDA_TASK_ROOT=" LAMELLA_NODE_FIXTURES "/fn",
                   "PATH=/usr/local/bin:/usr/bin:/bin"});
}

}  // namespace

// On the http platform a streamed response (streamifyResponse) reaches the client as it is
// written, chunked, as from a function URL: an HTTP prelude (HttpResponseStream.from) gives the
// status and headers, a failure after the first bytes cuts the body short, and the connection
// and the function go on serving.
TEST(push_runtime_test, streamed_node_responses_reach_the_http_client_as_they_are_written) {
  function_process gated(LAMELLA_GENERIC_BOOTSTRAP, node_stream_env("gatedQuery"));
  const auto gate =
      std::filesystem::temp_directory_path() / ("lamella-push-gate-" + std::to_string(::getpid()));
  std::filesystem::remove(gate);
  raw_connection g(gated.port());
  ASSERT_TRUE(g.send_request("GET", "/gated?gate=" + gate.string()));
  const auto head = g.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200U);
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(head->header("Content-Type"), "text/plain");
  EXPECT_EQ(head->header("x-amzn-RequestId").size(), 36U);  // as every answer to an invocation
  // "second" is written only once the gate exists, which it does only after "first" arrived.
  EXPECT_EQ(g.read_chunk(), "first\n");
  std::ofstream(gate) << "open";
  EXPECT_EQ(g.read_chunk(), "second\n");
  EXPECT_EQ(g.read_chunk(), "");
  std::filesystem::remove(gate);
  auto r = g.exchange("GET", "/healthz");  // the same connection goes on
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);

  function_process fn(LAMELLA_GENERIC_BOOTSTRAP, node_stream_env("http"));
  raw_connection c(fn.port());
  r = c.exchange("GET", "/with-prelude");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201U);
  EXPECT_EQ(r->header("x-sample"), "yes");
  EXPECT_EQ(r->body, "hello world");
  ASSERT_TRUE(c.send_request("HEAD", "/head"));  // a HEAD's answer is the head alone
  r = c.read_response(/*bodiless=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201U);
  r = c.exchange("GET", "/again");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello world");
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.wait(), 0);

  function_process plain(LAMELLA_GENERIC_BOOTSTRAP, node_stream_env("plain"));
  raw_connection p(plain.port());
  r = p.exchange("GET", "/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->header("Content-Type"), "text/plain");
  EXPECT_EQ(r->body, "one two");

  // A handler that fails after its first chunk: the status went out, so the body is cut short
  // (the connection closes without the last chunk); one that fails first gets API Gateway's 500.
  function_process failing(LAMELLA_GENERIC_BOOTSTRAP, node_stream_env("failsAfterWrite"));
  for (int i = 0; i < 2; ++i) {  // and the function goes on serving
    raw_connection f(failing.port());
    ASSERT_TRUE(f.send_request("GET", "/fails"));
    const auto cut = f.read_head();
    ASSERT_TRUE(cut);
    EXPECT_EQ(cut->status, 200U);
    EXPECT_EQ(f.read_chunk(), "partial\n");
    EXPECT_EQ(f.read_chunk(), std::nullopt);
  }
  function_process early(LAMELLA_GENERIC_BOOTSTRAP, node_stream_env("failsBeforeWrite"));
  raw_connection e(early.port());
  r = e.exchange("GET", "/fails-first");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500U);
}

TEST(push_runtime_test, an_es_module_registers_hooks_through_create_require) {
  hooks_fixture f = node_hooks();
  f.handler = "hooks-esm.handler";
  function_process fn(LAMELLA_GENERIC_BOOTSTRAP, fc_env(f));
  initialized(fn);
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.stdout_line(), "esm shutdown hook");
  EXPECT_EQ(fn.wait(), 0);
}
#endif

// ---- Azure Functions custom handlers, Kubeless, the Functions Framework: their own rules ----

namespace {

/// The interpreted languages' push fixtures, (handler, task root): Python and, when built, Node.
std::vector<std::pair<std::string, std::string>> script_functions() {
  std::vector<std::pair<std::string, std::string>> functions = {
      {"app.handler", LAMELLA_PUSH_FIXTURES "/python"}};
#ifdef LAMELLA_WITH_NODE
  functions.emplace_back("index.handler", LAMELLA_PUSH_FIXTURES "/node");
#endif
  return functions;
}

/// A payload invocation as the Functions host sends it: POST /<function> with {Data, Metadata}.
std::optional<raw_response> azure_invoke(raw_connection& c, const std::string& function,
                                         const std::string& data,
                                         const std::string& invocation_id) {
  return c.exchange("POST", "/" + function, R"({"Data":)" + data + R"(,"Metadata":{}})",
                    "X-Azure-Functions-InvocationId: " + invocation_id + "\r\n");
}

}  // namespace

TEST(push_runtime_test, azure_readiness_is_answered_while_the_handler_is_busy) {
  // FUNCTIONS_CUSTOMHANDLER_PORT alone selects Azure, as the Functions host starts the process.
  function_process fn(push_function, {"FUNCTIONS_CUSTOMHANDLER_PORT=0", "LAMELLA_CONCURRENCY=1"});
  auto blocked = std::async(std::launch::async, [&] {
    raw_connection c(fn.port());
    return azure_invoke(c, "Blocker", R"({"item":"block"})", "inv-block");
  });
  ASSERT_EQ(fn.stdout_line(), "blocked");  // the only loop is busy
  raw_connection probe(fn.port());
  const auto ready = probe.exchange("GET", "/");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200U);
  fn.release();
  const auto r = blocked.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->body, R"({"Outputs":{},"Logs":[],"ReturnValue":{"released":true}})");
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.wait(), 0);
}

TEST(push_runtime_test, azure_serves_payload_http_triggers_and_forwarded_requests) {
  function_process fn(push_function, {"LAMELLA_PLATFORM=azure", "FUNCTIONS_CUSTOMHANDLER_PORT=0"});
  raw_connection c(fn.port());
  // A queue message: the handler (an echo) gets the message, the host gets it as ReturnValue.
  auto r = azure_invoke(c, "QueueFn", R"({"msg":{"token":"queue-7"}})", "inv-q");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->body, R"({"Outputs":{},"Logs":[],"ReturnValue":{"token":"queue-7"}})");
  // An HTTP trigger without pass-through: the handler gets an API Gateway event built from
  // Data.req; its result goes back as Outputs.res.
  r = azure_invoke(c, "HttpFn",
                   R"({"req":{"Url":"http://localhost:7071/api/hello?x=1","Method":"POST",)"
                   R"("Headers":{"Content-Type":["application/json"]},)"
                   R"("Body":"{\"token\":\"req-8\"}"}})",
                   "inv-h");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_TRUE(contains(r->body, R"("Outputs":{"res":{"statusCode":200,"status":200,)")) << r->body;
  EXPECT_TRUE(contains(r->body, R"(\"rawPath\":\"/api/hello\")")) << r->body;
  EXPECT_TRUE(contains(r->body, R"(\"requestId\":\"inv-h\")")) << r->body;
  EXPECT_TRUE(contains(r->body, "req-8")) << r->body;
  // enableForwardingHttpRequest: the client's request on its /api path, the handler's answer
  // returned as is (the echo's event object: 200 application/json).
  r = c.exchange("POST", "/api/echo?y=2", R"({"token":"fwd-9"})",
                 "X-Azure-Functions-InvocationId: inv-f\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_TRUE(contains(r->body, R"("rawPath":"/api/echo")")) << r->body;
  EXPECT_TRUE(contains(r->body, R"("rawQueryString":"y=2")")) << r->body;
  EXPECT_TRUE(contains(r->body, R"("requestId":"inv-f")")) << r->body;
  EXPECT_TRUE(contains(r->body, "fwd-9")) << r->body;
  // A POST to one segment whose body is not {Data: {...}}: a forwarded request too.
  r = c.exchange("POST", "/echo", R"({"token":"plain-10"})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(contains(r->body, R"("rawPath":"/echo")")) << r->body;
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.wait(), 0);
}

TEST(push_runtime_test, azure_forwarded_requests_reach_python_and_node_handlers) {
  for (const auto& [handler, dir] : script_functions()) {
    SCOPED_TRACE(handler);
    function_process fn(LAMELLA_GENERIC_BOOTSTRAP,
                        {"FUNCTIONS_CUSTOMHANDLER_PORT=0", "_HANDLER=" + handler,
                         "LAMBDA_TASK_ROOT=" + dir, "PATH=/usr/local/bin:/usr/bin:/bin"});
    raw_connection c(fn.port());
    const auto ready = c.exchange("GET", "/");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200U);
    // The fixture answers {"met": true, "request_id": ...} at once for an event without parties.
    const auto r = c.exchange("GET", "/api/meet", "", "X-Azure-Functions-InvocationId: inv-77\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200U);
    EXPECT_TRUE(contains(r->body, "inv-77")) << r->body;
    EXPECT_TRUE(contains(r->body, "true")) << r->body;
    fn.signal(SIGTERM);
    EXPECT_EQ(fn.wait(), 0);
  }
}

TEST(push_runtime_test, kubeless_answers_408_after_func_timeout_and_keeps_serving) {
  function_process fn(push_function, {"LAMELLA_PLATFORM=kubeless", "FUNC_PORT=0", "FUNC_TIMEOUT=1",
                                      "LAMELLA_CONCURRENCY=2"});
  auto slow = std::async(std::launch::async, [&] {
    raw_connection c(fn.port());
    return c.exchange("POST", "/", R"({"do":"block"})", "event-id: ev-slow\r\n");
  });
  ASSERT_EQ(fn.stdout_line(), "blocked");
  raw_connection c(fn.port());
  const auto health = c.exchange("GET", "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200U);
  const auto timed_out = slow.get();  // FUNC_TIMEOUT (1 s) passes while the handler blocks
  ASSERT_TRUE(timed_out);
  EXPECT_EQ(timed_out->status, 408U);
  EXPECT_TRUE(contains(timed_out->body, "Sandbox.Timedout")) << timed_out->body;
  EXPECT_TRUE(contains(timed_out->body, "ev-slow")) << timed_out->body;
  fn.release();
  // The server keeps serving: the other loop answers; the metrics count the timeout.
  const auto r = c.exchange("POST", "/any/path", R"({"token":"after-408"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->body, R"({"token":"after-408"})");
  const auto metrics = c.exchange("GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_TRUE(contains(metrics->body, "function_calls_total{method=\"POST\"} 2\n"))
      << metrics->body;
  EXPECT_TRUE(contains(metrics->body, "function_failures_total{method=\"POST\"} 1\n"))
      << metrics->body;
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.wait(), 0);
}

TEST(push_runtime_test, kubeless_times_out_python_and_node_handlers_with_408) {
  for (const auto& [handler, dir] : script_functions()) {
    SCOPED_TRACE(handler);
    // MOD_NAME.FUNC_HANDLER is the handler, as Kubeless names it.
    const auto dot = handler.find('.');
    function_process fn(LAMELLA_GENERIC_BOOTSTRAP,
                        {"FUNC_HANDLER=" + handler.substr(dot + 1),
                         "MOD_NAME=" + handler.substr(0, dot), "FUNC_PORT=0", "FUNC_TIMEOUT=1",
                         "LAMBDA_TASK_ROOT=" + dir, "PATH=/usr/local/bin:/usr/bin:/bin"});
    raw_connection c(fn.port());
    // Alone, an invocation waiting for a second party waits 10 s: longer than FUNC_TIMEOUT.
    const auto r = c.exchange("POST", "/", R"({"parties":2})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 408U) << r->body;
  }
}

TEST(push_runtime_test, gcf_http_signature_serves_every_path_but_robots_and_favicon) {
  // FUNCTION_TARGET selects the Functions Framework contract (PORT as on Cloud Run).
  function_process fn(push_function, {"FUNCTION_TARGET=handler", "PORT=0"});
  raw_connection c(fn.port());
  for (const char* path : {"/robots.txt", "/favicon.ico"}) {
    const auto r = c.exchange("GET", path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404U) << path;
  }
  const auto r = c.exchange("POST", "/healthz", R"({"token":"gcf-11"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_TRUE(contains(r->body, R"("rawPath":"/healthz")")) << r->body;
  EXPECT_TRUE(contains(r->body, "gcf-11")) << r->body;
  EXPECT_EQ(r->header("etag"), "");
  fn.signal(SIGTERM);
  EXPECT_EQ(fn.wait(), 0);
}

TEST(push_runtime_test, gcf_refuses_to_start_with_a_signature_type_it_lacks) {
  // As the Functions Frameworks do; the first line says why. (The process exits by itself.)
  try {
    const function_process fn(
        push_function, {"FUNCTION_TARGET=handler", "PORT=0", "FUNCTION_SIGNATURE_TYPE=pubsub"});
    FAIL() << "the function started on port " << fn.port();
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(
        contains(e.what(), "FUNCTION_SIGNATURE_TYPE=pubsub: expected http, cloudevent or event"))
        << e.what();
  }
}
