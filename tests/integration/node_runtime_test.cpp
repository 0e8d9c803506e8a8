// Node.js handlers end to end: the real generic bootstrap (which execs the machine's node on
// lamella's JS runtime and its addon) against the real emulator over loopback. Covers handler
// loading (CommonJS, ESM, package types, nested paths) and the AWS init error types, handler
// styles (async, promise, callback with and without waiting for the event loop), the context,
// function errors in the AWS Node runtime's shape, fatal errors, logging and warm state.
#include "stream_caller.h"

#include "lamella/emulator.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace lamella {
namespace {

const std::filesystem::path node_fixtures = LAMELLA_NODE_FIXTURES;
const std::filesystem::path samples_src = LAMELLA_SAMPLES_SOURCE_DIR;
const std::filesystem::path bin_dir = LAMELLA_BIN_DIR;

using env_list = std::vector<std::pair<std::string, std::string>>;

/// A function run by the generic bootstrap with `handler` in `dir`.
function_config node_config(const std::string& handler,
                            const std::filesystem::path& dir = node_fixtures / "fn",
                            env_list env = {}) {
  function_config c;
  c.dir = dir;
  c.command = {(bin_dir / "bootstrap").string()};
  c.handler = handler;
  c.name = "lamella-node-test";
  c.version = "3";
  c.memory_mb = 256;
  c.timeout = std::chrono::seconds(10);
  c.env = std::move(env);
  return c;
}

class node_runtime_test : public ::testing::Test {
 protected:
  std::unique_ptr<emulator> start(function_config c) {
    emulator_options o;
    o.log = [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      logs_.append(line);
    };
    return std::make_unique<emulator>(std::move(c), std::move(o));
  }
  /// Everything the runtime and the emulator logged so far.
  std::string logs(emulator& emu) {
    (void)emu.last_instance();  // flushes pending log lines
    std::lock_guard lock(mutex_);
    return logs_;
  }

