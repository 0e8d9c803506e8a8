// Conformance on Fn (platform-contracts.md §12): the generic bootstrap started as the Fn agent
// starts a function's container (FN_LISTENER=unix:<dir>/lsnr.sock, FN_FORMAT=http-stream), found
// the way the agent finds it (lsnr.sock appears in the directory: a relative link to a socket
// everyone may use), and driven as the agent drives it: `POST /call` over the UNIX socket, one
// call at a time on one connection, with Fn-Call-Id and Fn-Deadline; then an HTTP-trigger call,
// then SIGTERM. C++, Python and Node handlers run unchanged.
#include "conformance_support.h"

#include <sys/stat.h>

#include <ctime>

namespace lamella::conformance {
namespace {

/// `when` as RFC 3339 with milliseconds in UTC, as the agent sends Fn-Deadline.
std::string rfc3339(std::chrono::system_clock::time_point when) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  std::array<char, 40> text{};
  const int n = std::snprintf(text.data(), text.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, static_cast<int>(ms % 1000));
  return std::string(text.data(), static_cast<std::size_t>(n));
}

/// The agent's `POST /call` for one plain call.
std::string call_request(std::string_view event, std::string_view call_id) {
  std::string r = "POST /call HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
  r.append("Fn-Call-Id: ").append(call_id).append("\r\n");
  r.append("Fn-Deadline: ")
      .append(rfc3339(std::chrono::system_clock::now() + std::chrono::seconds(30)))
      .append("\r\n");
  r.append("Content-Length: ").append(std::to_string(event.size())).append("\r\n\r\n");
  r.append(event);
  return r;
}

class fn_conformance : public ::testing::TestWithParam<push_runner> {};

// What Fn must get: 200 + the result as JSON for a success, 502 + the error JSON for a function
// error (the agent reuses the container), never another status. "$request_id": the handler sees
// the Fn-Call-Id the agent sent.
TEST_P(fn_conformance, every_case_of_the_table_then_an_http_trigger_then_sigterm) {
  const auto& runner = GetParam();
  push_function fn(runner.language, runner.platform);
  ASSERT_FALSE(fn.socket_path().empty()) << "the bootstrap did not start a server; its output:\n"
                                         << fn.log();
  const auto link = fn.socket_dir() / "lsnr.sock";
  EXPECT_EQ(fn.socket_path(), link);

  // What the agent checks before its first call (checkSocketDestination).
  ASSERT_TRUE(wait_for_link(link)) << fn.log();
  ASSERT_TRUE(std::filesystem::is_symlink(link));
  const auto target = std::filesystem::read_symlink(link);
  EXPECT_EQ(target, "phonylsnr.sock");
  EXPECT_EQ(target.parent_path(), "") << "the link must be relative, within the directory";
  struct stat info {};
  ASSERT_EQ(::stat(link.c_str(), &info), 0);
  EXPECT_TRUE(S_ISSOCK(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0666U);

  testing::raw_connection connection(link);
  run_table(fn, runner.name,
            [&](const boost::json::object& tc, int number, platform_answer& answer) {
              const std::string call_id = "01CONFORMANCE" + runner.name + std::to_string(number);
              const auto r = round_trip(
                  connection, fn, call_request(boost::json::serialize(tc.at("event")), call_id));
              ASSERT_TRUE(r);
              EXPECT_EQ(r->header("Fn-Http-Status"), "");  // a plain call, not an HTTP trigger
              EXPECT_TRUE(r->header("Fn-Fdk-Version").starts_with("lamella/"));
              read_json_answer(*r, tc, 502u, answer);
              answer.is_request_id = [call_id](std::string_view id) { return id == call_id; };
            });
  if (HasFatalFailure()) return;

  // An HTTP trigger: the client's request wrapped in Fn-Http-* headers; the handler's HTTP
  // response wrapped back.
  const std::string trigger =
      "POST /call HTTP/1.1\r\nHost: localhost\r\nFn-Call-Id: 01TRIGGER\r\n"
      "Fn-Deadline: " +
      rfc3339(std::chrono::system_clock::now() + std::chrono::seconds(30)) +
      "\r\n"
      "Fn-Intent: httprequest\r\nFn-Http-Method: PUT\r\n"
      "Fn-Http-Request-Url: http://fn.example.com/t/app/route?x=1\r\n"
      "Fn-Http-H-Accept: text/plain\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nbody";
  ASSERT_TRUE(connection.send_bytes(trigger));
  const auto r = connection.read_response();
  ASSERT_TRUE(r) << fn.log();
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(r->header("Fn-Http-Status"), "201");
  EXPECT_EQ(r->header("Fn-Http-H-x-conformance-method"), "PUT");
  EXPECT_EQ(r->header("x-conformance-method"), "");
  EXPECT_EQ(media_type(r->header("Content-Type")), "text/plain");
  EXPECT_EQ(r->body, "/t/app/route?x=1");

  // The agent stops a container with SIGTERM: the FDK removes its socket files and exits 0.
  expect_clean_stop(fn, &connection);
  std::error_code ec;
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(link, ec)));
  EXPECT_FALSE(std::filesystem::exists(fn.socket_dir() / "phonylsnr.sock", ec));
}

INSTANTIATE_TEST_SUITE_P(platforms, fn_conformance, ::testing::ValuesIn(push_runners({"fn"})),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace lamella::conformance
