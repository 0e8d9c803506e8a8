// What the pull-platform transport tests share (scf_transport_test.cpp,
// functiongraph_transport_test.cpp): an inner transport that plays the platform's runtime API
// from a script of answers and records what the platform transport sent, so the tests can drive
// the transport under the real lambda_client and check the platform's side of the wire.
#pragma once

#include "lamella/lambda_client.h"
#include "lamella/transport.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lamella::testing {

/// One request as the platform received it.
struct wire_request {
  std::string method, target, body;
  std::string error_type;  // Lambda-Runtime-Function-Error-Type, when sent
};

/// The platform's side: the answers it gives, in order, and the requests it got.
struct scripted_platform {
  std::deque<result<http_response>> script;
  std::vector<wire_request> sent;
};

/// An inner transport answering from `platform->script` (runtime_api_unreachable once the script
/// is used up) and recording every request in `platform->sent`.
class scripted_transport final : public transport {
 public:
  explicit scripted_transport(std::shared_ptr<scripted_platform> platform)
      : platform_(std::move(platform)) {}

  result<http_response> send(const http_request& r) override {
    wire_request w{std::string(r.method), r.target, std::string(r.body), {}};
    for (const auto& [name, value] : r.headers) {
      if (iequals(name, "Lambda-Runtime-Function-Error-Type")) w.error_type = value;
    }
    platform_->sent.push_back(std::move(w));
    if (platform_->script.empty()) return errc::runtime_api_unreachable;
    auto next = std::move(platform_->script.front());
    platform_->script.pop_front();
    return next;
  }

  [[nodiscard]] std::string_view name() const noexcept override { return "scripted"; }

 private:
  std::shared_ptr<scripted_platform> platform_;
};

/// An answer with only a status (and an optional body), as the platforms acknowledge posts.
inline http_response status_only(unsigned code, std::string body = {}) {
  http_response r;
  r.status = code;
  r.body = std::move(body);
  return r;
}

/// Checks that `w` is an error post to `target`: the error type in its header and Lambda's error
/// JSON (errorType `type`, errorMessage `message`) as its body.
inline void expect_error_post(const wire_request& w, std::string_view target, std::string_view type,
                              std::string_view message) {
  EXPECT_EQ(w.target, target);
  EXPECT_EQ(w.error_type, type);
  boost::system::error_code ec;
  const auto error = boost::json::parse(w.body, ec);
  ASSERT_FALSE(ec) << w.body;
  ASSERT_TRUE(error.is_object()) << w.body;
  EXPECT_EQ(error.at("errorType"), boost::json::value(type));
  EXPECT_EQ(error.at("errorMessage"), boost::json::value(message));
}

/// Streams "hello " then "world" as the response to `client`'s next invocation and checks that
/// nothing reaches the platform while streaming, then one accepted post of the whole body to
/// `target`. `platform`'s script must hold the invocation and the post's answer; `before` is how
/// many requests the platform gets to hand out the invocation.
inline void expect_stream_posted_whole(lambda_client& client, const scripted_platform& platform,
                                       std::size_t before, std::string_view target) {
  auto inv = client.next();
  ASSERT_TRUE(inv);
  ASSERT_EQ(platform.sent.size(), before);
  auto stream = client.stream_response(inv->request_id, "text/plain");
  ASSERT_TRUE(stream);
  ASSERT_TRUE(stream->write("hello "));
  ASSERT_TRUE(stream->write("world"));
  EXPECT_EQ(platform.sent.size(), before);  // nothing sent while streaming
  auto done = stream->finish();
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, post_status::accepted);
  ASSERT_EQ(platform.sent.size(), before + 1);
  EXPECT_EQ(platform.sent.back().target, target);
  EXPECT_EQ(platform.sent.back().body, "hello world");
}

/// Fails the response stream to `client`'s next invocation after a partial write and checks that
/// the platform gets one error post to `target` with the failure's type and body (the partial
/// output dropped). `platform`'s script must hold the invocation and the post's answer; `before`
/// is how many requests the platform gets to hand out the invocation.
inline void expect_failed_stream_posted_as_error(lambda_client& client,
                                                 const scripted_platform& platform,
                                                 std::size_t before, std::string_view target) {
  auto inv = client.next();
  ASSERT_TRUE(inv);
  ASSERT_EQ(platform.sent.size(), before);
  auto stream = client.stream_response(inv->request_id, "");
  ASSERT_TRUE(stream);
  ASSERT_TRUE(stream->write("partial"));
  auto done = stream->fail("StreamError", R"({"errorType":"StreamError","errorMessage":"x"})");
  ASSERT_TRUE(done);
  ASSERT_EQ(platform.sent.size(), before + 1);
  EXPECT_EQ(platform.sent.back().target, target);
  EXPECT_EQ(platform.sent.back().error_type, "StreamError");
  EXPECT_EQ(platform.sent.back().body, R"({"errorType":"StreamError","errorMessage":"x"})");
}

}  // namespace lamella::testing
