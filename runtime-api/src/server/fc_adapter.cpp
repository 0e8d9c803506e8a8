// The `fc` push adapter: Alibaba Cloud Function Compute's custom runtime contract
// (platform-contracts.md §3). Event functions arrive as `POST /invoke` (body = event, x-fc-*
// headers = context); lifecycle hooks as `POST /initialize`, `GET /pre-stop`, `GET /pre-freeze`;
// every other request comes from an HTTP trigger and is mapped as the http adapter maps it.
//
// Events: FC sends them as application/octet-stream; one that is a JSON document is handed on as
// application/json, so that AWS handlers get it decoded as on Lambda (event_content_type()).
//
// Answers: success 200 with `x-fc-status: 200`; a function error 404 with `x-fc-status: 404`,
// `X-Fc-Error-Type: UnhandledInvocationError` and the error JSON (what FC's official runtimes
// send). A failed hook answers 404 with `x-fc-status: 404` (FC 2.0's failure status; 500 would
// make FC restart the instance). A failed initializer answers the same 404 and adds
// `X-Fc-Error-Type: InitializationError`: FC 3.0 documents that the *caller* then gets 200 with
// that header, which is FC's own translation of a failed /initialize; the runtime itself must
// report the failure with a non-2xx status, or FC would take the initializer as done.
//
// Logs: FC slices the console log with `FC Invoke Start RequestId: <id>` / `FC Invoke End
// RequestId: <id>` (and `FC Initialize Start/End`) lines on stdout (FC-SPEC); log_line() gives
// them and the push server prints them around each invocation with `inv.request_id`, which is
// x-fc-request-id here (initialize: the request's own x-fc-request-id).
#include "server/http_event.h"
#include "server/push_adapter.h"

#include <boost/json.hpp>

#include <utility>

namespace lamella::push {

namespace {

namespace json = boost::json;
using detail::find_header;

// What an FC request is.
enum class fc_kind { event, initialize, pre_stop, pre_freeze, http };

// Classifies a request: by x-fc-control-path when FC sent one (FC 2.0 does, which also tells an
// HTTP function's own "/invoke" route apart), else by method and path.
fc_kind classify(const request& req) {
  if (const auto control = find_header(req.headers, "x-fc-control-path")) {
    if (*control == "/invoke") return fc_kind::event;
    if (*control == "/initialize") return fc_kind::initialize;
    if (*control == "/pre-stop") return fc_kind::pre_stop;
    if (*control == "/pre-freeze") return fc_kind::pre_freeze;
    if (*control == "/http-invoke") return fc_kind::http;
  }
  const std::string_view path = detail::target_path(req.target);
  const bool get_or_post = req.method == "GET" || req.method == "POST";
  if (req.method == "POST" && path == "/invoke") return fc_kind::event;
  if (get_or_post && path == "/initialize") return fc_kind::initialize;
  if (get_or_post && path == "/pre-stop") return fc_kind::pre_stop;
  if (get_or_post && path == "/pre-freeze") return fc_kind::pre_freeze;
  return fc_kind::http;
}

std::string header_or(const request& req, std::string_view name, std::string_view fallback) {
  return detail::to_valid_utf8(find_header(req.headers, name).value_or(fallback));
}

reply with_fc_status(reply r) {
  r.headers.emplace_back("x-fc-status", std::to_string(r.status));
  return r;
}

reply fc_failure(std::string_view error_type, std::string body) {
  reply r = with_fc_status(detail::simple_reply(404, "application/json", std::move(body)));
  if (!error_type.empty()) r.headers.emplace_back("X-Fc-Error-Type", std::string(error_type));
  return r;
}

class fc_adapter final : public adapter {
 public:
  explicit fc_adapter(fc_options options) : options_(std::move(options)) {}

  [[nodiscard]] std::string_view name() const noexcept override { return "fc"; }

  [[nodiscard]] dispatch on_request(const request& req,
                                    std::string_view request_id) const override {
    dispatch d;
    const fc_kind kind = classify(req);
    switch (kind) {
      case fc_kind::initialize:
        d.what = dispatch::kind::initialize;
        return d;
      case fc_kind::pre_stop:
        d.what = dispatch::kind::pre_stop;
        return d;
      case fc_kind::pre_freeze:
        d.what = dispatch::kind::pre_freeze;
        return d;
      case fc_kind::event:
      case fc_kind::http:
        break;
    }
    d.what = dispatch::kind::invoke;
    invocation& inv = d.inv;
    const auto now = std::chrono::system_clock::now();
    const std::string id = header_or(req, "x-fc-request-id", request_id);
    const function_info fn = function_from_headers(req);
    inv.request_id = id;
    inv.deadline = now + fn.timeout;
    inv.function_arn = "acs:fc:" + fn.region + ":" + fn.account_id + ":functions/" + fn.name;
    json::object context;
    context["fc"] = fc_context(req, id, fn);
    if (kind == fc_kind::event) {
      inv.payload = req.body;
      // FC sends every event as application/octet-stream: one that is JSON is handed on as JSON.
      inv.content_type = detail::event_content_type(req.body);
      inv.platform_context = json::serialize(context);
      return d;
    }
    // An HTTP trigger: the http adapter's mapping, without FC's own headers and base path.
    const auto base_path = find_header(req.headers, "x-fc-base-path");
    detail::dispatch_http_request(
        d, req, id, fn, now, std::move(context),
        {.strip_header_prefix = "x-fc-", .base_path = base_path.value_or(std::string_view())});
    return d;
  }

