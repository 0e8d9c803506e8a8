// The Lambda loop against a scripted in-memory transport: what it sends, how it retries, when it
// stops.
#include "lamella/runtime.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <memory>
#include <stdexcept>

namespace lamella {
namespace {

struct sent_request {
  std::string method, target, body, content_type, error_type, user_agent;
};

/// Plays the Runtime API: answers from a script of responses (or connection failures) and
/// records every request.
struct fake_api {
  std::deque<result<http_response>> script;
  std::vector<sent_request> sent;
};

class fake_transport final : public transport {
 public:
  explicit fake_transport(std::shared_ptr<fake_api> api) : api_(std::move(api)) {}
  result<http_response> send(const http_request& r) override {
    sent_request s{std::string(r.method), r.target, std::string(r.body), {}, {}, {}};
    for (const auto& [k, v] : r.headers) {
      if (k == "Content-Type") s.content_type = v;
      if (k == "Lambda-Runtime-Function-Error-Type") s.error_type = v;
      if (k == "User-Agent") s.user_agent = v;
    }
    api_->sent.push_back(std::move(s));
    if (api_->script.empty()) return errc::runtime_api_unreachable;
    auto next = std::move(api_->script.front());
    api_->script.pop_front();
    return next;
  }
  [[nodiscard]] std::string_view name() const noexcept override { return "fake"; }

