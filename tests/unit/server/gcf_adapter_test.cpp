// The `gcf` adapter: the Functions Framework contract per signature type (requests shaped as in
// platform-contracts.md §14: Eventarc's binary CloudEvents, the conformance suite's legacy
// events), and its answers.
#include "adapter_test_support.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace lamella::push {
namespace {

using test_support::header;
namespace json = boost::json;
using std::chrono::seconds;

std::unique_ptr<adapter> make(gcf_signature signature) {
  gcf_options options;
  options.function.name = "hello";
  options.function.timeout = seconds(60);
  options.signature = signature;
  return make_gcf_adapter(options);
}

// A Pub/Sub message as Eventarc delivers it: a binary-mode CloudEvent.
request binary_cloud_event() {
  return request{.method = "POST",
                 .target = "/",
                 .headers = {{"Content-Type", "application/json"},
                             {"ce-id", "1234567890"},
                             {"ce-source", "//pubsub.googleapis.com/projects/p/topics/t"},
                             {"ce-specversion", "1.0"},
                             {"ce-type", "google.cloud.pubsub.topic.v1.messagePublished"},
                             {"ce-time", "2026-11-30T12:00:00.000Z"}},
                 .body = R"({"subscription": "projects/p/subscriptions/s",
                  "message": {"messageId": "1", "data": "aGVsbG8="}})"};
}

TEST(gcf_adapter, signature_names) {
  EXPECT_EQ(gcf_signature_from_name("http"), gcf_signature::http);
  EXPECT_EQ(gcf_signature_from_name("cloudevent"), gcf_signature::cloudevent);
  EXPECT_EQ(gcf_signature_from_name("event"), gcf_signature::event);
  EXPECT_FALSE(gcf_signature_from_name("CloudEvent"));
  EXPECT_FALSE(gcf_signature_from_name(""));
}

TEST(gcf_adapter, robots_and_favicon_are_404_without_the_handler) {
  for (const auto signature :
       {gcf_signature::http, gcf_signature::cloudevent, gcf_signature::event}) {
    const auto a = make(signature);
    EXPECT_EQ(a->name(), "gcf");
    for (const char* target : {"/robots.txt", "/favicon.ico", "/favicon.ico?x=1"}) {
      const dispatch d = a->on_request(request{.method = "GET", .target = target}, "rid");
      ASSERT_EQ(d.what, dispatch::kind::reply_now) << target;
      EXPECT_EQ(d.immediate.status, 404u);
    }
  }
}

TEST(gcf_adapter, http_every_request_is_an_api_gateway_event) {
  const auto a = make(gcf_signature::http);
  // Health-check-like paths and CloudEvents alike: an HTTP function gets the request.
  for (const auto& req :
       {request{.method = "GET", .target = "/healthz"},
        request{.method = "POST",
        .target = "/orders?id=7",
        .headers = {{"Host", "hello-xyz.a.run.app"}, {"Content-Type", "application/json"}},
        .body = R"({"n":1})",
        .remote_address = "192.0.2.1"},
        binary_cloud_event()}) {
    const dispatch d = a->on_request(req, "req-1");
    ASSERT_EQ(d.what, dispatch::kind::invoke) << req.target;
    EXPECT_EQ(d.inv.request_id, "req-1");
    EXPECT_TRUE(d.inv.platform_context.empty());
    const json::value ev = json::parse(d.inv.payload);
    EXPECT_EQ(ev.at("version"), "2.0");
    EXPECT_EQ(ev.at("rawPath").as_string(), detail::target_path(req.target));
    EXPECT_EQ(ev.at("requestContext").at("http").at("method").as_string(), req.method);
    if (!req.body.empty()) {
      EXPECT_EQ(ev.at("body").as_string(), req.body);
    }
  }
}

