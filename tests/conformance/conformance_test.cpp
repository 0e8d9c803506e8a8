// The conformance table (cases.json) run against every language's conformance handler through
// the real generic bootstrap: the languages cannot drift apart. Each language runs on every
// platform lamella serves, with the same bootstrap and language runtimes. This file:
//   - pull platforms (Lambda, Tencent SCF, Huawei FunctionGraph): through the real emulator,
//     which plays the platform's runtime API;
//   - push platforms (Alibaba FC, HTTP containers): the bootstrap started as the platform starts
//     it (LAMELLA_PLATFORM=fc|http, port 0), driven by a plain HTTP client over loopback with
//     the requests the platform sends (FC: POST /invoke; http: a structured-mode CloudEvent).
// The other platforms have their own files (<platform>_conformance_test.cpp).
#include "conformance_support.h"

namespace lamella::conformance {
namespace {

std::vector<language_runner> runners() {
  std::vector<language_runner> out;
  for (const auto& [platform, dialect] :
       {std::pair{"lambda", runtime_dialect::lambda}, std::pair{"scf", runtime_dialect::scf},
        std::pair{"functiongraph", runtime_dialect::functiongraph}}) {
    for (auto lang : languages()) {
      lang.name += std::string("_") + platform;
      lang.dialect = dialect;
      out.push_back(std::move(lang));
    }
  }
  return out;
}

class conformance : public ::testing::TestWithParam<language_runner> {};

TEST_P(conformance, every_case_of_the_table) {
  const auto& lang = GetParam();
  const auto cases = load_cases();
  ASSERT_GE(cases.size(), 5u) << "the table must not be empty: " << cases_file;
  std::mutex mutex;
  std::string logs;
  function_config c = function_for(lang);
  emulator_options o;
  o.dialect = lang.dialect;
  o.log = [&](std::string_view line) {
    std::lock_guard lock(mutex);
    logs.append(line);
  };
  emulator emu(std::move(c), std::move(o));
  for (const auto& entry : cases) {
    const auto& tc = entry.as_object();
    const std::string name(tc.at("name").as_string());
    SCOPED_TRACE(lang.name + " / " + name);
    invoke_request request;
    request.payload = boost::json::serialize(tc.at("event"));
    const auto r = emu.invoke(std::move(request)).get();
    ASSERT_EQ(r.status, 200u);
    const auto& expect = tc.at("expect").as_object();
    boost::system::error_code ec;
    const auto body = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << "not JSON: " << r.body.substr(0, 300);
    if (expect.contains("error_type")) {
      EXPECT_EQ(r.function_error, "Unhandled");
      EXPECT_EQ(body.at("errorType"), expect.at("error_type"));
      if (expect.contains("error_message")) {
        EXPECT_EQ(body.at("errorMessage"), expect.at("error_message"));
      }
    } else {
      EXPECT_TRUE(r.function_error.empty()) << r.body.substr(0, 300);
    }
    if (expect.contains("body")) {
      auto want = expect.at("body");
      substitute(want, r.request_id);
      EXPECT_EQ(body, want) << r.body.substr(0, 300);
    }
    if (expect.contains("body_string_length")) {
      ASSERT_TRUE(body.is_string());
      EXPECT_EQ(body.as_string().size(), expect.at("body_string_length").to_number<std::size_t>());
    }
    if (expect.contains("log_contains")) {
      (void)emu.last_instance();  // flushes pending log lines
      std::lock_guard lock(mutex);
      for (const auto& s : expect.at("log_contains").as_array()) {
        EXPECT_NE(logs.find(std::string(s.as_string())), std::string::npos) << s;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(languages, conformance, ::testing::ValuesIn(runners()),
                         [](const auto& param_info) { return param_info.param.name; });

// ---- push platforms (fc, http): the bootstrap serves HTTP itself ----

/// FC's event invocation: `POST /invoke`, the event as the body (application/octet-stream), the
/// context in x-fc-* headers (platform-contracts.md §3).
std::string fc_invoke_request(std::string_view event, std::string_view request_id) {
  std::string r =
      "POST /invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n";
  r.append("x-fc-request-id: ").append(request_id).append("\r\n");
  r.append(
      "x-fc-function-name: conformance\r\nx-fc-function-memory: 128\r\n"
      "x-fc-function-timeout: 10\r\nx-fc-region: cn-hangzhou\r\n");
  r.append("Content-Length: ").append(std::to_string(event.size())).append("\r\n\r\n");
  r.append(event);
  return r;
}

/// A structured-mode CloudEvent (CloudEvents HTTP binding, platform-contracts.md §5.4) whose
/// `data` is the event: the http adapter gives the handler `data` unchanged.
std::string cloud_event_request(const boost::json::value& event, std::string_view id) {
  const std::string body = structured_cloud_event(event, id);
  std::string r =
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/cloudevents+json; charset=UTF-8\r\n";
  r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  r.append(body);
  return r;
}

class push_conformance : public ::testing::TestWithParam<push_runner> {};

// One server per (language, platform), every case against it over one keep-alive connection, as
// a platform's front end keeps connections open. What each platform must answer:
//   fc:   success 200 + x-fc-status: 200 + the result; a function error 404 + x-fc-status: 404 +
//         X-Fc-Error-Type: UnhandledInvocationError + the error JSON (fc_adapter.cpp).
//   http: success 200 + the result as JSON, or 204 with no body when the result is null
//         (cloud_event_reply); a function error 500 + the error JSON (the CloudEvent path of
//         http_adapter.cpp; plain HTTP requests get API Gateway's opaque 500 instead).
// "$request_id": on fc the handler must see the x-fc-request-id FC sent. On http no platform
// gives a request id: a CloudEvent's id names the event (redeliveries keep it), not one
// invocation, so the server makes a fresh UUID per request and returns none in the answer; the
// handler must see such a server-made id (which the CloudEvent's id sent here is not).
TEST_P(push_conformance, every_case_of_the_table) {
  const auto& runner = GetParam();
  const bool fc = runner.platform == "fc";
  push_function fn(runner.language, runner.platform);
  ASSERT_NE(fn.port(), 0) << "the bootstrap did not start a server; its output:\n" << fn.log();
  testing::raw_connection connection(fn.port());
  run_table(
      fn, runner.name, [&](const boost::json::object& tc, int number, platform_answer& answer) {
        const std::string sent_id = "conformance-" + runner.name + "-" + std::to_string(number);
        const auto r =
            round_trip(connection, fn,
                       fc ? fc_invoke_request(boost::json::serialize(tc.at("event")), sent_id)
                          : cloud_event_request(tc.at("event"), sent_id));
        ASSERT_TRUE(r);
        if (fc) {
          const bool error = expects_error(tc);
          EXPECT_EQ(r->header("x-fc-status"), error ? "404" : "200");
          EXPECT_EQ(r->header("x-fc-error-type"), error ? "UnhandledInvocationError" : "");
          read_json_answer(*r, tc, 404u, answer);
        } else {
          read_event_answer(*r, tc, answer);
        }
        answer.is_request_id = [fc, sent_id](std::string_view id) {
          return fc ? id == sent_id : is_server_made_request_id(id);
        };
      });
  // A platform stops an instance with SIGTERM: the server closes the idle connection, runs the
  // shutdown hooks and the process exits 0.
  expect_clean_stop(fn, &connection);
}

INSTANTIATE_TEST_SUITE_P(platforms, push_conformance,
                         ::testing::ValuesIn(push_runners({"fc", "http"})),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace lamella::conformance
