// The `fc` adapter: FC's custom-runtime requests (headers recorded from FC's contract and
// aliyun/fc-docker's mock), lifecycle classification and answers.
#include "adapter_test_support.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace lamella::push {
namespace {

using test_support::header;
namespace json = boost::json;
using std::chrono::seconds;
using std::chrono::system_clock;

std::unique_ptr<adapter> make() {
  fc_options options;
  options.function.name = "fallback-fn";
  options.function.region = "cn-fallback";
  options.function.account_id = "999";
  options.function.timeout = seconds(60);
  return make_fc_adapter(options);
}

const header_list fc_headers = {
    {"x-fc-request-id", "a1b2c3d4-0000-1111-2222-333344445555"},
    {"x-fc-access-key-id", "STS.ak"},
    {"x-fc-access-key-secret", "sk"},
    {"x-fc-security-token", "token"},
    {"x-fc-function-name", "my-func"},
    {"x-fc-function-handler", "index.handler"},
    {"x-fc-function-memory", "512"},
    {"x-fc-function-timeout", "30"},
    {"x-fc-region", "cn-hangzhou"},
    {"x-fc-account-id", "1234567890123456"},
    {"x-fc-qualifier", "LATEST"},
    {"x-fc-service-name", "my-service"},
    {"content-type", "application/octet-stream"},
};

TEST(fc_adapter, invoke_carries_the_body_and_fc_context) {
  const auto a = make();
  EXPECT_EQ(a->name(), "fc");
  const request req{.method = "POST",
                    .target = "/invoke",
                    .headers = fc_headers,
                    .body = std::string("\x00\x01raw", 5)};
  const auto before = system_clock::now();
  const dispatch d = a->on_request(req, "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.payload, std::string("\x00\x01raw", 5));
  EXPECT_EQ(d.inv.content_type, "application/octet-stream");
  EXPECT_EQ(d.inv.request_id, "a1b2c3d4-0000-1111-2222-333344445555");
  EXPECT_EQ(d.inv.function_arn, "acs:fc:cn-hangzhou:1234567890123456:functions/my-func");
  EXPECT_GE(d.inv.deadline, before + seconds(30));
  EXPECT_LE(d.inv.deadline, system_clock::now() + seconds(30));
  EXPECT_EQ(json::parse(d.inv.platform_context), json::parse(R"({"fc": {
      "requestId": "a1b2c3d4-0000-1111-2222-333344445555", "functionName": "my-func",
      "functionHandler": "index.handler", "memory": 512, "timeout": 30,
      "region": "cn-hangzhou", "accountId": "1234567890123456", "qualifier": "LATEST",
      "service": "my-service",
      "credentials": {"accessKeyId": "STS.ak", "accessKeySecret": "sk",
                      "securityToken": "token"}}})"));
}

TEST(fc_adapter, an_event_that_is_json_is_handed_on_as_json) {
  // FC labels every event application/octet-stream; AWS handlers expect JSON events decoded.
  const auto a = make();
  for (const std::string body : {R"({"action":"echo","value":[1,2.5,null]})", "\"text\"", "42"}) {
    const request req{.method = "POST", .target = "/invoke", .headers = fc_headers, .body = body};
    const dispatch d = a->on_request(req, "server-id");
    ASSERT_EQ(d.what, dispatch::kind::invoke);
    EXPECT_EQ(d.inv.payload, body);
    EXPECT_EQ(d.inv.content_type, "application/json") << body;
  }
  for (const std::string body : {"", "not json", R"({"a":1} trailing)"}) {
    const request req{.method = "POST", .target = "/invoke", .headers = fc_headers, .body = body};
    EXPECT_EQ(a->on_request(req, "server-id").inv.content_type, "application/octet-stream") << body;
  }
}

TEST(fc_adapter, invoke_falls_back_to_the_server_and_function_settings) {
  const auto a = make();
  const request req{.method = "POST",
                    .target = "/invoke",
                    .headers = {{"x-fc-function-timeout", "zero"}},
                    .body = "{}"};
  const auto before = system_clock::now();
  const dispatch d = a->on_request(req, "server-id");
  EXPECT_EQ(d.inv.request_id, "server-id");
  EXPECT_EQ(d.inv.function_arn, "acs:fc:cn-fallback:999:functions/fallback-fn");
  EXPECT_GE(d.inv.deadline, before + seconds(60));
  const json::value ctx = json::parse(d.inv.platform_context);
  EXPECT_EQ(ctx.at("fc").at("timeout"), 60);
  EXPECT_EQ(ctx.at("fc").at("memory"), 128);
  EXPECT_EQ(ctx.at("fc").at("credentials").at("accessKeyId"), "");
}

TEST(fc_adapter, invoke_answers) {
  const auto a = make();
  const request req{.method = "POST", .target = "/invoke", .headers = fc_headers};
  const dispatch d = a->on_request(req, "r");
  reply r = a->on_outcome(req, d.inv, outcome::success("result bytes", "text/plain"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "x-fc-status"), "200");
  EXPECT_EQ(header(r, "content-type"), "text/plain");
  EXPECT_EQ(r.body, "result bytes");

  const outcome failure = outcome::failure("ValueError", "boom", {"frame"});
  r = a->on_outcome(req, d.inv, failure);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(header(r, "x-fc-status"), "404");
  EXPECT_EQ(header(r, "x-fc-error-type"), "UnhandledInvocationError");
  EXPECT_EQ(header(r, "content-type"), "application/json");
  EXPECT_EQ(r.body, failure.payload());

  r = a->on_timeout(req, d.inv);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(header(r, "x-fc-status"), "404");
  const json::value body = json::parse(r.body);
  EXPECT_EQ(body.at("errorType"), "Sandbox.Timedout");
  EXPECT_EQ(body.at("errorMessage").as_string(),
            "RequestId: " + d.inv.request_id + " Error: Task timed out after 30.00 seconds");
}

TEST(fc_adapter, classifies_lifecycle_requests) {
  const auto a = make();
  struct row {
    const char* method;
    const char* target;
    header_list headers;
    dispatch::kind want;
  };
  const std::vector<row> rows = {
      {"POST", "/initialize", {}, dispatch::kind::initialize},
      {"GET", "/pre-stop", {}, dispatch::kind::pre_stop},
      {"GET", "/pre-freeze", {}, dispatch::kind::pre_freeze},
      {"POST", "/invoke", {}, dispatch::kind::invoke},
      // FC 2.0's control path decides when present: an HTTP function's own /initialize route.
      {"POST", "/initialize", {{"x-fc-control-path", "/http-invoke"}}, dispatch::kind::invoke},
      {"POST", "/anything", {{"X-Fc-Control-Path", "/initialize"}}, dispatch::kind::initialize},
      {"DELETE", "/pre-stop", {}, dispatch::kind::invoke},  // an HTTP trigger request
  };
  for (const auto& r : rows) {
    const request req{.method = r.method, .target = r.target, .headers = r.headers};
    EXPECT_EQ(a->on_request(req, "id").what, r.want) << r.method << " " << r.target;
  }
}

TEST(fc_adapter, hook_answers) {
  const auto a = make();
  const request req{.method = "POST", .target = "/initialize"};
  reply r = a->on_hook(req, dispatch::kind::initialize, nullptr);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "x-fc-status"), "200");

  const outcome failure = outcome::failure("Error", "init failed");
  r = a->on_hook(req, dispatch::kind::initialize, &failure);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(header(r, "x-fc-status"), "404");
  EXPECT_EQ(header(r, "x-fc-error-type"), "InitializationError");
  EXPECT_EQ(r.body, failure.payload());

  r = a->on_hook(request{.method = "GET", .target = "/pre-stop"}, dispatch::kind::pre_stop,
                 &failure);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(header(r, "x-fc-error-type"), "<absent>");

  r = a->on_init_error(request{.method = "POST", .target = "/invoke"}, failure);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(header(r, "x-fc-error-type"), "InitializationError");
  r = a->on_init_error(request{.method = "GET", .target = "/web"}, failure);
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.body, failure.payload());

  r = a->on_overload(req);
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(header(r, "retry-after"), "1");
}

