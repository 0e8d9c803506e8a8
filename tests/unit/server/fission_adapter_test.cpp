// The `fission` adapter (a specialised Fission environment, platform-contracts.md §11): router
// requests as the http adapter maps them, X-Fission-* headers in the context, health and
// specialize answers.
#include "server/http_event.h"
#include "server/push_adapter.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace lamella::push {
namespace {

namespace json = boost::json;

std::unique_ptr<adapter> make(bool specialized = true) {
  fission_options options;
  options.function.name = "fission-fn";
  options.specialized = specialized;
  return make_fission_adapter(options);
}

// What Fission's router adds (pkg/router/requesthHeader.go) to a request for route
// /users/{id}, whose trigger prefix it has stripped.
const header_list router_headers = {
    {"Host", "fn.default"},
    {"X-Fission-Function-Uid", "3f1c"},
    {"X-Fission-Function-Name", "hello"},
    {"X-Fission-Function-Namespace", "default"},
    {"X-Fission-Function-Resourceversion", "4711"},
    {"X-Fission-Params-Id", "42"},
    {"X-Fission-Full-Url", "/users/42?x=1"},
    {"Content-Type", "application/json"},
};

TEST(fission_adapter, requests_are_api_gateway_events_with_fission_context) {
  const auto a = make();
  EXPECT_EQ(a->name(), "fission");
  const request req{
      .method = "PUT", .target = "/?x=1", .headers = router_headers, .body = R"({"k":"v"})"};
  const dispatch d = a->on_request(req, "req-1");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.request_id, "req-1");
  const auto event = json::parse(d.inv.payload);
  EXPECT_EQ(event.at("version"), "2.0");
  EXPECT_EQ(event.at("rawPath"), "/");
  EXPECT_EQ(event.at("rawQueryString"), "x=1");
  EXPECT_EQ(event.at("requestContext").at("http").at("method"), "PUT");
  EXPECT_EQ(event.at("body"), R"({"k":"v"})");
  // The router's headers stay request headers, as Fission's own environments pass them on.
  EXPECT_EQ(event.at("headers").at("x-fission-params-id"), "42");
  const auto context = json::parse(d.inv.platform_context);
  EXPECT_EQ(context.at("fission"),
            json::parse(R"({"functionUid":"3f1c","functionName":"hello",)"
                        R"("functionNamespace":"default","functionResourceVersion":"4711",)"
                        R"("fullUrl":"/users/42?x=1","params":{"Id":"42"},)"
                        R"("headers":{"x-fission-function-uid":"3f1c",)"
                        R"("x-fission-function-name":"hello",)"
                        R"("x-fission-function-namespace":"default",)"
                        R"("x-fission-function-resourceversion":"4711",)"
                        R"("x-fission-params-id":"42","x-fission-full-url":"/users/42?x=1"}})"));
}

TEST(fission_adapter, results_map_back_as_api_gateway_maps_them) {
  const auto a = make();
  const request req{.method = "GET", .target = "/", .headers = router_headers};
  const reply ok =
      a->on_outcome(req, invocation{},
                    outcome::success(R"({"statusCode":201,"headers":{"X-A":"b"},"body":"made"})",
                                     "application/json"));
  EXPECT_EQ(ok.status, 201u);
  EXPECT_EQ(ok.body, "made");
  EXPECT_EQ(a->on_outcome(req, invocation{}, outcome::failure("E", "m")).status, 500u);
  EXPECT_EQ(a->on_timeout(req, invocation{}).status, 504u);
  EXPECT_EQ(a->on_overload(req).status, 503u);
}

TEST(fission_adapter, cloud_events_give_their_data_and_keep_the_fission_context) {
  const auto a = make();
  request req{.method = "POST",
              .target = "/",
              .headers = router_headers,
              .body = R"({"specversion":"1.0","id":"e1","source":"/s","type":"t",)"
                      R"("data":{"action":"greet"}})"};
  req.headers.back() = {"Content-Type", "application/cloudevents+json"};
  const dispatch d = a->on_request(req, "req-2");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(json::parse(d.inv.payload), json::parse(R"({"action":"greet"})"));
  const auto context = json::parse(d.inv.platform_context);
  EXPECT_EQ(context.at("cloudevent").at("id"), "e1");
  EXPECT_EQ(context.at("fission").at("functionName"), "hello");
  EXPECT_EQ(a->on_outcome(req, invocation{}, outcome::success("null", "application/json")).status,
            204u);
}

TEST(fission_adapter, healthz_and_a_second_specialize) {
  const auto a = make();
  const dispatch health = a->on_request({.method = "GET", .target = "/healthz"}, "id");
  ASSERT_EQ(health.what, dispatch::kind::reply_now);
  EXPECT_EQ(health.immediate.status, 200u);
  for (const char* target : {"/specialize", "/v2/specialize"}) {
    const dispatch d = a->on_request({.method = "POST", .target = target, .body = "{}"}, "id");
    ASSERT_EQ(d.what, dispatch::kind::reply_now);
    EXPECT_EQ(d.immediate.status, 400u);
    EXPECT_EQ(d.immediate.body, "Not a generic container\n");
  }
  // A GET on a specialize path is the function's (only POST specialises).
  EXPECT_EQ(a->on_request({.method = "GET", .target = "/specialize"}, "id").what,
            dispatch::kind::invoke);
}

TEST(fission_adapter, a_function_linked_with_lamella_accepts_the_first_specialize) {
  const auto a = make(/*specialized=*/false);
  const request specialize{.method = "POST", .target = "/v2/specialize", .body = "{}"};
  EXPECT_EQ(a->on_request(specialize, "id").immediate.status, 200u);
  EXPECT_EQ(a->on_request(specialize, "id").immediate.status, 400u);
}

TEST(fission_adapter, after_an_init_error_every_request_gets_it_but_healthz) {
  const auto a = make();
  const auto failure = outcome::failure("Runtime.ImportModuleError", "No module named 'x'");
  const reply r = a->on_init_error({.method = "GET", .target = "/"}, failure);
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(json::parse(r.body).at("errorType"), "Runtime.ImportModuleError");
  EXPECT_EQ(a->on_init_error({.method = "GET", .target = "/healthz"}, failure).status, 200u);
  EXPECT_EQ(a->on_init_error({.method = "POST", .target = "/v2/specialize"}, failure).status, 400u);
}

}  // namespace
}  // namespace lamella::push
