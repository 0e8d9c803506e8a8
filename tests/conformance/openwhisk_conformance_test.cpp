// The conformance table on Apache OpenWhisk (platform-contracts.md §10): the real generic
// bootstrap started as an OpenWhisk blackbox action container is started
// (LAMELLA_PLATFORM=openwhisk), driven over loopback as OpenWhisk's invoker drives it: one
// `POST /init`, then each case as `POST /run` with the invoker's fields. Checked per activation:
// the answer's status, Content-Length and result shape, and the log sentinel on stdout and stderr
// after the handler's own output.
#include "conformance_support.h"

#include <fstream>

namespace lamella::conformance {
namespace {

constexpr std::string_view sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

std::size_t count_of(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// The position of the `n`th (1-based) occurrence of `what`, npos when there are fewer.
std::size_t nth(const std::string& text, std::string_view what, std::size_t n) {
  std::size_t at = std::string::npos;
  for (std::size_t i = 0; i < n; ++i) {
    at = text.find(what, at == std::string::npos ? 0 : at + 1);
    if (at == std::string::npos) break;
  }
  return at;
}

/// Waits (at most 10 s) until the log holds `n` sentinels; returns the log.
std::string wait_for_sentinels(push_function& fn, std::size_t n) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string log = fn.log();
  while (count_of(log, sentinel) < n && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    log = fn.log();
  }
  return log;
}

std::string epoch_ms_in(std::chrono::seconds from_now) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            (std::chrono::system_clock::now() + from_now).time_since_epoch())
                            .count());
}

/// A /run body as OpenWhisk's ContainerProxy sends it (the deadline as a JSON string).
std::string run_body(const boost::json::value& params, const std::string& activation_id) {
  boost::json::object body;
  body["value"] = params;
  body["namespace"] = "guest";
  body["action_name"] = "/guest/conformance";
  body["action_version"] = "0.0.1";
  body["activation_id"] = activation_id;
  body["transaction_id"] = "tid-" + activation_id;
  body["deadline"] = epoch_ms_in(std::chrono::seconds(10));
  return boost::json::serialize(body);
}

constexpr std::string_view init_body =
    R"({"value":{"name":"conformance","main":"main","binary":false,"env":{"OW_PARAM":"p1"}}})";

/// True when `r` carries a Content-Length matching its body (OpenWhisk's container clients
/// treat a chunked answer as no answer).
bool sized(const testing::raw_response& r) {
  return !r.header("Content-Length").empty() &&
         std::stoul(r.header("Content-Length")) == r.body.size() &&
         r.header("Transfer-Encoding").empty();
}

class openwhisk_conformance : public ::testing::TestWithParam<push_runner> {};

TEST_P(openwhisk_conformance, every_case_of_the_table) {
  const auto& runner = GetParam();
  push_function fn(runner.language, runner.platform);
  ASSERT_NE(fn.port(), 0) << "the bootstrap did not start a server; its output:\n" << fn.log();
  testing::raw_connection connection(fn.port());

  // Before /init: the Go action proxy's answer.
  const auto early = connection.exchange("POST", "/run", run_body({}, "early"));
  ASSERT_TRUE(early) << fn.log();
  EXPECT_EQ(early->status, 500u);
  EXPECT_EQ(boost::json::parse(early->body),
            boost::json::parse(R"({"error":"no action defined yet"})"));
  // A malformed /init is refused and does not count as the one /init.
  const auto bad = connection.exchange("POST", "/init", "{\"value\":");
  ASSERT_TRUE(bad) << fn.log();
  EXPECT_EQ(bad->status, 400u);
  EXPECT_TRUE(boost::json::parse(bad->body).at("error").is_string()) << bad->body;
  const auto init = connection.exchange("POST", "/init", init_body);
  ASSERT_TRUE(init) << fn.log();
  EXPECT_EQ(init->status, 200u) << init->body << fn.log();
  EXPECT_TRUE(sized(*init));
  EXPECT_EQ(boost::json::parse(init->body), boost::json::parse(R"({"ok":true})"));
  const auto again = connection.exchange("POST", "/init", init_body);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 403u);
  EXPECT_EQ(boost::json::parse(again->body),
            boost::json::parse(R"({"error":"Cannot initialize the action more than once."})"));

  std::size_t activations = 0;
  run_table(
      fn, runner.name, [&](const boost::json::object& tc, int number, platform_answer& answer) {
        const auto& expect = tc.at("expect").as_object();
        const std::string activation_id = "ow" + std::to_string(number - 1) + "-" + runner.name;
        const auto r = connection.exchange("POST", "/run", run_body(tc.at("event"), activation_id));
        ASSERT_TRUE(r) << "the connection closed without an answer; the log:\n" << fn.log();
        ++activations;
        // Only 200 + {"error": ...} is an application error to the invoker; a success is 200 too.
        EXPECT_EQ(r->status, 200u) << r->body.substr(0, 300);
        EXPECT_TRUE(sized(*r));
        auto parsed = json_body(*r);
        ASSERT_TRUE(parsed);
        const auto& body = *parsed;
        ASSERT_TRUE(body.is_object() || body.is_array()) << "OpenWhisk wants an object or array";
        answer.is_error = body.is_object() && body.as_object().contains("error");
        // Objects and arrays are the result; any other value comes wrapped as {"result": value}.
        if (answer.is_error) {
          answer.result = body.at("error");
        } else if (expect.contains("body") && !expect.at("body").is_object() &&
                   !expect.at("body").is_array()) {
          ASSERT_TRUE(body.as_object().contains("result")) << r->body.substr(0, 300);
          EXPECT_EQ(body.as_object().size(), 1u);
          answer.result = body.at("result");
        } else if (expect.contains("body_string_length")) {
          answer.result = body.at("result");
        } else {
          answer.result = body;
        }
        answer.is_request_id = [activation_id](std::string_view id) { return id == activation_id; };

        // The sentinel on both streams (one pipe here: two lines) after the handler's output.
        const std::string log = wait_for_sentinels(fn, 2 * activations);
        EXPECT_EQ(count_of(log, sentinel), 2 * activations)
            << log.substr(log.size() > 2000 ? log.size() - 2000 : 0);
        if (expect.contains("log_contains")) {
          const auto marker =
              log.find(std::string(expect.at("log_contains").as_array()[0].as_string()));
          const auto this_end = nth(log, sentinel, 2 * activations - 1);
          const auto previous_end =
              activations == 1 ? 0 : nth(log, sentinel, 2 * (activations - 1));
          ASSERT_NE(marker, std::string::npos);
          EXPECT_LT(marker, this_end) << "the sentinel came before the handler's output:\n" << log;
          EXPECT_GT(marker, previous_end);
        }
      });
  if (HasFatalFailure()) return;
  expect_clean_stop(fn);
}

