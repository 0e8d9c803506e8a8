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

std::string header_or(const request& req, std::string_view name, std::string_view fallback) {
  const auto value = find_header(req.headers, name);
  return detail::to_valid_utf8(value && !value->empty() ? *value : fallback);
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
      inv.content_type = detail::event_content_type(req.body);
      inv.platform_context = json::serialize(context);
      return d;
    }
    detail::dispatch_http_request(d, req, id, fn, now, std::move(context),
                                  {.strip_header_prefix = "x-cff-", .base_path = {}});
    return d;
  }

  [[nodiscard]] reply on_outcome(const request& req, const invocation& /*inv*/,
                                 const outcome& result) const override {
    if (classify(req) != fg_kind::event) return detail::http_request_reply(req, result);
    if (!result.is_success()) return detail::failure_reply(result);
    return detail::simple_reply(200, result.content_type(), result.payload());
  }

  // Only `POST /init` (the initializer) reaches this: 200 once init is done, 500 with the init
  // error when it failed (a non-2xx tells FunctionGraph the initializer failed).
  [[nodiscard]] reply on_hook(const request& /*req*/, dispatch::kind /*hook*/,
                              const outcome* failure) const override {
    if (failure != nullptr) return detail::failure_reply(*failure);
    return detail::simple_reply(200, "application/json", "{}");
  }

  // An event that ran out of time gets a function error in the shape lamella's emulator gives
  // Lambda's timeouts; an HTTP request gets API Gateway's gateway timeout.
  [[nodiscard]] reply on_timeout(const request& req, const invocation& inv) const override {
    if (classify(req) != fg_kind::event) return detail::gateway_timeout_reply();
    return detail::simple_reply(
        504, "application/json",
        detail::timeout_error_body(inv.request_id, info_from_headers(req).function.timeout));
  }

 private:
  [[nodiscard]] fg_request_info info_from_headers(const request& req) const {
    fg_request_info info;
    function_info& fn = info.function;
    fn = options_.function;
    fn.name = header_or(req, "x-cff-func-name", fn.name);
    fn.version = header_or(req, "x-cff-func-version", fn.version);
    fn.region = header_or(req, "x-cff-region", fn.region);
    if (const auto memory = detail::positive_header(req, "x-cff-memory")) fn.memory_mb = *memory;
    if (const auto timeout = detail::positive_header(req, "x-cff-timeout")) {
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
