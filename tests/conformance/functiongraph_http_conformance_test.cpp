// The conformance table on Huawei FunctionGraph's HTTP contract (platform-contracts.md §13.2,
// §13.3): the generic bootstrap started as `lamella serve --platform functiongraph-http` starts
// it (LAMELLA_PLATFORM=functiongraph-http, LAMELLA_PORT, Lambda's names), for C++, Python and
// Node, driven over loopback with the requests FunctionGraph sends: `POST /init` once (the
// initializer), then each case as `POST /invoke` with the event as the body and the X-CFF-*
// context headers. What FunctionGraph must get back (functiongraph_adapter.cpp): success 200 +
// the result as JSON (a null result is the JSON text null: an event's result is returned as is);
// a function error 500 + the error JSON. "$request_id": the X-CFF-Request-Id sent.
// FunctionGraph's pull contract (the custom runtime) runs the table in conformance_test.cpp
// through the emulator's FunctionGraph dialect; an HTTP function's own requests (API Gateway
// events) are tested with samples/python-api in tests/integration/cli_test.cpp.
#include "conformance_support.h"

#include <algorithm>

namespace lamella::conformance {
namespace {

/// A FunctionGraph request: `path` with `body` and the context headers of §13.2.
std::string fg_request(std::string_view path, std::string_view body, std::string_view request_id) {
  std::string r = "POST ";
  r.append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nContent-Type: application/json\r\n");
  r.append("X-CFF-Request-Id: ").append(request_id).append("\r\n");
  r.append(
      "X-CFF-Memory: 128\r\nX-CFF-Timeout: 10\r\nX-CFF-Func-Version: latest\r\n"
      "X-CFF-Func-Name: conformance\r\nX-CFF-Project-Id: 0123456789abcdef\r\n"
      "X-CFF-Package: default\r\nX-CFF-Region: cn-north-4\r\n");
  r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  r.append(body);
  return r;
}

class functiongraph_http_conformance : public ::testing::TestWithParam<push_runner> {};

TEST_P(functiongraph_http_conformance, every_case_of_the_table) {
  const auto& runner = GetParam();
  push_function fn(runner.language, runner.platform);
  ASSERT_NE(fn.port(), 0) << "the bootstrap did not start a server; its output:\n" << fn.log();
  testing::raw_connection connection(fn.port());

  // The initializer: answered once the function has initialised.
  const auto init = round_trip(connection, fn, fg_request("/init", "", "init-" + runner.name));
  ASSERT_TRUE(init);
  EXPECT_EQ(init->status, 200u) << init->body;

  run_table(
      fn, runner.name, [&](const boost::json::object& tc, int number, platform_answer& answer) {
        const std::string sent_id = "fg-" + runner.name + "-" + std::to_string(number);
        const auto r = round_trip(
            connection, fn, fg_request("/invoke", boost::json::serialize(tc.at("event")), sent_id));
        ASSERT_TRUE(r);
        read_json_answer(*r, tc, 500u, answer);
        answer.is_request_id = [sent_id](std::string_view id) { return id == sent_id; };
      });
  // FunctionGraph stops an instance with SIGTERM: the server drains and the process exits 0.
  expect_clean_stop(fn, &connection);
}

INSTANTIATE_TEST_SUITE_P(platforms, functiongraph_http_conformance,
                         ::testing::ValuesIn(push_runners({"functiongraph-http"})),
                         [](const auto& param_info) {
                           std::string name = param_info.param.name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace lamella::conformance
