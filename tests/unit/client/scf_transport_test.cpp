// The SCF transport: the pure translation between the Lambda Runtime API and Tencent SCF's
// custom-runtime API, and the transport driven by the real lambda_client over a scripted inner
// transport that plays SCF (responses as SCF sends them, platform-contracts.md §4).
#include "client/scf_transport.h"

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

const detail::scf_function test_function{"ap-guangzhou", "100012345678", "hello", "default",
                                         "$LATEST"};

// A `/next` answer as SCF sends it: snake_case headers, the event as the body.
http_response recorded_scf_next(std::string request_id = "3f1e0c2a-8d7b-4c55-9a61-0b7e4d2f9c10") {
  http_response r;
  r.status = 200;
  r.headers = {{"Content-Type", "application/json"},
               {"Memory_Limit_In_Mb", "256"},
               {"request_id", std::move(request_id)},
               {"time_limit_in_ms", "3000"},
               {"Content-Length", "17"}};
  r.body = R"({"key1":"value1"})";
  return r;
}

TEST(scf_translation, routes_every_lambda_request) {
  using k = detail::scf_route;
  EXPECT_EQ(detail::route_lambda_request("/2018-06-01/runtime/invocation/next").kind, k::next);
  EXPECT_EQ(detail::route_lambda_request("/2018-06-01/runtime/invocation/next").scf_target,
            "/runtime/invocation/next");
  const auto response = detail::route_lambda_request("/2018-06-01/runtime/invocation/abc/response");
  EXPECT_EQ(response.kind, k::response);
  EXPECT_EQ(response.scf_target, "/runtime/invocation/response");
  const auto error = detail::route_lambda_request("/2018-06-01/runtime/invocation/abc/error");
  EXPECT_EQ(error.kind, k::error);
  EXPECT_EQ(error.scf_target, "/runtime/invocation/error");
  EXPECT_EQ(detail::route_lambda_request("/2018-06-01/runtime/init/error").kind, k::init_error);
  EXPECT_EQ(detail::route_lambda_request("/2018-06-01/runtime/invocation//response").kind,
            k::unknown);
  EXPECT_EQ(detail::route_lambda_request("/runtime/invocation/next").kind, k::unknown);
  EXPECT_EQ(detail::route_lambda_request("/2018-06-01/runtime/invocation/a/other").kind,
            k::unknown);
}

