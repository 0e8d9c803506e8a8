// Real npm libraries, unchanged, under lamella's Node runtime: the real generic bootstrap against
// the real emulator over loopback, with the functions' dependencies installed by `npm ci` into the
// build tree (pinned by checked-in lockfiles).
//   - @aws-lambda-powertools/logger: its structured JSON log line carries the invocation's
//     request id, the function's name and the cold-start flag the platform's environment implies;
//   - samples/node-express (express + serverless-http): real API Gateway v2 events in, API
//     Gateway responses (status, headers, body) out.
#include "lamella/emulator.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace lamella {
namespace {

const std::filesystem::path fn_dir = LAMELLA_FN_DIR;
const std::filesystem::path samples_dir = LAMELLA_SAMPLES_DIR;
const std::filesystem::path samples_src = LAMELLA_SAMPLES_SOURCE_DIR;
const std::filesystem::path bin_dir = LAMELLA_BIN_DIR;

/// A function in `dir` run by the generic bootstrap with `handler`, named `name`.
function_config node_function(const std::filesystem::path& dir, const std::string& handler,
                              const std::string& name) {
  function_config c;
  c.dir = dir;
  c.command = {(bin_dir / "bootstrap").string()};
  c.handler = handler;
  c.name = name;
  c.timeout = std::chrono::seconds(10);
  return c;
}

/// Starts emulators that collect everything the function and the emulator log.
class node_libraries_test : public ::testing::Test {
 protected:
  std::unique_ptr<emulator> start(function_config c) {
    emulator_options o;
    o.log = [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      logs_.append(line);
    };
    return std::make_unique<emulator>(std::move(c), std::move(o));
  }
  /// Everything logged so far.
  std::string logs(emulator& emu) {
    (void)emu.last_instance();  // flushes pending log lines
    std::lock_guard lock(mutex_);
    return logs_;
  }

  std::mutex mutex_;
  std::string logs_;
};

invoke_result call(emulator& emu, std::string payload) {
  invoke_request r;
  r.payload = std::move(payload);
  return emu.invoke(std::move(r)).get();
}

boost::json::object json_object_of(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text.substr(0, 300);
  return !ec && v.is_object() ? v.as_object() : boost::json::object{};
}

/// The log lines that are JSON objects with "message": `message`.
std::vector<boost::json::object> records_with_message(const std::string& logs,
                                                      std::string_view message) {
  std::vector<boost::json::object> out;
  std::istringstream lines(logs);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with('{')) continue;
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    const auto* m = v.as_object().if_contains("message");
    if (m != nullptr && m->is_string() && m->as_string() == message) {
      out.push_back(std::move(v.as_object()));
    }
  }
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A sample API Gateway v2 event (the shape of AWS's own, with this route's method and path).
std::string express_event(const std::string& name) {
  return read_file(samples_src / "node-express" / "events" / name);
}

TEST_F(node_libraries_test, powertools_logger_records_carry_the_invocation_context) {
  auto emu = start(node_function(fn_dir / "node-powertools", "index.handler", "powertools-fn"));
  const auto first = call(*emu, R"({"name":"lamella"})");
  ASSERT_TRUE(first.function_error.empty()) << first.body;
  EXPECT_EQ(json_object_of(first.body), boost::json::parse(R"({"greeted":"lamella"})"));
  const auto second = call(*emu, R"({"name":"again"})");
  ASSERT_TRUE(second.function_error.empty()) << second.body;
  ASSERT_NE(first.request_id, second.request_id);

  const auto text = logs(*emu);
  const auto records = records_with_message(text, "greeting");
  ASSERT_EQ(records.size(), 2u) << text;
  const auto& cold = records[0];
  EXPECT_EQ(cold.at("level").as_string(), "INFO");
  EXPECT_EQ(cold.at("service").as_string(), "lamella-powertools");
  EXPECT_EQ(cold.at("function_request_id").as_string(), first.request_id);
  EXPECT_EQ(cold.at("function_name").as_string(), "powertools-fn");
  EXPECT_EQ(cold.at("function_memory_size").as_string(), "128");
  EXPECT_TRUE(cold.at("function_arn").as_string().ends_with(":function:powertools-fn"))
      << cold.at("function_arn");
  EXPECT_EQ(cold.at("who").as_string(), "lamella");
  // The emulator starts the process on demand (AWS_LAMBDA_INITIALIZATION_TYPE=on-demand), so
  // the first invocation of the process is the cold start, and only that one.
  EXPECT_EQ(cold.at("cold_start").as_bool(), true);
  const auto& warm = records[1];
  EXPECT_EQ(warm.at("function_request_id").as_string(), second.request_id);
  EXPECT_EQ(warm.at("who").as_string(), "again");
  EXPECT_EQ(warm.at("cold_start").as_bool(), false);
}

TEST_F(node_libraries_test, express_through_serverless_http_answers_api_gateway_v2_events) {
  auto emu = start(node_function(samples_dir / "node-express", "app.handler", "node-express"));
  const auto r = call(*emu, express_event("get-hello.json"));
  ASSERT_EQ(r.status, 200u);
  ASSERT_TRUE(r.function_error.empty()) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  const auto response = json_object_of(r.body);
  ASSERT_TRUE(response.contains("statusCode")) << r.body;
  EXPECT_EQ(response.at("statusCode").as_int64(), 200);
  EXPECT_EQ(response.at("isBase64Encoded").as_bool(), false);
  const auto& headers = response.at("headers").as_object();
  EXPECT_EQ(headers.at("content-type").as_string(), "application/json; charset=utf-8");
  EXPECT_EQ(headers.at("x-sample").as_string(), "node-express");
  // The Lambda context reaches the route: the request id is this invocation's.
  EXPECT_EQ(json_object_of(response.at("body").as_string()),
            (boost::json::object{{"message", "Hello, lamella!"}, {"requestId", r.request_id}}));
  EXPECT_EQ(headers.at("content-length").as_string(),
            std::to_string(response.at("body").as_string().size()));
}

TEST_F(node_libraries_test, express_parses_a_json_body_and_routes_unknown_paths_to_404) {
  auto emu = start(node_function(samples_dir / "node-express", "app.handler", "node-express"));
  const auto echo = json_object_of(call(*emu, express_event("post-echo.json")).body);
  ASSERT_TRUE(echo.contains("statusCode")) << echo;
  EXPECT_EQ(echo.at("statusCode").as_int64(), 201);
  EXPECT_EQ(json_object_of(echo.at("body").as_string()),
            boost::json::parse(R"({"echo":{"greeting":"hi","n":[1,2,3]}})"));

  // The same warm process serves a path no route matches.
  auto event = json_object_of(express_event("get-hello.json"));
  event["rawPath"] = "/nowhere";
  event.at("requestContext").as_object().at("http").as_object()["path"] = "/nowhere";
  const auto missing = json_object_of(call(*emu, boost::json::serialize(event)).body);
  EXPECT_EQ(missing.at("statusCode").as_int64(), 404);
  EXPECT_EQ(json_object_of(missing.at("body").as_string()),
            boost::json::parse(R"({"error":"no route for GET /nowhere"})"));
}

}  // namespace
}  // namespace lamella
