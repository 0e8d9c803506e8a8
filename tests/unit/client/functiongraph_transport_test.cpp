// The FunctionGraph transport: the pure translation between the Lambda Runtime API and Huawei
// FunctionGraph's custom-runtime API, and the transport driven by the real lambda_client over a
// scripted inner transport that plays FunctionGraph (answers as platform-contracts.md §13.1
// describes them).
#include "client/functiongraph_transport.h"

#include "client/lambda_protocol.h"
#include "scripted_platform.h"

#include "lamella/lambda_client.h"
#include "lamella/outcome.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>

namespace lamella {
namespace {

using namespace std::chrono_literals;
using testing::status_only;

detail::fg_function test_function() {
  detail::fg_function f;
  f.name = "hello";
  f.version = "latest";
  f.package = "default";
  f.project_id = "0a1b2c3d4e5f";
  f.memory_mb = 256;
  f.cpu = 300;
  f.timeout = 30s;
  return f;
}

// A next-event answer as FunctionGraph sends it: the event as the body, the id and the
// temporary credentials in X-CFF-* headers.
http_response recorded_fg_request(std::string request_id = "8d3b1f7e-4c2a-4e55-9a61-0b7e4d2f9c10") {
  http_response r;
  r.status = 200;
  r.headers = {{"Content-Type", "application/json"},
               {"X-Cff-Request-Id", std::move(request_id)},
               {"X-CFF-Access-Key", "AK"},
               {"X-CFF-Secret-Key", "SK"},
               {"X-CFF-Security-Token", "TOKEN"},
               {"X-CFF-Invoke-Type", "sync"},
               {"Content-Length", "17"}};
  r.body = R"({"key1":"value1"})";
  return r;
}

TEST(functiongraph_translation, routes_every_lambda_request_with_the_id_in_the_path) {
  using k = detail::fg_route;
  const auto next = detail::route_fg_request("/2018-06-01/runtime/invocation/next");
  EXPECT_EQ(next.kind, k::next);
  EXPECT_EQ(next.target, "/v1/runtime/invocation/request");
  const auto response = detail::route_fg_request("/2018-06-01/runtime/invocation/abc/response");
  EXPECT_EQ(response.kind, k::response);
  EXPECT_EQ(response.target, "/v1/runtime/invocation/response/abc");
  const auto error = detail::route_fg_request("/2018-06-01/runtime/invocation/abc/error");
  EXPECT_EQ(error.kind, k::error);
  EXPECT_EQ(error.target, "/v1/runtime/invocation/error/abc");
  EXPECT_EQ(detail::route_fg_request("/2018-06-01/runtime/init/error").kind, k::init_error);
  EXPECT_EQ(detail::route_fg_request("/2018-06-01/runtime/invocation//response").kind, k::unknown);
  EXPECT_EQ(detail::route_fg_request("/v1/runtime/invocation/request").kind, k::unknown);
  EXPECT_EQ(detail::route_fg_request("/2018-06-01/runtime/invocation/a/other").kind, k::unknown);
}

TEST(functiongraph_translation, function_settings_and_urn_from_the_environment) {
  const std::map<std::string, std::string, std::less<>> env{{"RUNTIME_FUNC_NAME", "fn"},
                                                            {"RUNTIME_PROJECT_ID", "p1"},
                                                            {"RUNTIME_MEMORY", "512"},
                                                            {"RUNTIME_TIMEOUT", "15"},
                                                            {"RUNTIME_CPU", "x"}};
  const auto f = detail::fg_function_from_env([&env](std::string_view name) {
    const auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  EXPECT_EQ(f.name, "fn");
  EXPECT_EQ(f.version, "latest");
  EXPECT_EQ(f.package, "default");
  EXPECT_EQ(f.memory_mb, 512);
  EXPECT_EQ(f.timeout, 15s);
  EXPECT_FALSE(f.cpu);  // not a number: unknown
  EXPECT_EQ(detail::fg_function_urn(f), "urn:fss::p1:function:default:fn:latest");
}

TEST(functiongraph_translation, a_zero_or_missing_timeout_is_unknown) {
  const auto zero = detail::fg_function_from_env([](std::string_view name) {
    return name == "RUNTIME_TIMEOUT" ? std::optional<std::string>("0") : std::nullopt;
  });
  EXPECT_FALSE(zero.timeout);
  const auto none = detail::fg_function_from_env([](std::string_view) { return std::nullopt; });
  EXPECT_FALSE(none.timeout);
}

TEST(functiongraph_translation, the_request_becomes_lambdas_next_and_parses_into_an_invocation) {
  const auto now = std::chrono::system_clock::time_point(1'700'000'000'000ms);
  auto lambda =
      detail::translate_fg_next_response(recorded_fg_request(), test_function(), now, "unused");
  EXPECT_EQ(lambda.status, 200u);
  EXPECT_EQ(lambda.header("Lambda-Runtime-Aws-Request-Id"), "8d3b1f7e-4c2a-4e55-9a61-0b7e4d2f9c10");
  EXPECT_EQ(lambda.header("Lambda-Runtime-Deadline-Ms"), "1700000030000");  // now + RUNTIME_TIMEOUT
  EXPECT_EQ(lambda.header("Lambda-Runtime-Invoked-Function-Arn"),
            "urn:fss::0a1b2c3d4e5f:function:default:hello:latest");
  EXPECT_EQ(boost::json::parse(lambda.header("Lamella-Platform-Context")),
            boost::json::parse(R"({"functiongraph": {
              "requestId": "8d3b1f7e-4c2a-4e55-9a61-0b7e4d2f9c10", "functionName": "hello",
              "version": "latest", "package": "default", "projectId": "0a1b2c3d4e5f",
              "memory": 256, "cpu": 300, "timeout": 30, "accessKey": "AK", "secretKey": "SK",
              "securityToken": "TOKEN", "invokeType": "sync"}})"));

  auto inv = detail::parse_next_response(std::move(lambda));
  ASSERT_TRUE(inv) << inv.error().message();
  EXPECT_EQ(inv->request_id, "8d3b1f7e-4c2a-4e55-9a61-0b7e4d2f9c10");
  EXPECT_EQ(inv->deadline, now + 30s);
  EXPECT_EQ(inv->payload, R"({"key1":"value1"})");
  EXPECT_EQ(inv->content_type, "application/json");
  EXPECT_FALSE(inv->platform_context.empty());
}

TEST(functiongraph_translation, a_missing_request_id_is_made_up_and_no_timeout_gives_no_deadline) {
  http_response fg = status_only(200, "{}");
  fg.headers = {{"x-cff-request-id", ""}};
  auto f = test_function();
  f.timeout.reset();
  auto lambda =
      detail::translate_fg_next_response(std::move(fg), f, std::chrono::system_clock::now(), "mk");
  EXPECT_EQ(lambda.header("Lambda-Runtime-Aws-Request-Id"), "mk");
  EXPECT_EQ(lambda.header("Lambda-Runtime-Deadline-Ms"), "");
  const auto context = boost::json::parse(lambda.header("Lamella-Platform-Context"));
  EXPECT_FALSE(context.at("functiongraph").as_object().contains("timeout"));
  EXPECT_FALSE(context.at("functiongraph").as_object().contains("accessKey"));
  EXPECT_TRUE(detail::parse_next_response(std::move(lambda)));
}

TEST(functiongraph_translation, a_non_200_request_and_post_statuses) {
  auto next = detail::translate_fg_next_response(status_only(500, "down"), test_function(),
                                                 std::chrono::system_clock::now(), "id");
  EXPECT_EQ(next.status, 500u);
  EXPECT_EQ(next.body, "down");
  EXPECT_EQ(detail::translate_fg_post_response(status_only(200)).status, 202u);
  EXPECT_EQ(detail::translate_fg_post_response(status_only(400)).status, 400u);
  EXPECT_EQ(detail::translate_fg_post_response(status_only(500)).status, 500u);
}

// --- the transport, under the real lambda_client

class functiongraph_transport_test : public ::testing::Test {
 protected:
  lambda_client client() {
    return lambda_client(make_functiongraph_transport(
        "127.0.0.1:8080", transport_options{}, std::make_unique<testing::scripted_transport>(fg_)));
  }
  std::shared_ptr<testing::scripted_platform> fg_ = std::make_shared<testing::scripted_platform>();
};

TEST_F(functiongraph_transport_test, poll_then_post_with_the_id_in_the_path) {
  fg_->script = {recorded_fg_request("id-1"), status_only(200), recorded_fg_request("id-2"),
                 status_only(200)};
  auto c = client();
  EXPECT_EQ(c.transport_name(), "functiongraph/scripted");
  auto first = c.next();
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->request_id, "id-1");
  auto posted = c.post_response(first->request_id, outcome::success("\"ok\""));
  ASSERT_TRUE(posted);
  EXPECT_EQ(*posted, post_status::accepted);  // FunctionGraph's 200 is Lambda's 202
  auto second = c.next();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->request_id, "id-2");
  auto failed = c.post_error(second->request_id, outcome::failure("ValueError", "bad"));
  ASSERT_TRUE(failed);
  EXPECT_EQ(*failed, post_status::accepted);

