// The conformance table on Azure Functions custom handlers (platform-contracts.md §9): the
// generic bootstrap started as the Functions host starts it (LAMELLA_PLATFORM=azure,
// FUNCTIONS_CUSTOMHANDLER_PORT), driven with the host's payload protocol over loopback: the
// readiness poll `GET /`, then each case as a queue-trigger-like invocation `POST /conformance`
// with {"Data": {"item": <event>}, "Metadata": {...}} and X-Azure-Functions-InvocationId.
// Success: 200 {"Outputs": {}, "Logs": [], "ReturnValue": <result>}; a function error: 500 with
// the error JSON (the host then fails the invocation). The handler's request id is the
// invocation id the host sent.
#include "conformance_support.h"
#include "raw_http.h"

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
  const auto cases = load_cases();
  ASSERT_GE(cases.size(), 5u) << "the table must not be empty: " << cases_file;
  push_function fn(runner.language, runner.platform);
  ASSERT_NE(fn.port(), 0) << "the bootstrap did not start a server; its output:\n" << fn.log();
  testing::raw_connection connection(fn.port());
  // The host's readiness poll: any answer will do; lamella's is 200.
  const auto ready = connection.exchange("GET", "/");
  ASSERT_TRUE(ready) << fn.log();
  EXPECT_EQ(ready->status, 200u);
  int sequence = 0;
  for (const auto& entry : cases) {
    const auto& tc = entry.as_object();
    SCOPED_TRACE(runner.name + " / " + std::string(tc.at("name").as_string()));
    const auto& expect = tc.at("expect").as_object();
    const std::string number = std::to_string(++sequence);
    const std::string invocation_id =
        "0f6e2a4c-0000-4000-8000-" + std::string(12 - number.size(), '0') + number;
    ASSERT_TRUE(connection.send_bytes(payload_request(tc.at("event"), invocation_id))) << fn.log();
    const auto r = connection.read_response();
    ASSERT_TRUE(r) << "the connection closed without an answer; the log:\n" << fn.log();
    const bool error = expect.contains("error_type");
    EXPECT_EQ(r->status, error ? 500u : 200u) << r->body.substr(0, 300);
    EXPECT_EQ(media_type(r->header("content-type")), "application/json");
    boost::system::error_code ec;
    const auto body = boost::json::parse(r->body, ec);
    ASSERT_FALSE(ec) << "not JSON: " << r->body.substr(0, 300);
    if (error) {
      expect_case(expect, body, true, [](std::string_view) { return false; });
    } else {
      ASSERT_TRUE(body.is_object()) << r->body.substr(0, 300);
      EXPECT_EQ(body.at("Outputs"), boost::json::object());
      EXPECT_EQ(body.at("Logs"), boost::json::array());
      ASSERT_TRUE(body.as_object().contains("ReturnValue")) << r->body.substr(0, 300);
      expect_case(expect, body.at("ReturnValue"), false,
                  [&](std::string_view id) { return id == invocation_id; });
    }
    expect_logs(expect, fn);
  }
  EXPECT_EQ(fn.terminate(), 0) << fn.log();
  EXPECT_TRUE(connection.wait_closed());
}

INSTANTIATE_TEST_SUITE_P(platforms, azure_conformance, ::testing::ValuesIn(push_runners({"azure"})),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace lamella::conformance
