// The `azure` push adapter: Azure Functions custom handlers (platform-contracts.md §9). The
// Functions host starts the bootstrap with FUNCTIONS_CUSTOMHANDLER_PORT and calls it over
// loopback:
//   - readiness: the host polls `GET /` until anything answers; answered 200 at once.
//   - payload invocations (every non-HTTP trigger, and HTTP triggers without pass-through):
//     `POST /<FunctionName>` with {"Data": {<binding>: value, ...}, "Metadata": {...}} and
//     X-Azure-Functions-InvocationId; answered 200 {"Outputs", "Logs", "ReturnValue"}.
//   - pass-through HTTP (enableForwardingHttpRequest / enableProxyingHttpRequest): the client's
//     request on its own path (`/api/...`), mapped as the http adapter maps it.
//
// Telling a payload invocation from a forwarded request: a payload invocation is a POST to a
// single path segment (the host never adds a prefix there) whose body is a JSON object with a
// "Data" object. A forwarded request keeps the route prefix (`/api/...`, two segments or more);
// the invocation-id header cannot tell them apart, since the host adds it to forwarded requests
// too. Only an app that sets routePrefix to "" and posts {"Data": {...}} to a one-segment route
// would be mistaken for a payload invocation.
//
// HTTP triggers in payload mode: the HTTP request object the host puts into Data (Url, Method,
// Headers as name -> array, Params, Body) becomes an API Gateway v2 event, and the handler's
// result goes back as Outputs.res {statusCode, status, headers, body}. The host does not tell
// the worker the http output binding's name: "res" is the documented default; the same object is
// the ReturnValue, so that a binding named "$return" gets it as well.
#include "common/base64.h"
#include "server/http_event.h"
#include "server/push_adapter.h"

#include <boost/json.hpp>

#include <utility>

