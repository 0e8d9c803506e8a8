// The `gcf` push adapter: the Functions Framework contract (platform-contracts.md §14), which
// Cloud Run functions (gen 2) and the Functions Framework buildpacks give a function: serve
// $PORT, call FUNCTION_TARGET (the handler, config.cpp), take requests as FUNCTION_SIGNATURE_TYPE
// says:
//   - http (the default): every request is an API Gateway v2 event, as the http adapter makes
//     it, and the result maps back as API Gateway maps it. A CloudEvent sent to an HTTP function
//     is an ordinary request here: the framework hands HTTP functions the request unmodified.
//   - cloudevent: binary-mode (ce-* headers) and structured-mode CloudEvents; the event is the
//     data, the attributes are context.platform.cloudevent. Anything else is a 400.
//   - event (legacy background functions): {"context": {...}, "data": ...} or the older flat
//     form {eventId, timestamp, eventType, resource, data}; the event is data, the context goes
//     into context.platform.gcf. CloudEvents are taken too (as the Go framework does), their
//     attributes also given as a gcf context (eventId = id, timestamp = time, eventType = type,
//     resource = source; the types are not translated back to the legacy names).
// `/robots.txt` and `/favicon.ico` are 404 without the handler in every mode.
//
// Errors, as the Go framework marks them: a function error is a 500 with `X-Google-Status:
// error` (http: API Gateway's opaque 500, since an HTTP function's caller is a client; the other
// signatures: the error JSON, for the logs of Eventarc and Pub/Sub pushes), a failed init a 500
// with `X-Google-Status: crash`, a timeout 504.
#include "server/http_event.h"
#include "server/push_adapter.h"

#include <boost/json.hpp>

#include <array>
#include <utility>

namespace lamella::push {

std::optional<gcf_signature> gcf_signature_from_name(std::string_view name) noexcept {
  if (name == "http") return gcf_signature::http;
  if (name == "cloudevent") return gcf_signature::cloudevent;
  if (name == "event") return gcf_signature::event;
  return std::nullopt;
}

namespace {

namespace json = boost::json;

using detail::parse_json;

reply bad_request(std::string_view message) {
  json::object body;
  body["message"] = message;
  return detail::simple_reply(400, "application/json", json::serialize(body));
}

reply with_google_status(reply r, std::string_view status) {
  r.headers.emplace_back("X-Google-Status", std::string(status));
  return r;
}

// The CloudEvents attributes every event must have (CloudEvents 1.0, "REQUIRED").
constexpr std::array<std::string_view, 4> required_attributes = {"id", "source", "specversion",
                                                                 "type"};

// A string attribute of `attributes`, or nullptr.
const json::string* attribute(const json::object& attributes, std::string_view name) {
  const auto* v = attributes.if_contains(name);
  return v != nullptr && v->is_string() ? &v->get_string() : nullptr;
}

class gcf_adapter final : public adapter {
 public:
  explicit gcf_adapter(gcf_options options) : options_(std::move(options)) {}

  [[nodiscard]] std::string_view name() const noexcept override { return "gcf"; }

  [[nodiscard]] dispatch on_request(const request& req,
                                    std::string_view request_id) const override {
    dispatch d;
    const std::string_view path = detail::target_path(req.target);
    if (path == "/robots.txt" || path == "/favicon.ico") {
      d.what = dispatch::kind::reply_now;
      d.immediate = detail::simple_reply(404, "text/plain", "Not Found");
      return d;
    }
    d.what = dispatch::kind::invoke;
    invocation& inv = d.inv;
    inv.request_id = std::string(request_id);
    inv.content_type = "application/json";
    detail::copy_trace_id(req, inv);
    switch (options_.signature) {
      case gcf_signature::http:
        inv.payload = detail::make_http_event(req, request_id, options_.function,
                                              std::chrono::system_clock::now());
        return d;
      case gcf_signature::cloudevent:
        if (!take_cloud_event(d, req, false)) {
          reject(d,
                 "Not a CloudEvent: a binary-mode event needs the ce-id, ce-source, "
                 "ce-specversion and ce-type headers; a structured-mode event "
                 "(Content-Type: application/cloudevents+json) a JSON object with id, source, "
                 "specversion and type");
        }
        return d;
      case gcf_signature::event:
        if (detail::detect_cloud_event(req) != detail::cloud_event_mode::none) {
          if (!take_cloud_event(d, req, true)) {
            reject(d, "Malformed CloudEvent: id, source, specversion and type are required");
          }
          return d;
        }
        if (!map_legacy_event(inv, req.body)) {
          reject(d,
                 "Not a background event: the body must be a JSON object "
                 R"({"context": {...}, "data": ...} or {"eventId", "timestamp", "eventType", )"
                 R"("resource", "data"})");
        }
        return d;
    }
    return d;
  }

