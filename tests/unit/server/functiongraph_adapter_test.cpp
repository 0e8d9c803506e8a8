// The `functiongraph` adapter: FunctionGraph HTTP functions' requests (the X-CFF-* headers of
// platform-contracts.md §13.2) and the container-image event contract (POST /init, POST /invoke,
// §13.3): classification, events, contexts and answers.
#include "adapter_test_support.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace lamella::push {
namespace {

using test_support::header;
using test_support::with;
namespace json = boost::json;
using std::chrono::seconds;
using std::chrono::system_clock;

std::unique_ptr<adapter> make() {
  functiongraph_options options;
  options.function.name = "fallback-fn";
  options.function.version = "$LATEST";
  options.function.region = "local";
  options.function.timeout = seconds(60);
  return make_functiongraph_adapter(options);
}

const header_list cff_headers = {
    {"X-CFF-Request-Id", "6c1e8e5a-58a4-4bd4-8b8b-0f3c1e2d3a4b"},
    {"X-CFF-Memory", "256"},
    {"X-CFF-Timeout", "30"},
    {"X-CFF-Func-Version", "latest"},
    {"X-CFF-Func-Name", "my-func"},
    {"X-CFF-Project-Id", "0a1b2c3d4e5f"},
    {"X-CFF-Package", "default"},
    {"X-CFF-Region", "cn-north-4"},
};

TEST(functiongraph_adapter, an_http_request_is_an_api_gateway_event_without_the_cff_headers) {
  const auto a = make();
  EXPECT_EQ(a->name(), "functiongraph");
  const request req{.method = "GET",
                    .target = "/users/7?verbose=1",
                    .headers = with(cff_headers, {{"Host", "127.0.0.1:8000"}, {"Accept", "*/*"}}),
                    .remote_address = "10.0.0.1"};
  const auto before = system_clock::now();
  const dispatch d = a->on_request(req, "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.request_id, "6c1e8e5a-58a4-4bd4-8b8b-0f3c1e2d3a4b");
  EXPECT_EQ(d.inv.function_arn, "urn:fss:cn-north-4:0a1b2c3d4e5f:function:default:my-func:latest");
  EXPECT_GE(d.inv.deadline, before + seconds(30));  // X-CFF-Timeout
  EXPECT_LE(d.inv.deadline, system_clock::now() + seconds(30));
  EXPECT_EQ(d.inv.content_type, "application/json");
  const json::value event = json::parse(d.inv.payload);
  EXPECT_EQ(event.at("version"), "2.0");
  EXPECT_EQ(event.at("rawPath"), "/users/7");
  EXPECT_EQ(event.at("rawQueryString"), "verbose=1");
  EXPECT_EQ(event.at("requestContext").at("http").at("method"), "GET");
  EXPECT_EQ(event.at("requestContext").at("requestId"), "6c1e8e5a-58a4-4bd4-8b8b-0f3c1e2d3a4b");
  const auto& headers = event.at("headers").as_object();
  EXPECT_TRUE(headers.contains("accept"));
  for (const auto& h : headers) {
    EXPECT_FALSE(std::string_view(h.key()).starts_with("x-cff-")) << h.key();
  }
  EXPECT_EQ(json::parse(d.inv.platform_context), json::parse(R"({"functiongraph": {
      "requestId": "6c1e8e5a-58a4-4bd4-8b8b-0f3c1e2d3a4b", "functionName": "my-func",
      "version": "latest", "package": "default", "projectId": "0a1b2c3d4e5f",
      "memory": 256, "timeout": 30, "region": "cn-north-4"}})"));
}

TEST(functiongraph_adapter, without_cff_headers_the_server_id_and_settings_are_used) {
  const auto a = make();
  const request req{.method = "POST",
                    .target = "/",
                    .headers = {{"X-CFF-Timeout", "soon"}, {"Content-Type", "text/plain"}},
                    .body = "hi"};
  const dispatch d = a->on_request(req, "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.request_id, "server-id");
  // No usable X-CFF-Timeout: no deadline here; the server applies the function's timeout.
  EXPECT_EQ(d.inv.deadline, system_clock::time_point{});
  EXPECT_EQ(d.inv.function_arn, "urn:fss:local::function:default:fallback-fn:$LATEST");
  const json::value ctx = json::parse(d.inv.platform_context);
  EXPECT_EQ(ctx.at("functiongraph").at("timeout"), 60);
  EXPECT_EQ(ctx.at("functiongraph").at("memory"), 128);
  EXPECT_EQ(json::parse(d.inv.payload).at("body"), "hi");
}

TEST(functiongraph_adapter, http_results_map_as_api_gateway_maps_them) {
  const auto a = make();
  const request req{.method = "GET", .target = "/", .headers = cff_headers};
  const dispatch d = a->on_request(req, "r");
  reply r = a->on_outcome(
      req, d.inv,
      outcome::success(R"({"statusCode":201,"headers":{"X-A":"b"},"body":"<p>made</p>"})"));
  EXPECT_EQ(r.status, 201u);
  EXPECT_EQ(header(r, "x-a"), "b");
  EXPECT_EQ(r.body, "<p>made</p>");
  r = a->on_outcome(req, d.inv, outcome::failure("ValueError", "bad"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"message":"Internal Server Error"})"));
}

TEST(functiongraph_adapter, invoke_is_an_event_with_the_body_as_the_event) {
  const auto a = make();
  for (const std::string body : {R"({"action":"echo","value":[1,2.5,null]})", "\"text\"", "42"}) {
    const request req{.method = "POST", .target = "/invoke", .headers = cff_headers, .body = body};
    const dispatch d = a->on_request(req, "server-id");
    ASSERT_EQ(d.what, dispatch::kind::invoke);
    EXPECT_EQ(d.inv.payload, body);
    EXPECT_EQ(d.inv.content_type, "application/json") << body;
    EXPECT_EQ(d.inv.request_id, "6c1e8e5a-58a4-4bd4-8b8b-0f3c1e2d3a4b");
    EXPECT_EQ(json::parse(d.inv.platform_context).at("functiongraph").at("functionName"),
              "my-func");
  }
  const request raw{.method = "POST", .target = "/invoke", .body = "not json"};
  const dispatch d = a->on_request(raw, "server-id");
  EXPECT_EQ(d.inv.payload, "not json");
  EXPECT_EQ(d.inv.content_type, "application/octet-stream");
  EXPECT_EQ(d.inv.request_id, "server-id");
}

TEST(functiongraph_adapter, invoke_answers_the_result_or_the_error_json) {
  const auto a = make();
  const request req{.method = "POST", .target = "/invoke", .headers = cff_headers, .body = "{}"};
  const dispatch d = a->on_request(req, "r");
  reply r = a->on_outcome(req, d.inv, outcome::success(R"({"statusCode":201})"));
  // An event's result is returned as is, never interpreted as an HTTP response.
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"statusCode":201})");
  r = a->on_outcome(req, d.inv, outcome::failure("ValueError", "bad"));
  EXPECT_EQ(r.status, 500u);
  const json::value error = json::parse(r.body);
  EXPECT_EQ(error.at("errorType"), "ValueError");
  EXPECT_EQ(error.at("errorMessage"), "bad");
  r = a->on_timeout(req, d.inv);
  EXPECT_EQ(r.status, 504u);
  EXPECT_EQ(json::parse(r.body).at("errorType"), "Sandbox.Timedout");
  EXPECT_NE(json::parse(r.body).at("errorMessage").as_string().find("30.00 seconds"),
            json::string::npos);
}