  std::mutex mutex_;
  std::string logs_;
};

invoke_result call(emulator& emu, std::string payload, std::string trace_id = {},
                   std::string client_context = {}, std::string tenant_id = {}) {
  invoke_request r;
  r.payload = std::move(payload);
  r.trace_id = std::move(trace_id);
  r.client_context = std::move(client_context);
  r.tenant_id = std::move(tenant_id);
  return emu.invoke(std::move(r)).get();
}

boost::json::value parsed(const invoke_result& r) {
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  EXPECT_FALSE(ec) << "not JSON: " << r.body.substr(0, 300);
  return v;
}

boost::json::object json_of(const invoke_result& r) {
  const auto v = parsed(r);
  return v.is_object() ? v.as_object() : boost::json::object{};
}

/// The errorType of a function error (checking it is one).
std::string error_type_of(const invoke_result& r) {
  EXPECT_EQ(r.function_error, "Unhandled") << r.body;
  const auto body = json_of(r);
  return body.contains("errorType") ? std::string(body.at("errorType").as_string()) : "";
}

std::string error_message_of(const invoke_result& r) {
  const auto body = json_of(r);
  return body.contains("errorMessage") ? std::string(body.at("errorMessage").as_string()) : "";
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

TEST_F(node_runtime_test, the_hello_sample_answers_and_keeps_warm_state) {
  auto emu = start(node_config("index.handler", samples_src / "node-hello"));
  const auto first = call(*emu, R"({"name":"x"})");
  ASSERT_EQ(first.status, 200u);
  ASSERT_TRUE(first.function_error.empty()) << first.body;
  EXPECT_EQ(first.content_type, "application/json");
  const auto body = json_of(first);
  EXPECT_EQ(body.at("message").as_string(), "Hello, x!");
  EXPECT_EQ(body.at("count").as_int64(), 1);
  EXPECT_EQ(body.at("request_id").as_string(), first.request_id);
  EXPECT_EQ(json_of(call(*emu, "{}")).at("count").as_int64(), 2);
  EXPECT_EQ(json_of(call(*emu, "{}")).at("count").as_int64(), 3);
}

TEST_F(node_runtime_test, the_packages_bin_serves_in_an_image_with_its_own_node) {
  // The function's own bootstrap is `exec node <lamella-node>/bin/lamella-node.js $_HANDLER`,
  // what `npx lamella-node index.handler` runs: the same runtime without the generic bootstrap.
  function_config c = node_config("index.handler", LAMELLA_NODE_BIN_FN);
  c.command = {(std::filesystem::path(LAMELLA_NODE_BIN_FN) / "bootstrap").string()};
  auto emu = start(std::move(c));
  const auto first = call(*emu, R"({"name":"bin"})");
  ASSERT_TRUE(first.function_error.empty()) << first.body;
  EXPECT_EQ(json_of(first).at("message").as_string(), "Hello, bin!");
  EXPECT_EQ(json_of(call(*emu, "{}")).at("count").as_int64(), 2);
}

TEST_F(node_runtime_test, module_state_persists_and_init_runs_once) {
  auto emu = start(node_config("index.counter"));
  std::int64_t pid = 0;
  for (int i = 1; i <= 4; ++i) {
    const auto body = json_of(call(*emu, "{}"));
    EXPECT_EQ(body.at("count").as_int64(), i);
    EXPECT_EQ(body.at("initRuns").as_int64(), 1);
    if (i == 1) pid = body.at("pid").as_int64();
    EXPECT_EQ(body.at("pid").as_int64(), pid);
  }
}

TEST_F(node_runtime_test, events_and_results_round_trip_as_json) {
  auto emu = start(node_config("index.echo"));
  const std::string event = R"({"a":[1,2.5,{"b":null}],"s":"h\u00e9llo \ud83d\ude80","t":true})";
  EXPECT_EQ(parsed(call(*emu, event)), boost::json::parse(event));
  EXPECT_EQ(call(*emu, "\"text\"").body, "\"text\"");
  EXPECT_EQ(call(*emu, "17").body, "17");
}

TEST_F(node_runtime_test, a_returned_promise_is_the_result) {
  auto emu = start(node_config("index.promise"));
  EXPECT_EQ(parsed(call(*emu, R"({"k":1})")), boost::json::parse(R"({"got":{"k":1}})"));
}

TEST_F(node_runtime_test, undefined_and_unserialisable_results) {
  auto emu = start(node_config("index.undefinedResult"));
  EXPECT_EQ(call(*emu, "{}").body, "null");
  auto bad = start(node_config("index.badJson"));
  const auto r = call(*bad, "{}");
  EXPECT_EQ(error_type_of(r), "Error");
  EXPECT_EQ(error_message_of(r), "Unable to stringify response body");
}

TEST_F(node_runtime_test, the_context_has_the_aws_names) {
  auto emu = start(node_config("index.context"));
  const auto r = call(*emu, "{}", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
                      R"({"custom":{"k":"v"}})", "tenant-7");
  ASSERT_TRUE(r.function_error.empty()) << r.body;
  const auto body = json_of(r);
  EXPECT_EQ(body.at("functionName").as_string(), "lamella-node-test");
  EXPECT_EQ(body.at("functionVersion").as_string(), "3");
  EXPECT_EQ(body.at("memoryLimitInMB").as_string(), "256");
  EXPECT_EQ(body.at("awsRequestId").as_string(), r.request_id);
  EXPECT_TRUE(contains(body.at("invokedFunctionArn").as_string(), ":function:lamella-node-test"));
  EXPECT_EQ(body.at("logGroupName").as_string(), "/aws/lambda/lamella-node-test");
  EXPECT_FALSE(body.at("logStreamName").as_string().empty());
  EXPECT_EQ(body.at("clientContext"), boost::json::parse(R"({"custom":{"k":"v"}})"));
  EXPECT_EQ(body.at("tenantId").as_string(), "tenant-7");
  EXPECT_GT(body.at("remaining").to_number<double>(), 0);
  EXPECT_LE(body.at("remaining").to_number<double>(), 10000);
  EXPECT_EQ(body.at("waits").as_bool(), true);
  EXPECT_EQ(body.at("traceEnv").as_string(), "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");
  // The next invocation's own trace id (the emulator makes one, as Lambda does) replaces it.
  const auto next = json_of(call(*emu, "{}")).at("traceEnv");
  ASSERT_TRUE(next.is_string());
  EXPECT_TRUE(next.as_string().starts_with("Root=1-"));
  EXPECT_NE(next.as_string(), "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");
}

TEST_F(node_runtime_test, a_callback_result_waits_for_the_event_loop_to_drain) {
  auto emu = start(node_config("index.callback"));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(parsed(r), boost::json::parse(R"({"style":"callback"})"));
  // The timer the handler left behind ran before the response was posted.
  const auto text = logs(*emu);
  const auto timer = text.find("timer after callback ran");
  ASSERT_NE(timer, std::string::npos) << text;
  EXPECT_LT(timer, text.find("END RequestId: " + r.request_id));
  // Warm: a second invocation behaves the same.
  EXPECT_EQ(parsed(call(*emu, "{}")), boost::json::parse(R"({"style":"callback"})"));
}

TEST_F(node_runtime_test, callback_waits_for_empty_event_loop_false_answers_at_once) {
  auto emu = start(node_config("index.callbackNoWait"));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(parsed(r), boost::json::parse(R"({"style":"no-wait"})"));
  // The 3 s timer is still pending: its line is not in the log of this invocation.
  EXPECT_FALSE(contains(logs(*emu), "late timer ran"));
}

TEST_F(node_runtime_test, callback_errors_and_context_completions) {
  auto emu = start(node_config("index.callbackError"));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(error_type_of(r), "ValidationError");
  EXPECT_EQ(error_message_of(r), "bad callback");
  auto succeed = start(node_config("index.succeed"));
  EXPECT_EQ(parsed(call(*succeed, "{}")), boost::json::parse(R"({"via":"succeed"})"));
  // The first completion wins even when its post waits for the event loop to drain.
  auto first = start(node_config("index.firstWins"));
  EXPECT_EQ(call(*first, "{}").body, "\"from callback\"");
}

TEST_F(node_runtime_test, thrown_errors_are_posted_with_type_message_and_trace) {
  auto emu = start(node_config("index.throws"));
  const auto r = call(*emu, R"({"x":42})");
  EXPECT_EQ(error_type_of(r), "ValidationError");
  const auto body = json_of(r);
  EXPECT_EQ(body.at("errorMessage").as_string(), "bad input: 42");
  const auto& trace = body.at("trace").as_array();
  ASSERT_GE(trace.size(), 2u) << r.body;
  EXPECT_EQ(trace[0].as_string(), "ValidationError: bad input: 42");
  EXPECT_TRUE(contains(trace[1].as_string(), (node_fixtures / "fn" / "index.js").string()))
      << trace[1].as_string();
  EXPECT_TRUE(contains(logs(*emu), "\tERROR\tInvoke Error \t{\"errorType\":\"ValidationError\""));
  // The runtime keeps serving after a function error.
  EXPECT_EQ(error_type_of(call(*emu, R"({"x":1})")), "ValidationError");
}

TEST_F(node_runtime_test, rejections_and_non_error_values) {
  auto rejects = start(node_config("index.rejects"));
  const auto r = call(*rejects, "{}");
  EXPECT_EQ(error_type_of(r), "TypeError");
  EXPECT_EQ(error_message_of(r), "rejected");
  auto str = start(node_config("index.throwsString"));
  const auto s = call(*str, "{}");
  EXPECT_EQ(error_type_of(s), "string");
  EXPECT_EQ(error_message_of(s), "just a string");
  auto obj = start(node_config("index.throwsObject"));
  const auto o = call(*obj, "{}");
  EXPECT_EQ(error_type_of(o), "object");
  EXPECT_EQ(error_message_of(o), "[object Object]");
}

TEST_F(node_runtime_test, a_handler_that_lets_the_loop_drain_without_a_result) {
  auto async_fn = start(node_config("index.neverSettles"));
  EXPECT_EQ(error_type_of(call(*async_fn, "{}")), "Runtime.NodeJsExit");
  // Still serving: the next invocation gets its own answer.
  EXPECT_EQ(error_type_of(call(*async_fn, "{}")), "Runtime.NodeJsExit");
  auto callback_fn = start(node_config("index.neverCallsBack"));
  const auto r = call(*callback_fn, "{}");
  EXPECT_TRUE(r.function_error.empty()) << r.body;
  EXPECT_EQ(r.body, "null");
}

TEST_F(node_runtime_test, an_uncaught_exception_fails_the_invocation_and_restarts) {
  auto emu = start(node_config("index.uncaught"));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(error_type_of(r), "RangeError");
  EXPECT_EQ(error_message_of(r), "thrown from a timer");
  const auto first_pid = emu->last_instance()->pid;
  EXPECT_EQ(error_type_of(call(*emu, "{}")), "RangeError");  // a fresh process serves this one
  EXPECT_NE(emu->last_instance()->pid, first_pid);
}

TEST_F(node_runtime_test, an_unhandled_rejection_fails_the_invocation) {
  auto emu = start(node_config("index.unhandledRejection"));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(error_type_of(r), "Runtime.UnhandledPromiseRejection");
  EXPECT_TRUE(contains(error_message_of(r), "nobody handles me")) << r.body;
}

TEST_F(node_runtime_test, a_malformed_event_is_a_function_error) {
  auto emu = start(node_config("index.echo"));
  EXPECT_EQ(error_type_of(call(*emu, "{not json")), "SyntaxError");
  EXPECT_EQ(call(*emu, "[1]").body, "[1]");
}

TEST_F(node_runtime_test, module_formats_and_paths_load_as_in_the_aws_runtime) {
  auto esm = start(node_config("app.handler", node_fixtures / "esm"));
  EXPECT_EQ(json_of(call(*esm, "{}")).at("loadedBy").as_string(), "esm");
  auto cjs = start(node_config("other.handler", node_fixtures / "esm"));
  EXPECT_EQ(json_of(call(*cjs, "{}")).at("loadedBy").as_string(), "cjs");
  auto nested_path = start(node_config("lib/deep/mod.handler", node_fixtures / "nested"));
  EXPECT_EQ(json_of(call(*nested_path, "{}")).at("where").as_string(), "lib/deep/mod.mjs");
  auto nested_export = start(node_config("index.nested.deeper.handler"));
  EXPECT_EQ(call(*nested_export, "{}").body, R"({"nested":true})");
}

TEST_F(node_runtime_test, init_errors_have_the_aws_types) {
  struct expectation {
    std::string handler;
    std::filesystem::path dir;
    std::string type;
    std::string message_part;
  };
  const std::vector<expectation> cases{
      {"nosuch.handler", node_fixtures / "broken", "Runtime.ImportModuleError",
       "Cannot find module 'nosuch'"},
      {"missing_dep.handler", node_fixtures / "broken", "Runtime.ImportModuleError",
       "lamella-no-such-dependency"},
      {"syntax.handler", node_fixtures / "broken", "Runtime.UserCodeSyntaxError", "SyntaxError"},
      {"throws_at_init.handler", node_fixtures / "broken", "TypeError", "init went wrong"},
      {"rejects_at_init.handler", node_fixtures / "broken", "Error", "async init failed"},
      {"index.noSuchExport", node_fixtures / "fn", "Runtime.HandlerNotFound",
       "index.noSuchExport is undefined or not exported"},
      {"index.notAFunction", node_fixtures / "fn", "Runtime.HandlerNotFound",
       "index.notAFunction is not a function"},
      {"../fn/index.echo", node_fixtures / "fn", "Runtime.MalformedHandlerName",
       "is not a valid handler name"},
  };
  for (const auto& c : cases) {
    auto emu = start(node_config(c.handler, c.dir));
    const auto r = call(*emu, "{}");
    EXPECT_EQ(error_type_of(r), c.type) << c.handler << ": " << r.body;
    EXPECT_TRUE(contains(error_message_of(r), c.message_part)) << c.handler << ": " << r.body;
  }
  // No dot at all: the bootstrap itself refuses it before starting node.
  auto emu = start(node_config("index", node_fixtures / "fn"));
  EXPECT_EQ(error_type_of(call(*emu, "{}")), "Runtime.MalformedHandlerName");
}

TEST_F(node_runtime_test, console_lines_use_the_aws_text_format) {
  auto emu = start(node_config("index.log"));
  const auto r = call(*emu, "{}");
  ASSERT_TRUE(r.function_error.empty()) << r.body;
  const auto text = logs(*emu);
  const std::string id = r.request_id;
  EXPECT_TRUE(contains(text, "\t" + id + "\tINFO\tinfo line { a: 1 }\n")) << text;
  EXPECT_TRUE(contains(text, "\t" + id + "\tDEBUG\tdebug line\n"));
  EXPECT_TRUE(contains(text, "\t" + id + "\tWARN\twarn line\rsecond\n"));
  EXPECT_TRUE(contains(text, "\t" + id + "\tERROR\terror line Error: logged error\r"));
}

TEST_F(node_runtime_test, json_logs_and_level_filtering) {
  auto emu =
      start(node_config("index.log", node_fixtures / "fn",
                        {{"AWS_LAMBDA_LOG_FORMAT", "JSON"}, {"AWS_LAMBDA_LOG_LEVEL", "WARN"}}));
  const auto r = call(*emu, "{}");
  ASSERT_TRUE(r.function_error.empty()) << r.body;
  const auto text = logs(*emu);
  EXPECT_FALSE(contains(text, "info line"));
  EXPECT_FALSE(contains(text, "debug line"));
  bool saw_warn = false;
  bool saw_error = false;
  std::size_t pos = 0;
  while ((pos = text.find("{\"timestamp\"", pos)) != std::string::npos) {
    const auto end = text.find('\n', pos);
    const auto record = boost::json::parse(text.substr(pos, end - pos)).as_object();
    EXPECT_EQ(record.at("requestId").as_string(), r.request_id);
    if (record.at("level") == "WARN") {
      saw_warn = true;
      EXPECT_EQ(record.at("message").as_string(), "warn line\nsecond");
    }
    if (record.at("level") == "ERROR") {
      saw_error = true;
      EXPECT_EQ(record.at("errorType").as_string(), "Error");
      EXPECT_EQ(record.at("errorMessage").as_string(), "logged error");
    }
    pos = end;
  }
  EXPECT_TRUE(saw_warn) << text;
  EXPECT_TRUE(saw_error) << text;
}

TEST_F(node_runtime_test, a_streamed_response_reaches_the_caller_chunk_by_chunk) {
  auto emu = start(node_config("stream.gated"));
  const auto gate = std::filesystem::temp_directory_path() /
                    ("lamella-gate-" + std::to_string(::getpid()) + "-" +
                     std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::string seen;
  invoke_request r;
  r.payload = R"({"gate":")" + gate.string() + R"("})";
  // The handler writes "second" only after the gate exists, and the gate is made only once
  // "first" has reached this caller: without pass-through the invocation would time out.
  r.on_chunk = [&](std::string_view piece) {
    seen.append(piece);
    if (seen.find("first\n") != std::string::npos) std::ofstream(gate) << "open";
  };
  const auto result = emu->invoke(std::move(r)).get();
  std::filesystem::remove(gate);
  EXPECT_TRUE(result.streamed);
  EXPECT_TRUE(result.function_error.empty()) << result.body;
  EXPECT_EQ(result.body, "first\nsecond\n");
  EXPECT_EQ(result.content_type, "text/plain");
  EXPECT_EQ(seen, "first\nsecond\n");
}

TEST_F(node_runtime_test, a_streamed_response_may_exceed_six_mib) {
  auto emu = start(node_config("stream.big"));
  const auto r = call(*emu, R"({"mib":8})");
  ASSERT_TRUE(r.function_error.empty()) << r.body.substr(0, 300);
  ASSERT_EQ(r.body.size(), std::size_t{8} << 20);
  for (std::size_t i = 0; i < 8 * 16; ++i) {
    ASSERT_EQ(r.body[i * 65536], static_cast<char>('a' + i % 26)) << i;
    ASSERT_EQ(r.body[i * 65536 + 65535], static_cast<char>('a' + i % 26)) << i;
  }
}

TEST_F(node_runtime_test, a_stream_failing_midway_ends_with_the_error_trailers) {
  auto emu = start(node_config("stream.failsAfterWrite"));
  testing::stream_caller caller(emu->invoke_port());
  const auto& res = caller.read_all();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "partial\n");
  EXPECT_EQ(res["Lambda-Runtime-Function-Error-Type"], "RangeError");
  EXPECT_EQ(res["End-Of-Response"], "Complete");
  // Still serving: the same process answers the next one the same way.
  EXPECT_EQ(call(*emu, "{}").function_error, "Unhandled");
}

TEST_F(node_runtime_test, streaming_misuse_gets_the_aws_error_types) {
  auto before = start(node_config("stream.failsBeforeWrite"));
  const auto r = call(*before, "{}");
  EXPECT_EQ(error_type_of(r), "TypeError");
  EXPECT_EQ(error_message_of(r), "broke before writing");
  auto not_ended = start(node_config("stream.notEnded"));
  testing::stream_caller caller(not_ended->invoke_port());
  const auto& res = caller.read_all();
  EXPECT_EQ(res.body(), "never ended\n");
  EXPECT_EQ(res["Lambda-Runtime-Function-Error-Type"], "Runtime.InvalidStreamingOperation");
  auto not_async = start(node_config("stream.notAsync"));
  EXPECT_EQ(error_type_of(call(*not_async, "{}")), "Runtime.MalformedStreamingHandler");
}

TEST_F(node_runtime_test, http_response_stream_sends_the_prelude_and_delimiter) {
  auto emu = start(node_config("stream.http"));
  const auto r = call(*emu, "{}");
  ASSERT_TRUE(r.function_error.empty()) << r.body;
  EXPECT_EQ(r.content_type, "application/vnd.awslambda.http-integration-response");
  const std::string prelude = R"({"statusCode":201,"headers":{"x-sample":"yes"}})";
  EXPECT_EQ(r.body, prelude + std::string(8, '\0') + "hello world");
}

}  // namespace
}  // namespace lamella