TEST(fc_adapter, http_trigger_requests_become_api_gateway_events) {
  const auto a = make();
  header_list headers = fc_headers;
  headers.emplace_back("x-fc-base-path", "/2016-08-15/proxy/my-service/my-func/");
  headers.emplace_back("Accept", "text/html");
  headers.emplace_back("Host", "1234.cn-hangzhou.fc.aliyuncs.com");
  const request req{.method = "GET",
                    .target = "/2016-08-15/proxy/my-service/my-func/users/7?full=1",
                    .headers = headers};
  const dispatch d = a->on_request(req, "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.request_id, "a1b2c3d4-0000-1111-2222-333344445555");
  EXPECT_EQ(d.inv.content_type, "application/json");
  const json::value ev = json::parse(d.inv.payload);
  EXPECT_EQ(ev.at("rawPath"), "/users/7");
  EXPECT_EQ(ev.at("rawQueryString"), "full=1");
  EXPECT_EQ(ev.at("headers"), json::parse(R"({"content-type": "application/octet-stream",
      "accept": "text/html", "host": "1234.cn-hangzhou.fc.aliyuncs.com"})"));
  EXPECT_EQ(ev.at("requestContext").at("accountId"), "1234567890123456");
  EXPECT_EQ(ev.at("requestContext").at("requestId"), "a1b2c3d4-0000-1111-2222-333344445555");
  // The function's credentials reach HTTP functions too.
  EXPECT_EQ(json::parse(d.inv.platform_context).at("fc").at("credentials").at("securityToken"),
            "token");

  reply r = a->on_outcome(req, d.inv, outcome::success(R"({"statusCode":302,
      "headers":{"Location":"/x"}})"));
  EXPECT_EQ(r.status, 302u);
  EXPECT_EQ(header(r, "location"), "/x");
  EXPECT_EQ(header(r, "x-fc-status"), "<absent>");
  r = a->on_outcome(req, d.inv, outcome::failure("E", "m"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.body, R"({"message":"Internal Server Error"})");
  EXPECT_EQ(a->on_timeout(req, d.inv).status, 504u);
}

TEST(fc_adapter, http_trigger_cloud_events_keep_the_fc_context) {
  const auto a = make();
  const request req{.method = "POST",
                    .target = "/",
                    .headers = {{"ce-specversion", "1.0"},
                                {"ce-id", "9"},
                                {"x-fc-function-name", "f"},
                                {"content-type", "text/plain"}},
                    .body = "hi"};
  const dispatch d = a->on_request(req, "r");
  EXPECT_EQ(d.inv.payload, R"("hi")");
  const json::value ctx = json::parse(d.inv.platform_context);
  EXPECT_EQ(ctx.at("cloudevent").at("id"), "9");
  EXPECT_EQ(ctx.at("fc").at("functionName"), "f");
  EXPECT_EQ(a->on_outcome(req, d.inv, outcome::success("null")).status, 204u);
}

}  // namespace
}  // namespace lamella::push

