// The `http` adapter: classification, invocations and answers.
#include "adapter_test_support.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cctype>

namespace lamella::push {
namespace {

using test_support::header;
namespace json = boost::json;

std::unique_ptr<adapter> make() {
  http_options options;
  options.function.name = "hello";
  options.function.region = "eu-west-1";
  options.function.account_id = "123456789012";
  return make_http_adapter(options);
}

TEST(http_adapter, answers_health_checks_without_the_handler) {
  const auto a = make();
  EXPECT_EQ(a->name(), "http");
  for (const char* target : {"/_/health", "/healthz", "/healthz?probe=1"}) {
    const dispatch d = a->on_request(request{.method = "GET", .target = target}, "rid");
    EXPECT_EQ(d.what, dispatch::kind::reply_now) << target;
    EXPECT_EQ(d.immediate.status, 200u);
    EXPECT_EQ(d.immediate.body, "OK");
  }
  http_options custom;
  custom.health_path = "/ready";
  const auto b = make_http_adapter(custom);
  EXPECT_EQ(b->on_request(request{.method = "GET", .target = "/ready"}, "r").what,
            dispatch::kind::reply_now);
  EXPECT_EQ(b->on_request(request{.method = "GET", .target = "/_/health"}, "r").what,
            dispatch::kind::invoke);
}

TEST(http_adapter, turns_a_request_into_an_api_gateway_event) {
  const auto a = make();
  const request req{.method = "POST",
                    .target = "/orders?id=7",
                    .headers = {{"Host", "hello.default.example.com"},
                                {"Content-Type", "application/json"},
                                {"X-Amzn-Trace-Id", "Root=1-abc"}},
                    .body = R"({"n":1})",
                    .remote_address = "192.0.2.1"};
  const dispatch d = a->on_request(req, "req-1");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.request_id, "req-1");
  EXPECT_EQ(d.inv.function_arn, "arn:aws:lambda:eu-west-1:123456789012:function:hello");
  EXPECT_EQ(d.inv.content_type, "application/json");
  EXPECT_EQ(d.inv.trace_id, "Root=1-abc");
  EXPECT_TRUE(d.inv.platform_context.empty());
  EXPECT_EQ(d.inv.deadline, std::chrono::system_clock::time_point{});  // the server sets it
  const json::value ev = json::parse(d.inv.payload);
  EXPECT_EQ(ev.at("rawPath"), "/orders");
  EXPECT_EQ(ev.at("queryStringParameters").at("id"), "7");
  EXPECT_EQ(ev.at("body"), R"({"n":1})");
  EXPECT_EQ(ev.at("requestContext").at("requestId"), "req-1");
  EXPECT_EQ(ev.at("requestContext").at("accountId"), "123456789012");
  EXPECT_EQ(ev.at("requestContext").at("domainPrefix"), "hello");
  EXPECT_EQ(ev.at("requestContext").at("http").at("method"), "POST");
  EXPECT_EQ(ev.at("requestContext").at("http").at("sourceIp"), "192.0.2.1");
}

TEST(http_adapter, maps_results_and_function_errors) {
  const auto a = make();
  const request req{.method = "GET", .target = "/"};
  const dispatch d = a->on_request(req, "r");
  reply r = a->on_outcome(req, d.inv, outcome::success(R"({"statusCode":418,"body":"teapot"})"));
  EXPECT_EQ(r.status, 418u);
  EXPECT_EQ(r.body, "teapot");
  r = a->on_outcome(req, d.inv, outcome::failure("ValueError", "boom"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.body, R"({"message":"Internal Server Error"})");
  EXPECT_EQ(header(r, "content-type"), "application/json");
}

TEST(http_adapter, answers_name_the_invocations_request_id) {
  const auto a = make();
  const request req{.method = "GET", .target = "/"};
  const dispatch d = a->on_request(req, "req-42");
  EXPECT_EQ(
      header(a->on_outcome(req, d.inv, outcome::success(R"({"ok":true})")), "x-amzn-RequestId"),
      "req-42");
  EXPECT_EQ(header(a->on_outcome(req, d.inv, outcome::failure("E", "m")), "x-amzn-requestid"),
            "req-42");
  EXPECT_EQ(header(a->on_timeout(req, d.inv), "x-amzn-RequestId"), "req-42");
  // A header of that name the handler returned wins (and is not doubled).
  const reply own = a->on_outcome(
      req, d.inv,
      outcome::success(R"({"statusCode":200,"headers":{"X-Amzn-RequestId":"mine"},"body":""})"));
  EXPECT_EQ(header(own, "x-amzn-requestid"), "mine");
  int count = 0;
  for (const auto& entry : own.headers) {
    std::string lower = entry.first;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    count += lower == "x-amzn-requestid" ? 1 : 0;
  }
  EXPECT_EQ(count, 1);
  // CloudEvents too.
  const request ce{.method = "POST",
                   .target = "/",
                   .headers = {{"ce-specversion", "1.0"},
                               {"ce-id", "1"},
                               {"ce-source", "s"},
                               {"ce-type", "t"},
                               {"content-type", "application/json"}},
                   .body = "{}"};
  const dispatch cd = a->on_request(ce, "req-43");
  EXPECT_EQ(header(a->on_outcome(ce, cd.inv, outcome::success("{}")), "x-amzn-RequestId"),
            "req-43");
}

TEST(http_adapter, cloud_events_give_data_as_event_and_attributes_as_context) {
  const auto a = make();
  const request req{.method = "POST",
                    .target = "/",
                    .headers = {{"ce-specversion", "1.0"},
                                {"ce-id", "1"},
                                {"ce-type", "t"},
                                {"ce-source", "/s"},
                                {"content-type", "application/json"}},
                    .body = R"({"x":1})"};
  const dispatch d = a->on_request(req, "r");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.payload, R"({"x":1})");
  EXPECT_EQ(json::parse(d.inv.platform_context).at("cloudevent").at("type"), "t");

  reply r = a->on_outcome(req, d.inv, outcome::success(R"({"y":2})"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"y":2})");
  r = a->on_outcome(req, d.inv, outcome::success("null"));
  EXPECT_EQ(r.status, 204u);
  const outcome failure = outcome::failure("TypeError", "bad");
  r = a->on_outcome(req, d.inv, failure);
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.body, failure.payload());
}

TEST(http_adapter, rejects_malformed_structured_cloud_events) {
  const auto a = make();
  const request req{.method = "POST",
                    .target = "/",
                    .headers = {{"content-type", "application/cloudevents+json"}},
                    .body = "[]"};
  const dispatch d = a->on_request(req, "r");
  EXPECT_EQ(d.what, dispatch::kind::reply_now);
  EXPECT_EQ(d.immediate.status, 400u);
}

TEST(http_adapter, overload_timeout_and_init_error_answers) {
  const auto a = make();
  const request req{.method = "GET", .target = "/"};
  reply r = a->on_overload(req);
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(header(r, "retry-after"), "1");
  r = a->on_timeout(req, invocation{});
  EXPECT_EQ(r.status, 504u);
  const outcome init = outcome::failure("Runtime.ImportModuleError", "no module");
  r = a->on_init_error(req, init);
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.body, init.payload());
  EXPECT_EQ(header(r, "content-type"), "application/json");
}

}  // namespace
}  // namespace lamella::push
