#include "client/lambda_protocol.h"

#include "lamella/lambda_client.h"
#include "lamella/version.h"

#include <gtest/gtest.h>

namespace lamella::detail {
namespace {

http_response next_response() {
  http_response r;
  r.status = 200;
  r.headers = {{"Lambda-Runtime-Aws-Request-Id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd"},
               {"Lambda-Runtime-Deadline-Ms", "1542409706888"},
               {"Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime"},
               {"Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1"},
               {"Lambda-Runtime-Aws-Tenant-Id", "tenant-7"},
               {"Content-Type", "application/json"}};
  r.body = R"({"name":"lamella"})";
  return r;
}

TEST(parse_next_response, maps_every_header) {
  const auto inv = parse_next_response(next_response());
  ASSERT_TRUE(inv) << inv.error().message();
  EXPECT_EQ(inv->request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
  EXPECT_EQ(inv->deadline.time_since_epoch(), std::chrono::milliseconds(1542409706888));
  EXPECT_EQ(inv->function_arn, "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime");
  EXPECT_EQ(inv->trace_id, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1");
  EXPECT_EQ(inv->tenant_id, "tenant-7");
  EXPECT_EQ(inv->client_context, "");
  EXPECT_EQ(inv->cognito_identity, "");
  EXPECT_EQ(inv->content_type, "application/json");
  EXPECT_EQ(inv->payload, R"({"name":"lamella"})");
}

TEST(parse_next_response, optional_headers_and_default_content_type) {
  auto r = next_response();
  r.headers = {{"lambda-runtime-aws-request-id", "id"},
               {"lambda-runtime-client-context", R"({"custom":{}})"},
               {"lambda-runtime-cognito-identity", R"({"cognitoIdentityId":"x"})"}};
  const auto inv = parse_next_response(std::move(r));
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv->client_context, R"({"custom":{}})");
  EXPECT_EQ(inv->cognito_identity, R"({"cognitoIdentityId":"x"})");
  EXPECT_EQ(inv->content_type, "application/json");
  EXPECT_EQ(inv->deadline.time_since_epoch().count(), 0);
}

TEST(parse_next_response, rejects_a_missing_request_id) {
  auto r = next_response();
  r.headers.erase(r.headers.begin());
  const auto inv = parse_next_response(std::move(r));
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error(), make_error_code(errc::bad_runtime_response));
}

TEST(parse_next_response, rejects_a_request_id_that_could_break_the_next_target) {
  for (const char* id : {"a b", "a\r\nX: y", "../x", "a?b", "a%2F"}) {
    auto r = next_response();
    r.headers[0].second = id;
    EXPECT_EQ(parse_next_response(std::move(r)).error(),
              make_error_code(errc::bad_runtime_response))
        << id;
  }
}

TEST(parse_next_response, rejects_a_bad_deadline) {
  auto r = next_response();
  r.headers[1].second = "12x";
  EXPECT_EQ(parse_next_response(std::move(r)).error(), make_error_code(errc::bad_runtime_response));
}

TEST(parse_next_response, rejects_a_non_200_status) {
  auto r = next_response();
  r.status = 500;
  EXPECT_EQ(parse_next_response(std::move(r)).error(), make_error_code(errc::runtime_api_rejected));
}

TEST(targets, are_the_runtime_api_paths) {
  EXPECT_EQ(response_target("abc"), "/2018-06-01/runtime/invocation/abc/response");
  EXPECT_EQ(error_target("abc"), "/2018-06-01/runtime/invocation/abc/error");
  EXPECT_EQ(next_target, "/2018-06-01/runtime/invocation/next");
  EXPECT_EQ(init_error_target, "/2018-06-01/runtime/init/error");
  EXPECT_EQ(max_response_bytes, 6291556u);
}

TEST(user_agent, is_versioned_and_names_language_and_transport) {
  EXPECT_EQ(user_agent("cpp", "beast"), "lamella/" LAMELLA_VERSION " (cpp; beast)");
}

}  // namespace
}  // namespace lamella::detail
