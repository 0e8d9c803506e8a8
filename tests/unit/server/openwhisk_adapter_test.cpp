// The `openwhisk` adapter: the action proxy's /init and /run (bodies as OpenWhisk's invoker sends
// them, platform-contracts.md §10), the environment it exports, and its answers.
#include "adapter_test_support.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>

namespace lamella::push {
namespace {

using test_support::header;
namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::system_clock;

struct recorder {
  int activations = 0;
};

std::unique_ptr<adapter> make(recorder& ends, bool export_activation_variables = true) {
  openwhisk_options options;
  options.function.name = "ow-fn";
  options.export_activation_variables = export_activation_variables;
  options.end_of_activation = [&ends] { ++ends.activations; };
  return make_openwhisk_adapter(std::move(options));
}

request post(std::string target, std::string body) {
  return request{.method = "POST",
                 .target = std::move(target),
                 .headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}},
                 .body = std::move(body)};
}

json::value body_of(const reply& r) { return json::parse(r.body); }

const std::string init_body =
    R"({"value":{"name":"hello","main":"main","binary":false,"env":{"GREETING":"hi","COUNT":3}}})";

// What OpenWhisk's ContainerProxy sends: the deadline as a JSON string of epoch milliseconds.
const std::string run_body =
    R"({"value":{"name":"ow"},"namespace":"guest","action_name":"/guest/hello",)"
    R"("action_version":"0.0.1","activation_id":"6a1f0c2e9b1d4c3e9f0c2e9b1d4c3e9f",)"
    R"("transaction_id":"tid-1","deadline":"4102444800000","api_key":"uuid:key"})";

TEST(openwhisk_adapter, init_exports_env_and_waits_for_the_functions_init) {
  recorder ends;
  const auto a = make(ends);
  EXPECT_EQ(a->name(), "openwhisk");
  ::unsetenv("GREETING");
  const dispatch d = a->on_request(post("/init", init_body), "server-id");
  EXPECT_EQ(d.what, dispatch::kind::initialize);
  ASSERT_NE(std::getenv("GREETING"), nullptr);
  EXPECT_STREQ(std::getenv("GREETING"), "hi");
  EXPECT_STREQ(std::getenv("COUNT"), "3");  // non-string parameters as JSON text
  const reply ok = a->on_hook(post("/init", init_body), dispatch::kind::initialize, nullptr);
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(body_of(ok), json::parse(R"({"ok":true})"));
  EXPECT_EQ(ends.activations, 0);
}

TEST(openwhisk_adapter, second_init_is_refused_with_403) {
  recorder ends;
  const auto a = make(ends, false);
  ASSERT_EQ(a->on_request(post("/init", R"({"value":{}})"), "id").what, dispatch::kind::initialize);
  const dispatch d = a->on_request(post("/init", R"({"value":{}})"), "id");
  ASSERT_EQ(d.what, dispatch::kind::reply_now);
  EXPECT_EQ(d.immediate.status, 403u);
  EXPECT_EQ(body_of(d.immediate),
            json::parse(R"({"error":"Cannot initialize the action more than once."})"));
  EXPECT_EQ(header(d.immediate, "Content-Type"), "application/json");
}

TEST(openwhisk_adapter, malformed_bodies_are_400_with_an_error) {
  recorder ends;
  const auto a = make(ends, false);
  for (const char* body : {"{not json", "[1,2]", R"({"value":"x"})", ""}) {
    SCOPED_TRACE(body);
    const dispatch d = a->on_request(post("/init", body), "id");
    ASSERT_EQ(d.what, dispatch::kind::reply_now);
    EXPECT_EQ(d.immediate.status, 400u);
    ASSERT_TRUE(body_of(d.immediate).at("error").is_string());
  }
  // Still not initialised: a good /init is accepted after the bad ones.
  EXPECT_EQ(a->on_request(post("/init", R"({"value":{}})"), "id").what, dispatch::kind::initialize);
  const dispatch bad_run = a->on_request(post("/run", "{"), "id");
  EXPECT_EQ(bad_run.immediate.status, 400u);
}

TEST(openwhisk_adapter, an_action_with_code_is_refused) {
  recorder ends;
  const auto a = make(ends, false);
  const dispatch d = a->on_request(
      post("/init",
           R"({"value":{"name":"x","main":"main","binary":false,"code":"def main(a): pass"}})"),
      "id");
  ASSERT_EQ(d.what, dispatch::kind::reply_now);
  EXPECT_EQ(d.immediate.status, 502u);
  EXPECT_NE(body_of(d.immediate).at("error").as_string().find("--docker"), json::string::npos);
  // An empty code field is no code (what OpenWhisk's Go proxy also accepts).
  EXPECT_EQ(a->on_request(post("/init", R"({"value":{"code":""}})"), "id").what,
            dispatch::kind::initialize);
}

