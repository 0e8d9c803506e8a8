// The `azure` adapter: the Functions host's requests (shapes from platform-contracts.md §9 and
// the host's HttpScriptInvocationContext / GetRequestAsJObject), classification and answers.
#include "adapter_test_support.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace lamella::push {
namespace {

using test_support::header;
namespace json = boost::json;
using std::chrono::seconds;

std::unique_ptr<adapter> make() {
  azure_options options;
  options.function.name = "app";
  options.function.timeout = seconds(30);
  return make_azure_adapter(options);
}

const header_list host_headers = {
    {"Content-Type", "application/json"},
    {"X-Azure-Functions-InvocationId", "3f1c5a4e-0000-4000-8000-0123456789ab"},
    {"X-Azure-Functions-HostVersion", "4.1036.1"},
    {"User-Agent", "Azure-Functions-Host/4.1036.1"},
};

request payload_request(std::string target, std::string body) {
  return request{.method = "POST",
                 .target = std::move(target),
                 .headers = host_headers,
                 .body = std::move(body),
                 .remote_address = "127.0.0.1"};
}

// What Azure's HTTP trigger puts into Data (GetRequestAsJObject): Url with the query, Method,
// Query, Headers (name -> array), Params (route values), Body.
constexpr std::string_view http_trigger_payload = R"({
  "Data": {"req": {
    "Url": "https://myapp.azurewebsites.net/api/orders/42?expand=items&expand=notes",
    "Method": "POST",
    "Query": "{\"expand\":\"items,notes\"}",
    "Headers": {"Content-Type": ["application/json"], "Host": ["myapp.azurewebsites.net"],
                "X-Tag": ["a", "b"], "User-Agent": ["curl/8.5.0"]},
    "Params": {"id": "42"},
    "Identities": "[]",
    "Body": "{\"qty\":3}"}},
  "Metadata": {"id": "42", "sys": {"MethodName": "orders", "UtcNow": "2026-11-30T12:00:00Z",
               "RandGuid": "r"}}})";

TEST(azure_adapter, answers_the_readiness_poll_at_once) {
  const auto a = make();
  EXPECT_EQ(a->name(), "azure");
  for (const char* method : {"GET", "HEAD"}) {
    const dispatch d = a->on_request(request{.method = method, .target = "/"}, "rid");
    ASSERT_EQ(d.what, dispatch::kind::reply_now) << method;
    EXPECT_EQ(d.immediate.status, 200u);
  }
}

TEST(azure_adapter, a_queue_trigger_gives_the_handler_the_message) {
  const auto a = make();
  const dispatch d =
      a->on_request(payload_request("/QueueTrigger", R"({"Data": {"myQueueItem": {"order": 7}},
          "Metadata": {"DequeueCount": 1, "Id": "m-1", "sys": {"MethodName": "QueueTrigger"}}})"),
                    "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(json::parse(d.inv.payload), json::parse(R"({"order": 7})"));
  EXPECT_EQ(d.inv.content_type, "application/json");
  EXPECT_EQ(d.inv.request_id, "3f1c5a4e-0000-4000-8000-0123456789ab");
  EXPECT_EQ(json::parse(d.inv.platform_context), json::parse(R"({"azure": {
      "functionName": "QueueTrigger", "invocationId": "3f1c5a4e-0000-4000-8000-0123456789ab",
      "metadata": {"DequeueCount": 1, "Id": "m-1", "sys": {"MethodName": "QueueTrigger"}}}})"));
  // A string message stays a string; no Metadata is an empty object.
  const dispatch s =
      a->on_request(payload_request("/q", R"({"Data": {"msg": "plain text"}})"), "server-id");
  ASSERT_EQ(s.what, dispatch::kind::invoke);
  EXPECT_EQ(s.inv.payload, R"("plain text")");
  EXPECT_EQ(json::parse(s.inv.platform_context).at("azure").at("metadata"), json::object());
}

