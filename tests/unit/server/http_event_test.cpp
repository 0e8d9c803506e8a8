// The shared HTTP mappings: request -> API Gateway HTTP API (payload 2.0) event, compared with
// events AWS recorded; result -> answer; CloudEvents in both modes.
#include "server/http_event.h"

#include "common/base64.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace lamella::push::detail {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::system_clock;

json::object load_fixture(const std::string& name) {
  std::ifstream in(std::string(LAMELLA_SERVER_TEST_DATA) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str()).as_object();
}

json::object event_of(const request& req, std::string_view id = "id",
                      system_clock::time_point now = system_clock::now(),
                      const event_options& options = {}) {
  function_info fn;
  fn.account_id = "123456789012";
  const std::string text = make_http_event(req, id, fn, now, options);
  return json::parse(text).as_object();
}

std::string header(const reply& r, std::string_view name) {
  return std::string(find_header(r.headers, name).value_or("<absent>"));
}

std::vector<std::string> headers_named(const reply& r, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [key, value] : r.headers) {
    if (iequals(key, name)) out.push_back(value);
  }
  return out;
}

// ---- against AWS's recorded events ----

// The request API Gateway turned into apigw-v2-request-no-authorizer.json.
TEST(http_event, matches_api_gateway_recorded_event) {
  const json::object expected = load_fixture("apigw-v2-request-no-authorizer.json");
  request req{.method = "GET",
              .target = "/",
              .headers = {{"Accept", "*/*"},
                          {"Content-Length", "0"},
                          {"Host", "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com"},
                          {"User-Agent", "curl/7.58.0"},
                          {"X-Amzn-Trace-Id", "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c"},
                          {"X-Forwarded-For", "1.2.3.4"},
                          {"X-Forwarded-Port", "443"},
                          {"X-Forwarded-Proto", "https"}},
              .body = "",
              .remote_address = "10.0.0.1"};
  const auto now = system_clock::time_point(milliseconds(1587481701067));
  json::object actual = event_of(req, "LV7fzho-PHcEJPw=", now);
  // What a container cannot know: the API's mutual-TLS client certificate.
  json::object want = expected;
  want.at("requestContext").as_object().erase("authentication");
  EXPECT_EQ(actual, want) << json::serialize(actual) << "\n" << json::serialize(want);
}

// The Function URL request recorded in lambda-functionurl-request.json (same 2.0 payload).
TEST(http_event, matches_function_url_recorded_event) {
  const json::object expected = load_fixture("lambda-functionurl-request.json");
  request req{.method = "GET",
              .target = "/my/path?parameter1=value1&parameter1=value2&parameter2=value",
              .headers = {{"X-Amzn-Tls-Cipher-Suite", "ECDHE-RSA-AES128-GCM-SHA256"},
                          {"X-Amzn-Tls-Version", "TLSv1.2"},
                          {"X-Amzn-Trace-Id", "Root=1-5eb33c07-de25b420912dee103a5db434"},
                          {"Cookie", "test=hi"},
                          {"X-Forwarded-Proto", "https"},
                          {"Host", "id.lambda-url.eu-west-2.on.aws"},
                          {"X-Forwarded-Port", "443"},
                          {"X-Forwarded-For", "65.78.31.245"},
                          {"Accept", "*/*"},
                          {"User-Agent", "curl/7.68.0"}},
              .body = "",
              .remote_address = "10.0.0.1"};
  const auto now = system_clock::time_point(milliseconds(1673437534837));
  json::object actual = event_of(req, "MIZRNhJtIAMEMDw=", now);
  for (const char* key : {"version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers",
                          "isBase64Encoded"}) {
    EXPECT_EQ(actual.at(key), expected.at(key)) << key;
  }
  const auto& ctx = actual.at("requestContext").as_object();
  const auto& want_ctx = expected.at("requestContext").as_object();
  for (const char* key : {"accountId", "domainName", "domainPrefix", "http", "requestId",
                          "routeKey", "stage", "time", "timeEpoch"}) {
    EXPECT_EQ(ctx.at(key), want_ctx.at(key)) << key;
  }
  EXPECT_FALSE(actual.contains("body"));
  // The recorded event was trimmed of its parameters; API Gateway's documented shape has them.
  EXPECT_EQ(actual.at("queryStringParameters"),
            json::parse(R"({"parameter1":"value1,value2","parameter2":"value"})"));
}