TEST(functiongraph_adapter, init_is_the_initializer_and_answers_after_init) {
  const auto a = make();
  const request req{.method = "POST", .target = "/init", .headers = cff_headers};
  EXPECT_EQ(a->on_request(req, "r").what, dispatch::kind::initialize);
  reply r = a->on_hook(req, dispatch::kind::initialize, nullptr);
  EXPECT_EQ(r.status, 200u);
  const auto failure = outcome::failure("Runtime.ImportModuleError", "no module");
  r = a->on_hook(req, dispatch::kind::initialize, &failure);
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(json::parse(r.body).at("errorType"), "Runtime.ImportModuleError");
  r = a->on_init_error(req, failure);
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(json::parse(r.body).at("errorMessage"), "no module");
}

TEST(functiongraph_adapter, only_post_makes_invoke_and_init_special) {
  const auto a = make();
  for (const char* target : {"/invoke", "/init"}) {
    const request req{.method = "GET", .target = target, .headers = cff_headers};
    const dispatch d = a->on_request(req, "r");
    ASSERT_EQ(d.what, dispatch::kind::invoke) << target;
    EXPECT_EQ(json::parse(d.inv.payload).at("rawPath"), target);  // an HTTP function's request
  }
}

TEST(functiongraph_adapter, a_cloud_event_gives_its_data_and_keeps_the_functiongraph_context) {
  const auto a = make();
  const request req{
      .method = "POST",
      .target = "/",
      .headers = with(cff_headers, {{"Content-Type", "application/cloudevents+json"}}),
      .body = R"({"specversion":"1.0","id":"e1","source":"/s","type":"t","data":{"k":1}})"};
  const dispatch d = a->on_request(req, "r");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(json::parse(d.inv.payload), json::parse(R"({"k":1})"));
  const json::value ctx = json::parse(d.inv.platform_context);
  EXPECT_EQ(ctx.at("cloudevent").at("id"), "e1");
  EXPECT_EQ(ctx.at("functiongraph").at("region"), "cn-north-4");
  EXPECT_EQ(a->on_outcome(req, d.inv, outcome::success("null")).status, 204u);
}

TEST(functiongraph_adapter, overload_answers_503) {
  const auto a = make();
  const request req{.method = "GET", .target = "/"};
  const reply r = a->on_overload(req);
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(header(r, "retry-after"), "1");
  const dispatch d = a->on_request(req, "r");
  EXPECT_EQ(a->on_timeout(req, d.inv).status, 504u);
}

}  // namespace
}  // namespace lamella::push
