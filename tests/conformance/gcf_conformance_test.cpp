// The conformance table on the Google Functions Framework contract (platform-contracts.md §14):
// the generic bootstrap started as Cloud Run functions starts it (LAMELLA_PLATFORM=gcf, PORT,
// FUNCTION_SIGNATURE_TYPE), in the two signatures whose callers get the result as JSON:
//   - cloudevent: each case as Eventarc delivers an event, a binary-mode CloudEvent (ce-*
//     headers, the event as an application/json body);
//   - event: each case as a legacy background event {"context": {...}, "data": <event>}.
// Success: 200 with the result as JSON, or 204 when it is null; a function error: 500 with
// `X-Google-Status: error` and the error JSON. No platform request id reaches the handler (the
// event's id names the event, not one invocation): it sees an id the server made.
// Also checked once per language: /robots.txt and /favicon.ico are 404 without the handler.
#include "conformance_support.h"

namespace lamella::conformance {
namespace {

std::string binary_cloud_event(const boost::json::value& event, std::string_view id) {
  const std::string body = boost::json::serialize(event);
  std::string r =
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "ce-specversion: 1.0\r\nce-source: //pubsub.googleapis.com/projects/p/topics/conformance\r\n"
      "ce-type: google.cloud.pubsub.topic.v1.messagePublished\r\n"
      "ce-time: 2026-11-30T12:00:00.000Z\r\n";
  r.append("ce-id: ").append(id).append("\r\n");
  r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  r.append(body);
  return r;
}

std::string legacy_event(const boost::json::value& event, std::string_view id) {
  boost::json::object context;
  context["eventId"] = id;
  context["timestamp"] = "2026-11-30T12:00:00.000Z";
  context["eventType"] = "google.pubsub.topic.publish";
  context["resource"] = boost::json::parse(
      R"({"service": "pubsub.googleapis.com", "name": "projects/p/topics/conformance"})");
  boost::json::object payload;
  payload["context"] = std::move(context);
  payload["data"] = event;
  const std::string body = boost::json::serialize(payload);
  std::string r = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  r.append(body);
  return r;
}

class gcf_conformance : public ::testing::TestWithParam<push_runner> {};

TEST_P(gcf_conformance, every_case_of_the_table_in_the_event_signatures) {
  const auto& runner = GetParam();
  for (const std::string signature : {"cloudevent", "event"}) {
    SCOPED_TRACE("FUNCTION_SIGNATURE_TYPE=" + signature);
    push_function fn(runner.language, runner.platform, {{"FUNCTION_SIGNATURE_TYPE", signature}});
    ASSERT_NE(fn.port(), 0) << "the bootstrap did not start a server; its output:\n" << fn.log();
    testing::raw_connection connection(fn.port());
    for (const char* path : {"/robots.txt", "/favicon.ico"}) {
      const auto r = connection.exchange("GET", path);
      ASSERT_TRUE(r) << fn.log();
      EXPECT_EQ(r->status, 404u) << path;
    }
    run_table(
        fn, runner.name, [&](const boost::json::object& tc, int number, platform_answer& answer) {
          const std::string event_id = "gcf-" + signature + "-" + std::to_string(number);
          const auto r =
              round_trip(connection, fn,
                         signature == "cloudevent" ? binary_cloud_event(tc.at("event"), event_id)
                                                   : legacy_event(tc.at("event"), event_id));
          ASSERT_TRUE(r);
          EXPECT_EQ(r->header("x-google-status"), expects_error(tc) ? "error" : "");
          EXPECT_EQ(r->header("etag"), "");
          read_event_answer(*r, tc, answer);
          answer.is_request_id = [event_id](std::string_view id) {
            return id != event_id && is_server_made_request_id(id);
          };
        });
    if (HasFatalFailure()) return;
    expect_clean_stop(fn);
  }
}

INSTANTIATE_TEST_SUITE_P(platforms, gcf_conformance, ::testing::ValuesIn(push_runners({"gcf"})),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace lamella::conformance