TEST(http_event, joins_repeated_headers_and_query_keys_with_commas) {
  const json::object expected = load_fixture("apigw-v2-request-multi-value-parameters.json");
  request req{.method = "POST",
              .target = "/my/path?Parameter1=value1&Parameter1=value2",
              .headers = {{"Header2", "value1"}, {"header2", "value2"}},
              .body = "{\r\n\t\"a\": 1\r\n}"};
  req.headers.emplace_back("Content-Type", "application/json");
  const json::object actual = event_of(req);
  EXPECT_EQ(actual.at("rawQueryString"), expected.at("rawQueryString"));
  EXPECT_EQ(actual.at("queryStringParameters"), expected.at("queryStringParameters"));
  // AWS lower-cases header names (the recorded file was edited by hand: "Header2").
  EXPECT_EQ(actual.at("headers").at("header2"), "value1,value2");
  EXPECT_EQ(actual.at("body"), expected.at("body"));
  EXPECT_EQ(actual.at("isBase64Encoded"), false);
}

// ---- details ----

TEST(http_event, escapes_quotes_backslashes_and_control_characters_in_strings) {
  const std::string tricky = std::string("a\"b\\c\td\x01e\x1f\x7f") + "\xC3\xA9";
  const request req{.method = "GET", .target = "/p", .headers = {{"x-tricky", tricky}}};
  const json::object ev = event_of(req);
  EXPECT_EQ(ev.at("headers").at("x-tricky").as_string(), tricky);
}

TEST(http_event, splits_cookies_from_every_cookie_header) {
  const request req{
      .method = "GET", .target = "/", .headers = {{"Cookie", "a=1; b=2"}, {"cookie", "c=3;d=4"}}};
  const json::object ev = event_of(req);
  EXPECT_EQ(ev.at("cookies"), json::parse(R"(["a=1","b=2","c=3","d=4"])"));
  EXPECT_EQ(ev.at("headers").at("cookie"), "a=1; b=2; c=3;d=4");
}

TEST(http_event, leaves_out_empty_optional_fields) {
  const json::object ev = event_of(request{.method = "GET", .target = "/x"});
  EXPECT_FALSE(ev.contains("cookies"));
  EXPECT_FALSE(ev.contains("queryStringParameters"));
  EXPECT_FALSE(ev.contains("body"));
  EXPECT_EQ(ev.at("isBase64Encoded"), false);
  EXPECT_EQ(ev.at("rawQueryString"), "");
  EXPECT_EQ(ev.at("requestContext").at("domainName"), "localhost");
}

TEST(http_event, percent_decodes_query_keys_and_values) {
  const request req{.method = "GET",
                    .target = "/s?q=a%20b+c&k%3Dy=%E2%9C%93&bad=%zz%4&flag&&=empty"};
  const json::object ev = event_of(req);
  EXPECT_EQ(ev.at("rawQueryString"), "q=a%20b+c&k%3Dy=%E2%9C%93&bad=%zz%4&flag&&=empty");
  const auto& q = ev.at("queryStringParameters").as_object();
  EXPECT_EQ(q.at("q"), "a b c");
  EXPECT_EQ(q.at("k=y"), "\xE2\x9C\x93");
  EXPECT_EQ(q.at("bad"), "%zz%4");
  EXPECT_EQ(q.at("flag"), "");
  EXPECT_EQ(q.at(""), "empty");
}

TEST(http_event, base64_encodes_binary_bodies) {
  const std::string png("\x89PNG\r\n\x1a\n\0\0", 10);
  request req{.method = "POST", .target = "/up", .headers = {{"Content-Type", "image/png"}}};
  req.body = png;
  json::object ev = event_of(req);
  EXPECT_EQ(ev.at("isBase64Encoded"), true);
  EXPECT_EQ(lamella::detail::base64_decode(ev.at("body").as_string()), png);

  // Textual type but bytes that are not UTF-8.
  req.headers = {{"Content-Type", "text/plain; charset=latin1"}};
  req.body = "caf\xE9";
  ev = event_of(req);
  EXPECT_EQ(ev.at("isBase64Encoded"), true);
  EXPECT_EQ(lamella::detail::base64_decode(ev.at("body").as_string()), "caf\xE9");

  // No content type at all: API Gateway cannot know it is text.
  req.headers.clear();
  req.body = "hello";
  ev = event_of(req);
  EXPECT_EQ(ev.at("isBase64Encoded"), true);
  EXPECT_EQ(ev.at("body"), "aGVsbG8=");
}