 private:
  std::shared_ptr<fake_api> api_;
};

http_response event(std::string id, std::string body, std::string trace = {}) {
  http_response r;
  r.status = 200;
  r.headers = {{"Lambda-Runtime-Aws-Request-Id", std::move(id)},
               {"Lambda-Runtime-Deadline-Ms", "4102444800000"}};
  if (!trace.empty()) r.headers.emplace_back("Lambda-Runtime-Trace-Id", std::move(trace));
  r.body = std::move(body);
  return r;
}

http_response status(unsigned code) {
  http_response r;
  r.status = code;
  r.body = R"({"status":"OK"})";
  return r;
}

class run_loop_test : public ::testing::Test {
 protected:
  run_options options(std::size_t n) {
    run_options o;
    o.max_invocations = n;
    o.runtime_api = "127.0.0.1:1";
    o.retry.first_backoff = std::chrono::milliseconds(1);
    o.make_transport = [api = api_](std::string_view, transport_options) {
      return std::make_unique<fake_transport>(api);
    };
    return o;
  }
  std::shared_ptr<fake_api> api_ = std::make_shared<fake_api>();
};

TEST_F(run_loop_test, serves_exactly_n_invocations_and_posts_each_response) {
  api_->script = {event("a", "1"), status(202), event("b", "2"), status(202)};
  const auto echo = [](const invocation& inv) {
    return outcome::success("got " + inv.payload, "text/plain");
  };
  EXPECT_EQ(run(echo, options(2)), 0);
  ASSERT_EQ(api_->sent.size(), 4u);
  EXPECT_EQ(api_->sent[0].method, "GET");
  EXPECT_EQ(api_->sent[0].target, "/2018-06-01/runtime/invocation/next");
  EXPECT_EQ(api_->sent[1].target, "/2018-06-01/runtime/invocation/a/response");
  EXPECT_EQ(api_->sent[1].body, "got 1");
  EXPECT_EQ(api_->sent[1].content_type, "text/plain");
  EXPECT_EQ(api_->sent[3].target, "/2018-06-01/runtime/invocation/b/response");
  EXPECT_EQ(api_->sent[3].user_agent.rfind("lamella/", 0), 0u);
  EXPECT_NE(api_->sent[3].user_agent.find("(cpp; fake)"), std::string::npos);
}

TEST_F(run_loop_test, a_thrown_exception_becomes_a_function_error_and_the_loop_goes_on) {
  api_->script = {event("a", "{}"), status(202), event("b", "{}"), status(202)};
  int calls = 0;
  const auto h = [&](const invocation&) -> outcome {
    if (++calls == 1) throw std::invalid_argument("no name given");
    return outcome::success("{}");
  };
  EXPECT_EQ(run(h, options(2)), 0);
  ASSERT_EQ(api_->sent.size(), 4u);
  EXPECT_EQ(api_->sent[1].target, "/2018-06-01/runtime/invocation/a/error");
  EXPECT_EQ(api_->sent[1].error_type, "std::invalid_argument");
  const auto body = boost::json::parse(api_->sent[1].body).as_object();
  EXPECT_EQ(body.at("errorType").as_string(), "std::invalid_argument");
  EXPECT_EQ(body.at("errorMessage").as_string(), "no name given");
  EXPECT_EQ(api_->sent[3].target, "/2018-06-01/runtime/invocation/b/response");
}

TEST_F(run_loop_test, a_non_exception_throw_is_reported_as_unknown) {
  api_->script = {event("a", "{}"), status(202)};
  EXPECT_EQ(run([](const invocation&) -> outcome { throw 42; }, options(1)), 0);
  EXPECT_EQ(api_->sent[1].error_type, "Unknown");
}

TEST_F(run_loop_test, a_returned_failure_is_posted_with_its_error_type) {
  api_->script = {event("a", "{}"), status(202)};
  const auto h = [](const invocation&) { return outcome::failure("InvalidInput", "bad"); };
  EXPECT_EQ(run(h, options(1)), 0);
  EXPECT_EQ(api_->sent[1].target, "/2018-06-01/runtime/invocation/a/error");
  EXPECT_EQ(api_->sent[1].error_type, "InvalidInput");
  EXPECT_EQ(api_->sent[1].content_type, "application/json");
}

TEST_F(run_loop_test, a_transient_connection_failure_is_retried) {
  api_->script = {errc::runtime_api_unreachable, event("a", "{}"), errc::runtime_api_unreachable,
                  status(202)};
  EXPECT_EQ(run([](const invocation&) { return outcome::success("{}"); }, options(1)), 0);
  EXPECT_EQ(api_->sent.size(), 4u);
}

TEST_F(run_loop_test, a_lost_platform_ends_the_loop_after_the_policy_attempts) {
  api_->script = {errc::runtime_api_unreachable, errc::runtime_api_unreachable,
                  errc::runtime_api_unreachable, event("never", "{}")};
  auto client = make_lambda_client(options(1));
  ASSERT_TRUE(client);
  const auto r = run_loop(
      *client, [](const invocation&) { return outcome::success("{}"); }, options(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::runtime_api_unreachable));
  EXPECT_EQ(api_->sent.size(), 3u);  // attempts = 3, no fourth call
  EXPECT_EQ(api_->script.size(), 1u);
}

TEST_F(run_loop_test, a_refused_post_is_not_fatal) {
  api_->script = {event("a", "{}"), status(413), event("b", "{}"), status(202)};
  EXPECT_EQ(run([](const invocation&) { return outcome::success("{}"); }, options(2)), 0);
  EXPECT_EQ(api_->sent.size(), 4u);
}

TEST_F(run_loop_test, a_server_error_on_post_ends_the_loop) {
  api_->script = {event("a", "{}"), status(500)};
  EXPECT_EQ(run([](const invocation&) { return outcome::success("{}"); }, options(5)), 1);
  EXPECT_EQ(api_->sent.size(), 2u);
}

TEST_F(run_loop_test, a_next_without_request_id_ends_the_loop) {
  http_response bad = status(200);
  api_->script = {bad};
  EXPECT_EQ(run([](const invocation&) { return outcome::success("{}"); }, options(1)), 1);
}

TEST_F(run_loop_test, sets_and_clears_the_trace_id_variable_per_invocation) {
  const std::string long_id = "Root=1-" + std::string(400, 'f');
  api_->script = {event("a", "{}", "Root=1-abc"),
                  status(202),
                  event("b", "{}"),
                  status(202),
                  event("c", "{}", long_id),
                  status(202),
                  event("d", "{}", "Root=1-d"),
                  status(202),
                  event("e", "{}", "Root=1-e"),
                  status(202)};
  std::vector<std::string> seen;
  const auto h = [&](const invocation& inv) {
    const char* v = std::getenv("_X_AMZN_TRACE_ID");
    seen.emplace_back(v == nullptr ? "<unset>" : v);
    // A handler that sets the variable itself must not confuse the next invocation.
    if (inv.request_id == "d") ::setenv("_X_AMZN_TRACE_ID", "set-by-handler", 1);
    return outcome::success("{}");
  };
  EXPECT_EQ(run(h, options(5)), 0);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"Root=1-abc", "<unset>", long_id, "Root=1-d", "Root=1-e"}));
  EXPECT_EQ(std::getenv("_X_AMZN_TRACE_ID"), nullptr) << "the loop cleans up when it ends";
}