namespace lamella::push {

namespace {

namespace json = boost::json;
using detail::find_header;
using detail::parse_json;

constexpr std::string_view invocation_id_header = "x-azure-functions-invocationid";

// The function name of a payload invocation's target ("/queue1" -> "queue1"); empty when the
// path is not one segment.
std::string_view single_segment(std::string_view target) {
  const std::string_view path = detail::target_path(target);
  if (path.size() < 2 || path.front() != '/') return {};
  const std::string_view name = path.substr(1);
  return name.find('/') == std::string_view::npos ? name : std::string_view();
}

// A value of Data that is an HTTP request object as the host builds it (GetRequestAsJObject).
bool is_http_request_object(const json::value& v) {
  if (!v.is_object()) return false;
  const auto* method = v.get_object().if_contains("Method");
  const auto* url = v.get_object().if_contains("Url");
  return method != nullptr && method->is_string() && url != nullptr && url->is_string();
}

// A JSON value as header text: a string as is, anything else as JSON.
std::string value_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

// The host's HTTP request object as the request the client sent, so that the http adapter's
// mapping (make_http_event) applies unchanged.
request request_from_object(const json::object& o, std::string_view remote_address) {
  request r;
  r.method = std::string(o.at("Method").get_string());
  r.target = std::string(o.at("Url").get_string());  // absolute: target_path() strips the origin
  r.remote_address = std::string(remote_address);
  if (const auto* headers = o.if_contains("Headers"); headers != nullptr && headers->is_object()) {
    for (const auto& field : headers->get_object()) {
      if (field.value().is_array()) {
        for (const auto& item : field.value().get_array()) {
          r.headers.emplace_back(std::string(field.key()), value_text(item));
        }
      } else if (!field.value().is_null()) {
        r.headers.emplace_back(std::string(field.key()), value_text(field.value()));
      }
    }
  }
  if (!find_header(r.headers, "host")) {
    // The Url's authority, for requestContext.domainName.
    const std::string_view url = o.at("Url").get_string();
    const auto start = url.find("://");
    if (start != std::string_view::npos) {
      const std::string_view rest = url.substr(start + 3);
      r.headers.emplace_back("Host", std::string(rest.substr(0, rest.find_first_of("/?"))));
    }
  }
  if (const auto* body = o.if_contains("Body"); body != nullptr && !body->is_null()) {
    if (body->is_string()) {
      // The host sends octet-stream and multipart bodies as bytes, which JSON carries as base64.
      const auto type = find_header(r.headers, "content-type").value_or("");
      const std::string_view text = body->get_string();
      std::optional<std::string> bytes;
      const std::string lowered = detail::to_lower_ascii(type);
      if (lowered.rfind("application/octet-stream", 0) == 0 ||
          lowered.find("multipart/") != std::string::npos) {
        bytes = lamella::detail::base64_decode(text);
      }
      r.body = bytes ? std::move(*bytes) : std::string(text);
    } else {
      r.body = json::serialize(*body);
    }
  }
  return r;
}

// The API Gateway v2 event for the host's HTTP request object, with its route values
// (Params) as pathParameters.
std::string http_event_from_object(const json::object& o, std::string_view remote_address,
                                   std::string_view request_id, const function_info& function) {
  std::string event = detail::make_http_event(request_from_object(o, remote_address), request_id,
                                              function, std::chrono::system_clock::now());
  const auto* params = o.if_contains("Params");
  if (params == nullptr || !params->is_object() || params->get_object().empty()) return event;
  json::object path_parameters;
  for (const auto& field : params->get_object()) {
    path_parameters[field.key()] = value_text(field.value());
  }
  json::value parsed = json::parse(event);
  parsed.get_object()["pathParameters"] = std::move(path_parameters);
  return json::serialize(parsed);
}

// A handler's result as a JSON value: the JSON itself, or (a C++ handler's raw bytes) a string,
// base64 when the bytes are not UTF-8.
json::value result_value(std::string_view payload) {
  if (auto parsed = parse_json(payload)) return std::move(*parsed);
  if (detail::is_valid_utf8(payload)) return json::string(payload);
  return json::string(lamella::detail::base64_encode(payload));
}

// An HTTP answer as Azure's http output binding takes it. Every member the newest hosts require
// (statusCode, status, body, headers) is present; repeated headers are joined with ", ", as the
// output's headers are a name -> string object. A body that is not UTF-8 travels as base64 text:
// the payload protocol has no way to send bytes to an http output.
json::object http_output(const reply& r) {
  json::object headers;
  for (const auto& [name, value] : r.headers) {
    const std::string key = detail::to_valid_utf8(name);
    if (auto* existing = headers.if_contains(key); existing != nullptr) {
      existing->get_string().append(", ");
      existing->get_string().append(detail::to_valid_utf8(value));
    } else {
      headers[key] = detail::to_valid_utf8(value);
    }
  }
  json::object out;
  out["statusCode"] = r.status;
  out["status"] = r.status;
  out["headers"] = std::move(headers);
  out["body"] = detail::is_valid_utf8(r.body) ? r.body : lamella::detail::base64_encode(r.body);
  return out;
}

// Azure's answer to a payload invocation.
reply payload_answer(json::object outputs, json::value return_value) {
  json::object body;
  body["Outputs"] = std::move(outputs);
  body["Logs"] = json::array();
  body["ReturnValue"] = std::move(return_value);
  return detail::simple_reply(200, "application/json", json::serialize(body));
}

// What platform_context says about a payload invocation: whether it came from an HTTP trigger.
enum class payload_kind { not_payload, event, http };

payload_kind kind_of(const invocation& inv) {
  if (inv.platform_context.empty()) return payload_kind::not_payload;
  // The context nests Metadata (up to max_json_depth) two levels deeper.
  const auto context = parse_json(inv.platform_context, detail::max_json_depth + 2);
  if (!context || !context->is_object()) return payload_kind::not_payload;
  const auto* azure = context->get_object().if_contains("azure");
  if (azure == nullptr || !azure->is_object() || !azure->get_object().contains("functionName")) {
    return payload_kind::not_payload;
  }
  return azure->get_object().contains("httpTrigger") ? payload_kind::http : payload_kind::event;
}

class azure_adapter final : public adapter {
 public:
  explicit azure_adapter(azure_options options) : options_(std::move(options)) {}

  [[nodiscard]] std::string_view name() const noexcept override { return "azure"; }