TEST(http_event, passes_textual_bodies_as_text) {
  for (const char* type : {"text/html", "application/json", "application/ld+json; charset=utf-8",
                           "application/xml", "image/svg+xml", "application/x-www-form-urlencoded",
                           "application/javascript", "TEXT/CSV"}) {
    const request req{.method = "POST",
                      .target = "/",
                      .headers = {{"content-type", type}},
                      .body = "caf\xC3\xA9 = 1"};
    const json::object ev = event_of(req);
    EXPECT_EQ(ev.at("isBase64Encoded"), false) << type;
    EXPECT_EQ(ev.at("body"), "caf\xC3\xA9 = 1") << type;
  }
  EXPECT_FALSE(is_textual_content_type("application/octet-stream"));
  EXPECT_FALSE(is_textual_content_type(""));
}

TEST(http_event, repairs_invalid_utf8_so_the_event_is_valid_json) {
  const request req{.method = "GE\xFFT",
                    .target = "/p\xC0\xAF?k\xFE=v%FF",
                    .headers = {{"X-Bin\xFF", "v\xED\xA0\x80"}, {"Host", "h\xF5.example"}}};
  const std::string text = make_http_event(req, "id\xFF", function_info{}, system_clock::now());
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  ASSERT_FALSE(ec) << text;
  EXPECT_EQ(v.at("rawPath"), "/p\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(v.at("queryStringParameters").at("k\xEF\xBF\xBD"), "v\xEF\xBF\xBD");
}

TEST(http_event, strips_platform_headers_and_base_path) {
  const request req{.method = "GET",
                    .target = "/2016-08-15/proxy/svc/fn/hello/world?x=1",
                    .headers = {{"x-fc-request-id", "r"}, {"X-FC-Base-Path", "/b"}, {"a", "1"}}};
  const json::object ev =
      event_of(req, "id", system_clock::now(),
               {.strip_header_prefix = "x-fc-", .base_path = "/2016-08-15/proxy/svc/fn/"});
  EXPECT_EQ(ev.at("rawPath"), "/hello/world");
  EXPECT_EQ(ev.at("requestContext").at("http").at("path"), "/hello/world");
  EXPECT_EQ(ev.at("headers"), json::parse(R"({"a":"1"})"));

  const auto root = event_of(request{.method = "GET", .target = "/2016-08-15/proxy/svc/fn"}, "id",
                             system_clock::now(), {.base_path = "/2016-08-15/proxy/svc/fn/"});
  EXPECT_EQ(root.at("rawPath"), "/");
  const auto other = event_of(request{.method = "GET", .target = "/basement"}, "id",
                              system_clock::now(), {.base_path = "/base"});
  EXPECT_EQ(other.at("rawPath"), "/basement");
}

TEST(http_event, takes_source_ip_from_the_first_forwarded_address) {
  request req{.method = "GET", .target = "/", .remote_address = "10.1.2.3"};
  EXPECT_EQ(event_of(req).at("requestContext").at("http").at("sourceIp"), "10.1.2.3");
  req.headers = {{"X-Forwarded-For", " 203.0.113.7, 10.0.0.2"}};
  EXPECT_EQ(event_of(req).at("requestContext").at("http").at("sourceIp"), "203.0.113.7");
}

TEST(http_event, accepts_absolute_form_targets) {
  const json::object ev = event_of(request{.method = "GET", .target = "http://h:8080/a?b=c"});
  EXPECT_EQ(ev.at("rawPath"), "/a");
  EXPECT_EQ(ev.at("rawQueryString"), "b=c");
}

TEST(http_event, formats_time_as_api_gateway_does) {
  EXPECT_EQ(format_clf_time(system_clock::time_point(milliseconds(1583348638390))),
            "04/Mar/2020:19:03:58 +0000");
  EXPECT_EQ(format_clf_time(system_clock::time_point{}), "01/Jan/1970:00:00:00 +0000");
}

TEST(http_event, validates_utf8) {
  EXPECT_TRUE(is_valid_utf8("plain \xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x9C"));          // truncated
  EXPECT_EQ(to_valid_utf8("a\xFF"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
}

// ---- result -> answer ----

TEST(http_result, maps_a_response_object) {
  const reply r = http_reply_from_result(R"({
      "statusCode": 201,
      "headers": {"Content-Type": "text/plain", "X-Num": 5, "X-Bool": true, "X-Null": null},
      "multiValueHeaders": {"X-Multi": ["a", "b"]},
      "cookies": ["s=1; Path=/", "t=2"],
      "body": "created"})",
                                         "application/json");
  EXPECT_EQ(r.status, 201u);
  EXPECT_EQ(r.body, "created");
  EXPECT_EQ(header(r, "content-type"), "text/plain");
  EXPECT_EQ(header(r, "x-num"), "5");
  EXPECT_EQ(header(r, "x-bool"), "true");
  EXPECT_EQ(header(r, "x-null"), "<absent>");
  EXPECT_EQ(headers_named(r, "x-multi"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(headers_named(r, "set-cookie"), (std::vector<std::string>{"s=1; Path=/", "t=2"}));
}

TEST(http_result, decodes_base64_bodies_and_defaults_the_content_type) {
  const reply r = http_reply_from_result(
      R"({"statusCode": "202", "isBase64Encoded": true, "body": "AAEC/w=="})", "application/json");
  EXPECT_EQ(r.status, 202u);
  EXPECT_EQ(r.body, std::string("\x00\x01\x02\xFF", 4));
  EXPECT_EQ(header(r, "content-type"), "application/json");
}

TEST(http_result, malformed_response_objects_are_api_gateway_500s) {
  for (const char* payload :
       {R"({"statusCode": 99})", R"({"statusCode": 600})", R"({"statusCode": "abc"})",
        R"({"statusCode": 200.5})", R"({"statusCode": null})", R"({"statusCode": -1})",
        R"({"statusCode": 18446744073709551615})",
        R"({"statusCode": 200, "isBase64Encoded": true, "body": "not base64!"})"}) {
    const reply r = http_reply_from_result(payload, "application/json");
    EXPECT_EQ(r.status, 500u) << payload;
    EXPECT_EQ(r.body, R"({"message":"Internal Server Error"})") << payload;
  }
}

TEST(http_result, drops_headers_that_could_split_the_response_or_break_framing) {
  const reply r = http_reply_from_result(R"({"statusCode": 200,
      "headers": {"X-Evil": "a\r\nSet-Cookie: x=1", "Bad Name": "v", "Content-Length": "9",
                  "Transfer-Encoding": "chunked", "Connection": "close", "X-Ok": "fine"},
      "cookies": ["c=1\nx"], "body": {"k": [1]}})",
                                         "application/json");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"k":[1]})");
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(header(r, "x-ok"), "fine");
  EXPECT_EQ(header(r, "content-type"), "application/json");
}

