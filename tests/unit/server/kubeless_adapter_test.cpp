// The `kubeless` adapter: health, metrics, the event from the body and the event-* headers (as
// Kubeless's triggers and `kubeless function call` send them), and the answers.
#include "adapter_test_support.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace lamella::push {
namespace {

using test_support::header;
using test_support::with;
namespace json = boost::json;
using std::chrono::seconds;

std::unique_ptr<adapter> make() {
  kubeless_options options;
  options.function.name = "hello";
  options.function.timeout = seconds(180);
  options.runtime = "python3.7";
  options.memory_limit = "128Mi";
  return make_kubeless_adapter(options);
}

request post(std::string content_type, std::string body, header_list extra = {}) {
  header_list headers;
  if (!content_type.empty()) headers.emplace_back("Content-Type", std::move(content_type));
  return request{.method = "POST",
                 .target = "/",
                 .headers = with(std::move(headers), std::move(extra)),
                 .body = std::move(body)};
}

std::string metrics(const adapter& a) {
  const dispatch d = a.on_request(request{.method = "GET", .target = "/metrics"}, "rid");
  EXPECT_EQ(d.what, dispatch::kind::reply_now);
  EXPECT_EQ(d.immediate.status, 200u);
  return d.immediate.body;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(kubeless_adapter, healthz_and_metrics_are_answered_without_the_handler) {
  const auto a = make();
  EXPECT_EQ(a->name(), "kubeless");
  const dispatch d = a->on_request(request{.method = "GET", .target = "/healthz"}, "rid");
  ASSERT_EQ(d.what, dispatch::kind::reply_now);
  EXPECT_EQ(d.immediate.status, 200u);
  const std::string text = metrics(*a);
  EXPECT_TRUE(contains(text, "# TYPE function_calls_total counter\n")) << text;
  EXPECT_TRUE(contains(text, "# TYPE function_failures_total counter\n")) << text;
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    EXPECT_TRUE(contains(text, std::string("function_calls_total{method=\"") + method + "\"} 0\n"))
        << text;
  }
}

TEST(kubeless_adapter, a_json_body_is_the_decoded_event_and_event_headers_the_context) {
  const auto a = make();
  const dispatch d = a->on_request(post("application/json", R"({"hello": "world"})",
                                        {{"event-id", "ev-123"},
                                         {"event-type", "application/json"},
                                         {"event-time", "2026-11-30 12:00:00.0 +0000 UTC"},
                                         {"event-namespace", "cli.kubeless.io"}}),
                                   "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(json::parse(d.inv.payload), json::parse(R"({"hello": "world"})"));
  EXPECT_EQ(d.inv.content_type, "application/json");
  EXPECT_EQ(d.inv.request_id, "ev-123");
  EXPECT_EQ(json::parse(d.inv.platform_context), json::parse(R"({"kubeless": {
      "event-id": "ev-123", "event-type": "application/json",
      "event-time": "2026-11-30 12:00:00.0 +0000 UTC", "event-namespace": "cli.kubeless.io",
      "function-name": "hello", "timeout": "180", "runtime": "python3.7",
      "memory-limit": "128Mi"}})"));
}

TEST(kubeless_adapter, other_bodies_are_strings) {
  const auto a = make();
  dispatch d = a->on_request(post("text/plain", "hello kubeless"), "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.payload, R"("hello kubeless")");
  EXPECT_EQ(d.inv.request_id, "server-id");  // no event-id: plain HTTP ingress
  const json::value context = json::parse(d.inv.platform_context);
  EXPECT_EQ(context.at("kubeless").at("event-id"), nullptr);
  EXPECT_FALSE(context.as_object().contains("isBase64Encoded"));
  // No content type: a string too, even when it looks like JSON (Kubeless decodes by the header).
  d = a->on_request(post("", R"({"a":1})"), "server-id");
  EXPECT_EQ(d.inv.payload, R"("{\"a\":1}")");
  // Empty: null, whatever the content type.
  for (const char* type : {"", "application/json"}) {
    d = a->on_request(post(type, ""), "server-id");
    ASSERT_EQ(d.what, dispatch::kind::invoke);
    EXPECT_EQ(d.inv.payload, "null");
  }
  // Not UTF-8: base64, flagged.
  d = a->on_request(post("application/octet-stream", std::string("\xff\x00\x01", 3)), "server-id");
  EXPECT_EQ(d.inv.payload, R"("/wAB")");
  EXPECT_EQ(json::parse(d.inv.platform_context).at("isBase64Encoded"), true);
  // A JSON media type with parameters, or +json, is decoded.
  d = a->on_request(post("Application/JSON; charset=utf-8", "[1,2]"), "server-id");
  EXPECT_EQ(d.inv.payload, "[1,2]");
  d = a->on_request(post("application/vnd.api+json", "{}"), "server-id");
  EXPECT_EQ(d.inv.payload, "{}");
}

TEST(kubeless_adapter, invalid_json_is_a_400_and_unknown_methods_a_405) {
  const auto a = make();
  dispatch d = a->on_request(post("application/json", "{not json"), "server-id");
  ASSERT_EQ(d.what, dispatch::kind::reply_now);
  EXPECT_EQ(d.immediate.status, 400u);
  EXPECT_TRUE(json::parse(d.immediate.body).as_object().contains("message"));
  for (const char* method : {"OPTIONS", "HEAD", "TRACE"}) {
    d = a->on_request(request{.method = method, .target = "/"}, "server-id");
    ASSERT_EQ(d.what, dispatch::kind::reply_now) << method;
    EXPECT_EQ(d.immediate.status, 405u);
    EXPECT_EQ(header(d.immediate, "allow"), "GET, POST, PUT, PATCH, DELETE");
  }
  // Every invoking method on any path invokes (GET /metrics and /healthz aside).
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    d = a->on_request(request{.method = method, .target = "/any/path?x=1"}, "server-id");
    EXPECT_EQ(d.what, dispatch::kind::invoke) << method;
  }
  d = a->on_request(request{.method = "POST", .target = "/healthz"}, "server-id");
  EXPECT_EQ(d.what, dispatch::kind::invoke);
}

TEST(kubeless_adapter, results_errors_and_timeouts) {
  const auto a = make();
  const request req = post("application/json", "{}");
  const dispatch d = a->on_request(req, "server-id");
  reply r = a->on_outcome(req, d.inv, outcome::success(R"("hello world")"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "hello world");
  EXPECT_EQ(header(r, "content-type"), "text/plain; charset=utf-8");
  r = a->on_outcome(req, d.inv, outcome::success(R"({"a":[1,2]})"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"a":[1,2]})");
  EXPECT_EQ(header(r, "content-type"), "application/json");
  r = a->on_outcome(req, d.inv, outcome::success("null"));
  EXPECT_EQ(r.body, "null");
  r = a->on_outcome(req, d.inv, outcome::success("raw bytes", "text/csv"));
  EXPECT_EQ(r.body, "raw bytes");
  EXPECT_EQ(header(r, "content-type"), "text/csv");
  r = a->on_outcome(req, d.inv, outcome::failure("InvalidInput", "bad input"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(json::parse(r.body).at("errorType"), "InvalidInput");
  r = a->on_timeout(req, d.inv);
  EXPECT_EQ(r.status, 408u);
  EXPECT_EQ(json::parse(r.body).at("errorType"), "Sandbox.Timedout");
  r = a->on_overload(req);
  EXPECT_EQ(r.status, 503u);
  r = a->on_init_error(request{.method = "GET", .target = "/healthz"},
                       outcome::failure("Runtime.ImportModuleError", "no module"));
  EXPECT_EQ(r.status, 500u);
}

TEST(kubeless_adapter, metrics_count_calls_and_failures_per_method) {
  const auto a = make();
  const request get{.method = "GET", .target = "/"};
  const request put{.method = "PUT", .target = "/x"};
  const dispatch g = a->on_request(get, "1");
  (void)a->on_outcome(get, g.inv, outcome::success("1"));
  const dispatch p1 = a->on_request(put, "2");
  (void)a->on_outcome(put, p1.inv, outcome::failure("E", "m"));
  const dispatch p2 = a->on_request(put, "3");
  (void)a->on_timeout(put, p2.inv);
  // Answered without the handler: not counted.
  (void)a->on_request(request{.method = "GET", .target = "/healthz"}, "4");
  (void)a->on_request(post("application/json", "{bad"), "5");
  const std::string text = metrics(*a);
  EXPECT_TRUE(contains(text, "function_calls_total{method=\"GET\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "function_calls_total{method=\"PUT\"} 2\n")) << text;
  EXPECT_TRUE(contains(text, "function_calls_total{method=\"POST\"} 0\n")) << text;
  EXPECT_TRUE(contains(text, "function_failures_total{method=\"GET\"} 0\n")) << text;
  EXPECT_TRUE(contains(text, "function_failures_total{method=\"PUT\"} 2\n")) << text;
}

TEST(kubeless_adapter, counting_from_several_threads_loses_nothing) {
  const auto a = make();
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&a] {
      const request req{.method = "DELETE", .target = "/"};
      for (int i = 0; i < per_thread; ++i) {
        const dispatch d = a->on_request(req, "id");
        (void)a->on_outcome(req, d.inv, outcome::failure("E", "m"));
        (void)metrics(*a);
      }
    });
  }
  for (auto& w : workers) w.join();
  const std::string text = metrics(*a);
  EXPECT_TRUE(contains(text, "function_calls_total{method=\"DELETE\"} 2000\n")) << text;
  EXPECT_TRUE(contains(text, "function_failures_total{method=\"DELETE\"} 2000\n")) << text;
}

}  // namespace
}  // namespace lamella::push