  [[nodiscard]] reply on_outcome(const request& /*req*/, const invocation& /*inv*/,
                                 const outcome& result) const override {
    reply r = options_.signature == gcf_signature::http ? detail::api_gateway_reply(result)
                                                        : detail::cloud_event_outcome_reply(result);
    if (!result.is_success()) r = with_google_status(std::move(r), "error");
    return r;
  }

  [[nodiscard]] reply on_init_error(const request& /*req*/, const outcome& failure) const override {
    return with_google_status(detail::failure_reply(failure), "crash");
  }

  [[nodiscard]] reply on_timeout(const request& /*req*/, const invocation& inv) const override {
    if (options_.signature == gcf_signature::http) return detail::gateway_timeout_reply();
    return detail::simple_reply(
        504, "application/json",
        detail::timeout_error_body(inv.request_id, options_.function.timeout));
  }

 private:
  static void reject(dispatch& d, std::string_view message) {
    d.what = dispatch::kind::reply_now;
    d.inv = {};
    d.immediate = bad_request(message);
  }

  // Maps a CloudEvent request (either mode): the event is its data, the attributes are
  // context.platform.cloudevent (and, when `as_background`, also context.platform.gcf). False
  // when the request is not a CloudEvent or lacks a required attribute.
  static bool take_cloud_event(dispatch& d, const request& req, bool as_background) {
    const auto mode = detail::detect_cloud_event(req);
    if (mode == detail::cloud_event_mode::none) return false;
    auto event = detail::map_cloud_event(req, mode);
    if (!event) return false;
    auto context = parse_json(event->platform_context);
    if (!context || !context->is_object()) return false;
    const auto* attributes = context->get_object().if_contains("cloudevent");
    if (attributes == nullptr || !attributes->is_object()) return false;
    const json::object& attrs = attributes->get_object();
    for (const auto name : required_attributes) {
      const auto* value = attribute(attrs, name);
      if (value == nullptr || value->empty()) return false;
    }
    d.inv.payload = std::move(event->payload);
    if (!as_background) {
      d.inv.platform_context = std::move(event->platform_context);
      return true;
    }
    json::object gcf;
    gcf["eventId"] = *attribute(attrs, "id");
    if (const auto* time = attribute(attrs, "time")) gcf["timestamp"] = *time;
    gcf["eventType"] = *attribute(attrs, "type");
    gcf["resource"] = *attribute(attrs, "source");
    context->get_object()["gcf"] = std::move(gcf);
    d.inv.platform_context = json::serialize(*context);
    return true;
  }

  // Maps a legacy background event body into `inv`; false when it is not one.
  static bool map_legacy_event(invocation& inv, std::string_view body) {
    auto parsed = parse_json(body);
    if (!parsed || !parsed->is_object()) return false;
    json::object& o = parsed->get_object();
    json::object gcf;
    if (auto* context = o.if_contains("context"); context != nullptr && context->is_object()) {
      gcf = std::move(context->get_object());
    } else if (o.contains("data") || o.contains("eventId")) {
      // The older flat form: the context's members beside data.
      for (const std::string_view name : {"eventId", "timestamp", "eventType", "resource"}) {
        if (auto* v = o.if_contains(name)) gcf[name] = std::move(*v);
      }
    } else {
      return false;
    }
    const auto* data = o.if_contains("data");
    inv.payload = data != nullptr ? json::serialize(*data) : "null";
    json::object context;
    context["gcf"] = std::move(gcf);
    inv.platform_context = json::serialize(context);
    return true;
  }

  gcf_options options_;
};

}  // namespace

std::unique_ptr<adapter> make_gcf_adapter(gcf_options options) {
  return std::make_unique<gcf_adapter>(std::move(options));
}

}  // namespace lamella::push
