// The `fission` push adapter: a Fission environment once specialised (platform-contracts.md
// §11). Specialisation itself (`POST /specialize`, `POST /v2/specialize`) happens before the
// handler is known, so the generic bootstrap answers it (bootstrap/src/fission.cpp) and then hands
// its listening socket to the push server, which serves with this adapter.
//
// Requests: Fission's router sends every path and method of the function's triggers to the pod
// (the trigger's prefix stripped, usually leaving "/"), so each request is mapped as the http
// adapter maps it: an API Gateway HTTP API (payload 2.0) event, or a CloudEvent's data. The
// router's X-Fission-* headers stay in the event's headers (Fission's own environments hand them
// to the function as request headers) and are also given, parsed, as platform_context
// {"fission": {functionName, functionNamespace, functionUid, functionResourceVersion, fullUrl,
// params: {route variable: value}, headers: {every x-fission-* header}}}.
//
// `GET /healthz` answers 200 (Fission's reference environments do); a specialize request after
// specialisation answers 400 "Not a generic container" (as they do: pods are never
// re-specialised). A C++ function with its own `bootstrap` (lamella::run) is not specialised by
// the generic bootstrap: its first specialize is answered 200 here.
#include "server/http_event.h"
#include "server/push_adapter.h"

#include <boost/json.hpp>

#include <atomic>
#include <utility>

namespace lamella::push {

namespace {

namespace json = boost::json;

// platform_context's "fission" object from the router's headers.
json::object fission_context(const request& req) {
  static constexpr std::string_view prefix = "x-fission-";
  static constexpr std::string_view params_prefix = "x-fission-params-";
  json::object fission;
  json::object params;
  json::object headers;
  for (const auto& [name, value] : req.headers) {
    const std::string key = detail::to_lower_ascii(name);
    if (!key.starts_with(prefix)) continue;
    const std::string text = detail::to_valid_utf8(value);
    headers[key] = text;
    if (key.starts_with(params_prefix)) {
      // Route variables keep the case the router gave them (X-Fission-Params-Id -> "Id").
      params[detail::to_valid_utf8(std::string_view(name).substr(params_prefix.size()))] = text;
    } else if (key == "x-fission-function-name") {
      fission["functionName"] = text;
    } else if (key == "x-fission-function-namespace") {
      fission["functionNamespace"] = text;
    } else if (key == "x-fission-function-uid") {
      fission["functionUid"] = text;
    } else if (key == "x-fission-function-resourceversion") {
      fission["functionResourceVersion"] = text;
    } else if (key == "x-fission-full-url") {
      fission["fullUrl"] = text;
    }
  }
  fission["params"] = std::move(params);
  fission["headers"] = std::move(headers);
  return fission;
}

bool is_health_check(const request& req) {
  return req.method == "GET" && detail::target_path(req.target) == "/healthz";
}

// The answer to a specialize request once the pod is specialised (Fission's environments' own).
reply not_generic_reply() {
  return detail::simple_reply(400, "text/plain", "Not a generic container\n");
}

bool is_specialize(const request& req) {
  const std::string_view path = detail::target_path(req.target);
  return req.method == "POST" && (path == "/specialize" || path == "/v2/specialize");
}

class fission_adapter final : public adapter {
 public:
  explicit fission_adapter(fission_options options)
      : options_(std::move(options)), specialized_(options_.specialized) {}

  [[nodiscard]] std::string_view name() const noexcept override { return "fission"; }

  [[nodiscard]] dispatch on_request(const request& req,
                                    std::string_view request_id) const override {
    dispatch d;
    if (is_health_check(req)) {
      d.immediate = detail::ok_reply();
      return d;
    }
    if (is_specialize(req)) {
      // A function linked with lamella (its own `bootstrap`) is loaded from the start: the
      // first specialize finds it ready. After the generic bootstrap specialised, or after
      // that first one, the pod is not generic any more.
      if (!specialized_.exchange(true)) {
        d.immediate = detail::simple_reply(200, "text/plain", "");
      } else {
        d.immediate = not_generic_reply();
      }
      return d;
    }
    d.what = dispatch::kind::invoke;
    invocation& inv = d.inv;
    inv.request_id = std::string(request_id);
    detail::copy_trace_id(req, inv);
    json::object context;
    context["fission"] = fission_context(req);
    detail::dispatch_http_request(d, req, request_id, options_.function,
                                  std::chrono::system_clock::now(), std::move(context));
    return d;
  }

  [[nodiscard]] reply on_outcome(const request& req, const invocation& /*inv*/,
                                 const outcome& result) const override {
    return detail::http_request_reply(req, result);
  }

  // The handler failed to load after specialisation: every request gets the init error (the
  // pod is never specialised again), but /healthz still answers 200 as the process is alive.
  [[nodiscard]] reply on_init_error(const request& req, const outcome& failure) const override {
    if (is_health_check(req)) {
      return detail::ok_reply();
    }
    if (is_specialize(req)) {
      return not_generic_reply();
    }
    return detail::failure_reply(failure);
  }

 private:
  fission_options options_;
  mutable std::atomic<bool> specialized_;
};

}  // namespace

std::unique_ptr<adapter> make_fission_adapter(fission_options options) {
  return std::make_unique<fission_adapter>(std::move(options));
}

}  // namespace lamella::push
