// The `functiongraph` push adapter: Huawei Cloud FunctionGraph's HTTP functions (a `bootstrap`
// that starts a web server on 127.0.0.1:8000, platform-contracts.md §13.2) and container-image
// functions (a server on :8000 answering `POST /init` and `POST /invoke`, §13.3).
//
// Requests:
//   POST /invoke  an event function's event: the body is the event (JSON when it parses, as on
//                 Lambda), the context in X-CFF-* headers (which headers this mode sends is
//                 unconfirmed: the ones HTTP functions get are read when present);
//   POST /init    the initializer: answered once the function's init is done (the push server
//                 holds it until the first /next), 200 or 500 with the init error;
//   anything else an HTTP function's request (APIG/APIC triggers): an API Gateway v2 event as
//                 the http adapter makes it, without the X-CFF-* headers; a CloudEvent's data
//                 as the http adapter gives it.
// So an HTTP function cannot have routes `POST /invoke` or `POST /init` of its own: they are the
// event contract (see docs/platforms.md).
//
// Context: X-CFF-Request-Id is the invocation's request id; X-CFF-Func-Name, X-CFF-Func-Version,
// X-CFF-Memory, X-CFF-Timeout, X-CFF-Project-Id, X-CFF-Package and X-CFF-Region override the
// function's settings and go into platform_context {"functiongraph": {...}}; X-CFF-Timeout
// (seconds) sets the deadline.
//
// Answers: success 200 with the result (events) or the result mapped as API Gateway maps it
// (HTTP requests); a function error 500 with the error JSON (events) or API Gateway's opaque
// 500 (HTTP requests). FunctionGraph documents no error convention for either mode.
#include "server/http_event.h"
#include "server/push_adapter.h"

#include <boost/json.hpp>

#include <charconv>
#include <utility>

namespace lamella::push {

namespace {

namespace json = boost::json;
using detail::find_header;

// What a FunctionGraph request is.
enum class fg_kind { event, initialize, http };

fg_kind classify(const request& req) {
  if (req.method != "POST") return fg_kind::http;
  const std::string_view path = detail::target_path(req.target);
  if (path == "/invoke") return fg_kind::event;
  if (path == "/init") return fg_kind::initialize;
  return fg_kind::http;
}

// A positive integer header, nullopt when absent or not a number.
std::optional<unsigned> unsigned_header(const request& req, std::string_view name) {
  const auto text = find_header(req.headers, name);
  if (!text) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value == 0) return std::nullopt;
  return value;
}

std::string header_or(const request& req, std::string_view name, std::string_view fallback) {
  const auto value = find_header(req.headers, name);
  return detail::to_valid_utf8(value && !value->empty() ? *value : fallback);
}

// An event that is one JSON document is handed on as application/json, so that AWS handlers get
// it decoded as on Lambda; anything else stays raw bytes.
std::string event_content_type(std::string_view body) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = detail::max_json_depth;
  json::monotonic_resource scratch;
  (void)json::parse(body, ec, &scratch, options);
  return ec ? "application/octet-stream" : "application/json";
}

// The function's settings with what FunctionGraph sent in this request's headers.
struct fg_request_info {
  function_info function;
  std::string project_id;
  std::string package;
  bool timeout_sent = false;
};

class functiongraph_adapter final : public adapter {
 public:
  explicit functiongraph_adapter(functiongraph_options options) : options_(std::move(options)) {}

  [[nodiscard]] std::string_view name() const noexcept override { return "functiongraph"; }

  [[nodiscard]] dispatch on_request(const request& req,
                                    std::string_view request_id) const override {
    dispatch d;
    const fg_kind kind = classify(req);
    if (kind == fg_kind::initialize) {
      d.what = dispatch::kind::initialize;
      return d;
    }
    d.what = dispatch::kind::invoke;
    invocation& inv = d.inv;
    const auto now = std::chrono::system_clock::now();
    const std::string id = header_or(req, "x-cff-request-id", request_id);
    const fg_request_info info = info_from_headers(req);
    const function_info& fn = info.function;
    inv.request_id = id;
    if (info.timeout_sent) inv.deadline = now + fn.timeout;
    inv.function_arn = "urn:fss:" + fn.region + ":" + info.project_id +
                       ":function:" + info.package + ":" + fn.name + ":" + fn.version;
    json::object context;
    context["functiongraph"] = fg_context(id, info);
    if (kind == fg_kind::event) {
      inv.payload = req.body;
      inv.content_type = event_content_type(req.body);
      inv.platform_context = json::serialize(context);
      return d;
    }
    inv.content_type = "application/json";
    if (const auto mode = detail::detect_cloud_event(req); mode != detail::cloud_event_mode::none) {
      detail::dispatch_cloud_event(d, req, mode, std::move(context));
      return d;
    }
    inv.payload = detail::make_http_event(req, id, fn, now,
                                          {.strip_header_prefix = "x-cff-", .base_path = {}});
    inv.platform_context = json::serialize(context);
    return d;
  }

