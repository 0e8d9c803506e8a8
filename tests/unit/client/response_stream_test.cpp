// lambda_client::stream_response() against the real emulator on loopback: the test plays the
// runtime with the real client (a placeholder process stands in for the runtime process the
// emulator supervises) and, for pass-through, the caller with a raw socket.
#include "common/base64.h"
#include "stream_caller.h"

#include "lamella/emulator.h"
#include "lamella/lambda_client.h"

#ifdef LAMELLA_TEST_CURL
#include "lamella/curl_transport.h"
#endif

#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <thread>

namespace lamella {
namespace {

using namespace std::chrono_literals;

class response_stream_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lamella-rs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    function_.dir = dir_;
    function_.command = {"/bin/sleep", "1000"};
  }

  void TearDown() override {
    emu_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void start() {
    emulator_options options;
    options.log = [](std::string_view) {};
    emu_ = std::make_unique<emulator>(function_, std::move(options));
    client_ = std::make_unique<lambda_client>(make_beast_transport(
        "127.0.0.1:" + std::to_string(emu_->runtime_port()), transport_options{}));
  }

  std::future<invoke_result> invoke() {
    invoke_request request;
    request.payload = "{}";
    return emu_->invoke(std::move(request));
  }

  std::string next_id() {
    auto inv = client_->next();
    EXPECT_TRUE(inv);
    return inv ? inv->request_id : std::string();
  }

  std::filesystem::path dir_;
  function_config function_;
  std::unique_ptr<emulator> emu_;
  std::unique_ptr<lambda_client> client_;
};

bool ready(std::future<invoke_result>& f) { return f.wait_for(20s) == std::future_status::ready; }

TEST_F(response_stream_test, each_write_reaches_the_caller_before_the_next) {
  start();
  testing::stream_caller caller(emu_->invoke_port());
  std::promise<void> caller_has_chunk1;
  std::promise<result<post_status>> finished;
  std::thread runtime([&] {
    auto stream = client_->stream_response(next_id(), "text/plain");
    if (!stream || !stream->write("chunk-1")) return finished.set_value(errc::stream_closed);
    caller_has_chunk1.get_future().wait();  // no sleep: the caller says when it has read it
    if (!stream->write("")) return finished.set_value(errc::stream_closed);  // no-op
    if (!stream->write("chunk-2")) return finished.set_value(errc::stream_closed);
    finished.set_value(stream->finish());
  });
  // Only chunk 1 has been written: a buffering emulator would never deliver it (the caller's
  // 30 s read guard would fail the test instead of hanging).
  const std::string first = caller.read_body_until(7);
  caller_has_chunk1.set_value();
  const auto& all = caller.read_all();
  runtime.join();
  EXPECT_EQ(first, "chunk-1");
  EXPECT_EQ(all.body(), "chunk-1chunk-2");
  EXPECT_EQ(all[boost::beast::http::field::content_type], "text/plain");
  EXPECT_EQ(all["End-Of-Response"], "Complete");
  const auto status = finished.get_future().get();
  ASSERT_TRUE(status) << status.error().message();
  EXPECT_EQ(*status, post_status::accepted);

  // The keep-alive connection serves the next invocation.
  auto second = invoke();
  const std::string id = next_id();
  ASSERT_TRUE(client_->post_response(id, outcome::success("ok", "text/plain")));
  ASSERT_TRUE(ready(second));
  EXPECT_EQ(second.get().body, "ok");
}

TEST_F(response_stream_test, beyond_6_mib_streamed_is_accepted_and_intact_buffered_is_refused) {
  function_.timeout = 60s;  // 7 MiB through a sanitizer build can take longer than 3 s
  start();
  auto streamed = invoke();
  std::string body;
  for (int i = 0; body.size() < 7 * 1024 * 1024; ++i) {
    body.append(std::to_string(i)).append(1 + i % 991, static_cast<char>('A' + i % 26));
  }
  {
    auto stream = client_->stream_response(next_id(), "application/octet-stream");
    ASSERT_TRUE(stream);
    for (std::size_t at = 0; at < body.size(); at += 100 * 1024) {
      ASSERT_TRUE(stream->write(std::string_view(body).substr(at, 100 * 1024)));
    }
    const auto status = stream->finish();
    ASSERT_TRUE(status);
    EXPECT_EQ(*status, post_status::accepted);
    EXPECT_FALSE(stream->is_open());
  }
  ASSERT_TRUE(ready(streamed));
  const invoke_result r = streamed.get();
  EXPECT_TRUE(r.streamed);
  EXPECT_EQ(r.function_error, "");
  EXPECT_EQ(r.content_type, "application/octet-stream");
  EXPECT_EQ(r.body.size(), body.size());
  EXPECT_TRUE(r.body == body);

  auto buffered = invoke();
  const auto refused = client_->post_response(next_id(), outcome::success(body, "text/plain"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, post_status::refused);
  ASSERT_TRUE(ready(buffered));
  const invoke_result b = buffered.get();
  EXPECT_FALSE(b.streamed);
  EXPECT_EQ(b.function_error, "Unhandled");
  EXPECT_NE(b.body.find("Function.ResponseSizeTooLarge"), std::string::npos);
}

TEST_F(response_stream_test, fail_sends_the_error_trailers_to_the_caller) {
  start();
  testing::stream_caller caller(emu_->invoke_port());
  auto stream = client_->stream_response(next_id(), "");
  ASSERT_TRUE(stream);
  ASSERT_TRUE(stream->write("partial"));
  const std::string error = R"({"errorType":"Runtime.StreamError","errorMessage":"broke"})";
  const auto status = stream->fail("Runtime.StreamError\r\nX-Injected: 1", error);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, post_status::accepted);
  const auto& all = caller.read_all();
  EXPECT_EQ(all.body(), "partial");
  EXPECT_EQ(all[boost::beast::http::field::content_type], "application/octet-stream");
  EXPECT_EQ(all["End-Of-Response"], "Complete");
  // The error JSON's own errorType wins; the header text was made safe on the way.
  EXPECT_EQ(all["Lambda-Runtime-Function-Error-Type"], "Runtime.StreamError");
  EXPECT_EQ(detail::base64_decode(all["Lambda-Runtime-Function-Error-Body"]), error);
  EXPECT_EQ(all["X-Injected"], "");
  EXPECT_EQ(stream->write("more").error(), make_error_code(errc::stream_closed));
  EXPECT_EQ(stream->finish().error(), make_error_code(errc::stream_closed));
}

TEST_F(response_stream_test, unfinished_stream_is_truncated_and_the_client_reconnects) {
  start();
  auto first = invoke();
  {
    auto stream = client_->stream_response(next_id(), "text/plain");
    ASSERT_TRUE(stream);
    ASSERT_TRUE(stream->write("half"));
    response_stream moved = std::move(*stream);  // movable; the moved-from one is closed
    EXPECT_FALSE(stream->is_open());
    EXPECT_TRUE(moved.is_open());
  }  // destroyed unfinished
  auto second = invoke();
  const std::string id = next_id();  // on a new connection
  ASSERT_TRUE(ready(first));
  const invoke_result r = first.get();
  EXPECT_TRUE(r.streamed);
  EXPECT_EQ(r.function_error, "Unhandled");
  EXPECT_NE(r.body.find("Runtime.TruncatedResponse"), std::string::npos) << r.body;
  ASSERT_TRUE(client_->post_response(id, outcome::success("ok", "text/plain")));
  ASSERT_TRUE(ready(second));
  EXPECT_EQ(second.get().body, "ok");
}

TEST_F(response_stream_test, runtime_killed_mid_stream_ends_the_caller_and_the_stream_fails) {
  start();
  testing::stream_caller caller(emu_->invoke_port());
  auto stream = client_->stream_response(next_id(), "text/plain");
  ASSERT_TRUE(stream);
  ASSERT_TRUE(stream->write("before"));
  EXPECT_EQ(caller.read_body_until(6), "before");
  const auto stats = emu_->last_instance();
  ASSERT_TRUE(stats);
  ASSERT_EQ(::kill(stats->pid, SIGKILL), 0);
  const auto& all = caller.read_all();
  EXPECT_EQ(all.body(), "before");
  EXPECT_EQ(all["End-Of-Response"], "Truncated");
  EXPECT_EQ(all["Lambda-Runtime-Function-Error-Type"], "Runtime.ExitError");
  // The emulator has closed the stream's connection: the runtime learns it at the latest when
  // it ends the body.
  const auto status = stream->finish();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), make_error_code(errc::runtime_api_unreachable));
}

TEST_F(response_stream_test, transport_without_chunked_requests_is_not_supported) {
  start();
  struct plain final : transport {
    result<http_response> send(const http_request&) override {
      return errc::runtime_api_unreachable;
    }
    [[nodiscard]] std::string_view name() const noexcept override { return "plain"; }
  };
  lambda_client client(std::make_unique<plain>());
  auto stream = client.stream_response("id", "text/plain");
  ASSERT_FALSE(stream);
  EXPECT_EQ(stream.error(), make_error_code(errc::not_supported));
  EXPECT_EQ(make_error_code(errc::not_supported).message(),
            "the transport does not support this operation");
#ifdef LAMELLA_TEST_CURL
  lambda_client curl(make_curl_transport("127.0.0.1:" + std::to_string(emu_->runtime_port()),
                                         transport_options{}));
  EXPECT_EQ(curl.stream_response("id", "text/plain").error(), make_error_code(errc::not_supported));
#endif
}

}  // namespace
}  // namespace lamella