TEST(gcf_adapter, http_answers_as_api_gateway_with_google_status_on_errors) {
  const auto a = make(gcf_signature::http);
  const request req{.method = "GET", .target = "/"};
  const dispatch d = a->on_request(req, "req-1");
  reply r = a->on_outcome(req, d.inv, outcome::success(R"({"statusCode": 201, "body": "made"})"));
  EXPECT_EQ(r.status, 201u);
  EXPECT_EQ(r.body, "made");
  EXPECT_EQ(header(r, "x-google-status"), "<absent>");
  EXPECT_EQ(header(r, "etag"), "<absent>");
  r = a->on_outcome(req, d.inv, outcome::failure("Error", "boom"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(header(r, "x-google-status"), "error");
  EXPECT_EQ(r.body, R"({"message":"Internal Server Error"})");
  r = a->on_timeout(req, d.inv);
  EXPECT_EQ(r.status, 504u);
  r = a->on_init_error(req, outcome::failure("Runtime.ImportModuleError", "no module"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(header(r, "x-google-status"), "crash");
  EXPECT_EQ(json::parse(r.body).at("errorType"), "Runtime.ImportModuleError");
  r = a->on_overload(req);
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(header(r, "retry-after"), "1");
}

TEST(gcf_adapter, cloudevent_binary_and_structured_give_the_data) {
  const auto a = make(gcf_signature::cloudevent);
  dispatch d = a->on_request(binary_cloud_event(), "req-1");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(json::parse(d.inv.payload).at("message").at("data"), "aGVsbG8=");
  EXPECT_EQ(d.inv.request_id, "req-1");  // the event's id names the event, not the invocation
  json::value context = json::parse(d.inv.platform_context);
  EXPECT_EQ(context.at("cloudevent").at("id"), "1234567890");
  EXPECT_EQ(context.at("cloudevent").at("type"), "google.cloud.pubsub.topic.v1.messagePublished");
  EXPECT_EQ(context.at("cloudevent").at("time"), "2026-11-30T12:00:00.000Z");
  EXPECT_FALSE(context.as_object().contains("gcf"));

  d = a->on_request(request{.method = "POST",
                            .target = "/",
                            .headers = {{"Content-Type", "application/cloudevents+json"}},
                            .body = R"({"specversion": "1.0", "id": "e-1", "source": "//s",
                                        "type": "t", "subject": "objects/a.txt",
                                        "data": {"name": "a.txt"}})"},
                    "req-2");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(json::parse(d.inv.payload), json::parse(R"({"name": "a.txt"})"));
  context = json::parse(d.inv.platform_context);
  EXPECT_EQ(context.at("cloudevent").at("subject"), "objects/a.txt");
}

TEST(gcf_adapter, cloudevent_anything_else_is_a_400) {
  const auto a = make(gcf_signature::cloudevent);
  request missing_type = binary_cloud_event();
  std::erase_if(missing_type.headers, [](const auto& h) { return h.first == "ce-type"; });
  request empty_id = binary_cloud_event();
  for (auto& [name, value] : empty_id.headers) {
    if (name == "ce-id") value.clear();
  }
  for (const auto& req :
       {request{.method = "POST", .target = "/", .body = R"({"data": {}})"},
        request{.method = "GET", .target = "/"}, missing_type, empty_id,
        request{.method = "POST",
        .target = "/",
        .headers = {{"Content-Type", "application/cloudevents+json"}},
        .body = "[1]"},
        request{.method = "POST",
        .target = "/",
        .headers = {{"Content-Type", "application/cloudevents+json"}},
        .body = R"({"specversion": "1.0", "id": "e-1", "type": "t", "data": 1})"}}) {
    const dispatch d = a->on_request(req, "req-1");
    ASSERT_EQ(d.what, dispatch::kind::reply_now) << req.body;
    EXPECT_EQ(d.immediate.status, 400u);
    EXPECT_EQ(header(d.immediate, "content-type"), "application/json");
    EXPECT_TRUE(json::parse(d.immediate.body).as_object().contains("message"));
  }
}

TEST(gcf_adapter, cloudevent_and_event_answers) {
  for (const auto signature : {gcf_signature::cloudevent, gcf_signature::event}) {
    const auto a = make(signature);
    const request req = binary_cloud_event();
    const dispatch d = a->on_request(req, "req-1");
    ASSERT_EQ(d.what, dispatch::kind::invoke);
    reply r = a->on_outcome(req, d.inv, outcome::success(R"({"ok":true})"));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, R"({"ok":true})");
    r = a->on_outcome(req, d.inv, outcome::success("null"));
    EXPECT_EQ(r.status, 204u);
    r = a->on_outcome(req, d.inv, outcome::failure("InvalidInput", "bad input"));
    EXPECT_EQ(r.status, 500u);
    EXPECT_EQ(header(r, "x-google-status"), "error");
    EXPECT_EQ(json::parse(r.body).at("errorMessage"), "bad input");
    r = a->on_timeout(req, d.inv);
    EXPECT_EQ(r.status, 504u);
    EXPECT_EQ(json::parse(r.body).at("errorType"), "Sandbox.Timedout");
  }
}

TEST(gcf_adapter, event_takes_the_legacy_forms) {
  const auto a = make(gcf_signature::event);
  // {context, data}, as the conformance suite's storage-legacy-input.json.
  dispatch d = a->on_request(request{.method = "POST",
                                     .target = "/",
                                     .headers = {{"Content-Type", "application/json"}},
                                     .body = R"({"context": {"eventId": "1147091835525187",
          "timestamp": "2020-09-29T11:32:00.000Z", "eventType": "google.storage.object.finalize",
          "resource": {"service": "storage.googleapis.com",
                       "name": "projects/_/buckets/b/objects/f.txt",
                       "type": "storage#object"}},
          "data": {"bucket": "b", "name": "f.txt"}})"},
                             "req-1");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(json::parse(d.inv.payload), json::parse(R"({"bucket": "b", "name": "f.txt"})"));
  json::value context = json::parse(d.inv.platform_context);
  EXPECT_EQ(context.at("gcf").at("eventId"), "1147091835525187");
  EXPECT_EQ(context.at("gcf").at("eventType"), "google.storage.object.finalize");
  EXPECT_EQ(context.at("gcf").at("resource").at("service"), "storage.googleapis.com");

  // The older flat form (legacy_pubsub-legacy-input.json).
  d = a->on_request(request{.method = "POST",
                            .target = "/",
                            .body = R"({"eventId": "aaaaaa-1111-bbbb-2222-cccccccccccc",
          "timestamp": "2020-09-29T11:32:00.000Z", "eventType": "providers/cloud.pubsub/eventTypes/topic.publish",
          "resource": "projects/sample-project/topics/gcf-test",
          "data": {"@type": "type.googleapis.com/google.pubsub.v1.PubsubMessage",
                   "data": "VGhpcyBpcyBhIHNhbXBsZSBtZXNzYWdl"}})"},
                    "req-2");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  EXPECT_EQ(json::parse(d.inv.payload).at("data"), "VGhpcyBpcyBhIHNhbXBsZSBtZXNzYWdl");
  context = json::parse(d.inv.platform_context);
  EXPECT_EQ(context, json::parse(R"({"gcf": {"eventId": "aaaaaa-1111-bbbb-2222-cccccccccccc",
      "timestamp": "2020-09-29T11:32:00.000Z",
      "eventType": "providers/cloud.pubsub/eventTypes/topic.publish",
      "resource": "projects/sample-project/topics/gcf-test"}})"));

  // A CloudEvent: data, with the attributes as a background context too.
  d = a->on_request(binary_cloud_event(), "req-3");
  ASSERT_EQ(d.what, dispatch::kind::invoke);
  context = json::parse(d.inv.platform_context);
  EXPECT_EQ(context.at("gcf"), json::parse(R"({"eventId": "1234567890",
      "timestamp": "2026-11-30T12:00:00.000Z",
      "eventType": "google.cloud.pubsub.topic.v1.messagePublished",
      "resource": "//pubsub.googleapis.com/projects/p/topics/t"})"));
  EXPECT_EQ(context.at("cloudevent").at("specversion"), "1.0");
}

TEST(gcf_adapter, event_anything_else_is_a_400) {
  const auto a = make(gcf_signature::event);
  request bad_ce = binary_cloud_event();
  std::erase_if(bad_ce.headers, [](const auto& h) { return h.first == "ce-source"; });
  for (const auto& req : {request{.method = "POST", .target = "/", .body = "not json"},
                          request{.method = "POST", .target = "/", .body = "[1, 2]"},
                          request{.method = "POST", .target = "/", .body = R"({"other": 1})"},
                          request{.method = "GET", .target = "/"}, bad_ce}) {
    const dispatch d = a->on_request(req, "req-1");
    ASSERT_EQ(d.what, dispatch::kind::reply_now) << req.body;
    EXPECT_EQ(d.immediate.status, 400u);
  }
}

}  // namespace
}  // namespace lamella::push