  [[nodiscard]] reply on_outcome(const request& req, const invocation& /*inv*/,
                                 const outcome& result) const override {
    if (classify(req) == fg_kind::event) {
      if (!result.is_success()) {
        return detail::simple_reply(500, "application/json", result.payload());
      }
      return detail::simple_reply(200, result.content_type(), result.payload());
    }
    if (detail::detect_cloud_event(req) != detail::cloud_event_mode::none) {
      if (!result.is_success()) {
        return detail::simple_reply(500, "application/json", result.payload());
      }
      return detail::cloud_event_reply(result.payload(), result.content_type());
    }
    if (!result.is_success()) return detail::http_internal_error_reply();
    return detail::http_reply_from_result(result.payload(), result.content_type());
  }

  // Only `POST /init` (the initializer) reaches this: 200 once init is done, 500 with the init
  // error when it failed (a non-2xx tells FunctionGraph the initializer failed).
  [[nodiscard]] reply on_hook(const request& /*req*/, dispatch::kind /*hook*/,
                              const outcome* failure) const override {
    if (failure != nullptr) {
      return detail::simple_reply(500, "application/json", failure->payload());
    }
    return detail::simple_reply(200, "application/json", "{}");
  }

  [[nodiscard]] reply on_init_error(const request& /*req*/, const outcome& failure) const override {
    return detail::simple_reply(500, "application/json", failure.payload());
  }

  [[nodiscard]] reply on_overload(const request& /*req*/) const override {
    reply r = detail::simple_reply(503, "application/json", R"({"message":"Service Unavailable"})");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }

  // An event that ran out of time gets a function error in the shape lamella's emulator gives
  // Lambda's timeouts; an HTTP request gets API Gateway's gateway timeout.
  [[nodiscard]] reply on_timeout(const request& req, const invocation& inv) const override {
    if (classify(req) != fg_kind::event) {
      return detail::simple_reply(504, "application/json",
                                  R"({"message":"Endpoint request timed out"})");
    }
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(info_from_headers(req).function.timeout)
            .count();
    json::object body;
    body["errorType"] = "Sandbox.Timedout";
    body["errorMessage"] = "RequestId: " + detail::to_valid_utf8(inv.request_id) +
                           " Error: Task timed out after " + std::to_string(seconds) +
                           ".00 seconds";
    return detail::simple_reply(504, "application/json", json::serialize(body));
  }

 private:
  [[nodiscard]] fg_request_info info_from_headers(const request& req) const {
    fg_request_info info;
    function_info& fn = info.function;
    fn = options_.function;
    fn.name = header_or(req, "x-cff-func-name", fn.name);
    fn.version = header_or(req, "x-cff-func-version", fn.version);
    fn.region = header_or(req, "x-cff-region", fn.region);
    if (const auto memory = unsigned_header(req, "x-cff-memory")) fn.memory_mb = *memory;
    if (const auto timeout = unsigned_header(req, "x-cff-timeout")) {
      fn.timeout = std::chrono::seconds(*timeout);
      info.timeout_sent = true;
    }
    info.project_id = header_or(req, "x-cff-project-id", "");
    info.package = header_or(req, "x-cff-package", "default");
    return info;
  }

  // platform_context's "functiongraph" object: the same keys the custom runtime's context has
  // (functiongraph_transport.cpp), with the region, which only HTTP functions are told.
  [[nodiscard]] static json::object fg_context(std::string_view id, const fg_request_info& info) {
    const function_info& fn = info.function;
    json::object fg;
    fg["requestId"] = id;
    fg["functionName"] = fn.name;
    fg["version"] = fn.version;
    fg["package"] = info.package;
    fg["projectId"] = info.project_id;
    fg["memory"] = fn.memory_mb;
    fg["timeout"] = std::chrono::duration_cast<std::chrono::seconds>(fn.timeout).count();
    fg["region"] = fn.region;
    return fg;
  }

  functiongraph_options options_;
};

}  // namespace

std::unique_ptr<adapter> make_functiongraph_adapter(functiongraph_options options) {
  return std::make_unique<functiongraph_adapter>(std::move(options));
}

}  // namespace lamella::push