TEST(azure_adapter, several_inputs_give_the_whole_data_object) {
  const auto a = make();
  const dispatch d = a->on_request(
      payload_request("/Copy", R"({"Data": {"item": "x", "blob": "aGVsbG8="}, "Metadata": {}})"),
      "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(json::parse(d.inv.payload), json::parse(R"({"item": "x", "blob": "aGVsbG8="})"));
  // Empty Data: the empty object.
  const dispatch e = a->on_request(payload_request("/Timer", R"({"Data": {}})"), "server-id");
  ASSERT_EQ(e.what, dispatch::kind::invoke);
  EXPECT_EQ(e.inv.payload, "{}");
}

TEST(azure_adapter, without_the_invocation_id_the_server_id_is_used) {
  const auto a = make();
  const dispatch d = a->on_request(request{.method = "POST",
                                           .target = "/fn",
                                           .headers = {{"Content-Type", "application/json"}},
                                           .body = R"({"Data": {"x": 1}})"},
                                   "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.request_id, "server-id");
  EXPECT_EQ(json::parse(d.inv.platform_context).at("azure").at("invocationId"), "server-id");
}

TEST(azure_adapter, an_event_result_is_the_return_value) {
  const auto a = make();
  const request req = payload_request("/q", R"({"Data": {"item": 1}, "Metadata": {}})");
  const dispatch d = a->on_request(req, "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  reply r = a->on_outcome(req, d.inv, outcome::success(R"({"ok":true,"n":[1,2]})"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "content-type"), "application/json");
  EXPECT_EQ(
      json::parse(r.body),
      json::parse(R"({"Outputs": {}, "Logs": [], "ReturnValue": {"ok": true, "n": [1, 2]}})"));
  r = a->on_outcome(req, d.inv, outcome::success("null"));
  EXPECT_EQ(json::parse(r.body).at("ReturnValue"), nullptr);
  // A C++ handler's raw bytes: a string (base64 when they are not UTF-8).
  r = a->on_outcome(req, d.inv, outcome::success("plain bytes", "text/plain"));
  EXPECT_EQ(json::parse(r.body).at("ReturnValue"), "plain bytes");
  r = a->on_outcome(req, d.inv, outcome::success(std::string("\xff\x00", 2), "image/png"));
  EXPECT_EQ(json::parse(r.body).at("ReturnValue"), "/wA=");
}

TEST(azure_adapter, metadata_nested_to_the_limit_still_answers_as_a_payload_invocation) {
  const auto a = make();
  // The body nests to the mappings' limit; the context holds Metadata two levels deeper.
  const std::size_t levels = detail::max_json_depth - 1;
  const request req =
      payload_request("/q", R"({"Data": {"item": 1}, "Metadata": )" + std::string(levels, '[') +
                                std::string(levels, ']') + "}");
  const dispatch d = a->on_request(req, "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.payload, "1");
  const reply r = a->on_outcome(req, d.inv, outcome::success("2"));
  EXPECT_EQ(r.body, R"({"Outputs":{},"Logs":[],"ReturnValue":2})");
}

TEST(azure_adapter, a_function_error_is_a_500_with_the_error_json) {
  const auto a = make();
  const request req = payload_request("/q", R"({"Data": {"item": 1}, "Metadata": {}})");
  const dispatch d = a->on_request(req, "server-id");
  const reply r = a->on_outcome(req, d.inv, outcome::failure("InvalidInput", "bad input"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(header(r, "content-type"), "application/json");
  const json::value body = json::parse(r.body);
  EXPECT_EQ(body.at("errorType"), "InvalidInput");
  EXPECT_EQ(body.at("errorMessage"), "bad input");
}

TEST(azure_adapter, an_http_trigger_payload_becomes_an_api_gateway_event) {
  const auto a = make();
  const dispatch d =
      a->on_request(payload_request("/orders", std::string(http_trigger_payload)), "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  const json::value ev = json::parse(d.inv.payload);
  EXPECT_EQ(ev.at("version"), "2.0");
  EXPECT_EQ(ev.at("rawPath"), "/api/orders/42");
  EXPECT_EQ(ev.at("rawQueryString"), "expand=items&expand=notes");
  EXPECT_EQ(ev.at("queryStringParameters"), json::parse(R"({"expand": "items,notes"})"));
  EXPECT_EQ(ev.at("headers").at("x-tag"), "a,b");
  EXPECT_EQ(ev.at("headers").at("content-type"), "application/json");
  EXPECT_EQ(ev.at("pathParameters"), json::parse(R"({"id": "42"})"));
  EXPECT_EQ(ev.at("body"), R"({"qty":3})");
  EXPECT_EQ(ev.at("isBase64Encoded"), false);
  const json::value& http = ev.at("requestContext").at("http");
  EXPECT_EQ(http.at("method"), "POST");
  EXPECT_EQ(http.at("path"), "/api/orders/42");
  EXPECT_EQ(http.at("userAgent"), "curl/8.5.0");
  EXPECT_EQ(ev.at("requestContext").at("domainName"), "myapp.azurewebsites.net");
  EXPECT_EQ(ev.at("requestContext").at("requestId"), "3f1c5a4e-0000-4000-8000-0123456789ab");
  const json::value context = json::parse(d.inv.platform_context);
  EXPECT_EQ(context.at("azure").at("functionName"), "orders");
  EXPECT_EQ(context.at("azure").at("httpTrigger"), "req");
  EXPECT_EQ(context.at("azure").at("metadata").at("id"), "42");
  EXPECT_FALSE(context.at("azure").as_object().contains("inputs"));
}

TEST(azure_adapter, an_http_trigger_result_goes_into_outputs_res) {
  const auto a = make();
  const request req = payload_request("/orders", std::string(http_trigger_payload));
  const dispatch d = a->on_request(req, "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  reply r = a->on_outcome(req, d.inv, outcome::success(R"({"statusCode": 201,
      "headers": {"Location": "/api/orders/43"}, "cookies": ["a=1", "b=2"],
      "body": "{\"id\":43}"})"));
  EXPECT_EQ(r.status, 200u);  // the HTTP status travels inside Outputs.res
  json::value body = json::parse(r.body);
  const json::value want = json::parse(R"({"statusCode": 201, "status": 201,
      "headers": {"Location": "/api/orders/43", "Set-Cookie": "a=1, b=2",
                  "Content-Type": "application/json"},
      "body": "{\"id\":43}"})");
  EXPECT_EQ(body.at("Outputs").at("res"), want);
  EXPECT_EQ(body.at("ReturnValue"), want);
  EXPECT_EQ(body.at("Logs"), json::array());
  // A bare value is API Gateway's 200 application/json.
  r = a->on_outcome(req, d.inv, outcome::success(R"("hello")"));
  body = json::parse(r.body);
  EXPECT_EQ(body.at("Outputs").at("res").at("statusCode"), 200);
  EXPECT_EQ(body.at("Outputs").at("res").at("body"), "hello");
  // A function error fails the invocation: the host answers the client with its own 500.
  r = a->on_outcome(req, d.inv, outcome::failure("TypeError", "boom"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(json::parse(r.body).at("errorType"), "TypeError");
}

TEST(azure_adapter, binary_http_trigger_bodies_arrive_as_base64_and_stay_bytes) {
  const auto a = make();
  // The host sends octet-stream and multipart bodies as bytes (base64 in JSON).
  const dispatch d = a->on_request(payload_request("/upload", R"({"Data": {"req": {
      "Url": "http://localhost:7071/api/upload", "Method": "PUT",
      "Headers": {"Content-Type": ["application/octet-stream"]},
      "Body": "AAH/"}}, "Metadata": {}})"),
                                   "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  const json::value ev = json::parse(d.inv.payload);
  EXPECT_EQ(ev.at("body"), "AAH/");
  EXPECT_EQ(ev.at("isBase64Encoded"), true);
  EXPECT_EQ(ev.at("requestContext").at("domainName"), "localhost:7071");  // from the Url
  EXPECT_FALSE(ev.as_object().contains("pathParameters"));
}

TEST(azure_adapter, other_inputs_beside_an_http_request_go_into_the_context) {
  const auto a = make();
  const dispatch d =
      a->on_request(payload_request("/lookup", R"({"Data": {"req": {"Url": "http://h/api/lookup",
          "Method": "GET", "Headers": {}}, "row": {"name": "x"}}, "Metadata": {}})"),
                    "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(json::parse(d.inv.payload).at("rawPath"), "/api/lookup");
  EXPECT_EQ(json::parse(d.inv.platform_context).at("azure").at("inputs"),
            json::parse(R"({"row": {"name": "x"}})"));
}

TEST(azure_adapter, a_forwarded_request_is_mapped_as_the_http_adapter_maps_it) {
  const auto a = make();
  header_list headers = {{"Host", "myapp.azurewebsites.net"},
                         {"Content-Type", "application/json"},
                         {"X-Azure-Functions-InvocationId", "fwd-1"}};
  // A pass-through request keeps its /api path; a POST to one segment with a body that is not a
  // payload ({Data: {...}}) is a forwarded request as well.
  for (const auto& [method, target, body] :
       {std::tuple{"GET", "/api/hello?name=x", ""}, std::tuple{"POST", "/api/q", R"({"Data":{}})"},
        std::tuple{"POST", "/hello", R"({"name":"x"})"}, std::tuple{"POST", "/hello", "[1]"},
        std::tuple{"POST", "/hello", R"({"Data": "not an object"})"},
        std::tuple{"PUT", "/hello", R"({"Data": {}})"}}) {
    const request req{.method = method, .target = target, .headers = headers, .body = body};
    const dispatch d = a->on_request(req, "server-id");
    ASSERT_EQ(d.what, dispatch::kind::invoke) << target;
    const json::value ev = json::parse(d.inv.payload);
    EXPECT_EQ(ev.at("version"), "2.0") << target << " " << body;
    EXPECT_EQ(ev.at("requestContext").at("http").at("method"), method);
    EXPECT_EQ(d.inv.request_id, "fwd-1");
    EXPECT_EQ(json::parse(d.inv.platform_context),
              json::parse(R"({"azure": {"invocationId": "fwd-1"}})"));
    // API Gateway's rules for the answer.
    reply r =
        a->on_outcome(req, d.inv, outcome::success(R"({"statusCode": 418, "body": "teapot"})"));
    EXPECT_EQ(r.status, 418u);
    EXPECT_EQ(r.body, "teapot");
    r = a->on_outcome(req, d.inv, outcome::failure("Error", "boom"));
    EXPECT_EQ(r.status, 500u);
    EXPECT_EQ(r.body, R"({"message":"Internal Server Error"})");
    r = a->on_timeout(req, d.inv);
    EXPECT_EQ(r.status, 504u);
    EXPECT_EQ(r.body, R"({"message":"Endpoint request timed out"})");
  }
  // Without the host's header the server's id stands and there is no context.
  const dispatch plain = a->on_request(request{.method = "GET", .target = "/api/x"}, "server-id");
  EXPECT_EQ(plain.inv.request_id, "server-id");
  EXPECT_TRUE(plain.inv.platform_context.empty());
}

TEST(azure_adapter, timeouts_overload_and_init_errors_are_failures_for_the_host) {
  const auto a = make();
  const request req = payload_request("/q", R"({"Data": {"item": 1}, "Metadata": {}})");
  const dispatch d = a->on_request(req, "server-id");
  reply r = a->on_timeout(req, d.inv);
  EXPECT_EQ(r.status, 504u);
  const json::value body = json::parse(r.body);
  EXPECT_EQ(body.at("errorType"), "Sandbox.Timedout");
  EXPECT_EQ(body.at("errorMessage"),
            "RequestId: 3f1c5a4e-0000-4000-8000-0123456789ab Error: Task timed out after 30.00 "
            "seconds");
  r = a->on_overload(req);
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(header(r, "retry-after"), "1");
  r = a->on_init_error(request{.method = "GET", .target = "/"},
                       outcome::failure("Runtime.ImportModuleError", "no module"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(json::parse(r.body).at("errorType"), "Runtime.ImportModuleError");
}

}  // namespace
}  // namespace lamella::push
