// The conformance table on Azure Functions custom handlers (platform-contracts.md §9): the
// generic bootstrap started as the Functions host starts it (LAMELLA_PLATFORM=azure,
// FUNCTIONS_CUSTOMHANDLER_PORT), driven with the host's payload protocol over loopback: the
// readiness poll `GET /`, then each case as a queue-trigger-like invocation `POST /conformance`
// with {"Data": {"item": <event>}, "Metadata": {...}} and X-Azure-Functions-InvocationId.
// Success: 200 {"Outputs": {}, "Logs": [], "ReturnValue": <result>}; a function error: 500 with
// the error JSON (the host then fails the invocation). The handler's request id is the
// invocation id the host sent.
#include "conformance_support.h"

namespace lamella::conformance {
namespace {

std::string payload_request(const boost::json::value& event, std::string_view invocation_id) {
  boost::json::object data;
  data["item"] = event;
  boost::json::object metadata;
  metadata["DequeueCount"] = 1;
  metadata["sys"] = boost::json::parse(R"({"MethodName": "conformance"})");
  boost::json::object payload;
  payload["Data"] = std::move(data);
  payload["Metadata"] = std::move(metadata);
  const std::string body = boost::json::serialize(payload);
  std::string r =
      "POST /conformance HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "User-Agent: Azure-Functions-Host/4.1036.1\r\nX-Azure-Functions-HostVersion: 4.1036.1\r\n";
  r.append("X-Azure-Functions-InvocationId: ").append(invocation_id).append("\r\n");
  r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  r.append(body);
  return r;
}

class azure_conformance : public ::testing::TestWithParam<push_runner> {};

TEST_P(azure_conformance, every_case_of_the_table) {
  const auto& runner = GetParam();
  push_function fn(runner.language, runner.platform);
  ASSERT_NE(fn.port(), 0) << "the bootstrap did not start a server; its output:\n" << fn.log();
  testing::raw_connection connection(fn.port());
  // The host's readiness poll: any answer will do; lamella's is 200.
  const auto ready = connection.exchange("GET", "/");
  ASSERT_TRUE(ready) << fn.log();
  EXPECT_EQ(ready->status, 200u);
  run_table(
      fn, runner.name, [&](const boost::json::object& tc, int number, platform_answer& answer) {
        const std::string n = std::to_string(number);
        const std::string invocation_id =
            "0f6e2a4c-0000-4000-8000-" + std::string(12 - n.size(), '0') + n;
        const auto r = round_trip(connection, fn, payload_request(tc.at("event"), invocation_id));
        ASSERT_TRUE(r);
        read_json_answer(*r, tc, 500u, answer);
        if (answer.is_error || ::testing::Test::HasFatalFailure()) return;  // the error JSON itself
        // A success is the host's envelope around the result.
        const auto body = std::move(answer.result);
        ASSERT_TRUE(body.is_object()) << r->body.substr(0, 300);
        EXPECT_EQ(body.at("Outputs"), boost::json::object());
        EXPECT_EQ(body.at("Logs"), boost::json::array());
        ASSERT_TRUE(body.as_object().contains("ReturnValue")) << r->body.substr(0, 300);
        answer.result = body.at("ReturnValue");
        answer.is_request_id = [invocation_id](std::string_view id) { return id == invocation_id; };
      });
  expect_clean_stop(fn, &connection);
}

INSTANTIATE_TEST_SUITE_P(platforms, azure_conformance, ::testing::ValuesIn(push_runners({"azure"})),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace lamella::conformance