TEST(scf_translation, function_identity_and_arn_from_the_environment) {
  const std::map<std::string, std::string, std::less<>> env{{"TENCENTCLOUD_REGION", "ap-shanghai"},
                                                            {"TENCENTCLOUD_UIN", "42"},
                                                            {"SCF_FUNCTIONNAME", "fn"}};
  const auto f = detail::scf_function_from_env([&env](std::string_view name) {
    const auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  EXPECT_EQ(f.ns, "default");
  EXPECT_EQ(f.version, "$LATEST");
  EXPECT_EQ(detail::scf_function_arn(f),
            "qcs::scf:ap-shanghai:uin/42:namespace/default/function/fn");
}

TEST(scf_translation, next_headers_become_lambdas_and_parse_into_an_invocation) {
  const auto now = std::chrono::system_clock::time_point(1'700'000'000'000ms);
  auto lambda = detail::translate_next_response(recorded_scf_next(), test_function, now, "unused");
  EXPECT_EQ(lambda.status, 200u);
  EXPECT_EQ(lambda.header("Lambda-Runtime-Aws-Request-Id"), "3f1e0c2a-8d7b-4c55-9a61-0b7e4d2f9c10");
  EXPECT_EQ(lambda.header("Lambda-Runtime-Deadline-Ms"), "1700000003000");
  EXPECT_EQ(lambda.header("Lambda-Runtime-Invoked-Function-Arn"),
            "qcs::scf:ap-guangzhou:uin/100012345678:namespace/default/function/hello");
  const auto context = boost::json::parse(lambda.header("Lamella-Platform-Context")).as_object();
  EXPECT_EQ(context.at("platform").as_string(), "scf");
  EXPECT_EQ(context.at("memory_limit_in_mb").as_int64(), 256);
  EXPECT_EQ(context.at("time_limit_in_ms").as_int64(), 3000);
  EXPECT_EQ(context.at("request_id").as_string(), "3f1e0c2a-8d7b-4c55-9a61-0b7e4d2f9c10");

  auto inv = detail::parse_next_response(std::move(lambda));
  ASSERT_TRUE(inv) << inv.error().message();
  EXPECT_EQ(inv->request_id, "3f1e0c2a-8d7b-4c55-9a61-0b7e4d2f9c10");
  EXPECT_EQ(inv->deadline, now + 3000ms);
  EXPECT_EQ(inv->payload, R"({"key1":"value1"})");
  EXPECT_EQ(inv->content_type, "application/json");
  EXPECT_FALSE(inv->platform_context.empty());
}

TEST(scf_translation, a_missing_request_id_is_made_up_and_a_missing_limit_gives_no_deadline) {
  http_response scf = status_only(200, "{}");
  scf.headers = {{"REQUEST_ID", ""}};
  auto lambda = detail::translate_next_response(std::move(scf), test_function,
                                                std::chrono::system_clock::now(), "made-up-id");
  EXPECT_EQ(lambda.header("Lambda-Runtime-Aws-Request-Id"), "made-up-id");
  EXPECT_EQ(lambda.header("Lambda-Runtime-Deadline-Ms"), "");
  const auto context = boost::json::parse(lambda.header("Lamella-Platform-Context")).as_object();
  EXPECT_FALSE(context.contains("time_limit_in_ms"));
  EXPECT_TRUE(detail::parse_next_response(std::move(lambda)));
}

TEST(scf_translation, a_non_200_next_and_post_statuses) {
  auto next = detail::translate_next_response(status_only(500, "down"), test_function,
                                              std::chrono::system_clock::now(), "id");
  EXPECT_EQ(next.status, 500u);
  EXPECT_EQ(next.body, "down");
  EXPECT_EQ(detail::translate_post_response(status_only(200)).status, 202u);
  EXPECT_EQ(detail::translate_post_response(status_only(400)).status, 400u);
  EXPECT_EQ(detail::translate_post_response(status_only(500)).status, 500u);
}

TEST(scf_translation, made_up_request_ids_are_v4_uuids) {
  const auto id = detail::scf_make_request_id(~0ULL, 0);
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_EQ(id[19], '8');
  EXPECT_NE(detail::scf_make_request_id(1, 2), detail::scf_make_request_id(1, 3));
}

// --- the transport, under the real lambda_client

class scf_transport_test : public ::testing::Test {
 protected:
  lambda_client client() {
    return lambda_client(make_scf_transport("127.0.0.1:9001", transport_options{},
                                            std::make_unique<testing::scripted_transport>(scf_)));
  }
  std::shared_ptr<testing::scripted_platform> scf_ = std::make_shared<testing::scripted_platform>();
};

TEST_F(scf_transport_test, ready_once_then_poll_then_post_without_ids) {
  scf_->script = {status_only(200), recorded_scf_next("id-1"), status_only(200),
                  recorded_scf_next("id-2"), status_only(200)};
  auto c = client();
  EXPECT_EQ(c.transport_name(), "scf/scripted");
  auto first = c.next();
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->request_id, "id-1");
  auto posted = c.post_response(first->request_id, outcome::success("\"ok\""));
  ASSERT_TRUE(posted);
  EXPECT_EQ(*posted, post_status::accepted);  // SCF's 200 is Lambda's 202
  auto second = c.next();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->request_id, "id-2");
  auto failed = c.post_error(second->request_id, outcome::failure("ValueError", "bad"));
  ASSERT_TRUE(failed);
  EXPECT_EQ(*failed, post_status::accepted);

  ASSERT_EQ(scf_->sent.size(), 5u);
  EXPECT_EQ(scf_->sent[0].method, "POST");
  EXPECT_EQ(scf_->sent[0].target, "/runtime/init/ready");
  EXPECT_EQ(scf_->sent[1].method, "GET");
  EXPECT_EQ(scf_->sent[1].target, "/runtime/invocation/next");
  EXPECT_EQ(scf_->sent[2].target, "/runtime/invocation/response");
  EXPECT_EQ(scf_->sent[2].body, "\"ok\"");
  EXPECT_EQ(scf_->sent[3].target, "/runtime/invocation/next");  // no second ready
  testing::expect_error_post(scf_->sent[4], "/runtime/invocation/error", "ValueError", "bad");
}

TEST_F(scf_transport_test, ready_is_said_again_when_it_did_not_get_through) {
  scf_->script = {result<http_response>(errc::runtime_api_unreachable), status_only(200),
                  recorded_scf_next()};
  auto c = client();
  EXPECT_FALSE(c.next());
  ASSERT_TRUE(c.next());
  ASSERT_EQ(scf_->sent.size(), 3u);
  EXPECT_EQ(scf_->sent[0].target, "/runtime/init/ready");
  EXPECT_EQ(scf_->sent[1].target, "/runtime/init/ready");
  EXPECT_EQ(scf_->sent[2].target, "/runtime/invocation/next");
}

TEST_F(scf_transport_test, a_refused_ready_is_a_rejected_next) {
  scf_->script = {status_only(500, "no")};
  auto c = client();
  auto inv = c.next();
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error(), make_error_code(errc::runtime_api_rejected));
}

TEST_F(scf_transport_test, init_error_stays_local) {
  auto c = client();
  auto posted = c.post_init_error(outcome::failure("Runtime.ImportModuleError", "no module"));
  ASSERT_TRUE(posted);
  EXPECT_EQ(*posted, post_status::accepted);
  EXPECT_TRUE(scf_->sent.empty());
}

TEST_F(scf_transport_test, a_streamed_response_is_posted_whole) {
  scf_->script = {status_only(200), recorded_scf_next("s-1"), status_only(200)};
  auto c = client();
  testing::expect_stream_posted_whole(c, *scf_, 2, "/runtime/invocation/response");
}

TEST_F(scf_transport_test, a_failed_stream_is_posted_as_an_error) {
  scf_->script = {status_only(200), recorded_scf_next("s-2"), status_only(200)};
  auto c = client();
  testing::expect_failed_stream_posted_as_error(c, *scf_, 2, "/runtime/invocation/error");
}

}  // namespace
}  // namespace lamella
