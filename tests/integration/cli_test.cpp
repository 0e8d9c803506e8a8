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
#include <string>
#include <thread>

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

TEST(cli_serve, answers_curl_and_keeps_warm_state) {
  const auto log = std::filesystem::temp_directory_path() /
                   ("lamella-serve-" + std::to_string(::getpid()) + ".log");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stderr);
    const std::string exe = (bin_dir / "lamella").string();
    const std::string dir = (samples / "cpp-hello").string();
    ::execl(exe.c_str(), exe.c_str(), "serve", dir.c_str(), "--port", "0", nullptr);
    ::_exit(127);
  }
  // Wait for the line that names the port.
  std::smatch m;
  std::string text;
  const std::regex port_re(R"(http://127\.0\.0\.1:(\d+))");
  for (int i = 0; i < 200 && !std::regex_search(text, m, port_re); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream in(log);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_TRUE(std::regex_search(text, m, port_re)) << text;
  const std::string url = "127.0.0.1:" + m[1].str() + "/2015-03-31/functions/function/invocations";
  const auto first = run("curl -s -XPOST " + url + " -d '{}'");
  const auto second = run("curl -s -XPOST " + url + R"( -d '{"name":"again"}')");
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "serve exits 0 on SIGTERM";
  ASSERT_EQ(first.exit_code, 0);
  EXPECT_EQ(boost::json::parse(first.out).at("count").as_int64(), 1) << first.out;
  EXPECT_EQ(boost::json::parse(second.out).at("count").as_int64(), 2) << second.out;
  EXPECT_EQ(boost::json::parse(second.out).at("message").as_string(), "Hello, again!");
  std::filesystem::remove(log);
}

}  // namespace
