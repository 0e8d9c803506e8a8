// The `lamella` CLI as a user runs it: `lamella invoke` and `lamella serve` + curl.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

const std::filesystem::path bin_dir = LAMELLA_BIN_DIR;
const std::filesystem::path samples = LAMELLA_SAMPLES_DIR;

struct process_result {
  int exit_code = -1;
  std::string out;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs a shell command, returns its exit status and stdout (stderr goes to the test log).
process_result run(const std::string& command) {
  process_result r;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  while (const std::size_t n = std::fread(buf.data(), 1, buf.size(), p))
    r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string lamella() { return quote((bin_dir / "lamella").string()); }

/// Runs `lamella invoke <samples/sample> <args>`.
process_result invoke_sample(const std::string& sample, const std::string& args) {
  return run(lamella() + " invoke " + quote((samples / sample).string()) + " " + args);
}

TEST(cli_invoke, prints_the_handler_json) {
  const auto r = invoke_sample("cpp-hello", R"(--event '{"name":"lamella"}')");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto body = boost::json::parse(r.out).as_object();
  EXPECT_EQ(body.at("message").as_string(), "Hello, lamella!");
  EXPECT_EQ(body.at("count").as_int64(), 1);
}

TEST(cli_invoke, reads_the_event_from_a_file) {
  const auto file = std::filesystem::temp_directory_path() / "lamella-cli-event.json";
  std::ofstream(file) << R"({"name":"file"})";
  const auto r = invoke_sample("cpp-hello", "--event @" + quote(file.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(boost::json::parse(r.out).at("message").as_string(), "Hello, file!");
}

TEST(cli_invoke, a_throwing_handler_prints_error_json_and_exits_non_zero) {
  const auto r = invoke_sample("cpp-hello", "--handler fail --event '{}'");
  EXPECT_NE(r.exit_code, 0);
  const auto body = boost::json::parse(r.out).as_object();
  EXPECT_EQ(body.at("errorType").as_string(), "std::runtime_error");
  EXPECT_EQ(body.at("errorMessage").as_string(), "something went wrong in the handler");
}

TEST(cli_invoke, runs_the_generic_bootstrap_for_a_directory_without_one) {
  const auto r = invoke_sample("cpp-hello-so", "--handler libhello.so:hello");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(boost::json::parse(r.out).at("count").as_int64(), 1);
}

#ifdef LAMELLA_WITH_PYTHON
TEST(cli_invoke, runs_a_python_handler_with_the_generic_bootstrap) {
  const auto r = invoke_sample("python-hello", R"(--handler app.handler --event '{"name":"x"}')");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto body = boost::json::parse(r.out).as_object();
  EXPECT_EQ(body.at("message").as_string(), "Hello, x!");
  EXPECT_EQ(body.at("count").as_int64(), 1);
}

TEST(cli_invoke, a_python_init_error_prints_its_aws_type_and_exits_non_zero) {
  const auto r = invoke_sample("python-hello", "--handler nosuch.handler 2>/dev/null");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(boost::json::parse(r.out).at("errorType").as_string(), "Runtime.ImportModuleError");
}
#endif

TEST(cli_invoke, usage_errors_exit_2) {
  EXPECT_EQ(run(lamella() + " invoke 2>/dev/null").exit_code, 2);
  EXPECT_EQ(run(lamella() + " frobnicate 2>/dev/null").exit_code, 2);
  EXPECT_EQ(run(lamella() + " invoke /nonexistent/dir 2>/dev/null").exit_code, 2);
}

/// How many serve_session objects this test process made (their log files need distinct names).
int serve_sessions_started = 0;

/// `lamella serve <dir> --port 0 <args...>` in a child process, stopped with SIGTERM.
class serve_session {
 public:
  serve_session(const std::filesystem::path& dir, std::vector<std::string> args) {
    log_ = std::filesystem::temp_directory_path() /
           ("lamella-serve-" + std::to_string(::getpid()) + "-" +
            std::to_string(++serve_sessions_started) + ".log");
    std::vector<std::string> argv{(bin_dir / "lamella").string(), "serve", dir.string(), "--port",
                                  "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log_.c_str(), "w", stderr);
      std::vector<char*> raw;
      raw.reserve(argv.size() + 1);
      for (auto& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
    // Wait for the line that names the port.
    std::smatch m;
    const std::regex port_re(R"(http://127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 250 && !std::regex_search(text_, m, port_re); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::ifstream in(log_);
      text_.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (std::regex_search(text_, m, port_re)) {
      url_ = "127.0.0.1:" + m[1].str() + "/2015-03-31/functions/function/invocations";
    }
  }
  ~serve_session() {
    if (pid_ > 0 && exit_status_ < 0) (void)stop();
    std::filesystem::remove(log_);
  }
  serve_session(const serve_session&) = delete;
  serve_session& operator=(const serve_session&) = delete;

  /// The invoke URL, empty when serve never said where it listens.
  [[nodiscard]] const std::string& url() const { return url_; }
  [[nodiscard]] const std::string& startup_text() const { return text_; }
  /// SIGTERM, then the exit status (-1 when it did not exit normally).
  int stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 1000;
    return exit_status_ == 1000 ? -1 : exit_status_;
  }

 private:
  std::filesystem::path log_;
  std::string text_;
  std::string url_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

TEST(cli_serve, answers_curl_and_keeps_warm_state) {
  serve_session serve(samples / "cpp-hello", {});
  ASSERT_FALSE(serve.url().empty()) << serve.startup_text();
  const auto first = run("curl -s -XPOST " + serve.url() + " -d '{}'");
  const auto second = run("curl -s -XPOST " + serve.url() + R"( -d '{"name":"again"}')");
  EXPECT_EQ(serve.stop(), 0) << "serve exits 0 on SIGTERM";
  ASSERT_EQ(first.exit_code, 0);
  EXPECT_EQ(boost::json::parse(first.out).at("count").as_int64(), 1) << first.out;
  EXPECT_EQ(boost::json::parse(second.out).at("count").as_int64(), 2) << second.out;
  EXPECT_EQ(boost::json::parse(second.out).at("message").as_string(), "Hello, again!");
}

#ifdef LAMELLA_WITH_NODE
const std::filesystem::path node_fn = std::filesystem::path(LAMELLA_NODE_FIXTURES) / "fn";

TEST(cli_invoke, runs_node_esm_cjs_callback_and_streaming_handlers) {
  const auto esm = invoke_sample("node-hello", R"(--handler index.handler --event '{"name":"x"}')");
  EXPECT_EQ(esm.exit_code, 0);
  EXPECT_EQ(boost::json::parse(esm.out).at("message").as_string(), "Hello, x!") << esm.out;
  const auto cjs = run(lamella() + " invoke " + quote(node_fn.string()) +
                       R"( --handler index.promise --event '{"k":1}')");
  EXPECT_EQ(cjs.exit_code, 0);
  EXPECT_EQ(boost::json::parse(cjs.out), boost::json::parse(R"({"got":{"k":1}})")) << cjs.out;
  const auto callback =
      run(lamella() + " invoke " + quote(node_fn.string()) + " --handler index.callback");
  EXPECT_EQ(callback.exit_code, 0);
  EXPECT_EQ(boost::json::parse(callback.out), boost::json::parse(R"({"style":"callback"})"));
  const auto streamed =
      invoke_sample("node-stream", R"(--handler index.handler --event '{"lines":3,"delayMs":1}')");
  EXPECT_EQ(streamed.exit_code, 0);
  EXPECT_EQ(streamed.out, "line 1 of 3\nline 2 of 3\nline 3 of 3\n");
  const auto failed = invoke_sample("node-stream", "--handler index.failing 2>/dev/null");
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.out.find("partial output"), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find(R"("errorMessage":"stream broke half-way")"), std::string::npos);
}

TEST(cli_serve, serves_node_esm_callback_and_streaming_handlers_to_curl) {
  serve_session hello(samples / "node-hello", {"--handler", "index.handler"});
  ASSERT_FALSE(hello.url().empty()) << hello.startup_text();
  run("curl -s -XPOST " + hello.url() + " -d '{}'");
  const auto warm = run("curl -s -XPOST " + hello.url() + R"( -d '{"name":"again"}')");
  EXPECT_EQ(boost::json::parse(warm.out).at("count").as_int64(), 2) << warm.out;
  EXPECT_EQ(hello.stop(), 0);

  serve_session callback(node_fn, {"--handler", "index.callback"});
  ASSERT_FALSE(callback.url().empty()) << callback.startup_text();
  const auto cb = run("curl -s -XPOST " + callback.url() + " -d '{}'");
  EXPECT_EQ(boost::json::parse(cb.out), boost::json::parse(R"({"style":"callback"})")) << cb.out;

  serve_session stream(samples / "node-stream", {"--handler", "index.handler"});
  ASSERT_FALSE(stream.url().empty()) << stream.startup_text();
  const auto raw =
      run("curl -s --raw -N -XPOST " + stream.url() + R"( -d '{"lines":2,"delayMs":1}')");
  // Chunked to the caller, ending with the End-Of-Response trailer.
  EXPECT_NE(raw.out.find("line 1 of 2\n"), std::string::npos) << raw.out;
  EXPECT_NE(raw.out.find("line 2 of 2\n"), std::string::npos) << raw.out;
  EXPECT_NE(raw.out.find("End-Of-Response: Complete"), std::string::npos) << raw.out;
}
#endif

// --- --platform

TEST(cli_invoke, platform_scf_runs_the_same_function_over_scfs_api) {
  const auto r = invoke_sample("cpp-hello", R"(--platform scf --event '{"name":"scf"}')");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(boost::json::parse(r.out).at("message").as_string(), "Hello, scf!");
  const auto generic =
      invoke_sample("cpp-hello-so", "--platform=scf --handler libhello.so:hello --event '{}'");
  ASSERT_EQ(generic.exit_code, 0) << generic.out;
  EXPECT_EQ(boost::json::parse(generic.out).at("count").as_int64(), 1);
#ifdef LAMELLA_WITH_PYTHON
  const auto py = invoke_sample("python-hello",
                                R"(--platform scf --handler app.handler --event '{"name":"y"}')");
  ASSERT_EQ(py.exit_code, 0) << py.out;
  EXPECT_EQ(boost::json::parse(py.out).at("message").as_string(), "Hello, y!");
#endif
}

TEST(cli_serve, platform_scf_answers_curl_on_the_same_invoke_endpoint) {
  serve_session serve(samples / "cpp-hello", {"--platform", "scf"});
  ASSERT_FALSE(serve.url().empty()) << serve.startup_text();
  const auto first = run("curl -s -XPOST " + serve.url() + R"( -d '{"name":"tencent"}')");
  EXPECT_EQ(serve.stop(), 0);
  EXPECT_EQ(boost::json::parse(first.out).at("message").as_string(), "Hello, tencent!")
      << first.out;
}

// Huawei FunctionGraph's custom runtime: the emulator plays its pull API
// (/v1/runtime/invocation/request, .../response/<id>) and environment (RUNTIME_API_ADDR,
// RUNTIME_HANDLER, RUNTIME_CODE_ROOT; no AWS_LAMBDA_RUNTIME_API and no _HANDLER).
TEST(cli_invoke, platform_functiongraph_runs_the_same_function_over_functiongraphs_api) {
  const auto r = invoke_sample("cpp-hello", R"(--platform functiongraph --event '{"name":"fg"}')");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(boost::json::parse(r.out).at("message").as_string(), "Hello, fg!");
  const auto generic = invoke_sample(
      "cpp-hello-so", "--platform=functiongraph --handler libhello.so:hello --event '{}'");
  ASSERT_EQ(generic.exit_code, 0) << generic.out;
  EXPECT_EQ(boost::json::parse(generic.out).at("count").as_int64(), 1);
}

#ifdef LAMELLA_WITH_PYTHON
// The Python samples, unchanged, through the FunctionGraph pull loop: python-hello's event, and
// python-api given the API Gateway event an APIG trigger would carry.
TEST(cli_invoke, platform_functiongraph_runs_the_python_samples) {
  const auto hello = invoke_sample(
      "python-hello", R"(--platform functiongraph --handler app.handler --event '{"name":"hw"}')");
  ASSERT_EQ(hello.exit_code, 0) << hello.out;
  EXPECT_EQ(boost::json::parse(hello.out).at("message").as_string(), "Hello, hw!");
  const auto api = invoke_sample(
      "python-api",
      R"(--platform functiongraph --handler app.handler --event '{"version":"2.0",)"
      R"("rawPath":"/items","requestContext":{"http":{"method":"POST","path":"/items"}},)"
      R"("body":"{\"name\":\"pear\"}","isBase64Encoded":false}')");
  ASSERT_EQ(api.exit_code, 0) << api.out;
  const auto response = boost::json::parse(api.out);
  EXPECT_EQ(response.at("statusCode").as_int64(), 201) << api.out;
  EXPECT_EQ(boost::json::parse(response.at("body").as_string()).at("name").as_string(), "pear");
}

// FunctionGraph has no init-error endpoint: the invocation that started the instance fails with
// the init error (its AWS type and message), as on Lambda, and the runtime exits.
TEST(cli_invoke, platform_functiongraph_fails_the_invocation_with_the_init_error) {
  const auto r = invoke_sample("python-hello",
                               "--platform functiongraph --handler nosuch.handler 2>/dev/null");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(boost::json::parse(r.out).at("errorType").as_string(), "Runtime.ImportModuleError")
      << r.out;
}

// A FunctionGraph HTTP function: `lamella serve --platform functiongraph-http` starts the generic
// bootstrap as the platform does (LAMELLA_PORT); python-api answers the APIG requests that
// FunctionGraph forwards with its X-CFF-* headers, keeping its warm state between requests.
TEST(cli_serve, platform_functiongraph_http_serves_the_python_api_sample) {
  serve_session serve(samples / "python-api",
                      {"--platform", "functiongraph-http", "--handler", "app.handler"});
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(serve.startup_text(), m, std::regex(R"(http://127\.0\.0\.1:(\d+))")))
      << serve.startup_text();
  const std::string base = "127.0.0.1:" + m[1].str();
  const std::string cff =
      " -H 'X-CFF-Request-Id: 0f0e0d0c-0b0a-4908-8706-050403020100' -H 'X-CFF-Timeout: 5'"
      " -H 'X-CFF-Func-Name: api' -H 'X-CFF-Memory: 128'";
  // The runtime starts in the background: retry the first request until it listens.
  std::string create = "curl -s -o - -w '\\n%{http_code}' -XPOST ";
  create.append(base).append("/items").append(cff);
  create.append(R"( -H 'Content-Type: application/json' -d '{"name":"fig"}')");
  process_result created;
  for (int i = 0; i < 250; ++i) {
    created = run(create);
    if (created.out.ends_with("201")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
  }
  ASSERT_TRUE(created.out.ends_with("\n201")) << created.out << serve.startup_text();
  const auto item = boost::json::parse(created.out.substr(0, created.out.rfind('\n')));
  EXPECT_EQ(item.at("name").as_string(), "fig");
  const auto listed =
      run("curl -s " + base + "/items/" + std::string(item.at("id").as_string()) + cff);
  EXPECT_EQ(boost::json::parse(listed.out).at("name").as_string(), "fig") << listed.out;
  EXPECT_EQ(serve.stop(), 0);
}
#endif

TEST(cli_invoke, bad_platforms_are_usage_errors) {
  EXPECT_EQ(invoke_sample("cpp-hello", "--platform aws 2>/dev/null").exit_code, 2);
  EXPECT_EQ(invoke_sample("cpp-hello", "--platform http 2>/dev/null").exit_code, 2);
}

// A function directory whose `bootstrap` is a shell script standing in for a push runtime: it
// records its environment and pid, and on SIGTERM writes "term <pid>" and exits.
class push_function {
 public:
  push_function() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lamella-push-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
    const auto bootstrap = dir_ / "bootstrap";
    std::ofstream(bootstrap) << "#!/bin/sh\n"
                                "env > \"$LAMELLA_TEST_DIR/env.$$\"\n"
                                "echo $$ >> \"$LAMELLA_TEST_DIR/pids\"\n"
                                "sleep 1000 >/dev/null 2>&1 & child=$!\n"
                                "trap 'kill $child; echo term $$ > \"$LAMELLA_TEST_DIR/term\"; "
                                "exit 0' TERM\n"
                                "wait\n";
    std::filesystem::permissions(bootstrap, std::filesystem::perms::owner_all);
  }
  ~push_function() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  push_function(const push_function&) = delete;
  push_function& operator=(const push_function&) = delete;

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  [[nodiscard]] std::string read(const std::string& name) const {
    std::ifstream in(dir_ / name);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  // The pids the runtime has started with, once there are `n` of them (up to 10 s).
  std::vector<std::string> pids(std::size_t n) const {
    std::vector<std::string> out;
    for (int i = 0; i < 1000; ++i) {
      out.clear();
      std::istringstream lines(read("pids"));
      for (std::string line; std::getline(lines, line);) out.push_back(line);
      if (out.size() >= n && !read("env." + out[n - 1]).empty()) return out;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return out;
  }

 private:
  std::filesystem::path dir_;
};

TEST(cli_serve, platform_http_supervises_the_runtime_with_port_and_forwards_sigterm) {
  push_function fn;
  serve_session serve(fn.dir(), {"--platform", "http", "--env",
                                 "LAMELLA_TEST_DIR=" + fn.dir().string(), "--name", "web"});
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(serve.startup_text(), m, std::regex(R"(http://127\.0\.0\.1:(\d+))")))
      << serve.startup_text();
  const std::string port = m[1].str();
  ASSERT_NE(port, "0");
  EXPECT_NE(serve.startup_text().find("curl 127.0.0.1:" + port + "/"), std::string::npos);

  auto pids = fn.pids(1);
  ASSERT_EQ(pids.size(), 1u) << serve.startup_text();
  const std::string env = fn.read("env." + pids[0]);
  EXPECT_NE(env.find("\nPORT=" + port + "\n"), std::string::npos) << env;
  EXPECT_NE(env.find("\nLAMELLA_PLATFORM=http\n"), std::string::npos) << env;
  EXPECT_NE(env.find("\nAWS_LAMBDA_FUNCTION_NAME=web\n"), std::string::npos) << env;
  EXPECT_NE(env.find("\nLAMBDA_TASK_ROOT=" + fn.dir().string() + "\n"), std::string::npos);
  EXPECT_EQ(env.find("AWS_LAMBDA_RUNTIME_API"), std::string::npos) << env;
  EXPECT_EQ(env.find("FC_CUSTOM_LISTEN_PORT"), std::string::npos) << env;

  // A runtime that dies is started again.
  // serve starts it in its own process group: kill all of it (the script and its sleep).
  ASSERT_EQ(::kill(-std::stoi(pids[0]), SIGKILL), 0);
  pids = fn.pids(2);
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_NE(pids[1], pids[0]);

  // SIGTERM to serve reaches the runtime, which stops gracefully; serve exits 0 after it.
  EXPECT_EQ(serve.stop(), 0);
  EXPECT_EQ(fn.read("term"), "term " + pids[1] + "\n");
}

TEST(cli_serve, platform_fc_gives_the_runtime_fc_custom_listen_port) {
  push_function fn;
  serve_session serve(fn.dir(),
                      {"--platform", "fc", "--env", "LAMELLA_TEST_DIR=" + fn.dir().string()});
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(serve.startup_text(), m, std::regex(R"(http://127\.0\.0\.1:(\d+))")));
  const std::string port = m[1].str();
  EXPECT_NE(serve.startup_text().find("curl -XPOST 127.0.0.1:" + port + "/invoke -d"),
            std::string::npos)
      << serve.startup_text();
  const auto pids = fn.pids(1);
  ASSERT_EQ(pids.size(), 1u);
  const std::string env = fn.read("env." + pids[0]);
  EXPECT_NE(env.find("\nFC_CUSTOM_LISTEN_PORT=" + port + "\n"), std::string::npos) << env;
  EXPECT_NE(env.find("\nLAMELLA_PLATFORM=fc\n"), std::string::npos) << env;
  EXPECT_EQ(serve.stop(), 0);
  EXPECT_EQ(fn.read("term"), "term " + pids[0] + "\n");
}

TEST(cli_serve, platforms_azure_gcf_kubeless_answer_the_printed_curl_line) {
  // Each platform's curl line is the request that platform sends; cpp-hello greets "world".
  for (const std::string platform : {"azure", "gcf", "kubeless"}) {
    SCOPED_TRACE(platform);
    serve_session serve(samples / "cpp-hello", {"--platform", platform, "--name", "Greeter"});
    const std::string& text = serve.startup_text();
    const auto at = text.find("\ncurl ");
    ASSERT_NE(at, std::string::npos) << text;
    const std::string curl = text.substr(at + 1, text.find('\n', at + 1) - at - 1);
    if (platform == "azure") {
      EXPECT_NE(curl.find("/Greeter -H 'Content-Type: application/json' -d '{\"Data\""),
                std::string::npos)
          << curl;
    }
    // serve starts the runtime after printing: retry until its server listens.
    const auto answer = run(curl.substr(0, 5) +
                            "-s --retry 30 --retry-connrefused --retry-delay 1 " + curl.substr(5));
    EXPECT_EQ(serve.stop(), 0);
    EXPECT_NE(answer.out.find("Hello, world!"), std::string::npos) << curl << "\n" << answer.out;
    if (platform == "azure") {
      EXPECT_EQ(answer.out.rfind(R"({"Outputs":{},"Logs":[],"ReturnValue":)", 0), 0U) << answer.out;
    }
  }
}

// --platform openwhisk|fission: serve plays the platform's start-up request itself (/init,
// /v2/specialize), so the function answers without one: before it, OpenWhisk's /run answers 500
// "no action defined yet" and a Fission pod 500 "not specialized".

/// Polls `curl <args>` (up to 20 s) until it prints `want`; the last output.
std::string curl_until(const std::string& args, const std::string& want) {
  std::string out;
  for (int i = 0; i < 400; ++i) {
    out = run("curl -s " + args).out;
    if (out.find(want) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return out;
}

TEST(cli_serve, platform_openwhisk_sends_init_then_runs) {
  serve_session serve(samples / "cpp-hello-so", {"--platform", "openwhisk", "--handler",
                                                 "libhello.so:hello", "--env", "K=V"});
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(serve.startup_text(), m, std::regex(R"(http://127\.0\.0\.1:(\d+))")))
      << serve.startup_text();
  const std::string port = m[1].str();
  const auto out = curl_until("-XPOST 127.0.0.1:" + port +
                                  R"(/run -H 'Content-Type: application/json' )"
                                  R"(-d '{"value":{},"activation_id":"cli-1"}')",
                              "count");
  EXPECT_EQ(boost::json::parse(out).at("count").as_int64(), 1) << out;
  // The one /init was the CLI's: another is refused.
  const auto again = run("curl -s -XPOST 127.0.0.1:" + port + R"(/init -d '{"value":{}}')");
  EXPECT_NE(again.out.find("more than once"), std::string::npos) << again.out;
  EXPECT_EQ(serve.stop(), 0);
}

TEST(cli_serve, platform_fission_specializes_then_serves) {
  serve_session serve(samples / "cpp-hello-so",
                      {"--platform", "fission", "--handler", "libhello.so:hello"});
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(serve.startup_text(), m, std::regex(R"(http://127\.0\.0\.1:(\d+))")))
      << serve.startup_text();
  const std::string port = m[1].str();
  const auto out = curl_until("127.0.0.1:" + port + "/", "count");
  EXPECT_EQ(boost::json::parse(out).at("count").as_int64(), 1) << out;
  const auto again = run("curl -s -XPOST 127.0.0.1:" + port + "/v2/specialize -d '{}'");
  EXPECT_EQ(again.out, "Not a generic container\n");
  EXPECT_EQ(serve.stop(), 0);
}

}  // namespace