TEST_F(run_loop_test, report_init_error_posts_the_type_and_returns_1) {
  api_->script = {status(202)};
  EXPECT_EQ(report_init_error("Runtime.HandlerNotFound", "no such handler", options(1)), 1);
  ASSERT_EQ(api_->sent.size(), 1u);
  EXPECT_EQ(api_->sent[0].target, "/2018-06-01/runtime/init/error");
  EXPECT_EQ(api_->sent[0].error_type, "Runtime.HandlerNotFound");
  EXPECT_EQ(boost::json::parse(api_->sent[0].body).at("errorMessage").as_string(),
            "no such handler");
}

TEST(run, without_an_endpoint_fails_with_a_clear_error) {
  ::unsetenv("AWS_LAMBDA_RUNTIME_API");
  ::unsetenv("SCF_RUNTIME_API");
  EXPECT_EQ(run([](const invocation&) { return outcome::success("{}"); }), 1);
}

// Only SCF configured: the client speaks SCF through the chosen transport (SCF_RUNTIME_API and
// SCF_RUNTIME_API_PORT, default 9001); an explicit endpoint or AWS_LAMBDA_RUNTIME_API wins.
TEST(make_lambda_client, picks_scf_when_only_scf_is_configured) {
  ::unsetenv("AWS_LAMBDA_RUNTIME_API");
  ::setenv("SCF_RUNTIME_API", "10.0.0.7", 1);
  ::unsetenv("SCF_RUNTIME_API_PORT");
  auto api = std::make_shared<fake_api>();
  std::vector<std::string> endpoints;
  run_options o;
  o.make_transport = [&](std::string_view host_port, transport_options) {
    endpoints.emplace_back(host_port);
    return std::make_unique<fake_transport>(api);
  };
  auto scf = make_lambda_client(o);
  ASSERT_TRUE(scf);
  EXPECT_EQ(scf->transport_name(), "scf/fake");
  ::setenv("SCF_RUNTIME_API_PORT", "19001", 1);
  ASSERT_TRUE(make_lambda_client(o));
  ::setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9009", 1);
  auto lambda = make_lambda_client(o);
  ASSERT_TRUE(lambda);
  EXPECT_EQ(lambda->transport_name(), "fake");
  ::unsetenv("AWS_LAMBDA_RUNTIME_API");
  o.runtime_api = "127.0.0.1:9010";
  auto explicit_endpoint = make_lambda_client(o);
  ASSERT_TRUE(explicit_endpoint);
  EXPECT_EQ(explicit_endpoint->transport_name(), "fake");
  ::unsetenv("SCF_RUNTIME_API");
  ::unsetenv("SCF_RUNTIME_API_PORT");
  EXPECT_EQ(endpoints, (std::vector<std::string>{"10.0.0.7:9001", "10.0.0.7:19001",
                                                 "127.0.0.1:9009", "127.0.0.1:9010"}));
}

// Only FunctionGraph configured: the client speaks FunctionGraph's custom-runtime API through the
// chosen transport, at RUNTIME_API_ADDR without the "http://" FunctionGraph's samples prepend.
TEST(make_lambda_client, picks_functiongraph_when_only_runtime_api_addr_is_set) {
  ::unsetenv("AWS_LAMBDA_RUNTIME_API");
  ::unsetenv("SCF_RUNTIME_API");
  ::setenv("RUNTIME_API_ADDR", "http://127.0.0.1:8081", 1);
  auto api = std::make_shared<fake_api>();
  std::vector<std::string> endpoints;
  run_options o;
  o.make_transport = [&](std::string_view host_port, transport_options) {
    endpoints.emplace_back(host_port);
    return std::make_unique<fake_transport>(api);
  };
  auto fg = make_lambda_client(o);
  ::unsetenv("RUNTIME_API_ADDR");
  ASSERT_TRUE(fg);
  EXPECT_EQ(fg->transport_name(), "functiongraph/fake");
  EXPECT_EQ(endpoints, (std::vector<std::string>{"127.0.0.1:8081"}));
}

}  // namespace
}  // namespace lamella
