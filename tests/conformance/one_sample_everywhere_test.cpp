// Issue 6's demonstration: one unchanged Python sample (samples/python-hello, app.handler) run by
// the real generic bootstrap on every platform the issue names, each driven as that platform
// drives it: an Azure `POST /<name>` payload invocation, an OpenWhisk `/init` then `/run`, a
// Fission `/v2/specialize` then `GET /`, an Fn `/call` over its UNIX socket, and the FunctionGraph
// pull loop against the emulator's fake of its runtime API. The handler greets `event.name` and
// returns the request id it saw, so each test also shows that the platform's own id reached it.
#include "conformance_support.h"
#include "raw_http.h"

namespace lamella::conformance {
namespace {

#ifdef LAMELLA_WITH_PYTHON

const language_runner python_hello{
    "python_hello", std::filesystem::path(LAMELLA_SAMPLES_SOURCE_DIR) / "python-hello",
    "app.handler"};

/// The sample's answer as JSON; fails when it is not the greeting for `name`.
boost::json::value expect_greeting(std::string_view body, std::string_view name) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  if (ec || !v.is_object()) return {};
  EXPECT_EQ(v.at("message"), boost::json::value("Hello, " + std::string(name) + "!")) << body;
  return v;
}

TEST(one_python_sample, answers_an_azure_payload_invocation) {
  push_function fn(python_hello, "azure");
  ASSERT_NE(fn.port(), 0) << fn.log();
  testing::raw_connection c(fn.port());
  const auto ready = c.exchange("GET", "/");  // the Functions host's readiness poll
  ASSERT_TRUE(ready) << fn.log();
  EXPECT_EQ(ready->status, 200u);
  const auto r = c.exchange(
      "POST", "/hello", R"({"Data":{"queueItem":{"name":"azure"}},"Metadata":{"DequeueCount":1}})",
      "Content-Type: application/json\r\n"
      "X-Azure-Functions-InvocationId: azure-invocation-1\r\n");
  ASSERT_TRUE(r) << fn.log();
  ASSERT_EQ(r->status, 200u) << r->body;
  boost::system::error_code ec;
  const auto body = boost::json::parse(r->body, ec);
  ASSERT_FALSE(ec) << r->body;
  const auto result = expect_greeting(boost::json::serialize(body.at("ReturnValue")), "azure");
  EXPECT_EQ(result.at("request_id"), "azure-invocation-1");
  EXPECT_TRUE(body.at("Outputs").is_object());
  EXPECT_TRUE(body.at("Logs").is_array());
  expect_clean_stop(fn);
}

TEST(one_python_sample, answers_openwhisk_init_then_run) {
  push_function fn(python_hello, "openwhisk");
  ASSERT_NE(fn.port(), 0) << fn.log();
  testing::raw_connection c(fn.port());
  const auto init = c.exchange("POST", "/init", R"({"value":{"name":"hello","main":"main"}})",
                               "Content-Type: application/json\r\n");
  ASSERT_TRUE(init) << fn.log();
  ASSERT_EQ(init->status, 200u) << init->body;
  const auto deadline =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch() + std::chrono::seconds(30))
          .count();
  const auto run = c.exchange(
      "POST", "/run",
      R"({"value":{"name":"openwhisk"},"namespace":"guest","action_name":"/guest/hello",)"
      R"("activation_id":"ow-activation-1","transaction_id":"t1","deadline":")" +
          std::to_string(deadline) + R"("})",
      "Content-Type: application/json\r\n");
  ASSERT_TRUE(run) << fn.log();
  ASSERT_EQ(run->status, 200u) << run->body;
  EXPECT_FALSE(run->header("content-length").empty());
  const auto result = expect_greeting(run->body, "openwhisk");
  EXPECT_EQ(result.at("request_id"), "ow-activation-1");
  EXPECT_TRUE(fn.wait_for_log("XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX", std::chrono::seconds(10)))
      << fn.log();
  expect_clean_stop(fn);
}

TEST(one_python_sample, answers_fission_specialize_then_get) {
  push_function fn(python_hello, "fission");
  ASSERT_NE(fn.port(), 0) << fn.log();
  boost::json::object specialize;
  specialize["filepath"] = python_hello.dir.string();
  specialize["functionName"] = python_hello.handler;
  specialize["url"] = "";
  specialize["FunctionMetadata"] = {{"name", "hello"}, {"namespace", "default"}};
  specialize["envVersion"] = 2;
  {
    testing::raw_connection c(fn.port());
    const auto r = c.exchange("POST", "/v2/specialize", boost::json::serialize(specialize),
                              "Content-Type: application/json\r\n");
    ASSERT_TRUE(r) << fn.log();
    ASSERT_EQ(r->status, 200u) << r->body << fn.log();
  }
  testing::raw_connection c(fn.port());
  // A plain GET reaches the handler as an API Gateway event: it has no `name`, so "world".
  const auto r = c.exchange("GET", "/", {}, "X-Fission-Function-Name: hello\r\n");
  ASSERT_TRUE(r) << fn.log();
  ASSERT_EQ(r->status, 200u) << r->body;
  const auto result = expect_greeting(r->body, "world");
  EXPECT_TRUE(result.at("request_id").is_string());
  expect_clean_stop(fn);
}

TEST(one_python_sample, answers_an_fn_call_over_its_unix_socket) {
  push_function fn(python_hello, "fn");
  ASSERT_FALSE(fn.socket_path().empty()) << fn.log();
  ASSERT_TRUE(wait_for_link(fn.socket_path())) << fn.log();
  testing::raw_connection c(fn.socket_path());
  const auto r = c.exchange("POST", "/call", R"({"name":"fn"})",
                            "Content-Type: application/json\r\nFn-Call-Id: fn-call-1\r\n"
                            "Fn-Deadline: 2099-01-01T00:00:00.000Z\r\n");
  ASSERT_TRUE(r) << fn.log();
  ASSERT_EQ(r->status, 200u) << r->body;
  const auto result = expect_greeting(r->body, "fn");
  EXPECT_EQ(result.at("request_id"), "fn-call-1");
  expect_clean_stop(fn);
}

TEST(one_python_sample, runs_the_functiongraph_pull_loop_against_the_fake) {
  function_config c = function_for(python_hello);
  emulator_options o;
  o.dialect = runtime_dialect::functiongraph;
  emulator emu(std::move(c), std::move(o));
  for (int i = 1; i <= 2; ++i) {
    invoke_request request;
    request.payload = R"({"name":"functiongraph"})";
    const auto r = emu.invoke(std::move(request)).get();
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_TRUE(r.function_error.empty()) << r.body;
    const auto result = expect_greeting(r.body, "functiongraph");
    EXPECT_EQ(result.at("request_id"), boost::json::value(r.request_id));
    EXPECT_EQ(result.at("count"), i);  // one warm process serves both
  }
}

#endif  // LAMELLA_WITH_PYTHON

}  // namespace
}  // namespace lamella::conformance