  ASSERT_EQ(fg_->sent.size(), 4u);
  EXPECT_EQ(fg_->sent[0].method, "GET");
  EXPECT_EQ(fg_->sent[0].target, "/v1/runtime/invocation/request");
  EXPECT_EQ(fg_->sent[1].method, "POST");
  EXPECT_EQ(fg_->sent[1].target, "/v1/runtime/invocation/response/id-1");
  EXPECT_EQ(fg_->sent[1].body, "\"ok\"");
  EXPECT_EQ(fg_->sent[2].target, "/v1/runtime/invocation/request");
  testing::expect_error_post(fg_->sent[3], "/v1/runtime/invocation/error/id-2", "ValueError",
                             "bad");
}

TEST_F(functiongraph_transport_test, a_refused_request_is_a_rejected_next) {
  fg_->script = {status_only(500, "no")};
  auto c = client();
  auto inv = c.next();
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error(), make_error_code(errc::runtime_api_rejected));
}

// No init-error endpoint: the invocation waiting for this instance is fetched and failed with
// the init error, so that its caller learns why.
TEST_F(functiongraph_transport_test, an_init_error_fails_the_pending_invocation) {
  fg_->script = {recorded_fg_request("init-1"), status_only(200)};
  auto c = client();
  auto posted = c.post_init_error(outcome::failure("Runtime.ImportModuleError", "no module"));
  ASSERT_TRUE(posted);
  EXPECT_EQ(*posted, post_status::accepted);
  ASSERT_EQ(fg_->sent.size(), 2u);
  EXPECT_EQ(fg_->sent[0].target, "/v1/runtime/invocation/request");
  testing::expect_error_post(fg_->sent[1], "/v1/runtime/invocation/error/init-1",
                             "Runtime.ImportModuleError", "no module");
}

TEST_F(functiongraph_transport_test, an_init_error_without_an_invocation_stays_local) {
  fg_->script = {result<http_response>(errc::runtime_api_unreachable)};
  auto c = client();
  auto posted = c.post_init_error(outcome::failure("Runtime.ImportModuleError", "no module"));
  ASSERT_TRUE(posted);
  EXPECT_EQ(*posted, post_status::accepted);
  ASSERT_EQ(fg_->sent.size(), 1u);  // the poll only
}

TEST_F(functiongraph_transport_test, a_streamed_response_is_posted_whole) {
  fg_->script = {recorded_fg_request("s-1"), status_only(200)};
  auto c = client();
  testing::expect_stream_posted_whole(c, *fg_, 1, "/v1/runtime/invocation/response/s-1");
}

TEST_F(functiongraph_transport_test, a_failed_stream_is_posted_as_an_error) {
  fg_->script = {recorded_fg_request("s-2"), status_only(200)};
  auto c = client();
  testing::expect_failed_stream_posted_as_error(c, *fg_, 1, "/v1/runtime/invocation/error/s-2");
}

}  // namespace
}  // namespace lamella