TEST(http_result, other_values_are_200_json_bodies) {
  reply r = http_reply_from_result(R"("Hello from Lambda!")", "application/json");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "Hello from Lambda!");
  EXPECT_EQ(header(r, "content-type"), "application/json");

  r = http_reply_from_result(R"({"message": "hi"})", "application/json");
  EXPECT_EQ(r.body, R"({"message": "hi"})");
  EXPECT_EQ(header(r, "content-type"), "application/json");
  r = http_reply_from_result("42", "application/json");
  EXPECT_EQ(r.body, "42");
  r = http_reply_from_result("null", "application/json");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "null");
}

TEST(http_result, non_json_results_pass_through_with_their_content_type) {
  const reply r = http_reply_from_result("<p>raw</p>", "text/html");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "<p>raw</p>");
  EXPECT_EQ(header(r, "content-type"), "text/html");
}

// ---- CloudEvents ----

TEST(cloud_event, binary_mode_with_json_data) {
  const request req{.method = "POST",
                    .target = "/",
                    .headers = {{"ce-specversion", "1.0"},
                                {"ce-id", "A234-1234-1234"},
                                {"ce-source", "https://github.com/cloudevents/spec/pull"},
                                {"ce-type", "com.github.pull_request.opened"},
                                {"ce-time", "2018-04-05T17:31:00Z"},
                                {"ce-subject", "123"},
                                {"Ce-Comexampleextension1", "value%20with%25"},
                                {"Content-Type", "application/json"}},
                    .body = R"({"much": "wow"})"};
  ASSERT_EQ(detect_cloud_event(req), cloud_event_mode::binary);
  const auto ce = map_cloud_event(req, cloud_event_mode::binary);
  ASSERT_TRUE(ce);
  EXPECT_EQ(ce->payload, R"({"much": "wow"})");
  EXPECT_EQ(json::parse(ce->platform_context), json::parse(R"({"cloudevent": {
      "specversion": "1.0", "id": "A234-1234-1234",
      "source": "https://github.com/cloudevents/spec/pull",
      "type": "com.github.pull_request.opened", "time": "2018-04-05T17:31:00Z",
      "subject": "123", "comexampleextension1": "value with%",
      "datacontenttype": "application/json"}})"));
}

