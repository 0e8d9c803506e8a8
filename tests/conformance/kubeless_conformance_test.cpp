// The conformance table on the Kubeless runtime contract (platform-contracts.md §15): the
// generic bootstrap started as a Kubeless pod starts it (LAMELLA_PLATFORM=kubeless, FUNC_PORT),
// each case sent as Kubeless's HTTP and Kafka triggers send events: `POST /` with the event as an
// application/json body and the event-id, event-type, event-time and event-namespace headers.
// Success: 200 with the result, a JSON string as its text (text/plain), any other value as JSON
// (application/json); a function error: 500 with the error JSON. The handler's request id is the
// event-id sent. Also checked once per language: `GET /healthz` and the `GET /metrics` counters.
#include "conformance_support.h"

namespace lamella::conformance {
namespace {

std::string event_request(const boost::json::value& event, std::string_view event_id) {
  const std::string body = boost::json::serialize(event);
  std::string r =
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "event-type: application/json\r\nevent-time: 2026-11-30 12:00:00.0 +0000 UTC\r\n"
      "event-namespace: cli.kubeless.io\r\n";
  r.append("event-id: ").append(event_id).append("\r\n");
  r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  r.append(body);
  return r;
}

class kubeless_conformance : public ::testing::TestWithParam<push_runner> {};

TEST_P(kubeless_conformance, every_case_of_the_table) {
  const auto& runner = GetParam();
  push_function fn(runner.language, runner.platform);
  ASSERT_NE(fn.port(), 0) << "the bootstrap did not start a server; its output:\n" << fn.log();
  testing::raw_connection connection(fn.port());
  const auto health = connection.exchange("GET", "/healthz");
  ASSERT_TRUE(health) << fn.log();
  EXPECT_EQ(health->status, 200u);
  int calls = 0;
  int errors = 0;
  run_table(fn, runner.name,
            [&](const boost::json::object& tc, int number, platform_answer& answer) {
              const std::string event_id = "kubeless-" + runner.name + "-" + std::to_string(number);
              const auto r = round_trip(connection, fn, event_request(tc.at("event"), event_id));
              ASSERT_TRUE(r);
              ++calls;
              const bool error = expects_error(tc);
              if (error) ++errors;
              EXPECT_EQ(r->status, error ? 500u : 200u) << r->body.substr(0, 300);
              // A string result is its text; everything else (the error JSON too) is JSON.
              if (media_type(r->header("content-type")) == "text/plain") {
                answer.result = boost::json::string(r->body);
              } else {
                auto body = json_body(*r);
                ASSERT_TRUE(body);
                EXPECT_FALSE(body->is_string()) << "a string result must come as text/plain";
                answer.result = std::move(*body);
              }
              answer.is_error = error;
              answer.is_request_id = [event_id](std::string_view id) { return id == event_id; };
            });
  const auto metrics = connection.exchange("GET", "/metrics");
  ASSERT_TRUE(metrics) << fn.log();
  EXPECT_EQ(metrics->status, 200u);
  const std::string calls_line =
      "function_calls_total{method=\"POST\"} " + std::to_string(calls) + "\n";
  const std::string failures =
      "function_failures_total{method=\"POST\"} " + std::to_string(errors) + "\n";
  EXPECT_NE(metrics->body.find(calls_line), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find(failures), std::string::npos) << metrics->body;
  expect_clean_stop(fn, &connection);
}

INSTANTIATE_TEST_SUITE_P(platforms, kubeless_conformance,
                         ::testing::ValuesIn(push_runners({"kubeless"})),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace lamella::conformance
