// The `fn` adapter: the Fn agent's `POST /call` (headers as the agent and fdk-go name them, see
// platform-contracts.md §12), plain and HTTP-trigger calls, and the 200/502/504 answers.
#include "adapter_test_support.h"

#include "lamella/version.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace lamella::push {
namespace {

using test_support::header;
using test_support::with;
namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::system_clock;

std::unique_ptr<adapter> make() {
  fn_options options;
  options.function.name = "hello";
  options.function.timeout = std::chrono::seconds(30);
  return make_fn_adapter(options);
}

request call(std::string body, header_list extra = {}) {
  return request{.method = "POST",
                 .target = "/call",
                 .headers = with({{"Fn-Call-Id", "01JCALL0000000000000000000"},
                                  {"Fn-Deadline", "2026-11-30T12:00:00.123Z"},
                                  {"Content-Type", "application/json"}},
                                 std::move(extra)),
                 .body = std::move(body)};
}

system_clock::time_point utc(int y, unsigned m, unsigned d, int hh, int mm, int ss, int ms) {
  return std::chrono::time_point_cast<system_clock::duration>(
      std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d)) +
      std::chrono::hours(hh) + std::chrono::minutes(mm) + std::chrono::seconds(ss) +
      milliseconds(ms));
}

TEST(fn_adapter, a_plain_call_carries_the_body_the_call_id_and_the_deadline) {
  const auto a = make();
  EXPECT_EQ(a->name(), "fn");
  const dispatch d = a->on_request(call(R"({"name":"fn"})", {{"X-Caller", "yes"}}), "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.payload, R"({"name":"fn"})");
  EXPECT_EQ(d.inv.content_type, "application/json");
  EXPECT_EQ(d.inv.request_id, "01JCALL0000000000000000000");
  EXPECT_EQ(d.inv.deadline, utc(2026, 11, 30, 12, 0, 0, 123));
  const auto context = json::parse(d.inv.platform_context).at("fn").as_object();
  EXPECT_EQ(context.at("callId"), "01JCALL0000000000000000000");
  EXPECT_EQ(context.at("deadline"), "2026-11-30T12:00:00.123Z");
  EXPECT_EQ(context.at("headers").at("x-caller"), "yes");
  EXPECT_FALSE(context.contains("intent"));
}

TEST(fn_adapter, events_that_are_not_json_become_strings_and_empty_is_null) {
  const auto a = make();
  EXPECT_EQ(a->on_request(call("plain text"), "id").inv.payload, R"("plain text")");
  EXPECT_EQ(a->on_request(call(""), "id").inv.payload, "null");
  const dispatch binary = a->on_request(call(std::string("\xff\x00\x01", 3)), "id");
  EXPECT_EQ(binary.inv.payload, R"("/wAB")");
  EXPECT_EQ(json::parse(binary.inv.platform_context).at("fn").at("isBase64Encoded"), true);
}

TEST(fn_adapter, without_a_call_id_the_servers_id_is_used_and_a_bad_deadline_is_ignored) {
  const auto a = make();
  const request req{
      .method = "POST", .target = "/call", .headers = {{"Fn-Deadline", "tomorrow"}}, .body = "{}"};
  const dispatch d = a->on_request(req, "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.request_id, "server-id");
  EXPECT_EQ(d.inv.deadline, system_clock::time_point{});  // the server applies the timeout
}

TEST(fn_adapter, other_paths_and_methods_are_answered_404_without_the_handler) {
  const auto a = make();
  for (const auto& [method, target] :
       {std::pair{"GET", "/call"}, std::pair{"POST", "/"}, std::pair{"POST", "/invoke"}}) {
    const dispatch d = a->on_request({.method = method, .target = target}, "id");
    ASSERT_EQ(d.what, dispatch::kind::reply_now) << method << " " << target;
    EXPECT_EQ(d.immediate.status, 404U);
    EXPECT_EQ(header(d.immediate, "Fn-Fdk-Version"), "lamella/" LAMELLA_VERSION);
  }
}

TEST(fn_adapter, results_are_200_errors_502_timeouts_504) {
  const auto a = make();
  const request req = call("{}");
  const dispatch d = a->on_request(req, "id");
  const reply ok = a->on_outcome(req, d.inv, outcome::success(R"({"a":1})", "application/json"));
  EXPECT_EQ(ok.status, 200U);
  EXPECT_EQ(ok.body, R"({"a":1})");
  EXPECT_EQ(header(ok, "Content-Type"), "application/json");
  EXPECT_EQ(header(ok, "Fn-Fdk-Version"), "lamella/" LAMELLA_VERSION);
  EXPECT_EQ(header(ok, "Fn-Http-Status"), "<absent>");

  const auto failure = outcome::failure("ValueError", "bad");
  const reply failed = a->on_outcome(req, d.inv, failure);
  EXPECT_EQ(failed.status, 502U);
  EXPECT_EQ(json::parse(failed.body).at("errorType"), "ValueError");

  const reply init = a->on_init_error(req, outcome::failure("Runtime.ImportModuleError", "x"));
  EXPECT_EQ(init.status, 502U);
  EXPECT_EQ(json::parse(init.body).at("errorType"), "Runtime.ImportModuleError");

  const reply timeout = a->on_timeout(req, d.inv);
  EXPECT_EQ(timeout.status, 504U);
  EXPECT_EQ(json::parse(timeout.body).at("errorType"), "Sandbox.Timedout");

  // Never a status that makes the agent kill a healthy container.
  EXPECT_EQ(a->on_overload(req).status, 502U);
}

const header_list trigger_headers = {
    {"Fn-Call-Id", "01JHTTP"},
    {"Fn-Deadline", "2026-11-30T12:00:30+01:00"},
    {"Fn-Intent", "httprequest"},
    {"Fn-Http-Method", "PUT"},
    {"Fn-Http-Request-Url", "http://fn.example.com:8080/t/app/items/7?x=1&y=two"},
    {"Fn-Http-H-Accept", "text/plain"},
    {"Fn-Http-H-Cookie", "a=1; b=2"},
    {"Fn-Http-H-X-Forwarded-For", "203.0.113.9"},
    {"Content-Type", "text/plain"},
    {"Fn-Caller-Only", "not an HTTP header of the client"},
};

TEST(fn_adapter, an_http_trigger_call_is_unwrapped_into_an_api_gateway_event) {
  const auto a = make();
  const request req{
      .method = "POST", .target = "/call", .headers = trigger_headers, .body = "payload"};
  const dispatch d = a->on_request(req, "id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.request_id, "01JHTTP");
  EXPECT_EQ(d.inv.deadline, utc(2026, 11, 30, 11, 0, 30, 0));
  const auto event = json::parse(d.inv.payload).as_object();
  EXPECT_EQ(event.at("version"), "2.0");
  EXPECT_EQ(event.at("rawPath"), "/t/app/items/7");
  EXPECT_EQ(event.at("rawQueryString"), "x=1&y=two");
  EXPECT_EQ(event.at("queryStringParameters").at("y"), "two");
  const auto& headers = event.at("headers").as_object();
  EXPECT_EQ(headers.at("accept"), "text/plain");
  EXPECT_EQ(headers.at("content-type"), "text/plain");
  EXPECT_EQ(headers.at("host"), "fn.example.com:8080");
  EXPECT_FALSE(headers.contains("fn-call-id"));
  EXPECT_FALSE(headers.contains("fn-caller-only"));
  EXPECT_EQ(event.at("cookies").as_array().size(), 2U);
  const auto& http = event.at("requestContext").at("http");
  EXPECT_EQ(http.at("method"), "PUT");
  EXPECT_EQ(http.at("sourceIp"), "203.0.113.9");
  EXPECT_EQ(event.at("requestContext").at("requestId"), "01JHTTP");
  EXPECT_EQ(event.at("body"), "payload");
  EXPECT_EQ(event.at("isBase64Encoded"), false);
  EXPECT_EQ(json::parse(d.inv.platform_context).at("fn").at("intent"), "httprequest");
}

TEST(fn_adapter, an_http_trigger_result_is_wrapped_in_fn_http_headers) {
  const auto a = make();
  const request req{.method = "POST", .target = "/call", .headers = trigger_headers};
  const dispatch d = a->on_request(req, "id");
  const reply r = a->on_outcome(
      req, d.inv,
      outcome::success(
          R"({"statusCode":201,"headers":{"content-type":"text/html","x-custom":"c"},"cookies":["s=1","t=2"],"body":"<p>made</p>"})",
          "application/json"));
  EXPECT_EQ(r.status, 200U);  // the agent's status; the client's is in Fn-Http-Status
  EXPECT_EQ(header(r, "Fn-Http-Status"), "201");
  EXPECT_EQ(header(r, "Content-Type"), "text/html");
  EXPECT_EQ(header(r, "Fn-Http-H-x-custom"), "c");
  int cookies = 0;
  for (const auto& [name, value] : r.headers) {
    if (detail::iequals(name, "Fn-Http-H-Set-Cookie")) ++cookies;
    EXPECT_FALSE(detail::iequals(name, "x-custom")) << "unwrapped header " << name;
  }
  EXPECT_EQ(cookies, 2);
  EXPECT_EQ(r.body, "<p>made</p>");

  // A plain value is API Gateway's 200 JSON answer.
  const reply plain = a->on_outcome(req, d.inv, outcome::success(R"({"a":1})", "application/json"));
  EXPECT_EQ(header(plain, "Fn-Http-Status"), "200");
  EXPECT_EQ(header(plain, "Content-Type"), "application/json");
  EXPECT_EQ(plain.body, R"({"a":1})");

  // A function error is the agent's 502, whatever the trigger.
  EXPECT_EQ(a->on_outcome(req, d.inv, outcome::failure("Error", "x")).status, 502U);
}

TEST(fn_adapter, rfc3339_deadlines_parse_with_fractions_and_offsets) {
  using detail::parse_rfc3339;
  EXPECT_EQ(parse_rfc3339("2026-11-30T12:00:00Z"), utc(2026, 11, 30, 12, 0, 0, 0));
  EXPECT_EQ(parse_rfc3339("2026-11-30t12:00:00.5z"), utc(2026, 11, 30, 12, 0, 0, 500));
  EXPECT_EQ(parse_rfc3339("2026-11-30T12:00:00.123456789-02:30"),
            utc(2026, 11, 30, 14, 30, 0, 123) + std::chrono::nanoseconds(456789));
  for (const char* bad : {"", "2026-11-30", "2026-11-30T12:00:00", "2026-02-30T12:00:00Z",
                          "2026-11-30T25:00:00Z", "2026-11-30T12:00:00.Z", "2026-11-30T12:00:00+1",
                          "2026-11-30 12:00:00Z", "2026-11-30T12:00:00Zjunk"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

}  // namespace
}  // namespace lamella::push
