// The answers and mappings several push adapters share (http_event.h, "answers and mappings
// several adapters share"): their exact statuses, headers and bodies, which each platform's
// behaviour depends on.
#include "server/http_event.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

namespace lamella::push::detail {
namespace {

namespace json = boost::json;

std::string header(const reply& r, std::string_view name) {
  return std::string(find_header(r.headers, name).value_or(""));
}

TEST(adapter_replies, overload_is_503_with_retry_after) {
  const reply r = overload_reply();
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(header(r, "Retry-After"), "1");
  EXPECT_EQ(r.body, R"({"message":"Service Unavailable"})");
}

TEST(adapter_replies, gateway_timeout_is_api_gateways_504) {
  const reply r = gateway_timeout_reply();
  EXPECT_EQ(r.status, 504u);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(r.body, R"({"message":"Endpoint request timed out"})");
}

TEST(adapter_replies, timeout_error_body_names_the_request_and_whole_seconds) {
  EXPECT_EQ(timeout_error_body("id-1", std::chrono::milliseconds(3500)),
            R"({"errorType":"Sandbox.Timedout","errorMessage":)"
            R"("RequestId: id-1 Error: Task timed out after 3.00 seconds"})");
  // An id that is not UTF-8 still gives a valid JSON document.
  EXPECT_NO_THROW((void)json::parse(timeout_error_body("\xff", std::chrono::seconds(1))));
}

TEST(adapter_replies, failure_and_hook_replies_carry_the_error_json) {
  const outcome failure = outcome::failure("ValueError", "boom");
  const reply r = failure_reply(failure);
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(r.body, failure.payload());
  EXPECT_EQ(failure_reply(failure, 502).status, 502u);
  EXPECT_EQ(plain_hook_reply(&failure).body, failure.payload());
  const reply ok = plain_hook_reply(nullptr);
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(header(ok, "Content-Type"), "text/plain");
  EXPECT_EQ(ok.body, "OK");
}

TEST(adapter_replies, event_content_type_is_json_only_for_one_json_document) {
  EXPECT_EQ(event_content_type(R"({"a":1})"), "application/json");
  EXPECT_EQ(event_content_type("42"), "application/json");
  EXPECT_EQ(event_content_type("not json"), "application/octet-stream");
  EXPECT_EQ(event_content_type(""), "application/octet-stream");
}

TEST(adapter_replies, text_or_base64_json_flags_only_binary_bytes) {
  bool base64 = false;
  EXPECT_EQ(text_or_base64_json("h\"i", base64), R"("h\"i")");
  EXPECT_FALSE(base64);
  EXPECT_EQ(text_or_base64_json("\xff\xfe", base64), R"("//4=")");
  EXPECT_TRUE(base64);
}

TEST(adapter_replies, positive_header_takes_positive_integers_only) {
  const request req{.headers = {{"X-A", "30"}, {"X-Zero", "0"}, {"X-Bad", "3s"}}};
  EXPECT_EQ(positive_header(req, "x-a"), 30u);
  EXPECT_EQ(positive_header(req, "X-Zero"), std::nullopt);
  EXPECT_EQ(positive_header(req, "X-Bad"), std::nullopt);
  EXPECT_EQ(positive_header(req, "X-Absent"), std::nullopt);
}

TEST(adapter_replies, to_lower_ascii_lowers_only_ascii_letters) {
  EXPECT_EQ(to_lower_ascii("X-Fission-Params-Id"), "x-fission-params-id");
  EXPECT_EQ(to_lower_ascii("\xC3\x89T\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // UTF-8 bytes kept
}

TEST(adapter_replies, copy_trace_id_copies_only_a_sent_header) {
  invocation inv;
  copy_trace_id(request{}, inv);
  EXPECT_EQ(inv.trace_id, "");
  copy_trace_id(request{.headers = {{"X-Amzn-Trace-Id", "Root=1-abc"}}}, inv);
  EXPECT_EQ(inv.trace_id, "Root=1-abc");
}

TEST(dispatch_http_request, maps_a_request_to_an_api_gateway_event_with_the_context) {
  const request req{.method = "GET", .target = "/p?x=1", .headers = {{"Host", "h"}}};
  dispatch d;
  dispatch_http_request(d, req, "id", function_info{}, std::chrono::system_clock::now());
  EXPECT_EQ(d.inv.content_type, "application/json");
  EXPECT_EQ(json::parse(d.inv.payload).at("rawPath"), "/p");
  EXPECT_EQ(d.inv.platform_context, "");  // no context: none given

  json::object context;
  context["platform"] = "x";
  dispatch_http_request(d, req, "id", function_info{}, std::chrono::system_clock::now(), context);
  EXPECT_EQ(json::parse(d.inv.platform_context), json::value(context));
}

TEST(dispatch_http_request, maps_a_cloud_event_to_its_data_and_answers_it_as_one) {
  const request req{
      .method = "POST",
      .target = "/",
      .headers = {{"ce-specversion", "1.0"}, {"ce-id", "1"}, {"Content-Type", "application/json"}},
      .body = R"({"k":"v"})"};
  dispatch d;
  dispatch_http_request(d, req, "id", function_info{}, std::chrono::system_clock::now());
  EXPECT_EQ(d.inv.payload, R"({"k":"v"})");
  EXPECT_TRUE(json::parse(d.inv.platform_context).as_object().contains("cloudevent"));
  EXPECT_EQ(http_request_reply(req, outcome::success("null")).status, 204u);
  const outcome failure = outcome::failure("E", "m");
  EXPECT_EQ(http_request_reply(req, failure).body, failure.payload());
  EXPECT_EQ(http_request_reply(req, failure).status, 500u);
}

TEST(http_request_reply, answers_an_ordinary_request_as_api_gateway_does) {
  const request req{.method = "GET", .target = "/"};
  EXPECT_EQ(http_request_reply(req, outcome::success(R"({"statusCode":418})")).status, 418u);
  const reply failed = http_request_reply(req, outcome::failure("E", "m"));
  EXPECT_EQ(failed.status, 500u);
  EXPECT_EQ(failed.body, R"({"message":"Internal Server Error"})");
  EXPECT_EQ(api_gateway_reply(outcome::failure("E", "m")).body, failed.body);
}

}  // namespace
}  // namespace lamella::push::detail
