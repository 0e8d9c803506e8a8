// The emulator in-process: the test plays the runtime (a raw HTTP client on the Runtime API
// port) while a placeholder process (/bin/sleep, or a small sh script) stands in for the
// runtime process the emulator supervises.
#include "lamella/emulator.h"

#include "client/functiongraph_transport.h"
#include "client/scf_transport.h"
#include "emulator/emulator_protocol.h"
#include "stream_caller.h"

#include "lamella/lambda_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

namespace lamella {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using response = http::response<http::string_body>;
using header_list = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view next_path = "/2018-06-01/runtime/invocation/next";

std::string result_path(std::string_view id, std::string_view kind) {
  return "/2018-06-01/runtime/invocation/" + std::string(id) + "/" + std::string(kind);
}

// A blocking HTTP/1.1 keep-alive client on one loopback connection.
class http_client {
 public:
  explicit http_client(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  response request(http::verb verb, std::string_view target, std::string body = {},
                   const header_list& headers = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(socket_, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

  // Writes `bytes` as they are (a hand-made request) and reads one response.
  response raw(std::string_view bytes) {
    net::write(socket_, net::buffer(bytes.data(), bytes.size()));
    http::response_parser<http::string_body> parser;
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

  // Writes `bytes` as they are, without reading anything (a request sent in pieces).
  void send(std::string_view bytes) {
    net::write(socket_, net::buffer(bytes.data(), bytes.size()));
  }

  // Reads one response.
  response read() {
    http::response_parser<http::string_body> parser;
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

  response get(std::string_view target) { return request(http::verb::get, target); }
  response post(std::string_view target, std::string body, const header_list& headers = {}) {
    return request(http::verb::post, target, std::move(body), headers);
  }

 private:
  net::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::string header(const response& r, std::string_view name) { return std::string(r[name]); }

bool ready(std::future<invoke_result>& f, std::chrono::milliseconds within = 10s) {
  return f.wait_for(within) == std::future_status::ready;
}

// Waits for `pending` and checks it is the success `body` delivered under `request_id`.
void expect_success(std::future<invoke_result>& pending, std::string_view body,
                    std::string_view request_id) {
  ASSERT_TRUE(ready(pending));
  const invoke_result r = pending.get();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(r.request_id, request_id);
}

// Waits for `pending` and checks it is the unhandled function error `body` the runtime posted.
void expect_function_error(std::future<invoke_result>& pending, std::string_view body) {
  ASSERT_TRUE(ready(pending));
  const invoke_result f = pending.get();
  EXPECT_EQ(f.function_error, "Unhandled");
  EXPECT_EQ(f.body, body);
}

class emulator_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lamella-emu-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    function_.dir = dir_;
    function_.command = {"/bin/sleep", "1000"};
    function_.name = "unit";
  }

  void TearDown() override {
    emu_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void start(runtime_dialect dialect = runtime_dialect::lambda) {
    emulator_options options;
    options.dialect = dialect;
    options.log = [this](std::string_view line) {
      std::lock_guard lock(log_mutex_);
      log_.append(line);
    };
    emu_ = std::make_unique<emulator>(function_, std::move(options));
  }

  std::string log() {
    std::lock_guard lock(log_mutex_);
    return log_;
  }

  // Polls the log for `text` (runtime output arrives asynchronously from a real process).
  bool log_contains(std::string_view text, std::chrono::milliseconds within = 5s) {
    const auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
      if (log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  int current_pid() {
    const auto stats = emu_->last_instance();
    return stats ? stats->pid : 0;
  }

  std::future<invoke_result> invoke(std::string payload,
                                    invocation_type type = invocation_type::request_response) {
    invoke_request request;
    request.payload = std::move(payload);
    request.type = type;
    return emu_->invoke(std::move(request));
  }

  /// Starts, in `dialect`, a function that prints its environment and working directory, and
  /// returns its output once the working directory is in it: what the environment tests check.
  /// One invocation is queued (and kept pending) so that the runtime starts.
  std::string printed_environment(runtime_dialect dialect = runtime_dialect::lambda) {
    function_.command = {"/bin/sh", "-c", "env; echo cwd=$(pwd); exec sleep 1000"};
    start(dialect);
    pending_ = invoke("{}");
    EXPECT_TRUE(log_contains("cwd=")) << log();
    return log();
  }

  /// Through `client`, answers `inv` with the success {"r":1} and checks that the caller waiting
  /// on `pending` got exactly that under the invocation's request id.
  void answer_and_expect_success(lambda_client& client, const invocation& inv,
                                 std::future<invoke_result>& pending) {
    const auto posted = client.post_response(inv.request_id, outcome::success(R"({"r":1})"));
    ASSERT_TRUE(posted);
    EXPECT_EQ(*posted, post_status::accepted);
    ASSERT_TRUE(ready(pending));
    const auto r = pending.get();
    EXPECT_EQ(r.body, R"({"r":1})");
    EXPECT_EQ(r.request_id, inv.request_id);
  }

  /// Through `client`, answers `inv` with a ValueError and checks that the caller waiting on
  /// `pending` got an unhandled function error of that type.
  void answer_and_expect_error(lambda_client& client, const invocation& inv,
                               std::future<invoke_result>& pending) {
    const auto posted = client.post_error(inv.request_id, outcome::failure("ValueError", "no"));
    ASSERT_TRUE(posted);
    EXPECT_EQ(*posted, post_status::accepted);
    ASSERT_TRUE(ready(pending));
    const auto r = pending.get();
    EXPECT_EQ(r.function_error, "Unhandled");
    EXPECT_NE(r.body.find(R"("errorType":"ValueError")"), std::string::npos) << r.body;
  }

  std::filesystem::path dir_;
  function_config function_;
  std::unique_ptr<emulator> emu_;
  std::mutex log_mutex_;
  std::string log_;
  std::future<invoke_result> pending_;  // printed_environment's invocation
};

// Waits until `pid` no longer exists (reaped), up to 5 s.
bool process_gone(int pid) {
  for (int i = 0; i < 1000; ++i) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

TEST_F(emulator_test, next_then_response_completes_the_caller) {
  function_.timeout = 7000ms;
  // A process that has provably run (it printed) has a non-zero VmHWM; sleep is its child.
  function_.command = {"/bin/sh", "-c", "echo up; sleep 1000"};
  start();
  invoke_request request;
  request.payload = R"({"hello":"world"})";
  request.trace_id = "Root=1-00000001-000000000000000000000001;Parent=0000000000000001;Sampled=1";
  request.client_context = R"({"custom":{"a":"b"}})";
  request.tenant_id = "tenant-7";
  const auto before = std::chrono::system_clock::now();
  auto result = emu_->invoke(std::move(request));

  http_client rt(emu_->runtime_port());
  const response next = rt.get(next_path);
  ASSERT_EQ(next.result_int(), 200u);
  EXPECT_EQ(next.body(), R"({"hello":"world"})");
  const std::string id = header(next, "Lambda-Runtime-Aws-Request-Id");
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(header(next, "Lambda-Runtime-Invoked-Function-Arn"),
            "arn:aws:lambda:us-east-1:012345678912:function:unit");
  EXPECT_EQ(header(next, "Lambda-Runtime-Trace-Id"),
            "Root=1-00000001-000000000000000000000001;Parent=0000000000000001;Sampled=1");
  EXPECT_EQ(header(next, "Lambda-Runtime-Client-Context"), R"({"custom":{"a":"b"}})");
  EXPECT_EQ(header(next, "Lambda-Runtime-Aws-Tenant-Id"), "tenant-7");
  EXPECT_EQ(header(next, "Content-Type"), "application/json");
  EXPECT_TRUE(next.keep_alive());
  const long long deadline = std::stoll(header(next, "Lambda-Runtime-Deadline-Ms"));
  const long long before_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count();
  EXPECT_GE(deadline, before_ms + 7000);
  EXPECT_LE(deadline, before_ms + 7000 + 5000);
  EXPECT_FALSE(ready(result, 0ms));
  ASSERT_TRUE(log_contains("up\n"));

  const response ack = rt.post(result_path(id, "response"), R"({"ok":true})",
                               {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(ack.result_int(), 202u);
  EXPECT_EQ(ack.body(), R"({"status":"OK"})");
  ASSERT_TRUE(ready(result));
  const invoke_result r = result.get();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"ok":true})");
  EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(r.function_error, "");
  EXPECT_EQ(r.request_id, id);
  EXPECT_EQ(r.log_result, "");

  const auto stats = emu_->last_instance();
  ASSERT_TRUE(stats);
  EXPECT_GT(stats->pid, 0);
  ASSERT_TRUE(stats->first_next);
  ASSERT_TRUE(stats->first_response);
  EXPECT_LE(stats->spawned, *stats->first_next);
  EXPECT_LE(*stats->first_next, *stats->first_response);
  EXPECT_EQ(stats->invocations, 1u);
  EXPECT_GT(stats->peak_rss_kb, 0u) << log();  // VmHWM of sh + sleep

  // END/REPORT follow the caller's answer.
  ASSERT_TRUE(log_contains("REPORT RequestId: " + id));
  const std::string text = log();
  EXPECT_NE(text.find("START RequestId: " + id + " Version: $LATEST\n"), std::string::npos);
  EXPECT_NE(text.find("END RequestId: " + id + "\n"), std::string::npos);
  EXPECT_NE(text.find("REPORT RequestId: " + id + "\tDuration: "), std::string::npos);
  EXPECT_NE(text.find("\tMemory Size: 128 MB\tMax Memory Used: "), std::string::npos);
  EXPECT_NE(text.find("\tInit Duration: "), std::string::npos);  // cold start
}

TEST_F(emulator_test, generates_trace_id_and_omits_absent_headers) {
  start();
  auto result = invoke("{}");
  http_client rt(emu_->runtime_port());
  const response next = rt.get(next_path);
  const std::string trace = header(next, "Lambda-Runtime-Trace-Id");
  EXPECT_EQ(trace.size(), std::string("Root=1-00000000-000000000000000000000000;Parent="
                                      "0000000000000000;Sampled=0")
                              .size());
  EXPECT_EQ(trace.substr(0, 7), "Root=1-");
  EXPECT_EQ(trace.substr(trace.size() - 10), ";Sampled=0");
  EXPECT_EQ(next.count("Lambda-Runtime-Client-Context"), 0u);
  EXPECT_EQ(next.count("Lambda-Runtime-Cognito-Identity"), 0u);
  EXPECT_EQ(next.count("Lambda-Runtime-Aws-Tenant-Id"), 0u);
  rt.post(result_path(header(next, "Lambda-Runtime-Aws-Request-Id"), "response"), "1");
  ASSERT_TRUE(ready(result));
  EXPECT_EQ(result.get().content_type, "application/json");  // default when none was posted
}

TEST_F(emulator_test, wrong_request_id_is400_and_no_invocation_is403) {
  start();
  http_client rt(emu_->runtime_port());
  // Nothing in flight: 403 for response and error.
  response r = rt.post(result_path("nope", "response"), "{}");
  EXPECT_EQ(r.result_int(), 403u);
  EXPECT_EQ(
      r.body(),
      R"({"errorMessage":"Invalid state transition: no invocation is in flight","errorType":"InvalidStateTransition"})");
  EXPECT_EQ(rt.post(result_path("nope", "error"), "{}").result_int(), 403u);

  auto result = invoke("{}");
  const response next = rt.get(next_path);
  const std::string id = header(next, "Lambda-Runtime-Aws-Request-Id");
  r = rt.post(result_path("not-" + id, "response"), "{}");
  EXPECT_EQ(r.result_int(), 400u);
  EXPECT_EQ(r.body(), R"({"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"})");
  EXPECT_EQ(rt.post(result_path("not-" + id, "error"), "{}").result_int(), 400u);
  EXPECT_FALSE(ready(result, 0ms));

  // /next while the invocation is in flight (another connection): 403.
  http_client other(emu_->runtime_port());
  r = other.get(next_path);
  EXPECT_EQ(r.result_int(), 403u);
  EXPECT_NE(r.body().find("InvalidStateTransition"), std::string::npos);
  // init/error after init: 403.
  EXPECT_EQ(other.post("/2018-06-01/runtime/init/error", "{}").result_int(), 403u);

  EXPECT_EQ(rt.post(result_path(id, "response"), "done").result_int(), 202u);
  ASSERT_TRUE(ready(result));
  EXPECT_EQ(result.get().body, "done");
  // A second answer for the same invocation: nothing in flight any more.
  EXPECT_EQ(rt.post(result_path(id, "response"), "again").result_int(), 403u);
  // Unknown path and ping.
  EXPECT_EQ(rt.get("/2018-06-01/runtime/unknown").result_int(), 404u);
  EXPECT_EQ(rt.get("/2018-06-01/ping").result_int(), 200u);
}

TEST_F(emulator_test, oversize_response_is413_and_exactly6_mi_bis_accepted) {
  start();
  http_client rt(emu_->runtime_port());
  auto first = invoke("{}");
  response next = rt.get(next_path);
  std::string id = header(next, "Lambda-Runtime-Aws-Request-Id");
  response r = rt.post(result_path(id, "response"), std::string(6 * 1024 * 1024 + 1024, 'x'));
  EXPECT_EQ(r.result_int(), 413u);
  EXPECT_EQ(
      r.body(),
      R"({"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"})");
  ASSERT_TRUE(ready(first));
  invoke_result result = first.get();
  EXPECT_EQ(result.status, 200u);
  EXPECT_EQ(result.function_error, "Unhandled");
  EXPECT_EQ(
      result.body,
      R"({"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"})");

  // The same connection stays usable; exactly 6 MiB goes through.
  auto second = invoke("{}");
  next = rt.get(next_path);
  ASSERT_EQ(next.result_int(), 200u);
  id = header(next, "Lambda-Runtime-Aws-Request-Id");
  EXPECT_EQ(rt.post(result_path(id, "response"), std::string(6 * 1024 * 1024, 'y')).result_int(),
            202u);
  ASSERT_TRUE(ready(second));
  result = second.get();
  EXPECT_EQ(result.function_error, "");
  EXPECT_EQ(result.body.size(), 6u * 1024 * 1024);
}

// The in-process API buffers a streamed response into the result; a mid-stream error arrives in
// the trailers.
TEST_F(emulator_test, streamed_response_is_buffered_and_honours_error_trailers) {
  start();
  http_client rt(emu_->runtime_port());
  auto first = invoke("{}");
  response next = rt.get(next_path);
  std::string id = header(next, "Lambda-Runtime-Aws-Request-Id");
  response ack = rt.raw("POST " + result_path(id, "response") +
                        " HTTP/1.1\r\nHost: x\r\n"
                        "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
                        "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(ack.result_int(), 202u);
  ASSERT_TRUE(ready(first));
  invoke_result r = first.get();
  EXPECT_EQ(r.body, "hello world");
  EXPECT_EQ(r.content_type, "text/plain");
  EXPECT_EQ(r.function_error, "");

  auto second = invoke("{}");
  next = rt.get(next_path);
  id = header(next, "Lambda-Runtime-Aws-Request-Id");
  const std::string error = R"({"errorMessage":"mid-stream","errorType":"StreamError"})";
  ack = rt.raw("POST " + result_path(id, "response") +
               " HTTP/1.1\r\nHost: x\r\n"
               "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
               "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
               "Transfer-Encoding: chunked\r\n\r\n"
               "4\r\npart\r\n0\r\n"
               "Lambda-Runtime-Function-Error-Type: StreamError\r\n"
               "Lambda-Runtime-Function-Error-Body: " +
               detail::base64_encode(error) + "\r\n\r\n");
  EXPECT_EQ(ack.result_int(), 202u);
  ASSERT_TRUE(ready(second));
  r = second.get();
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_EQ(r.body, error);
}

TEST_F(emulator_test, error_post_accepts_any_body) {
  start();
  http_client rt(emu_->runtime_port());
  auto first = invoke("{}");
  response next = rt.get(next_path);
  const std::string json = R"({"errorMessage":"boom","errorType":"ValueError","stackTrace":[]})";
  EXPECT_EQ(rt.post(result_path(header(next, "Lambda-Runtime-Aws-Request-Id"), "error"), json,
                    {{"Lambda-Runtime-Function-Error-Type", "Unhandled"}})
                .result_int(),
            202u);
  ASSERT_TRUE(ready(first));
  invoke_result r = first.get();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_EQ(r.body, json);
  EXPECT_EQ(r.content_type, "application/json");

  auto second = invoke("{}");
  next = rt.get(next_path);
  EXPECT_EQ(rt.post(result_path(header(next, "Lambda-Runtime-Aws-Request-Id"), "error"),
                    "not json at all", {{"Lambda-Runtime-Function-Error-Type", "Runtime.Oops"}})
                .result_int(),
            202u);
  ASSERT_TRUE(ready(second));
  r = second.get();
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_EQ(r.body, R"({"errorType":"Runtime.Oops","errorMessage":"not json at all"})");
  EXPECT_EQ(emu_->last_instance()->invocations, 2u);
}

TEST_F(emulator_test, event_is202_and_runs_later_dry_run_is204) {
  start();
  auto dry = invoke("{}", invocation_type::dry_run);
  ASSERT_TRUE(ready(dry, 2s));
  EXPECT_EQ(dry.get().status, 204u);
  EXPECT_FALSE(emu_->last_instance());  // a dry run starts nothing

  auto event = invoke(R"({"async":1})", invocation_type::event);
  ASSERT_TRUE(ready(event, 2s));  // answered before the runtime even started
  const invoke_result accepted = event.get();
  EXPECT_EQ(accepted.status, 202u);
  EXPECT_EQ(accepted.body, "");
  ASSERT_FALSE(accepted.request_id.empty());

  http_client rt(emu_->runtime_port());
  const response next = rt.get(next_path);
  EXPECT_EQ(next.body(), R"({"async":1})");
  EXPECT_EQ(header(next, "Lambda-Runtime-Aws-Request-Id"), accepted.request_id);
  EXPECT_EQ(rt.post(result_path(accepted.request_id, "response"), "ignored").result_int(), 202u);
  EXPECT_TRUE(log_contains("END RequestId: " + accepted.request_id + "\n"));

  // Payload limits: 1 MiB for Event, 6 MiB for RequestResponse.
  auto big_event = invoke(std::string(1024 * 1024 + 1, 'e'), invocation_type::event);
  ASSERT_TRUE(ready(big_event, 2s));
  const invoke_result rejected = big_event.get();
  EXPECT_EQ(rejected.status, 413u);
  EXPECT_NE(rejected.body.find("RequestEntityTooLargeException"), std::string::npos);
  auto big_sync = invoke(std::string(6 * 1024 * 1024 + 1, 's'));
  ASSERT_TRUE(ready(big_sync, 2s));
  EXPECT_EQ(big_sync.get().status, 413u);
}

TEST_F(emulator_test, tail_logs_return_the_invocations_log) {
  function_.command = {"/bin/sh", "-c", "echo init-line-from-runtime; exec sleep 1000"};
  start();
  invoke_request request;
  request.payload = "{}";
  request.tail_logs = true;
  auto result = emu_->invoke(std::move(request));
  http_client rt(emu_->runtime_port());
  const response next = rt.get(next_path);
  ASSERT_TRUE(log_contains("init-line-from-runtime\n"));
  const std::string id = header(next, "Lambda-Runtime-Aws-Request-Id");
  rt.post(result_path(id, "response"), "{}");
  ASSERT_TRUE(ready(result));
  const invoke_result r = result.get();
  const auto decoded = detail::base64_decode(r.log_result);
  ASSERT_TRUE(decoded);
  EXPECT_NE(decoded->find("init-line-from-runtime\n"), std::string::npos) << *decoded;
  EXPECT_NE(decoded->find("START RequestId: " + id), std::string::npos) << *decoded;
  EXPECT_NE(decoded->find("END RequestId: " + id), std::string::npos) << *decoded;
  EXPECT_NE(decoded->find("REPORT RequestId: " + id), std::string::npos) << *decoded;
  EXPECT_LE(decoded->size(), 4096u);
}

TEST_F(emulator_test, timeout_kills_the_runtime_and_the_next_invocation_is_cold) {
  function_.timeout = 300ms;
  start();
  auto first = invoke("{}");
  http_client rt(emu_->runtime_port());
  const response next = rt.get(next_path);
  const std::string id = header(next, "Lambda-Runtime-Aws-Request-Id");
  const int first_pid = current_pid();
  ASSERT_GT(first_pid, 0);
  ASSERT_TRUE(ready(first, 5s));
  const invoke_result r = first.get();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_EQ(r.body, R"({"errorType":"Sandbox.Timedout","errorMessage":"RequestId: )" + id +
                        R"( Error: Task timed out after 0.30 seconds"})");
  EXPECT_TRUE(process_gone(first_pid));
  // A late answer from the killed runtime is refused.
  EXPECT_EQ(rt.post(result_path(id, "response"), "late").result_int(), 403u);

  auto second = invoke("{}");
  http_client rt2(emu_->runtime_port());  // the new runtime's own connection
  const response next2 = rt2.get(next_path);
  ASSERT_EQ(next2.result_int(), 200u);
  EXPECT_NE(current_pid(), first_pid);
  const std::string id2 = header(next2, "Lambda-Runtime-Aws-Request-Id");
  rt2.post(result_path(id2, "response"), "fine");
  ASSERT_TRUE(ready(second));
  EXPECT_EQ(second.get().body, "fine");
  // Two cold starts, two Init Durations.
  ASSERT_TRUE(log_contains("REPORT RequestId: " + id2));
  const std::string text = log();
  const auto first_init = text.find("Init Duration");
  ASSERT_NE(first_init, std::string::npos);
  EXPECT_NE(text.find("Init Duration", first_init + 1), std::string::npos);
}

TEST_F(emulator_test, runtime_killed_during_invocation_is_exit_error) {
  start();
  auto first = invoke("{}");
  http_client rt(emu_->runtime_port());
  const response next = rt.get(next_path);
  const std::string id = header(next, "Lambda-Runtime-Aws-Request-Id");
  ASSERT_EQ(::kill(current_pid(), SIGKILL), 0);
  ASSERT_TRUE(ready(first));
  const invoke_result r = first.get();
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_EQ(r.body, R"({"errorType":"Runtime.ExitError","errorMessage":"RequestId: )" + id +
                        R"( Error: Runtime exited with error: signal: killed"})");
}

TEST_F(emulator_test, runtime_exit_status_during_invocation_is_exit_error_then_respawns) {
  function_.command = {"/bin/sh", "-c", "trap 'exit 3' TERM; echo trap-set; sleep 1000 & wait"};
  start();
  auto first = invoke("{}");
  http_client rt(emu_->runtime_port());
  const response next = rt.get(next_path);
  const std::string id = header(next, "Lambda-Runtime-Aws-Request-Id");
  ASSERT_TRUE(log_contains("trap-set\n"));
  const int pid = current_pid();
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  ASSERT_TRUE(ready(first));
  EXPECT_EQ(first.get().body, R"({"errorType":"Runtime.ExitError","errorMessage":"RequestId: )" +
                                  id + R"( Error: Runtime exited with error: exit status 3"})");
  EXPECT_TRUE(process_gone(pid));

  // Idle until work arrives; then a fresh runtime.
  auto second = invoke("{}");
  http_client rt2(emu_->runtime_port());  // the new runtime's own connection
  const response next2 = rt2.get(next_path);
  EXPECT_NE(current_pid(), pid);
  rt2.post(result_path(header(next2, "Lambda-Runtime-Aws-Request-Id"), "response"), "ok");
  ASSERT_TRUE(ready(second));
  EXPECT_EQ(second.get().body, "ok");
}

TEST_F(emulator_test, init_error_then_exit_gives_the_posted_error) {
  start();
  auto result = invoke("{}");
  http_client rt(emu_->runtime_port());
  // Wait for the process to exist (the invocation spawns it).
  for (int i = 0; i < 1000 && current_pid() == 0; ++i) std::this_thread::sleep_for(2ms);
  const int pid = current_pid();
  ASSERT_GT(pid, 0);
  const std::string body =
      R"({"errorMessage":"No module named 'app'","errorType":"Runtime.ImportModuleError","stackTrace":[]})";
  EXPECT_EQ(rt.post("/2018-06-01/runtime/init/error", body,
                    {{"Lambda-Runtime-Function-Error-Type", "Runtime.ImportModuleError"}})
                .result_int(),
            202u);
  // A runtime that posted an init error may not ask for work.
  EXPECT_EQ(rt.get(next_path).result_int(), 403u);
  EXPECT_FALSE(ready(result, 0ms));
  ASSERT_EQ(::kill(pid, SIGTERM), 0);  // the runtime exits
  ASSERT_TRUE(ready(result));
  const invoke_result r = result.get();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_EQ(r.body, body);
}

TEST_F(emulator_test, init_error_without_exit_is_killed_after_grace) {
  start();
  auto result = invoke("{}");
  http_client rt(emu_->runtime_port());
  for (int i = 0; i < 1000 && current_pid() == 0; ++i) std::this_thread::sleep_for(2ms);
  const int pid = current_pid();
  const auto posted = std::chrono::steady_clock::now();
  EXPECT_EQ(rt.post("/2018-06-01/runtime/init/error", "plain failure",
                    {{"Lambda-Runtime-Function-Error-Type", "Runtime.ConfigInvalid"}})
                .result_int(),
            202u);
  ASSERT_TRUE(ready(result, 6s));
  EXPECT_GE(std::chrono::steady_clock::now() - posted, 1500ms);
  const invoke_result r = result.get();
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_EQ(r.body, R"({"errorType":"Runtime.ConfigInvalid","errorMessage":"plain failure"})");
  EXPECT_TRUE(process_gone(pid));
}

TEST_F(emulator_test, exit_during_init_without_posting_is_exit_error_and_not_retried) {
  function_.command = {"/bin/sh", "-c", "echo starting; exit 7"};
  start();
  auto first = invoke("{}");
  auto second = invoke("{}");
  ASSERT_TRUE(ready(first));
  ASSERT_TRUE(ready(second));
  const invoke_result a = first.get();
  const invoke_result b = second.get();
  EXPECT_EQ(a.function_error, "Unhandled");
  EXPECT_NE(a.body.find(R"("errorType":"Runtime.ExitError")"), std::string::npos);
  EXPECT_NE(a.body.find("RequestId: " + a.request_id +
                        " Error: Runtime exited with error: "
                        "exit status 7"),
            std::string::npos);
  EXPECT_NE(b.body.find("exit status 7"), std::string::npos) << b.body;
  // One spawn per invocation: two STARTs, and the init output went to the log.
  EXPECT_TRUE(log_contains("starting\n"));
}

TEST_F(emulator_test, init_timeout_fails_the_waiting_invocation) {
  function_.init_timeout = 200ms;
  start();
  auto result = invoke("{}");
  ASSERT_TRUE(ready(result, 5s));
  const int pid = current_pid();
  const invoke_result r = result.get();
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_EQ(r.body, R"({"errorType":"Sandbox.Timedout","errorMessage":"RequestId: )" +
                        r.request_id + R"( Error: Init timed out after 0.20 seconds"})");
  EXPECT_TRUE(process_gone(pid));
}

TEST_F(emulator_test, missing_command_is_invalid_entrypoint) {
  function_.command = {(dir_ / "no-such-bootstrap").string()};
  start();
  auto result = invoke("{}");
  ASSERT_TRUE(ready(result));
  const invoke_result r = result.get();
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_NE(r.body.find(R"("errorType":"Runtime.InvalidEntrypoint")"), std::string::npos);
}

TEST_F(emulator_test, runtime_gets_only_lambdas_environment_in_the_task_root) {
  ::setenv("LAMELLA_EMULATOR_TEST_HOST_ONLY", "leaked", 1);
  function_.handler = "app.handler";
  function_.env = {{"MY_SETTING", "42"}};
  const std::string text = printed_environment();
  const std::string port = std::to_string(emu_->runtime_port());
  EXPECT_NE(text.find("AWS_LAMBDA_RUNTIME_API=127.0.0.1:" + port + "\n"), std::string::npos);
  EXPECT_NE(text.find("_HANDLER=app.handler\n"), std::string::npos);
  EXPECT_NE(text.find("MY_SETTING=42\n"), std::string::npos);
  EXPECT_NE(text.find("AWS_LAMBDA_FUNCTION_NAME=unit\n"), std::string::npos);
  EXPECT_NE(text.find("LAMBDA_TASK_ROOT=" + dir_.string() + "\n"), std::string::npos);
  EXPECT_NE(text.find("cwd=" + dir_.string() + "\n"), std::string::npos);
  EXPECT_EQ(text.find("LAMELLA_EMULATOR_TEST_HOST_ONLY"), std::string::npos);
  EXPECT_EQ(text.find("HOME="), std::string::npos);
  ::unsetenv("LAMELLA_EMULATOR_TEST_HOST_ONLY");
}

TEST_F(emulator_test, queued_invocations_run_one_at_atime_in_arrival_order) {
  start();
  std::vector<std::future<invoke_result>> results;
  results.reserve(50);
  for (int i = 0; i < 50; ++i) results.push_back(invoke(std::to_string(i)));
  http_client rt(emu_->runtime_port());
  for (int i = 0; i < 50; ++i) {
    const response next = rt.get(next_path);
    ASSERT_EQ(next.body(), std::to_string(i));
    ASSERT_EQ(rt.post(result_path(header(next, "Lambda-Runtime-Aws-Request-Id"), "response"),
                      "r" + next.body())
                  .result_int(),
              202u);
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(ready(results[i]));
    EXPECT_EQ(results[i].get().body, "r" + std::to_string(i));
  }
  EXPECT_EQ(emu_->last_instance()->invocations, 50u);
}

// The fake runtime on its own thread: answers `count` invocations with the event echoed back,
// or with an error for events that contain "fail".
std::thread echo_runtime(std::uint16_t port, int count) {
  return std::thread([port, count] {
    http_client rt(port);
    for (int i = 0; i < count; ++i) {
      const response next = rt.get(next_path);
      const std::string id = header(next, "Lambda-Runtime-Aws-Request-Id");
      if (next.body().find("fail") != std::string::npos) {
        rt.post(result_path(id, "error"), R"({"errorMessage":"failed","errorType":"E"})");
      } else {
        rt.post(result_path(id, "response"), "echo:" + next.body(),
                {{"Content-Type", "text/plain"}});
      }
    }
  });
}

constexpr std::string_view invoke_path = "/2015-03-31/functions/function/invocations";

TEST_F(emulator_test, invoke_endpoint_over_http) {
  start();
  std::thread runtime = echo_runtime(emu_->runtime_port(), 3);
  http_client caller(emu_->invoke_port());

  response r = caller.post(invoke_path, "hi");
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(r.body(), "echo:hi");
  EXPECT_EQ(header(r, "Content-Type"), "text/plain");
  EXPECT_EQ(header(r, "X-Amz-Executed-Version"), "$LATEST");
  EXPECT_EQ(header(r, "X-Amzn-RequestId").size(), 36u);
  EXPECT_EQ(r.count("X-Amz-Function-Error"), 0u);

  r = caller.post("/2015-03-31/functions/any-name/invocations", "please fail",
                  {{"X-Amz-Log-Type", "Tail"}});
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  EXPECT_EQ(r.body(), R"({"errorMessage":"failed","errorType":"E"})");
  const auto tail = detail::base64_decode(header(r, "X-Amz-Log-Result"));
  ASSERT_TRUE(tail);
  EXPECT_NE(tail->find("REPORT RequestId: " + header(r, "X-Amzn-RequestId")), std::string::npos);

  r = caller.post(invoke_path, "async", {{"X-Amz-Invocation-Type", "Event"}});
  EXPECT_EQ(r.result_int(), 202u);
  EXPECT_EQ(r.body(), "");
  r = caller.post(invoke_path, "{}", {{"X-Amz-Invocation-Type", "DryRun"}});
  EXPECT_EQ(r.result_int(), 204u);
  r = caller.post(invoke_path, "{}", {{"X-Amz-Invocation-Type", "Sometimes"}});
  EXPECT_EQ(r.result_int(), 400u);
  r = caller.post(invoke_path, "{}", {{"X-Amz-Client-Context", "%%%not-base64"}});
  EXPECT_EQ(r.result_int(), 400u);
  EXPECT_NE(r.body().find("errorType"), std::string::npos);
  r = caller.post("/2015-03-31/functions/function/other", "{}");
  EXPECT_EQ(r.result_int(), 404u);
  r = caller.post(invoke_path, std::string(6 * 1024 * 1024 + 1, 'x'));
  EXPECT_EQ(r.result_int(), 413u);
  EXPECT_NE(r.body().find(R"("errorType":"RequestEntityTooLargeException")"), std::string::npos);
  r = caller.post(invoke_path, std::string(1024 * 1024 + 1, 'x'),
                  {{"X-Amz-Invocation-Type", "Event"}});
  EXPECT_EQ(r.result_int(), 413u);
  runtime.join();  // the Event invocation was the third
}

TEST_F(emulator_test, client_context_is_decoded_for_the_runtime) {
  start();
  std::string context_seen;
  std::thread runtime([&] {
    http_client rt(emu_->runtime_port());
    const response next = rt.get(next_path);
    context_seen = header(next, "Lambda-Runtime-Client-Context");
    rt.post(result_path(header(next, "Lambda-Runtime-Aws-Request-Id"), "response"), "{}");
  });
  http_client caller(emu_->invoke_port());
  const response r = caller.post(
      invoke_path, "{}", {{"X-Amz-Client-Context", detail::base64_encode(R"({"env":{"a":1}})")}});
  runtime.join();
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(context_seen, R"({"env":{"a":1}})");
}

TEST_F(emulator_test, fifty_concurrent_http_callers_are_all_answered) {
  start();
  constexpr int callers = 50;
  std::thread runtime = echo_runtime(emu_->runtime_port(), callers);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(callers));
  std::atomic<int> correct{0};
  for (int i = 0; i < callers; ++i) {
    threads.emplace_back([&, i] {
      http_client caller(emu_->invoke_port());
      const response r = caller.post(invoke_path, std::to_string(i));
      if (r.result_int() == 200 && r.body() == "echo:" + std::to_string(i)) ++correct;
    });
  }
  for (auto& t : threads) t.join();
  runtime.join();
  EXPECT_EQ(correct.load(), callers);
}

TEST_F(emulator_test, reset_makes_the_next_invocation_cold) {
  start();
  http_client rt(emu_->runtime_port());
  auto first = invoke("{}");
  response next = rt.get(next_path);
  rt.post(result_path(header(next, "Lambda-Runtime-Aws-Request-Id"), "response"), "1");
  ASSERT_TRUE(ready(first));
  const int first_pid = current_pid();
  emu_->reset();
  EXPECT_TRUE(process_gone(first_pid));

  auto second = invoke("{}");
  // A request on the killed runtime's connection (one it sent before dying) is refused, so it
  // cannot take the new runtime's place.
  EXPECT_EQ(rt.get(next_path).result_int(), 403u);
  http_client fresh(emu_->runtime_port());
  next = fresh.get(next_path);
  ASSERT_EQ(next.result_int(), 200u);
  fresh.post(result_path(header(next, "Lambda-Runtime-Aws-Request-Id"), "response"), "2");
  ASSERT_TRUE(ready(second));
  EXPECT_EQ(second.get().body, "2");
  const auto stats = emu_->last_instance();
  ASSERT_TRUE(stats);
  EXPECT_NE(stats->pid, first_pid);
  EXPECT_EQ(stats->invocations, 1u);
  EXPECT_TRUE(stats->first_next);
  EXPECT_TRUE(stats->first_response);
}

TEST_F(emulator_test, stop_fails_pending_invocations_and_kills_the_runtime) {
  start();
  auto pending = invoke("{}");
  for (int i = 0; i < 1000 && current_pid() == 0; ++i) std::this_thread::sleep_for(2ms);
  const int pid = current_pid();
  ASSERT_GT(pid, 0);
  emu_->stop();
  ASSERT_TRUE(ready(pending, 2s));
  EXPECT_EQ(pending.get().status, 500u);
  EXPECT_TRUE(process_gone(pid));
  auto after = invoke("{}");
  ASSERT_TRUE(ready(after, 0ms));
  EXPECT_EQ(after.get().status, 500u);
  EXPECT_TRUE(emu_->last_instance());  // still readable after stop
  emu_->stop();                        // idempotent
}

TEST_F(emulator_test, wait_returns_after_stop_from_another_thread) {
  start();
  std::thread stopper([this] {
    std::this_thread::sleep_for(20ms);
    emu_->stop();
  });
  emu_->wait();
  stopper.join();
  SUCCEED();
}

// --- Streamed responses passed through to an HTTP caller (issue 4).

// The head of a streamed POST /response, without body.
std::string stream_head(std::string_view id, std::string_view content_type = "text/plain") {
  return "POST " + result_path(id, "response") +
         " HTTP/1.1\r\nHost: x\r\n"
         "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
         "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
         "Content-Type: " +
         std::string(content_type) + "\r\nTransfer-Encoding: chunked\r\n\r\n";
}

std::string chunk(std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

// Waits until the emulator has dispatched an invocation to a runtime parked on /next.
std::string next_id(http_client& rt) {
  const response next = rt.get(next_path);
  EXPECT_EQ(next.result_int(), 200u);
  return header(next, "Lambda-Runtime-Aws-Request-Id");
}

TEST_F(emulator_test, streamed_response_reaches_the_http_caller_chunk_by_chunk) {
  start();
  http_client rt(emu_->runtime_port());
  testing::stream_caller caller(emu_->invoke_port());
  const std::string id = next_id(rt);
  rt.send(stream_head(id, "text/event-stream") + chunk("chunk-1"));
  // The second chunk is not sent before the caller holds the first: if the emulator buffered
  // the response, this read would never complete (the caller's 30 s read guard fails it).
  EXPECT_EQ(caller.read_body_until(7), "chunk-1");
  const auto& head = caller.message();
  EXPECT_EQ(head.result_int(), 200u);
  EXPECT_EQ(head[http::field::content_type], "text/event-stream");
  EXPECT_TRUE(head.chunked());
  EXPECT_EQ(header(head, "X-Amzn-RequestId"), id);
  EXPECT_EQ(header(head, "X-Amz-Executed-Version"), "$LATEST");
  rt.send(chunk("chunk-2") + "0\r\n\r\n");
  const response ack = rt.read();
  EXPECT_EQ(ack.result_int(), 202u);
  const auto& all = caller.read_all();
  EXPECT_EQ(all.body(), "chunk-1chunk-2");
  EXPECT_EQ(header(all, "End-Of-Response"), "Complete");
  EXPECT_EQ(header(all, "Lambda-Runtime-Function-Error-Type"), "");
  EXPECT_TRUE(log_contains("REPORT RequestId: " + id));
  // The runtime's connection is still usable for its next /next.
  auto second = invoke("{}");
  const std::string id2 = next_id(rt);
  EXPECT_EQ(rt.post(result_path(id2, "response"), "done").result_int(), 202u);
  ASSERT_TRUE(ready(second));
  EXPECT_EQ(second.get().body, "done");
}

TEST_F(emulator_test, streamed_response_beyond_6_mib_is_delivered_intact) {
  function_.timeout = 60s;  // 7 MiB through a sanitizer build can take longer than 3 s
  start();
  http_client rt(emu_->runtime_port());
  testing::stream_caller caller(emu_->invoke_port());
  const std::string id = next_id(rt);
  std::string body;
  for (int i = 0; body.size() < 7 * 1024 * 1024; ++i) {
    body.append(std::to_string(i)).append(1 + i % 997, static_cast<char>('a' + i % 26));
  }
  std::string request = stream_head(id);
  for (std::size_t at = 0; at < body.size(); at += 256 * 1024) {
    request += chunk(std::string_view(body).substr(at, 256 * 1024));
  }
  request += "0\r\n\r\n";
  std::thread runtime([&] { rt.send(request); });
  const auto& all = caller.read_all();
  runtime.join();
  EXPECT_EQ(rt.read().result_int(), 202u);
  EXPECT_EQ(all.body().size(), body.size());
  EXPECT_TRUE(all.body() == body);
  EXPECT_EQ(header(all, "End-Of-Response"), "Complete");
}

TEST_F(emulator_test, mid_stream_error_reaches_the_http_caller_as_trailers) {
  start();
  http_client rt(emu_->runtime_port());
  testing::stream_caller caller(emu_->invoke_port());
  const std::string id = next_id(rt);
  const std::string error = R"({"errorMessage":"mid-stream","errorType":"Runtime.StreamError"})";
  rt.send(stream_head(id) + chunk("part") + "0\r\nLambda-Runtime-Function-Error-Type: " +
          "Runtime.StreamError\r\nLambda-Runtime-Function-Error-Body: " +
          detail::base64_encode(error) + "\r\n\r\n");
  EXPECT_EQ(rt.read().result_int(), 202u);
  const auto& all = caller.read_all();
  EXPECT_EQ(all.result_int(), 200u);
  EXPECT_EQ(all.body(), "part");
  EXPECT_EQ(header(all, "End-Of-Response"), "Complete");
  EXPECT_EQ(header(all, "Lambda-Runtime-Function-Error-Type"), "Runtime.StreamError");
  EXPECT_EQ(detail::base64_decode(header(all, "Lambda-Runtime-Function-Error-Body")), error);
  EXPECT_TRUE(log_contains("Error: the streamed response failed\nRuntime.StreamError\n"));
}

TEST_F(emulator_test, runtime_killed_mid_stream_ends_the_callers_response_with_exit_error) {
  start();
  http_client rt(emu_->runtime_port());
  testing::stream_caller caller(emu_->invoke_port());
  const std::string id = next_id(rt);
  rt.send(stream_head(id) + chunk("before"));
  EXPECT_EQ(caller.read_body_until(6), "before");
  const int pid = current_pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const auto& all = caller.read_all();
  EXPECT_EQ(all.body(), "before");
  EXPECT_EQ(header(all, "End-Of-Response"), "Truncated");
  EXPECT_EQ(header(all, "Lambda-Runtime-Function-Error-Type"), "Runtime.ExitError");
  const auto body = detail::base64_decode(header(all, "Lambda-Runtime-Function-Error-Body"));
  ASSERT_TRUE(body);
  EXPECT_NE(body->find("Runtime exited with error: signal: killed"), std::string::npos) << *body;
}

TEST_F(emulator_test, timeout_mid_stream_ends_the_callers_response_with_timeout_error) {
  function_.timeout = 300ms;
  start();
  http_client rt(emu_->runtime_port());
  testing::stream_caller caller(emu_->invoke_port());
  const std::string id = next_id(rt);
  rt.send(stream_head(id) + chunk("slow"));
  const auto& all = caller.read_all();  // the runtime never ends its body
  EXPECT_EQ(all.body(), "slow");
  EXPECT_EQ(header(all, "End-Of-Response"), "Truncated");
  EXPECT_EQ(header(all, "Lambda-Runtime-Function-Error-Type"), "Sandbox.Timedout");
}

TEST_F(emulator_test, streamed_response_over_the_cap_is413_and_oversized) {
  function_.max_streamed_response_bytes = 1000;
  start();
  http_client rt(emu_->runtime_port());
  testing::stream_caller caller(emu_->invoke_port());
  const std::string id = next_id(rt);
  rt.send(stream_head(id) + chunk(std::string(600, 'a')));
  EXPECT_EQ(caller.read_body_until(600).size(), 600u);
  rt.send(chunk(std::string(600, 'b')));
  const response refused = rt.read();
  EXPECT_EQ(refused.result_int(), 413u);
  EXPECT_EQ(
      refused.body(),
      R"({"errorMessage":"Exceeded maximum allowed payload size (1000 bytes).","errorType":"RequestEntityTooLarge"})");
  const auto& all = caller.read_all();
  EXPECT_EQ(all.body(), std::string(600, 'a'));
  EXPECT_EQ(header(all, "End-Of-Response"), "Oversized");
  EXPECT_EQ(header(all, "Lambda-Runtime-Function-Error-Type"), "Function.ResponseSizeTooLarge");
}

TEST_F(emulator_test, stream_cut_short_then_next_is_truncated_response) {
  start();
  auto first = invoke("{}");
  std::string id;
  {
    http_client rt(emu_->runtime_port());
    id = next_id(rt);
    rt.send(stream_head(id) + chunk("half"));
  }  // the connection closes in the middle of the body
  auto second = invoke("{}");
  http_client rt(emu_->runtime_port());
  const std::string id2 = next_id(rt);  // ends the first invocation, then gets the second
  EXPECT_NE(id2, id);
  ASSERT_TRUE(ready(first));
  const invoke_result r = first.get();
  EXPECT_TRUE(r.streamed);
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_NE(r.body.find(R"("errorType":"Runtime.TruncatedResponse")"), std::string::npos) << r.body;
  EXPECT_EQ(rt.post(result_path(id2, "response"), "ok").result_int(), 202u);
  ASSERT_TRUE(ready(second));
  EXPECT_EQ(second.get().body, "ok");
}

TEST_F(emulator_test, in_process_streamed_response_calls_on_chunk_as_it_arrives) {
  start();
  std::mutex chunks_mutex;
  std::vector<std::string> chunks;
  std::promise<void> got_first;
  invoke_request request;
  request.payload = "{}";
  request.on_chunk = [&](std::string_view data) {
    std::lock_guard lock(chunks_mutex);
    chunks.emplace_back(data);
    if (chunks.size() == 1) got_first.set_value();
  };
  auto result = emu_->invoke(std::move(request));
  http_client rt(emu_->runtime_port());
  const std::string id = next_id(rt);
  rt.send(stream_head(id) + chunk("one"));
  got_first.get_future().wait();  // the runtime has not ended its body yet
  EXPECT_FALSE(ready(result, 0ms));
  rt.send(chunk("two") + "0\r\n\r\n");
  EXPECT_EQ(rt.read().result_int(), 202u);
  ASSERT_TRUE(ready(result));
  const invoke_result r = result.get();
  EXPECT_TRUE(r.streamed);
  EXPECT_EQ(r.body, "onetwo");
  EXPECT_EQ(r.content_type, "text/plain");
  std::lock_guard lock(chunks_mutex);
  EXPECT_EQ(chunks, (std::vector<std::string>{"one", "two"}));
}

// --- The SCF dialect: Tencent SCF's runtime API on the runtime port, the same caller side.

TEST_F(emulator_test, scf_dialect_requires_ready_then_serves_scfs_headers_and_paths) {
  function_.timeout = 7000ms;
  function_.memory_mb = 256;
  start(runtime_dialect::scf);
  auto result = invoke(R"({"key1":"value1"})");
  http_client rt(emu_->runtime_port());
  // Before init/ready, polling is refused (the runtime must say it is initialised first).
  EXPECT_EQ(rt.get("/runtime/invocation/next").result_int(), 403u);
  // Lambda's paths are not served in the SCF dialect.
  EXPECT_EQ(rt.get(next_path).result_int(), 404u);
  const response ready_ack = rt.post("/runtime/init/ready", " ");
  EXPECT_EQ(ready_ack.result_int(), 200u);
  EXPECT_EQ(rt.post("/runtime/init/ready", " ").result_int(), 403u);  // only once

  const response next = rt.get("/runtime/invocation/next");
  ASSERT_EQ(next.result_int(), 200u);
  EXPECT_EQ(next.body(), R"({"key1":"value1"})");
  const std::string id = header(next, "request_id");
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(header(next, "memory_limit_in_mb"), "256");
  EXPECT_EQ(header(next, "time_limit_in_ms"), "7000");
  EXPECT_EQ(header(next, "Lambda-Runtime-Aws-Request-Id"), "");
  EXPECT_EQ(header(next, "Lambda-Runtime-Deadline-Ms"), "");

  const response ack = rt.post("/runtime/invocation/response", R"({"ok":1})");
  EXPECT_EQ(ack.result_int(), 200u);  // SCF's success is 200, not 202
  expect_success(result, R"({"ok":1})", id);
  // Nothing in flight: a post is refused.
  EXPECT_EQ(rt.post("/runtime/invocation/response", "{}").result_int(), 403u);

  auto failing = invoke("{}");
  ASSERT_EQ(rt.get("/runtime/invocation/next").result_int(), 200u);
  EXPECT_EQ(
      rt.post("/runtime/invocation/error", R"({"errorType":"E","errorMessage":"m"})").result_int(),
      200u);
  expect_function_error(failing, R"({"errorType":"E","errorMessage":"m"})");
}

TEST_F(emulator_test, scf_dialect_gives_scfs_environment_only) {
  function_.handler = "index.main_handler";
  function_.region = "ap-guangzhou";
  const std::string text = printed_environment(runtime_dialect::scf);
  EXPECT_NE(text.find("SCF_RUNTIME_API=127.0.0.1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("SCF_RUNTIME_API_PORT=" + std::to_string(emu_->runtime_port()) + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("_HANDLER=index.main_handler\n"), std::string::npos);
  EXPECT_NE(text.find("SCF_FUNCTIONNAME=unit\n"), std::string::npos);
  EXPECT_NE(text.find("SCF_NAMESPACE=default\n"), std::string::npos);
  EXPECT_NE(text.find("TENCENTCLOUD_REGION=ap-guangzhou\n"), std::string::npos);
  EXPECT_NE(text.find("cwd=" + dir_.string() + "\n"), std::string::npos);
  EXPECT_EQ(text.find("AWS_LAMBDA_RUNTIME_API"), std::string::npos);
  EXPECT_EQ(text.find("LAMBDA_TASK_ROOT"), std::string::npos);
}

// The real C++ client over the SCF transport, against the emulator's SCF dialect: what every
// language adapter does on SCF.
TEST_F(emulator_test, scf_dialect_serves_the_lambda_client_over_the_scf_transport) {
  function_.timeout = 5000ms;
  start(runtime_dialect::scf);
  auto first = invoke(R"({"n":1})");
  lambda_client client(
      make_scf_transport("127.0.0.1:" + std::to_string(emu_->runtime_port()), transport_options{}));
  const auto before = std::chrono::system_clock::now();
  auto inv = client.next();
  ASSERT_TRUE(inv) << inv.error().message();
  EXPECT_EQ(inv->payload, R"({"n":1})");
  // The deadline travels as whole milliseconds (Lambda-Runtime-Deadline-Ms): up to 1 ms below.
  EXPECT_GE(inv->deadline, before + 5000ms - 1ms);
  EXPECT_LE(inv->deadline, std::chrono::system_clock::now() + 5000ms);
  EXPECT_EQ(inv->function_arn.rfind("qcs::scf:", 0), 0u) << inv->function_arn;
  EXPECT_NE(inv->platform_context.find(R"("memory_limit_in_mb":128)"), std::string::npos)
      << inv->platform_context;
  answer_and_expect_success(client, *inv, first);

  auto second = invoke(R"({"n":2})");
  auto inv2 = client.next();  // no second init/ready: the emulator would refuse it
  ASSERT_TRUE(inv2) << inv2.error().message();
  EXPECT_NE(inv2->request_id, inv->request_id);
  answer_and_expect_error(client, *inv2, second);

  // A streamed response is buffered by the transport and arrives whole.
  auto third = invoke("{}");
  auto inv3 = client.next();
  ASSERT_TRUE(inv3);
  auto stream = client.stream_response(inv3->request_id, "text/plain");
  ASSERT_TRUE(stream);
  ASSERT_TRUE(stream->write("a"));
  ASSERT_TRUE(stream->write("b"));
  ASSERT_TRUE(stream->finish());
  ASSERT_TRUE(ready(third));
  EXPECT_EQ(third.get().body, "ab");
}

// --- The FunctionGraph dialect: FunctionGraph's custom-runtime API on the runtime port.

TEST_F(emulator_test, functiongraph_dialect_serves_functiongraphs_headers_and_paths) {
  start(runtime_dialect::functiongraph);
  auto result = invoke(R"({"key1":"value1"})");
  http_client rt(emu_->runtime_port());
  // Lambda's and SCF's paths are not served in the FunctionGraph dialect.
  EXPECT_EQ(rt.get(next_path).result_int(), 404u);
  EXPECT_EQ(rt.get("/runtime/invocation/next").result_int(), 404u);

  const response next = rt.get("/v1/runtime/invocation/request");
  ASSERT_EQ(next.result_int(), 200u);
  EXPECT_EQ(next.body(), R"({"key1":"value1"})");
  const std::string id = header(next, "X-Cff-Request-Id");
  EXPECT_EQ(id.size(), 36u);
  EXPECT_FALSE(header(next, "X-CFF-Access-Key").empty());
  EXPECT_EQ(header(next, "X-CFF-Invoke-Type"), "sync");
  EXPECT_EQ(header(next, "Lambda-Runtime-Aws-Request-Id"), "");
  EXPECT_EQ(header(next, "Lambda-Runtime-Deadline-Ms"), "");

  // The id is in the path: another id is refused, the right one accepted with 200.
  EXPECT_EQ(rt.post("/v1/runtime/invocation/response/not-the-id", "{}").result_int(), 400u);
  const response ack = rt.post("/v1/runtime/invocation/response/" + id, R"({"ok":1})");
  EXPECT_EQ(ack.result_int(), 200u);
  expect_success(result, R"({"ok":1})", id);

  auto failing = invoke("{}");
  const response next2 = rt.get("/v1/runtime/invocation/request");
  ASSERT_EQ(next2.result_int(), 200u);
  const std::string id2 = header(next2, "X-Cff-Request-Id");
  EXPECT_EQ(
      rt.post("/v1/runtime/invocation/error/" + id2, R"({"errorType":"E","errorMessage":"m"})")
          .result_int(),
      200u);
  expect_function_error(failing, R"({"errorType":"E","errorMessage":"m"})");
}

TEST_F(emulator_test, functiongraph_dialect_gives_functiongraphs_environment_only) {
  function_.handler = "index.handler";
  const std::string text = printed_environment(runtime_dialect::functiongraph);
  EXPECT_NE(text.find("RUNTIME_API_ADDR=127.0.0.1:" + std::to_string(emu_->runtime_port()) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("RUNTIME_HANDLER=index.handler\n"), std::string::npos);
  EXPECT_NE(text.find("RUNTIME_FUNC_NAME=unit\n"), std::string::npos);
  EXPECT_NE(text.find("RUNTIME_CODE_ROOT=" + dir_.string() + "\n"), std::string::npos);
  EXPECT_NE(text.find("cwd=" + dir_.string() + "\n"), std::string::npos);
  EXPECT_EQ(text.find("AWS_LAMBDA_RUNTIME_API"), std::string::npos);
  EXPECT_EQ(text.find("LAMBDA_TASK_ROOT"), std::string::npos);
  EXPECT_EQ(text.find("\n_HANDLER="), std::string::npos);  // RUNTIME_HANDLER only
}

// The real C++ client over the FunctionGraph transport, against the emulator's FunctionGraph
// dialect: what every language adapter does on FunctionGraph.
TEST_F(emulator_test, functiongraph_dialect_serves_the_lambda_client_over_its_transport) {
  function_.timeout = 5000ms;
  start(runtime_dialect::functiongraph);
  // The transport reads the function's settings from the environment, as on FunctionGraph.
  ::setenv("RUNTIME_TIMEOUT", "5", 1);
  ::setenv("RUNTIME_FUNC_NAME", "unit", 1);
  lambda_client client(make_functiongraph_transport(
      "127.0.0.1:" + std::to_string(emu_->runtime_port()), transport_options{}));
  ::unsetenv("RUNTIME_TIMEOUT");
  ::unsetenv("RUNTIME_FUNC_NAME");
  auto first = invoke(R"({"n":1})");
  const auto before = std::chrono::system_clock::now();
  auto inv = client.next();
  ASSERT_TRUE(inv) << inv.error().message();
  EXPECT_EQ(inv->payload, R"({"n":1})");
  // The deadline travels as whole milliseconds (Lambda-Runtime-Deadline-Ms): up to 1 ms below.
  EXPECT_GE(inv->deadline, before + 5000ms - 1ms);
  EXPECT_LE(inv->deadline, std::chrono::system_clock::now() + 5000ms);
  EXPECT_EQ(inv->function_arn, "urn:fss:::function:default:unit:latest");
  EXPECT_NE(inv->platform_context.find(R"("invokeType":"sync")"), std::string::npos)
      << inv->platform_context;
  answer_and_expect_success(client, *inv, first);

  auto second = invoke(R"({"n":2})");
  auto inv2 = client.next();
  ASSERT_TRUE(inv2) << inv2.error().message();
  answer_and_expect_error(client, *inv2, second);
}

}  // namespace
}  // namespace lamella
