// The `kubeless` push adapter: the Kubeless runtime contract (platform-contracts.md §15; the
// project is archived, its Python runtime `_kubeless.py` is the model). The function's pod
// serves FUNC_PORT:
//   - `GET /healthz`: 200 (the default liveness probe);
//   - `GET /metrics`: Prometheus text, the counters the Kubeless runtimes export per HTTP method
//     (function_calls_total, function_failures_total);
//   - any other path with GET, POST, PUT, PATCH or DELETE: one invocation. The event is the body,
//     JSON-decoded when Content-Type is JSON (a body that does not parse is a 400), else the body
//     as a string (null when empty; base64 when it is not UTF-8, flagged isBase64Encoded in the
//     context). The event-* headers triggers send (event-id, event-type, event-time,
//     event-namespace) and the function's settings go into context.platform.kubeless; event-id is
//     the request id when sent.
// Answers: a result that is a JSON string is the body as text/plain, any other JSON value is the
// body as application/json; a function error is a 500 with the error JSON; a timeout (FUNC_TIMEOUT)
// is a **408**, which Kubeless's Kafka consumer takes as "timed out".
#include "server/http_event.h"
#include "server/push_adapter.h"

#include <boost/json.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <utility>

namespace lamella::push {

namespace {

namespace json = boost::json;

// The methods that invoke the function (those of Kubeless's runtimes), and the metrics' labels.
constexpr std::array<std::string_view, 5> invoke_methods = {"GET", "POST", "PUT", "PATCH",
                                                            "DELETE"};

// The index of `method` in invoke_methods; invoke_methods.size() when it is not one of them.
std::size_t method_index(std::string_view method) {
  for (std::size_t i = 0; i < invoke_methods.size(); ++i) {
    if (invoke_methods.at(i) == method) return i;
  }
  return invoke_methods.size();
}

// The event-* headers Kubeless's triggers and CLI send.
constexpr std::array<std::string_view, 4> event_headers = {"event-id", "event-type", "event-time",
                                                           "event-namespace"};

bool is_json_content_type(std::string_view content_type) {
  std::string type = detail::to_lower_ascii(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.erase(0, 1);
  return type == "application/json" ||
         (type.size() > 5 && type.compare(type.size() - 5, 5, "+json") == 0);
}

class kubeless_adapter final : public adapter {
 public:
  explicit kubeless_adapter(kubeless_options options) : options_(std::move(options)) {}

  [[nodiscard]] std::string_view name() const noexcept override { return "kubeless"; }

  [[nodiscard]] dispatch on_request(const request& req,
                                    std::string_view request_id) const override {
    dispatch d;
    const std::string_view path = detail::target_path(req.target);
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (get && path == "/healthz") return reply_now(d, detail::ok_reply());
    if (get && path == "/metrics") {
      return reply_now(d, detail::simple_reply(200, "text/plain; version=0.0.4", metrics_text()));
    }
    const std::size_t method = method_index(req.method);
    if (method == invoke_methods.size()) {
      reply r =
          detail::simple_reply(405, "application/json", R"({"message":"Method Not Allowed"})");
      r.headers.emplace_back("Allow", "GET, POST, PUT, PATCH, DELETE");
      return reply_now(d, std::move(r));
    }
    json::object kubeless;
    bool base64 = false;
    std::string payload;
    if (req.body.empty()) {
      payload = "null";
    } else if (is_json_content_type(
                   detail::find_header(req.headers, "content-type").value_or(""))) {
      if (!detail::is_json(req.body)) {
        return reply_now(
            d, detail::simple_reply(400, "application/json",
                                    R"j({"message":"The body is not valid JSON (Content-Type: )j"
                                    R"j(application/json)"})j"));
      }
      payload = req.body;
    } else {
      payload = detail::text_or_base64_json(req.body, base64);
    }
    d.what = dispatch::kind::invoke;
    invocation& inv = d.inv;
    inv.payload = std::move(payload);
    inv.content_type = "application/json";
    inv.request_id = std::string(request_id);
    for (const auto name : event_headers) {
      const auto value = detail::find_header(req.headers, name);
      if (value) {
        kubeless[name] = detail::to_valid_utf8(*value);
      } else {
        kubeless[name] = nullptr;
      }
    }
    if (const auto id = detail::find_header(req.headers, "event-id"); id && !id->empty()) {
      inv.request_id = detail::to_valid_utf8(*id);
    }
    kubeless["function-name"] = detail::to_valid_utf8(options_.function.name);
    kubeless["timeout"] = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(options_.function.timeout).count());
    kubeless["runtime"] = detail::to_valid_utf8(options_.runtime);
    kubeless["memory-limit"] = detail::to_valid_utf8(options_.memory_limit);
    json::object context;
    context["kubeless"] = std::move(kubeless);
    if (base64) context["isBase64Encoded"] = true;
    inv.platform_context = json::serialize(context);
    count(calls_, req.method);
    return d;
  }

  [[nodiscard]] reply on_outcome(const request& req, const invocation& /*inv*/,
                                 const outcome& result) const override {
    if (!result.is_success()) {
      count(failures_, req.method);
      return detail::failure_reply(result);
    }
    const auto value = detail::parse_json(result.payload());
    if (!value) {
      // Not JSON: a C++ handler's raw bytes, with its content type.
      const std::string& type = result.content_type();
      return detail::simple_reply(200, type.empty() ? "application/octet-stream" : type,
                                  result.payload());
    }
    if (value->is_string()) {
      return detail::simple_reply(200, "text/plain; charset=utf-8",
                                  std::string(value->get_string()));
    }
    return detail::simple_reply(200, "application/json", result.payload());
  }

  // on_hook, on_init_error: the adapter's defaults. After an init error every request gets it,
  // /healthz included: the liveness probe fails and Kubernetes restarts the pod, as it would a
  // runtime whose import failed.

  [[nodiscard]] reply on_overload(const request& req) const override {
    count(failures_, req.method);
    return detail::overload_reply();
  }

  [[nodiscard]] reply on_timeout(const request& req, const invocation& inv) const override {
    count(failures_, req.method);
    return detail::simple_reply(
        408, "application/json",
        detail::timeout_error_body(inv.request_id, options_.function.timeout));
  }

 private:
  using counters = std::array<std::atomic<std::uint64_t>, invoke_methods.size()>;

  static dispatch& reply_now(dispatch& d, reply r) {
    d.what = dispatch::kind::reply_now;
    d.immediate = std::move(r);
    return d;
  }

  // Counts one for `method` (ignored when it is not an invoking method).
  static void count(counters& c, std::string_view method) {
    const std::size_t i = method_index(method);
    if (i < c.size()) c.at(i).fetch_add(1, std::memory_order_relaxed);
  }

  // The Prometheus text exposition (format 0.0.4) of the counters.
  [[nodiscard]] std::string metrics_text() const {
    std::string out;
    const auto family = [&](std::string_view metric, std::string_view help, const counters& c) {
      out.append("# HELP ").append(metric).append(" ").append(help).append("\n");
      out.append("# TYPE ").append(metric).append(" counter\n");
      for (std::size_t i = 0; i < c.size(); ++i) {
        out.append(metric).append("{method=\"").append(invoke_methods.at(i)).append("\"} ");
        out.append(std::to_string(c.at(i).load(std::memory_order_relaxed))).append("\n");
      }
    };
    family("function_calls_total", "Number of calls to user function", calls_);
    family("function_failures_total", "Number of exceptions in user function", failures_);
    return out;
  }

  kubeless_options options_;
  // Invocations and failures per method in invoke_methods. Mutable: counting is not a change of
  // the mapping, and atomics keep the adapter safe to call from any thread.
  mutable counters calls_{};
  mutable counters failures_{};
};

}  // namespace

std::unique_ptr<adapter> make_kubeless_adapter(kubeless_options options) {
  return std::make_unique<kubeless_adapter>(std::move(options));
}

}  // namespace lamella::push
