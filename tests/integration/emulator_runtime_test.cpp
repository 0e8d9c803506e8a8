// The real C++ bootstrap (the test function, on each transport) against the real emulator over
// loopback: success, function errors, init errors, timeouts, crashes, warm state, payload limits
// and concurrent callers.
#include "lamella/emulator.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>

namespace lamella {
namespace {

const std::filesystem::path fn_root = LAMELLA_FN_DIR;
const std::filesystem::path samples = LAMELLA_SAMPLES_DIR;
const std::filesystem::path bin_dir = LAMELLA_BIN_DIR;

std::vector<std::string> transports() {
  std::vector<std::string> out;
  std::stringstream ss(LAMELLA_FN_TRANSPORTS);
  for (std::string t; std::getline(ss, t, ',');) out.push_back(t);
  return out;
}

/// Collects the emulator's log lines so tests can look at them.
struct log_capture {
  std::mutex mutex;
  std::string text;
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(mutex);
      text.append(line);
    };
  }
  std::string get() {
    std::lock_guard lock(mutex);
    return text;
  }
};

function_config fn_config(const std::string& transport) {
  function_config c;
  c.dir = fn_root / ("fn-" + transport);
  c.command = {(c.dir / "bootstrap").string()};
  c.name = "lamella-test";
  c.timeout = std::chrono::seconds(10);
  return c;
}

invoke_result call(emulator& emu, std::string payload,
                   invocation_type type = invocation_type::request_response) {
  invoke_request r;
  r.payload = std::move(payload);
  r.type = type;
  return emu.invoke(std::move(r)).get();
}

boost::json::object json_of(const invoke_result& r) {
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  EXPECT_FALSE(ec) << "not JSON: " << r.body.substr(0, 200);
  return v.is_object() ? v.as_object() : boost::json::object{};
}