INSTANTIATE_TEST_SUITE_P(platforms, openwhisk_conformance,
                         ::testing::ValuesIn(push_runners({"openwhisk"})),
                         [](const auto& param_info) { return param_info.param.name; });

// The variables OpenWhisk gives an action: /init's env once, __OW_* per activation. Python's
// os.environ and Node's process.env must see them (C++'s getenv: openwhisk_adapter_test).
class openwhisk_environment : public ::testing::TestWithParam<std::string> {};

TEST_P(openwhisk_environment, init_env_and_activation_variables_reach_the_handler) {
  const std::string language = GetParam();
  const auto dir = std::filesystem::temp_directory_path() /
                   ("lamella-ow-env-" + language + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  if (language == "python") {
    std::ofstream(dir / "env_handler.py")
        << "import os\n"
           "def handler(event, context):\n"
           "    return {k: os.environ.get(k) for k in ('OW_PARAM', '__OW_ACTIVATION_ID', "
           "'__OW_API_KEY')}\n";
  } else {
    std::ofstream(dir / "env_handler.mjs")
        << "export const handler = async () => Object.fromEntries(\n"
           "  ['OW_PARAM', '__OW_ACTIVATION_ID', '__OW_API_KEY'].map((k) => [k, process.env[k] "
           "?? null]));\n";
  }
  const language_runner lang{language + "_env", dir, "env_handler.handler"};
  push_function fn(lang, "openwhisk");
  ASSERT_NE(fn.port(), 0) << fn.log();
  testing::raw_connection connection(fn.port());
  const auto init = connection.exchange("POST", "/init", init_body);
  ASSERT_TRUE(init);
  ASSERT_EQ(init->status, 200u) << init->body << fn.log();

  boost::json::object first = boost::json::parse(run_body({}, "act-1")).as_object();
  first["api_key"] = "uuid:secret";
  const auto one = connection.exchange("POST", "/run", boost::json::serialize(first));
  ASSERT_TRUE(one);
  EXPECT_EQ(boost::json::parse(one->body),
            boost::json::parse(
                R"({"OW_PARAM":"p1","__OW_ACTIVATION_ID":"act-1","__OW_API_KEY":"uuid:secret"})"))
      << fn.log();
  // The next activation has no API key (provide-api-key=false): the previous one's is gone.
  const auto two = connection.exchange("POST", "/run", run_body({}, "act-2"));
  ASSERT_TRUE(two);
  EXPECT_EQ(
      boost::json::parse(two->body),
      boost::json::parse(R"({"OW_PARAM":"p1","__OW_ACTIVATION_ID":"act-2","__OW_API_KEY":null})"))
      << fn.log();
  EXPECT_EQ(fn.terminate(), 0) << fn.log();
  std::filesystem::remove_all(dir);
}

std::vector<std::string> script_languages() {
  std::vector<std::string> out;
#ifdef LAMELLA_WITH_PYTHON
  out.emplace_back("python");
#endif
#ifdef LAMELLA_WITH_NODE
  out.emplace_back("node");
#endif
  return out;
}

INSTANTIATE_TEST_SUITE_P(languages, openwhisk_environment, ::testing::ValuesIn(script_languages()),
                         [](const auto& param_info) { return param_info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(openwhisk_environment);

}  // namespace
}  // namespace lamella::conformance
