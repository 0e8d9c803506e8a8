#include "lamella/outcome.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace lamella {
namespace {

TEST(outcome, success_keeps_payload_and_content_type) {
  const auto o = outcome::success("hello", "text/plain");
  EXPECT_TRUE(o.is_success());
  EXPECT_EQ(o.payload(), "hello");
  EXPECT_EQ(o.content_type(), "text/plain");
  EXPECT_TRUE(o.error_type().empty());
}

TEST(outcome, failure_builds_the_aws_error_body) {
  const auto o = outcome::failure("ValueError", "bad \"value\"\n", {"frame 1", "frame 2"});
  EXPECT_FALSE(o.is_success());
  EXPECT_EQ(o.error_type(), "ValueError");
  EXPECT_EQ(o.content_type(), "application/json");
  const auto body = boost::json::parse(o.payload()).as_object();
  EXPECT_EQ(body.at("errorType").as_string(), "ValueError");
  EXPECT_EQ(body.at("errorMessage").as_string(), "bad \"value\"\n");
  ASSERT_EQ(body.at("stackTrace").as_array().size(), 2u);
  EXPECT_EQ(body.at("stackTrace").as_array()[1].as_string(), "frame 2");
}

TEST(outcome, failure_without_trace_has_an_empty_array) {
  const auto body = boost::json::parse(outcome::failure("E", "m").payload()).as_object();
  EXPECT_TRUE(body.at("stackTrace").as_array().empty());
}

TEST(outcome, failure_with_body_is_sent_verbatim) {
  const auto o = outcome::failure_with_body("TypeError", R"({"errorType":"TypeError","trace":[]})");
  EXPECT_EQ(o.payload(), R"({"errorType":"TypeError","trace":[]})");
  EXPECT_EQ(o.error_type(), "TypeError");
}

}  // namespace
}  // namespace lamella