/// One real HTTP call to the emulator's invoke endpoint on loopback.
boost::beast::http::response<boost::beast::http::string_body> http_invoke(std::uint16_t port,
                                                                          std::string body) {
  namespace net = boost::asio;
  namespace http = boost::beast::http;
  net::io_context ioc;
  net::ip::tcp::socket socket(ioc);
  socket.connect({net::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{http::verb::post,
                                       "/2015-03-31/functions/function/invocations", 11};
  req.set(http::field::host, "127.0.0.1");
  req.body() = std::move(body);
  req.prepare_payload();
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  return res;
}

std::string base64_decode(std::string_view in) {
  std::string out(boost::beast::detail::base64::decoded_size(in.size()), '\0');
  const auto [written, read] =
      boost::beast::detail::base64::decode(out.data(), in.data(), in.size());
  out.resize(written);
  return out;
}

class runtime_test : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<emulator> start(function_config c) {
    emulator_options o;
    o.log = logs_.sink();
    return std::make_unique<emulator>(std::move(c), std::move(o));
  }
  std::unique_ptr<emulator> start() { return start(fn_config(GetParam())); }
  log_capture logs_;
};

TEST_P(runtime_test, success_returns_the_handler_payload_and_content_type) {
  auto emu = start();
  const auto r = call(*emu, R"({"action":"echo","x":1})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"action":"echo","x":1})");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(r.function_error.empty());
  EXPECT_FALSE(r.request_id.empty());
  (void)emu->last_instance();  // writes the REPORT lines still pending (they follow the answer)
  EXPECT_NE(logs_.get().find("REPORT RequestId: " + r.request_id), std::string::npos);
  EXPECT_NE(logs_.get().find("Init Duration"), std::string::npos);
}

TEST_P(runtime_test, a_thrown_exception_is_a_function_error_and_the_runtime_keeps_serving) {
  auto emu = start();
  const auto first = call(*emu, R"({"action":"count"})");
  const auto r = call(*emu, R"({"action":"throw"})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.function_error, "Unhandled");
  const auto body = json_of(r);
  EXPECT_EQ(body.at("errorType").as_string(), "std::runtime_error");
  EXPECT_EQ(body.at("errorMessage").as_string(), "boom");
  EXPECT_TRUE(body.at("stackTrace").is_array());
  const auto after = json_of(call(*emu, R"({"action":"count"})"));
  EXPECT_EQ(after.at("count").as_int64(), 3) << "same warm process after the error";
  EXPECT_EQ(after.at("pid"), json_of(first).at("pid"));
}

TEST_P(runtime_test, a_returned_failure_keeps_its_type) {
  auto emu = start();
  const auto r = call(*emu, R"({"action":"fail"})");
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_EQ(json_of(r).at("errorType").as_string(), "InvalidInput");
}

TEST_P(runtime_test, warm_state_is_kept_across_invocations) {
  auto emu = start();
  std::int64_t pid = 0;
  for (int i = 1; i <= 5; ++i) {
    const auto body = json_of(call(*emu, R"({"action":"count"})"));
    EXPECT_EQ(body.at("count").as_int64(), i);
    if (i == 1) pid = body.at("pid").as_int64();
    EXPECT_EQ(body.at("pid").as_int64(), pid);
  }
  const auto stats = emu->last_instance();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->invocations, 5u);
  EXPECT_TRUE(stats->first_next.has_value());
  EXPECT_GT(stats->peak_rss_kb, 0u);
}

TEST_P(runtime_test, init_error_reaches_the_caller_with_its_type) {
  auto c = fn_config(GetParam());
  c.env.emplace_back("LAMELLA_TEST_INIT", "fail");
  auto emu = start(c);
  const auto r = call(*emu, R"({"action":"echo"})");
  EXPECT_EQ(r.function_error, "Unhandled");
  const auto body = json_of(r);
  EXPECT_EQ(body.at("errorType").as_string(), "Runtime.ConfigInvalid");
  EXPECT_EQ(body.at("errorMessage").as_string(), "LAMELLA_TEST_INIT asked to fail");
}

TEST_P(runtime_test, a_silent_exit_during_init_is_an_exit_error) {
  auto c = fn_config(GetParam());
  c.env.emplace_back("LAMELLA_TEST_INIT", "exit");
  auto emu = start(c);
  const auto body = json_of(call(*emu, R"({"action":"echo"})"));
  EXPECT_EQ(body.at("errorType").as_string(), "Runtime.ExitError");
  EXPECT_NE(std::string(body.at("errorMessage").as_string()).find("exit status 3"),
            std::string::npos);
}

TEST_P(runtime_test, timeout_then_recovery_on_a_fresh_environment) {
  auto c = fn_config(GetParam());
  c.timeout = std::chrono::milliseconds(500);
  auto emu = start(c);
  const auto warm = json_of(call(*emu, R"({"action":"count"})"));
  const auto r = call(*emu, R"({"action":"sleep","ms":5000})");
  EXPECT_EQ(r.function_error, "Unhandled");
  const auto body = json_of(r);
  EXPECT_EQ(body.at("errorType").as_string(), "Sandbox.Timedout");
  EXPECT_NE(
      std::string(body.at("errorMessage").as_string()).find("Task timed out after 0.50 seconds"),
      std::string::npos);
  const auto after = json_of(call(*emu, R"({"action":"count"})"));
  EXPECT_EQ(after.at("count").as_int64(), 1) << "a new environment after the timeout";
  EXPECT_NE(after.at("pid"), warm.at("pid"));
}

TEST_P(runtime_test, crash_then_recovery) {
  auto emu = start();
  const auto r = call(*emu, R"({"action":"crash"})");
  EXPECT_EQ(r.function_error, "Unhandled");
  const auto body = json_of(r);
  EXPECT_EQ(body.at("errorType").as_string(), "Runtime.ExitError");
  EXPECT_NE(std::string(body.at("errorMessage").as_string()).find("signal: abort"),
            std::string::npos)
      << body.at("errorMessage");
  const auto exit_body = json_of(call(*emu, R"({"action":"exit","code":7})"));
  EXPECT_NE(std::string(exit_body.at("errorMessage").as_string()).find("exit status 7"),
            std::string::npos);
  const auto after = json_of(call(*emu, R"({"action":"count"})"));
  EXPECT_EQ(after.at("count").as_int64(), 1);
}

TEST_P(runtime_test, six_mib_response_is_accepted_and_six_mib_plus_1kb_rejected) {
  auto emu = start();
  constexpr std::size_t six_mib = 6 * 1024 * 1024;
  const auto ok = call(*emu, R"({"action":"big","bytes":)" + std::to_string(six_mib) + "}");
  EXPECT_TRUE(ok.function_error.empty());
  EXPECT_EQ(ok.body.size(), six_mib);
  EXPECT_EQ(ok.content_type, "application/octet-stream");
  const auto big = call(*emu, R"({"action":"big","bytes":)" + std::to_string(six_mib + 1024) + "}");
  EXPECT_EQ(big.function_error, "Unhandled");
  const auto body = json_of(big);
  EXPECT_EQ(body.at("errorType").as_string(), "Function.ResponseSizeTooLarge");
  // The runtime was told 413, logged it, and serves on in the same process.
  const auto after = json_of(call(*emu, R"({"action":"count"})"));
  EXPECT_EQ(after.at("count").as_int64(), 3);
}

TEST_P(runtime_test, fifty_concurrent_callers_are_answered_in_arrival_order) {
  auto emu = start();
  (void)call(*emu, R"({"action":"count"})");  // warm up: count 1
  std::vector<std::future<invoke_result>> pending;
  for (int i = 0; i < 50; ++i) {
    invoke_request r;
    r.payload = R"({"action":"count"})";
    pending.push_back(emu->invoke(std::move(r)));
  }
  for (int i = 0; i < 50; ++i) {
    const auto body = json_of(pending[static_cast<std::size_t>(i)].get());
    EXPECT_EQ(body.at("count").as_int64(), i + 2) << "queued invocations run in order";
  }
  // And 50 HTTP callers at once on 50 connections: each gets its own answer, none is lost.
  std::vector<std::string> answers(50);
  std::vector<std::thread> threads;
  threads.reserve(50);
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      answers[static_cast<std::size_t>(i)] =
          http_invoke(emu->invoke_port(), R"({"action":"echo","caller":)" + std::to_string(i) + "}")
              .body();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(answers[static_cast<std::size_t>(i)],
              R"({"action":"echo","caller":)" + std::to_string(i) + "}");
  }
}