namespace lamella::push {
namespace {

// Found by review of the fuzz target: the attributes of a structured event are nested as deep
// as the body allows; wrapping them in {"cloudevent": …} must not hit a JSON depth limit.
TEST(fc_adapter, deeply_nested_cloud_event_attributes_do_not_throw) {
  const auto a = make();
  std::string deep = R"({"specversion":"1.0","ext":)";
  deep += std::string(31, '[') + std::string(31, ']') + "}";
  const request req{.method = "POST",
                    .target = "/",
                    .headers = {{"content-type", "application/cloudevents+json"}},
                    .body = deep};
  dispatch d;
  ASSERT_NO_THROW(d = a->on_request(req, "r"));
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_NE(d.inv.platform_context.find(R"("fc":)"), std::string::npos);
}

TEST(fc_adapter, log_lines_are_fcs_invoke_and_initialize_markers) {
  const auto a = make();
  const request invoke{.method = "POST", .target = "/invoke", .headers = fc_headers};
  EXPECT_EQ(a->log_line(log_mark::invoke_start, invoke, "req-7"),
            "FC Invoke Start RequestId: req-7");
  EXPECT_EQ(a->log_line(log_mark::invoke_end, invoke, "req-7"), "FC Invoke End RequestId: req-7");
  // /initialize: the request's own x-fc-request-id.
  const request init{.method = "POST", .target = "/initialize", .headers = fc_headers};
  EXPECT_EQ(a->log_line(log_mark::initialize_start, init, ""),
            "FC Initialize Start RequestId: a1b2c3d4-0000-1111-2222-333344445555");
  EXPECT_EQ(a->log_line(log_mark::initialize_end, init, ""),
            "FC Initialize End RequestId: a1b2c3d4-0000-1111-2222-333344445555");
  // An id cannot break the line or forge another one.
  EXPECT_EQ(a->log_line(log_mark::invoke_start, invoke, "x\nFC Invoke End RequestId: y"),
            "FC Invoke Start RequestId: x?FC Invoke End RequestId: y");
}

TEST(http_adapter, prints_no_log_lines) {
  const auto a = make_http_adapter(http_options{});
  const request req{.method = "POST", .target = "/"};
  EXPECT_EQ(a->log_line(log_mark::invoke_start, req, "id"), "");
  EXPECT_EQ(a->log_line(log_mark::initialize_end, req, ""), "");
}

}  // namespace
}  // namespace lamella::push