  [[nodiscard]] dispatch on_request(const request& req,
                                    std::string_view request_id) const override {
    dispatch d;
    const std::string_view path = detail::target_path(req.target);
    if ((req.method == "GET" || req.method == "HEAD") && path == "/") {
      d.what = dispatch::kind::reply_now;
      d.immediate = detail::ok_reply();
      return d;
    }
    d.what = dispatch::kind::invoke;
    invocation& inv = d.inv;
    inv.content_type = "application/json";
    const auto invocation_id = find_header(req.headers, invocation_id_header);
    inv.request_id = invocation_id && !invocation_id->empty()
                         ? detail::to_valid_utf8(*invocation_id)
                         : std::string(request_id);
    detail::copy_trace_id(req, inv);
    const std::string_view function_name = req.method == "POST" ? single_segment(req.target) : "";
    if (!function_name.empty()) {
      if (auto body = parse_json(req.body); body && body->is_object()) {
        const auto* data = body->get_object().if_contains("Data");
        if (data != nullptr && data->is_object()) {
          map_payload(d, req, function_name, std::move(body->get_object()));
          return d;
        }
      }
    }
    // A pass-through HTTP request: exactly the http adapter's event.
    inv.payload = detail::make_http_event(req, inv.request_id, options_.function,
                                          std::chrono::system_clock::now());
    if (invocation_id) {
      json::object azure;
      azure["invocationId"] = inv.request_id;
      json::object context;
      context["azure"] = std::move(azure);
      inv.platform_context = json::serialize(context);
    }
    return d;
  }

  [[nodiscard]] reply on_outcome(const request& /*req*/, const invocation& inv,
                                 const outcome& result) const override {
    const payload_kind kind = kind_of(inv);
    if (kind == payload_kind::not_payload) return detail::api_gateway_reply(result);
    // A non-2xx answer is how the host learns that the invocation failed (retries follow).
    if (!result.is_success()) return detail::failure_reply(result);
    if (kind == payload_kind::event) {
      return payload_answer(json::object(), result_value(result.payload()));
    }
    json::object res =
        http_output(detail::http_reply_from_result(result.payload(), result.content_type()));
    json::object outputs;
    outputs["res"] = res;
    return payload_answer(std::move(outputs), std::move(res));
  }

  // on_hook, on_init_error, on_overload: the adapter's defaults. After an init error every
  // request, readiness included, gets it: the host takes any answer as ready, and each
  // invocation then fails with the error the function's init gave.

  [[nodiscard]] reply on_timeout(const request& /*req*/, const invocation& inv) const override {
    if (kind_of(inv) == payload_kind::not_payload) return detail::gateway_timeout_reply();
    return detail::simple_reply(
        504, "application/json",
        detail::timeout_error_body(inv.request_id, options_.function.timeout));
  }

 private:
  // Fills `d` for a payload invocation of `function_name` whose body is `body` (with a "Data"
  // object).
  void map_payload(dispatch& d, const request& req, std::string_view function_name,
                   json::object body) const {
    invocation& inv = d.inv;
    json::object& data = body.at("Data").get_object();
    json::object azure;
    azure["functionName"] = detail::to_valid_utf8(function_name);
    azure["invocationId"] = inv.request_id;
    const auto* metadata = body.if_contains("Metadata");
    azure["metadata"] = metadata != nullptr ? *metadata : json::object();
    // The HTTP request object among the inputs, if any (an HTTP trigger takes exactly one).
    json::object::iterator http = data.end();
    for (auto it = data.begin(); it != data.end(); ++it) {
      if (is_http_request_object(it->value())) {
        http = it;
        break;
      }
    }
    if (http != data.end()) {
      azure["httpTrigger"] = http->key();
      inv.payload = http_event_from_object(http->value().get_object(), req.remote_address,
                                           inv.request_id, options_.function);
      data.erase(http);
      // The other input bindings' values, which the event has no place for.
      if (!data.empty()) azure["inputs"] = std::move(data);
    } else if (data.size() == 1) {
      inv.payload = json::serialize(data.begin()->value());
    } else {
      inv.payload = json::serialize(data);
    }
    json::object context;
    context["azure"] = std::move(azure);
    inv.platform_context = json::serialize(context);
  }

  azure_options options_;
};

}  // namespace

std::unique_ptr<adapter> make_azure_adapter(azure_options options) {
  return std::make_unique<azure_adapter>(std::move(options));
}

}  // namespace lamella::push