TEST(cloud_event, binary_mode_with_text_binary_and_empty_data) {
  request req{.method = "POST",
              .target = "/",
              .headers = {{"ce-specversion", "1.0"}, {"content-type", "text/plain"}},
              .body = "hello"};
  auto ce = map_cloud_event(req, cloud_event_mode::binary);
  ASSERT_TRUE(ce);
  EXPECT_EQ(ce->payload, R"("hello")");

  req.headers = {{"ce-specversion", "1.0"}, {"content-type", "application/json"}};
  req.body = "{not json";  // declared JSON but is not: the handler still gets it, as a string
  ce = map_cloud_event(req, cloud_event_mode::binary);
  EXPECT_EQ(ce->payload, R"("{not json")");

  req.headers = {{"ce-specversion", "1.0"}, {"content-type", "application/octet-stream"}};
  req.body = std::string("\x00\xFF", 2);
  ce = map_cloud_event(req, cloud_event_mode::binary);
  EXPECT_EQ(ce->payload, R"("AP8=")");
  EXPECT_EQ(json::parse(ce->platform_context).at("isBase64Encoded"), true);

  req.body.clear();
  ce = map_cloud_event(req, cloud_event_mode::binary);
  EXPECT_EQ(ce->payload, "null");
}

TEST(cloud_event, structured_mode) {
  request req{.method = "POST",
              .target = "/",
              .headers = {{"Content-Type", "Application/CloudEvents+JSON; charset=UTF-8"}},
              .body = R"({"specversion": "1.0", "type": "t", "source": "/s", "id": "1",
                          "datacontenttype": "application/json", "ext": 5,
                          "data": {"k": [1, 2]}})"};
  ASSERT_EQ(detect_cloud_event(req), cloud_event_mode::structured);
  auto ce = map_cloud_event(req, cloud_event_mode::structured);
  ASSERT_TRUE(ce);
  EXPECT_EQ(json::parse(ce->payload), json::parse(R"({"k": [1, 2]})"));
  EXPECT_EQ(json::parse(ce->platform_context), json::parse(R"({"cloudevent": {
      "specversion": "1.0", "type": "t", "source": "/s", "id": "1",
      "datacontenttype": "application/json", "ext": 5}})"));

  req.body = R"({"specversion": "1.0", "id": "2", "data_base64": "AAE="})";
  ce = map_cloud_event(req, cloud_event_mode::structured);
  EXPECT_EQ(ce->payload, R"("AAE=")");
  EXPECT_EQ(json::parse(ce->platform_context),
            json::parse(R"({"cloudevent": {"specversion": "1.0", "id": "2"},
                            "isBase64Encoded": true})"));

  req.body = R"({"specversion": "1.0", "id": "3"})";
  EXPECT_EQ(map_cloud_event(req, cloud_event_mode::structured)->payload, "null");

  for (const char* bad : {"[1]", "{", "\"s\"", ""}) {
    req.body = bad;
    EXPECT_FALSE(map_cloud_event(req, cloud_event_mode::structured)) << bad;
  }
}

TEST(cloud_event, detection) {
  EXPECT_EQ(detect_cloud_event(request{.headers = {{"content-type", "application/json"}}}),
            cloud_event_mode::none);
  // Batches are only sent when asked for: an ordinary HTTP request for the handler.
  EXPECT_EQ(detect_cloud_event(
                request{.headers = {{"content-type", "application/cloudevents-batch+json"}}}),
            cloud_event_mode::none);
  EXPECT_EQ(detect_cloud_event(request{.headers = {{"CE-SpecVersion", "1.0"}}}),
            cloud_event_mode::binary);
}

TEST(cloud_event, reply_is_the_result_or_no_content) {
  reply r = cloud_event_reply(R"({"ok":true})", "application/json");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"ok":true})");
  EXPECT_EQ(header(r, "content-type"), "application/json");
  r = cloud_event_reply(" null\n", "application/json");
  EXPECT_EQ(r.status, 204u);
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(r.headers.empty());
}