TEST_P(runtime_test, lambda_environment_and_invocation_metadata_reach_the_handler) {
  auto c = fn_config(GetParam());
  c.env.emplace_back("LAMELLA_TEST_CUSTOM", "configured");
  c.memory_mb = 256;
  auto emu = start(c);
  invoke_request r;
  r.payload = R"({"action":"context"})";
  r.trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
  r.tenant_id = "tenant-42";
  r.client_context = R"({"custom":{"k":"v"}})";
  const auto result = emu->invoke(std::move(r)).get();
  const auto body = json_of(result);
  EXPECT_EQ(body.at("request_id").as_string(), result.request_id);
  EXPECT_EQ(body.at("function_arn").as_string(),
            "arn:aws:lambda:us-east-1:012345678912:function:lamella-test");
  EXPECT_EQ(body.at("trace_id").as_string(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
  EXPECT_EQ(body.at("env_trace_id"), body.at("trace_id"));
  EXPECT_EQ(body.at("tenant_id").as_string(), "tenant-42");
  EXPECT_EQ(body.at("client_context").as_string(), R"({"custom":{"k":"v"}})");
  EXPECT_GT(body.at("remaining_ms").as_int64(), 8000);
  EXPECT_LE(body.at("remaining_ms").as_int64(), 10000);
  EXPECT_EQ(body.at("function_name").as_string(), "lamella-test");
  EXPECT_EQ(body.at("memory_size").as_string(), "256");
  EXPECT_EQ(body.at("custom").as_string(), "configured");
  EXPECT_TRUE(body.at("home").is_null()) << "the host's environment must not leak in";
  EXPECT_EQ(std::filesystem::path(std::string(body.at("task_root").as_string())),
            std::filesystem::absolute(c.dir));
  EXPECT_EQ(std::filesystem::path(std::string(body.at("cwd").as_string())),
            std::filesystem::absolute(c.dir));
}

TEST_P(runtime_test, tail_logs_hold_the_invocations_output) {
  auto emu = start();
  invoke_request r;
  r.payload = R"({"action":"log","text":"hello from the handler"})";
  r.tail_logs = true;
  const auto result = emu->invoke(std::move(r)).get();
  const std::string tail = base64_decode(result.log_result);
  EXPECT_NE(tail.find("hello from the handler\n"), std::string::npos) << tail;
  EXPECT_NE(tail.find("REPORT RequestId: " + result.request_id), std::string::npos) << tail;
  EXPECT_NE(logs_.get().find("hello from the handler"), std::string::npos);
}

TEST_P(runtime_test, a_lost_platform_ends_the_runtime_with_a_clear_message_and_status_1) {
  // A port nobody listens on: bind one, note it, close it.
  namespace net = boost::asio;
  net::io_context ioc;
  net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  const auto exe = fn_config(GetParam()).command.front();
  const std::string command =
      "AWS_LAMBDA_RUNTIME_API=127.0.0.1:" + std::to_string(port) + " " + exe + " 2>&1";
  FILE* p = ::popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;
  EXPECT_NE(out.find("lamella: exiting: the Runtime API cannot be reached (127.0.0.1:" +
                     std::to_string(port) + ")"),
            std::string::npos)
      << out;
}

INSTANTIATE_TEST_SUITE_P(transports, runtime_test, ::testing::ValuesIn(transports()),
                         [](const auto& param_info) { return param_info.param; });

/// The generic bootstrap loading C++ handlers from shared libraries.
class generic_bootstrap_test : public ::testing::Test {
 protected:
  invoke_result run_one(const std::string& handler) {
    function_config c;
    c.dir = samples / "cpp-hello-so";
    c.command = {(bin_dir / "bootstrap").string()};
    c.handler = handler;
    emulator_options o;
    o.log = [](std::string_view) {};
    emulator emu(std::move(c), std::move(o));
    return call(emu, "{}");
  }
};

TEST_F(generic_bootstrap_test, loads_and_calls_the_shared_library_handler) {
  const auto r = run_one("libhello.so:hello");
  EXPECT_TRUE(r.function_error.empty()) << r.body;
  EXPECT_EQ(json_of(r).at("message").as_string(), "Hello from a shared library!");
}

TEST_F(generic_bootstrap_test, init_failures_are_reported_with_aws_types) {
  EXPECT_EQ(json_of(run_one("libhello.so:nosuch")).at("errorType").as_string(),
            "Runtime.HandlerNotFound");
  EXPECT_EQ(json_of(run_one("libnothere.so:hello")).at("errorType").as_string(),
            "Runtime.ImportModuleError");
  EXPECT_EQ(json_of(run_one("no-colon")).at("errorType").as_string(),
            "Runtime.MalformedHandlerName");
}

}  // namespace
}  // namespace lamella