  [[nodiscard]] reply on_outcome(const request& req, const invocation& /*inv*/,
                                 const outcome& result) const override {
    if (classify(req) == fc_kind::http) return detail::http_request_reply(req, result);
    if (!result.is_success()) return fc_failure("UnhandledInvocationError", result.payload());
    return with_fc_status(detail::simple_reply(200, result.content_type(), result.payload()));
  }

  [[nodiscard]] reply on_hook(const request& /*req*/, dispatch::kind hook,
                              const outcome* failure) const override {
    if (failure == nullptr) return with_fc_status(detail::simple_reply(200, "", ""));
    return fc_failure(hook == dispatch::kind::initialize ? "InitializationError" : "",
                      failure->payload());
  }

  [[nodiscard]] reply on_init_error(const request& req, const outcome& failure) const override {
    if (classify(req) == fc_kind::http) return detail::failure_reply(failure);
    return fc_failure("InitializationError", failure.payload());
  }

  // An event invocation that ran out of time is a function error in the shape lamella's emulator
  // gives Lambda's timeouts; an HTTP trigger gets a gateway timeout.
  [[nodiscard]] reply on_timeout(const request& req, const invocation& inv) const override {
    if (classify(req) == fc_kind::http) return detail::gateway_timeout_reply();
    return fc_failure(
        "UnhandledInvocationError",
        detail::timeout_error_body(inv.request_id, function_from_headers(req).timeout));
  }

  [[nodiscard]] std::string log_line(log_mark mark, const request& req,
                                     std::string_view request_id) const override {
    // The id goes into a log line: no control characters that would split or forge one.
    auto clean = [](std::string_view id) {
      std::string out;
      out.reserve(id.size());
      for (const char c : id) out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
      return out;
    };
    switch (mark) {
      case log_mark::invoke_start:
        return "FC Invoke Start RequestId: " + clean(request_id);
      case log_mark::invoke_end:
        return "FC Invoke End RequestId: " + clean(request_id);
      case log_mark::initialize_start:
        return "FC Initialize Start RequestId: " +
               clean(find_header(req.headers, "x-fc-request-id").value_or(""));
      case log_mark::initialize_end:
        return "FC Initialize End RequestId: " +
               clean(find_header(req.headers, "x-fc-request-id").value_or(""));
    }
    return {};
  }

 private:
  // The function's settings, overridden by the ones FC sent with the request.
  [[nodiscard]] function_info function_from_headers(const request& req) const {
    function_info fn = options_.function;
    fn.name = header_or(req, "x-fc-function-name", fn.name);
    fn.region = header_or(req, "x-fc-region", fn.region);
    fn.account_id = header_or(req, "x-fc-account-id", fn.account_id);
    fn.version = header_or(req, "x-fc-qualifier", fn.version);
    if (const auto memory = detail::positive_header(req, "x-fc-function-memory")) {
      fn.memory_mb = *memory;
    }
    if (const auto timeout = detail::positive_header(req, "x-fc-function-timeout")) {
      fn.timeout = std::chrono::seconds(*timeout);
    }
    return fn;
  }

  // platform_context's "fc" object.
  [[nodiscard]] static json::object fc_context(const request& req, std::string_view id,
                                               const function_info& fn) {
    json::object credentials;
    credentials["accessKeyId"] = header_or(req, "x-fc-access-key-id", "");
    credentials["accessKeySecret"] = header_or(req, "x-fc-access-key-secret", "");
    credentials["securityToken"] = header_or(req, "x-fc-security-token", "");
    json::object fc;
    fc["requestId"] = id;
    fc["functionName"] = fn.name;
    fc["functionHandler"] = header_or(req, "x-fc-function-handler", "");
    fc["memory"] = fn.memory_mb;
    fc["timeout"] = std::chrono::duration_cast<std::chrono::seconds>(fn.timeout).count();
    fc["region"] = fn.region;
    fc["accountId"] = fn.account_id;
    fc["qualifier"] = header_or(req, "x-fc-qualifier", "");
    fc["service"] = header_or(req, "x-fc-service-name", "");
    fc["credentials"] = std::move(credentials);
    return fc;
  }

  fc_options options_;
};

}  // namespace

std::unique_ptr<adapter> make_fc_adapter(fc_options options) {
  return std::make_unique<fc_adapter>(std::move(options));
}

}  // namespace lamella::push
