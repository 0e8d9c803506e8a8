// The base of the pull transports without streamed responses (client/pull_transport.h): a
// streamed response is gathered and posted whole, to the error target when it ended with error
// trailers; posts answer Lambda's 202; the next-event head in Lambda's shape.
#include "client/pull_transport.h"

#include "client/lambda_protocol.h"
#include "common/base64.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lamella {
namespace {

struct sent_request {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Records what it is sent and answers `status`.
class recording_transport final : public transport {
 public:
  explicit recording_transport(std::vector<sent_request>& sent) : sent_(sent) {}
  result<http_response> send(const http_request& request) override {
    sent_request r{std::string(request.method), request.target, {}, std::string(request.body)};
    for (const auto& [name, value] : request.headers) r.headers.emplace_back(name, value);
    sent_.push_back(std::move(r));
    http_response answer;
    answer.status = status;
    return answer;
  }
  [[nodiscard]] std::string_view name() const noexcept override { return "fake"; }
  unsigned status = 200;

 private:
  std::vector<sent_request>& sent_;
};

// Streams only to "/stream", whose body goes to "/out" and whose error goes to "/err".
class test_transport final : public detail::buffered_pull_transport {
 public:
  explicit test_transport(std::unique_ptr<transport> inner)
      : buffered_pull_transport(std::move(inner), "test") {}
  result<http_response> send(const http_request& request) override {
    return post(request, request.target, request.body);
  }

 private:
  [[nodiscard]] std::optional<stream_targets> targets_for_stream(
      std::string_view lambda_target) const override {
    if (lambda_target != "/stream") return std::nullopt;
    return stream_targets{"/out", "/err"};
  }
};

std::string header_of(const sent_request& r, std::string_view name) {
  for (const auto& [key, value] : r.headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

TEST(buffered_pull_transport, names_itself_after_the_platform_and_the_inner_transport) {
  std::vector<sent_request> sent;
  test_transport t(std::make_unique<recording_transport>(sent));
  EXPECT_EQ(t.name(), "test/fake");
}

TEST(buffered_pull_transport, posts_a_streamed_response_whole_when_it_ends) {
  std::vector<sent_request> sent;
  test_transport t(std::make_unique<recording_transport>(sent));
  const http_request head{"POST",
                          "/stream",
                          {{"User-Agent", "ua"}, {"X-Other", "x"}, {"Content-Type", "text/plain"}},
                          {}};
  ASSERT_TRUE(t.begin_chunked(head));
  ASSERT_TRUE(t.write_chunk("ab"));
  ASSERT_TRUE(t.write_chunk("cd"));
  EXPECT_TRUE(sent.empty());  // nothing on the wire before the end
  auto answer = t.end_chunked({});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 202u);  // the platform's 200, as Lambda answers
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method, "POST");
  EXPECT_EQ(sent[0].target, "/out");
  EXPECT_EQ(sent[0].body, "abcd");
  EXPECT_EQ(header_of(sent[0], "User-Agent"), "ua");
  EXPECT_EQ(header_of(sent[0], "Content-Type"), "text/plain");
  EXPECT_EQ(header_of(sent[0], "X-Other"), "");
}

TEST(buffered_pull_transport, posts_a_stream_ended_with_error_trailers_to_the_error_target) {
  std::vector<sent_request> sent;
  test_transport t(std::make_unique<recording_transport>(sent));
  ASSERT_TRUE(t.begin_chunked({"POST", "/stream", {}, {}}));
  ASSERT_TRUE(t.write_chunk("partial"));
  const std::string error_body = detail::base64_encode(R"({"errorMessage":"boom"})");
  auto answer = t.end_chunked({{detail::error_type_header, "Runtime.Boom"},
                               {"Lambda-Runtime-Function-Error-Body", error_body}});
  ASSERT_TRUE(answer);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].target, "/err");
  EXPECT_EQ(sent[0].body, R"({"errorMessage":"boom"})");
  EXPECT_EQ(header_of(sent[0], detail::error_type_header), "Runtime.Boom");
}

TEST(buffered_pull_transport, refuses_streams_it_cannot_place_and_chunks_without_a_stream) {
  std::vector<sent_request> sent;
  test_transport t(std::make_unique<recording_transport>(sent));
  EXPECT_EQ(t.begin_chunked({"POST", "/elsewhere", {}, {}}).error(),
            make_error_code(errc::not_supported));
  EXPECT_FALSE(t.write_chunk("x"));
  EXPECT_FALSE(t.end_chunked({}));
  ASSERT_TRUE(t.begin_chunked({"POST", "/stream", {}, {}}));
  t.abort_chunked();
  EXPECT_FALSE(t.write_chunk("x"));
  EXPECT_TRUE(sent.empty());
}

TEST(buffered_pull_transport, passes_statuses_other_than_2xx_through) {
  std::vector<sent_request> sent;
  auto inner = std::make_unique<recording_transport>(sent);
  inner->status = 413;
  test_transport t(std::move(inner));
  auto answer = t.send({"POST", "/out", {}, "x"});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 413u);
}

TEST(lambda_next_response, builds_lambdas_headers_in_order) {
  const auto deadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(1234));
  const auto r = detail::lambda_next_response("{}", "application/json", "id-1", deadline, "arn");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "{}");
  const std::vector<std::pair<std::string, std::string>> expected{
      {std::string(detail::request_id_header), "id-1"},
      {std::string(detail::deadline_header), "1234"},
      {std::string(detail::function_arn_header), "arn"},
      {std::string(detail::content_type_header), "application/json"}};
  EXPECT_EQ(r.headers, expected);
  const auto bare = detail::lambda_next_response("x", "", "id-2", std::nullopt, "arn");
  EXPECT_EQ(bare.headers.size(), 2u);
  EXPECT_EQ(bare.header(detail::deadline_header), "");
  EXPECT_EQ(bare.header(detail::content_type_header), "");
}

TEST(parse_count, takes_non_negative_integers_with_blanks_only) {
  EXPECT_EQ(detail::parse_count(" 42\t"), 42);
  EXPECT_EQ(detail::parse_count("0"), 0);
  EXPECT_EQ(detail::parse_count("-1"), std::nullopt);
  EXPECT_EQ(detail::parse_count("12ms"), std::nullopt);
  EXPECT_EQ(detail::parse_count(""), std::nullopt);
}

}  // namespace
}  // namespace lamella