TEST(streamed_outcome, an_http_prelude_becomes_the_api_gateway_response) {
  const std::string bytes = std::string(R"({"statusCode":201,"headers":{"x-a":"1"}})") +
                            std::string(8, '\0') + std::string("bin\0ary", 7);
  const outcome o = streamed_outcome("application/vnd.awslambda.http-integration-response", bytes);
  ASSERT_TRUE(o.is_success());
  const auto response = json::parse(o.payload()).as_object();
  EXPECT_EQ(response.at("statusCode").as_int64(), 201);
  EXPECT_EQ(response.at("headers").at("x-a").as_string(), "1");
  EXPECT_TRUE(response.at("isBase64Encoded").as_bool());
  EXPECT_EQ(lamella::detail::base64_decode(response.at("body").as_string()),
            std::string("bin\0ary", 7));
  // The reply the http adapter makes of it: the prelude's status, the bytes as the body.
  const reply r = http_reply_from_result(o.payload(), o.content_type());
  EXPECT_EQ(r.status, 201U);
  EXPECT_EQ(r.body, std::string("bin\0ary", 7));
}

TEST(streamed_outcome, a_prelude_without_status_or_body_is_a_200_with_no_body) {
  const outcome o = streamed_outcome("application/vnd.awslambda.http-integration-response", "{}");
  ASSERT_TRUE(o.is_success());
  const auto response = json::parse(o.payload()).as_object();
  EXPECT_EQ(response.at("statusCode").as_int64(), 200);
  EXPECT_EQ(response.at("body").as_string(), "");
}

TEST(streamed_outcome, other_streams_are_the_bytes_with_their_content_type) {
  EXPECT_EQ(streamed_outcome("text/csv", "a,b\n").payload(), "a,b\n");
  EXPECT_EQ(streamed_outcome("text/csv", "a,b\n").content_type(), "text/csv");
  EXPECT_EQ(streamed_outcome("", "x").content_type(), "application/octet-stream");
}

TEST(streamed_outcome, a_prelude_that_is_not_a_json_object_is_a_function_error) {
  const outcome o = streamed_outcome("application/vnd.awslambda.http-integration-response",
                                     std::string("[1]") + std::string(8, '\0') + "body");
  EXPECT_FALSE(o.is_success());
  EXPECT_EQ(o.error_type(), "Runtime.InvalidResponseStream");
}

TEST(streamed_head, waits_for_the_whole_prelude_then_gives_its_status_headers_and_cookies) {
  constexpr std::string_view type = "application/vnd.awslambda.http-integration-response";
  const std::string prelude = R"({"statusCode":201,"headers":{"x-a":"1"},"cookies":["c=1"]})";
  EXPECT_EQ(streamed_head(type, prelude).what, streamed_head_result::state::need_more);
  EXPECT_EQ(streamed_head(type, prelude + std::string(7, '\0')).what,
            streamed_head_result::state::need_more);
  const std::string bytes = prelude + std::string(8, '\0') + "body";
  const auto head = streamed_head(type, bytes);
  ASSERT_EQ(head.what, streamed_head_result::state::ready);
  EXPECT_EQ(head.head.status, 201U);
  EXPECT_EQ(bytes.substr(head.body_at), "body");
  EXPECT_TRUE(head.head.body.empty());
  bool a = false;
  bool cookie = false;
  for (const auto& [name, value] : head.head.headers) {
    a = a || (name == "x-a" && value == "1");
    cookie = cookie || (iequals(name, "set-cookie") && value == "c=1");
  }
  EXPECT_TRUE(a);
  EXPECT_TRUE(cookie);
}

TEST(streamed_head, a_bad_prelude_is_invalid_and_other_types_are_a_200_at_once) {
  EXPECT_EQ(streamed_head("application/vnd.awslambda.http-integration-response",
                          std::string("[1]") + std::string(8, '\0'))
                .what,
            streamed_head_result::state::invalid);
  const auto plain = streamed_head("text/plain", "");
  ASSERT_EQ(plain.what, streamed_head_result::state::ready);
  EXPECT_EQ(plain.head.status, 200U);
  EXPECT_EQ(plain.body_at, 0U);
  ASSERT_EQ(plain.head.headers.size(), 1U);
  EXPECT_EQ(plain.head.headers[0].second, "text/plain");
  EXPECT_EQ(streamed_head("", "").head.headers[0].second, "application/octet-stream");
}

}  // namespace
}  // namespace lamella::push::detail