TEST(openwhisk_adapter, run_before_init_is_500_as_the_go_proxy_answers) {
  recorder ends;
  const auto a = make(ends, false);
  const dispatch d = a->on_request(post("/run", run_body), "id");
  ASSERT_EQ(d.what, dispatch::kind::reply_now);
  EXPECT_EQ(d.immediate.status, 500u);
  EXPECT_EQ(body_of(d.immediate), json::parse(R"({"error":"no action defined yet"})"));
}

TEST(openwhisk_adapter, run_maps_value_activation_and_deadline) {
  recorder ends;
  const auto a = make(ends);
  ASSERT_EQ(a->on_request(post("/init", init_body), "id").what, dispatch::kind::initialize);
  const dispatch d = a->on_request(post("/run", run_body), "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(json::parse(d.inv.payload), json::parse(R"({"name":"ow"})"));
  EXPECT_EQ(d.inv.content_type, "application/json");
  EXPECT_EQ(d.inv.request_id, "6a1f0c2e9b1d4c3e9f0c2e9b1d4c3e9f");
  EXPECT_EQ(d.inv.deadline, system_clock::time_point(milliseconds(4102444800000)));
  const auto context = json::parse(d.inv.platform_context);
  EXPECT_EQ(context.at("openwhisk"),
            json::parse(R"({"namespace":"guest","action_name":"/guest/hello",)"
                        R"("action_version":"0.0.1",)"
                        R"("activation_id":"6a1f0c2e9b1d4c3e9f0c2e9b1d4c3e9f",)"
                        R"("transaction_id":"tid-1","deadline":"4102444800000",)"
                        R"("api_key":"uuid:key"})"));
  const auto& env = context.at("environment").as_object();
  EXPECT_EQ(env.at("__OW_ACTIVATION_ID"), "6a1f0c2e9b1d4c3e9f0c2e9b1d4c3e9f");
  EXPECT_EQ(env.at("__OW_ACTION_NAME"), "/guest/hello");
  EXPECT_EQ(env.at("__OW_API_KEY"), "uuid:key");
  EXPECT_EQ(env.at("GREETING"), "hi");  // the init parameters, for the Python mirror
  EXPECT_STREQ(std::getenv("__OW_ACTIVATION_ID"), "6a1f0c2e9b1d4c3e9f0c2e9b1d4c3e9f");
  EXPECT_STREQ(std::getenv("__OW_DEADLINE"), "4102444800000");
  EXPECT_STREQ(std::getenv("__OW_NAMESPACE"), "guest");

  // The next activation without an API key (annotation provide-api-key=false) must not see the
  // previous one's; a numeric deadline (as the docs describe it) is read too.
  const dispatch next = a->on_request(
      post("/run", R"({"value":{},"activation_id":"second","deadline":4102444801000})"), "x");
  ASSERT_EQ(next.what, dispatch::kind::invoke);
  EXPECT_EQ(next.inv.request_id, "second");
  EXPECT_EQ(next.inv.deadline, system_clock::time_point(milliseconds(4102444801000)));
  EXPECT_EQ(std::getenv("__OW_API_KEY"), nullptr);
  EXPECT_EQ(std::getenv("__OW_NAMESPACE"), nullptr);
  EXPECT_STREQ(std::getenv("__OW_ACTIVATION_ID"), "second");
  EXPECT_TRUE(
      json::parse(next.inv.platform_context).at("environment").at("__OW_API_KEY").is_null());
}

TEST(openwhisk_adapter, concurrent_activations_get_the_fields_in_the_context_only) {
  recorder ends;
  const auto a = make(ends, /*export_activation_variables=*/false);
  ::unsetenv("__OW_ACTIVATION_ID");
  ::unsetenv("OW_CONCURRENT_PARAM");
  ASSERT_EQ(
      a->on_request(post("/init", R"({"value":{"env":{"OW_CONCURRENT_PARAM":"c"}}})"), "id").what,
      dispatch::kind::initialize);
  // The init parameters are set once, before any activation: exported all the same.
  EXPECT_STREQ(std::getenv("OW_CONCURRENT_PARAM"), "c");
  const dispatch d = a->on_request(post("/run", run_body), "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(std::getenv("__OW_ACTIVATION_ID"), nullptr);
  const auto context = json::parse(d.inv.platform_context);
  EXPECT_EQ(context.at("environment"), json::parse(R"({"OW_CONCURRENT_PARAM":"c"})"));
  EXPECT_EQ(context.at("openwhisk").at("activation_id"), "6a1f0c2e9b1d4c3e9f0c2e9b1d4c3e9f");
}

TEST(openwhisk_adapter, missing_value_and_bad_deadline) {
  recorder ends;
  const auto a = make(ends, false);
  (void)a->on_request(post("/init", R"({"value":{}})"), "id");
  const dispatch d = a->on_request(post("/run", R"({"deadline":"soon"})"), "server-id");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(d.inv.payload, "{}");
  EXPECT_EQ(d.inv.request_id, "server-id");
  EXPECT_EQ(d.inv.deadline, system_clock::time_point{});  // the server's own timeout applies
}

TEST(openwhisk_adapter, results_objects_and_arrays_pass_other_values_are_wrapped) {
  recorder ends;
  const auto a = make(ends, false);
  const request req = post("/run", run_body);
  const invocation inv;
  struct example {
    const char* result;
    const char* answer;
  };
  for (const example& e :
       {example{R"({"a":1})", R"({"a":1})"}, example{"[1,2]", "[1,2]"},
        example{R"("text")", R"({"result":"text"})"}, example{"42", R"({"result":42})"},
        example{"null", R"({"result":null})"}, example{"true", R"({"result":true})"}}) {
    SCOPED_TRACE(e.result);
    const reply r = a->on_outcome(req, inv, outcome::success(e.result, "application/json"));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
    EXPECT_EQ(body_of(r), json::parse(e.answer));
  }
  EXPECT_EQ(ends.activations, 6);
  // Bytes that are not JSON (a C++ handler's raw result) cannot be an OpenWhisk result.
  const reply raw = a->on_outcome(req, inv, outcome::success("\x01\x02", "application/unknown"));
  EXPECT_EQ(raw.status, 502u);
  EXPECT_TRUE(body_of(raw).at("error").is_string());
  EXPECT_EQ(ends.activations, 7);
}

TEST(openwhisk_adapter, a_function_error_is_an_application_error) {
  recorder ends;
  const auto a = make(ends, false);
  const reply r = a->on_outcome(post("/run", run_body), invocation{},
                                outcome::failure("InvalidInput", "bad input"));
  // Only 200 + {"error": ...} is an application error to the invoker (§10.2).
  EXPECT_EQ(r.status, 200u);
  const auto body = body_of(r);
  EXPECT_EQ(body.at("error").at("errorType"), "InvalidInput");
  EXPECT_EQ(body.at("error").at("errorMessage"), "bad input");
  EXPECT_EQ(ends.activations, 1);
}

TEST(openwhisk_adapter, init_failure_timeout_overload_and_unknown_paths) {
  recorder ends;
  const auto a = make(ends, false);
  const auto failure = outcome::failure("Runtime.ImportModuleError", "No module named 'x'");
  const reply init = a->on_hook(post("/init", "{}"), dispatch::kind::initialize, &failure);
  EXPECT_EQ(init.status, 502u);
  EXPECT_EQ(body_of(init).at("error").at("errorType"), "Runtime.ImportModuleError");
  const reply later = a->on_init_error(post("/run", run_body), failure);
  EXPECT_EQ(later.status, 502u);
  EXPECT_EQ(body_of(later).at("error").at("errorMessage"), "No module named 'x'");

  const reply timeout = a->on_timeout(post("/run", run_body), invocation{});
  EXPECT_EQ(timeout.status, 502u);
  EXPECT_NE(body_of(timeout).at("error").as_string().find("timed out"), json::string::npos);
  EXPECT_EQ(ends.activations, 1);

  EXPECT_EQ(a->on_overload(post("/run", run_body)).status, 503u);  // rescheduled by the invoker
  const dispatch other = a->on_request(post("/other", "{}"), "id");
  EXPECT_EQ(other.immediate.status, 404u);
  EXPECT_TRUE(body_of(other.immediate).at("error").is_string());
  request get = post("/run", "");
  get.method = "GET";
  EXPECT_EQ(a->on_request(get, "id").immediate.status, 405u);
}

}  // namespace
}  // namespace lamella::push
