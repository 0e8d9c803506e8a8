// The conformance table on Fission (platform-contracts.md §11): the real generic bootstrap
// started as a Fission environment pod starts (LAMELLA_PLATFORM=fission), before it knows its
// function; specialised with `POST /v2/specialize` as Fission's fetcher sends it (filepath = the
// language's conformance directory, functionName = its handler); then each case as a request
// the router forwards. Fission requests are http-adapter requests (an API Gateway v2 event per
// request), so each case's event travels as a structured-mode CloudEvent, whose `data` the
// handler receives unchanged, as on the http platform.
#include "conformance_support.h"

#include <fstream>

namespace lamella::conformance {
namespace {

/// A structured-mode CloudEvent whose `data` is `event`, as Fission's router forwards it (path
/// "/" after the trigger's prefix, X-Fission-* headers added).
std::string fission_request(const boost::json::value& event, std::string_view id) {
  const std::string body = structured_cloud_event(event, id);
  std::string r =
      "POST / HTTP/1.1\r\nHost: conformance.default\r\n"
      "Content-Type: application/cloudevents+json; charset=UTF-8\r\n"
      "X-Fission-Function-Name: conformance\r\nX-Fission-Function-Namespace: default\r\n"
      "X-Fission-Function-Uid: 0000\r\nX-Fission-Function-Resourceversion: 1\r\n"
      "X-Fission-Full-Url: /conformance\r\n";
  r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  r.append(body);
  return r;
}

/// The fetcher's v2 specialize body.
std::string specialize_body(const std::filesystem::path& filepath, std::string_view function) {
  boost::json::object body;
  body["filepath"] = filepath.string();
  body["functionName"] = function;
  body["url"] = "";
  body["FunctionMetadata"] = {{"name", "conformance"}, {"namespace", "default"}};
  body["envVersion"] = 2;
  return boost::json::serialize(body);
}

std::optional<testing::raw_response> once(std::uint16_t port, std::string_view method,
                                          std::string_view target, std::string_view body = {}) {
  testing::raw_connection c(port);
  return c.exchange(method, target, body);
}

class fission_conformance : public ::testing::TestWithParam<push_runner> {};

// Success: 200 + the result as JSON, or 204 with no body when it is null (cloud_event_reply); a
// function error 500 + the error JSON. Request ids are the server's own (Fission sends none).
TEST_P(fission_conformance, every_case_of_the_table) {
  const auto& runner = GetParam();
  push_function fn(runner.language, runner.platform);
  ASSERT_NE(fn.port(), 0) << "the bootstrap did not start a server; its output:\n" << fn.log();

  // Before specialisation: healthy, but no function.
  const auto health = once(fn.port(), "GET", "/healthz");
  ASSERT_TRUE(health) << fn.log();
  EXPECT_EQ(health->status, 200u);
  const auto early = once(fn.port(), "POST", "/", "{}");
  ASSERT_TRUE(early) << fn.log();
  EXPECT_EQ(early->status, 500u);
  EXPECT_NE(early->body.find("not specialized"), std::string::npos) << early->body;

  const auto specialize = once(fn.port(), "POST", "/v2/specialize",
                               specialize_body(runner.language.dir, runner.language.handler));
  ASSERT_TRUE(specialize) << fn.log();
  ASSERT_EQ(specialize->status, 200u) << specialize->body << fn.log();

  testing::raw_connection connection(fn.port());
  run_table(fn, runner.name,
            [&](const boost::json::object& tc, int number, platform_answer& answer) {
              const std::string sent_id = "fission-" + runner.name + "-" + std::to_string(number);
              const auto r = round_trip(connection, fn, fission_request(tc.at("event"), sent_id));
              ASSERT_TRUE(r);
              read_event_answer(*r, tc, answer);
              answer.is_request_id = is_server_made_request_id;
            });
  if (HasFatalFailure()) return;
  // Specialised once: a second specialize is refused; health stays good.
  const auto again = once(fn.port(), "POST", "/v2/specialize",
                          specialize_body(runner.language.dir, runner.language.handler));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 400u);
  EXPECT_EQ(again->body, "Not a generic container\n");
  const auto still = once(fn.port(), "GET", "/healthz");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200u);
  expect_clean_stop(fn);
}

INSTANTIATE_TEST_SUITE_P(platforms, fission_conformance,
                         ::testing::ValuesIn(push_runners({"fission"})),
                         [](const auto& param_info) { return param_info.param.name; });

// A specialize naming a module that is not there fails with a clear message, and the pod keeps
// answering that error (Fission never specialises a pod twice).
TEST(fission_specialization, a_missing_module_fails_specialize_and_stays_failed) {
  const auto lang = languages().front();
  push_function fn(lang, "fission");
  ASSERT_NE(fn.port(), 0) << fn.log();
  const auto r =
      once(fn.port(), "POST", "/v2/specialize", specialize_body(lang.dir, "nope.handler"));
  ASSERT_TRUE(r) << fn.log();
  EXPECT_EQ(r->status, 500u);
  EXPECT_NE(r->body.find("nope.handler"), std::string::npos) << r->body;
  const auto request = once(fn.port(), "GET", "/");
  ASSERT_TRUE(request);
  EXPECT_EQ(request->status, 500u);
  EXPECT_NE(request->body.find("nope.handler"), std::string::npos) << request->body;
  const auto again =
      once(fn.port(), "POST", "/v2/specialize", specialize_body(lang.dir, lang.handler));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 400u);
  const auto health = once(fn.port(), "GET", "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200u);
}

#ifdef LAMELLA_WITH_PYTHON
// A module that exists but fails to import: specialize succeeds (the file is there), then the
// language runtime's init error is every request's answer.
TEST(fission_specialization, an_import_error_after_specialize_is_every_answer) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("lamella-fission-broken-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "broken.py") << "raise RuntimeError('broken at import')\n"
                                      "def handler(event, context):\n    return 1\n";
  const language_runner lang{"python_broken", dir, "broken.handler"};
  push_function fn(lang, "fission");
  ASSERT_NE(fn.port(), 0) << fn.log();
  const auto r = once(fn.port(), "POST", "/v2/specialize", specialize_body(dir, "broken.handler"));
  ASSERT_TRUE(r) << fn.log();
  EXPECT_EQ(r->status, 200u) << r->body;
  for (int i = 0; i < 2; ++i) {
    const auto answer = once(fn.port(), "POST", "/", "{}");
    ASSERT_TRUE(answer) << fn.log();
    EXPECT_EQ(answer->status, 500u);
    EXPECT_NE(answer->body.find("broken at import"), std::string::npos) << answer->body;
  }
  std::filesystem::remove_all(dir);
}
#endif

}  // namespace
}  // namespace lamella::conformance
