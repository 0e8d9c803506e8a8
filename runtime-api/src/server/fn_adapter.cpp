// The `fn` push adapter: the Fn Project FDK contract, `http-stream` format
// (platform-contracts.md §12). The Fn agent sends `POST /call` over the UNIX socket the push server
// listens on (FN_LISTENER), one call at a time, with `Fn-Call-Id` and `Fn-Deadline`.
//
// Plain calls: the body is the event (a JSON document as is; any other text as a JSON string;
// bytes that are not UTF-8 as a base64 string, flagged by `fn.isBase64Encoded` in the context; an
// empty body as null, as lamella maps an empty CloudEvent), and the result is the answer's body.
//
// HTTP-trigger calls (`Fn-Intent: httprequest`): the agent wraps the client's request (method in
// `Fn-Http-Method`, URL in `Fn-Http-Request-Url`, each header as `Fn-Http-H-<Name>` except
// Content-Type). It is unwrapped and mapped as the http adapter maps a request (an API Gateway
// payload 2.0 event), the result is mapped back as API Gateway would, and that answer is wrapped
// the agent's way: `Fn-Http-Status: <code>`, each header as `Fn-Http-H-<Name>`, Content-Type
// as is.
//
// Statuses: the agent takes 200 (handled), 502 (the function failed; the container is reused) and
// 504 (the FDK saw the deadline pass); any other status makes it kill the container. So every
// answer to `/call` is one of those three: a function error or an init error is 502 with the error
// JSON, a timeout 504, and a call the server could not run (busy or stopping, which one call at a
// time should never meet) 502 as well, so that the agent does not kill a healthy container.
#include "server/http_event.h"
#include "server/push_adapter.h"

#include "lamella/version.h"

#include <boost/json.hpp>

#include <charconv>
#include <utility>

namespace lamella::push {

namespace {

namespace json = boost::json;
using detail::find_header;

constexpr std::string_view http_header_prefix = "Fn-Http-H-";

bool is_http_trigger(const request& req) {
  const auto intent = find_header(req.headers, "Fn-Intent");
  return intent && detail::iequals(*intent, "httprequest");
}

/// The `digits` decimal digits at `text[at]`, nullopt unless they are all digits.
std::optional<int> digits_at(std::string_view text, std::size_t at, std::size_t digits) {
  if (at + digits > text.size()) return std::nullopt;
  int value = 0;
  const auto* begin = text.data() + at;
  const auto [end, ec] = std::from_chars(begin, begin + digits, value);
  if (ec != std::errc() || end != begin + digits) return std::nullopt;
  return value;
}

json::object header_object(const header_list& headers) {
  json::object out;
  for (const auto& [name, value] : headers) {
    const std::string key = detail::to_lower_ascii(detail::to_valid_utf8(name));
    const std::string text = detail::to_valid_utf8(value);
    if (auto* existing = out.if_contains(key)) {
      existing->as_string().append(",");
      existing->as_string().append(text);
    } else {
      out[key] = text;
    }
  }
  return out;
}

/// Wraps an HTTP answer for the agent: 200 with `Fn-Http-Status` and `Fn-Http-H-*` headers.
reply encapsulate(reply inner) {
  reply out;
  out.status = 200;
  out.headers.reserve(inner.headers.size() + 1);
  out.headers.emplace_back("Fn-Http-Status", std::to_string(inner.status));
  for (auto& [name, value] : inner.headers) {
    if (detail::iequals(name, "Content-Type")) {
      out.headers.emplace_back("Content-Type", std::move(value));
    } else {
      out.headers.emplace_back(std::string(http_header_prefix) + name, std::move(value));
    }
  }
  out.body = std::move(inner.body);
  return out;
}

reply fn_error(unsigned status, std::string body) {
  return detail::simple_reply(status, "application/json", std::move(body));
}

class fn_adapter final : public adapter {
 public:
  explicit fn_adapter(fn_options options) : options_(std::move(options)) {}

  [[nodiscard]] std::string_view name() const noexcept override { return "fn"; }

  [[nodiscard]] dispatch on_request(const request& req,
                                    std::string_view request_id) const override {
    dispatch d;
    if (req.method != "POST" || detail::target_path(req.target) != "/call") {
      // The agent sends nothing else; whoever did gets an honest 404.
      d.what = dispatch::kind::reply_now;
      d.immediate =
          with_fdk(fn_error(404, R"({"message":"Not Found: the Fn FDK serves POST /call"})"));
      return d;
    }
    d.what = dispatch::kind::invoke;
    invocation& inv = d.inv;
    const auto call_id = find_header(req.headers, "Fn-Call-Id");
    inv.request_id = detail::to_valid_utf8(call_id && !call_id->empty() ? *call_id : request_id);
    json::object fn;
    fn["callId"] = inv.request_id;
    if (const auto deadline = find_header(req.headers, "Fn-Deadline")) {
      fn["deadline"] = detail::to_valid_utf8(*deadline);
      // A malformed deadline is ignored: the function's own timeout still holds.
      if (const auto when = detail::parse_rfc3339(*deadline)) inv.deadline = *when;
    }
    inv.content_type = "application/json";
    if (is_http_trigger(req)) {
      fn["intent"] = "httprequest";
      inv.payload = detail::make_http_event(unwrap(req), inv.request_id, options_.function,
                                            std::chrono::system_clock::now());
    } else {
      fn["headers"] = header_object(req.headers);
      inv.payload = event_of(req.body, fn);
    }
    json::object context;
    context["fn"] = std::move(fn);
    inv.platform_context = json::serialize(context);
    return d;
  }

  [[nodiscard]] reply on_outcome(const request& req, const invocation& /*inv*/,
                                 const outcome& result) const override {
    if (!result.is_success()) return with_fdk(detail::failure_reply(result, 502));
    if (is_http_trigger(req)) {
      return with_fdk(
          encapsulate(detail::http_reply_from_result(result.payload(), result.content_type())));
    }
    return with_fdk(detail::simple_reply(
        200, result.content_type().empty() ? "application/json" : result.content_type(),
        result.payload()));
  }

  // Fn sends no lifecycle requests; a server that asks anyway gets the agent's statuses.
  [[nodiscard]] reply on_hook(const request& /*req*/, dispatch::kind /*hook*/,
                              const outcome* failure) const override {
    if (failure != nullptr) return with_fdk(detail::failure_reply(*failure, 502));
    return with_fdk(detail::simple_reply(200, "", ""));
  }

  [[nodiscard]] reply on_init_error(const request& /*req*/, const outcome& failure) const override {
    return with_fdk(detail::failure_reply(failure, 502));
  }

  [[nodiscard]] reply on_overload(const request& /*req*/) const override {
    return with_fdk(fn_error(
        502,
        R"({"errorType":"Runtime.Unavailable","errorMessage":"the function is busy or stopping; the call did not run"})"));
  }

  [[nodiscard]] reply on_timeout(const request& /*req*/, const invocation& inv) const override {
    json::object body;
    body["errorType"] = "Sandbox.Timedout";
    body["errorMessage"] =
        "RequestId: " + detail::to_valid_utf8(inv.request_id) + " Error: Task timed out";
    return with_fdk(fn_error(504, json::serialize(body)));
  }

 private:
  /// The client's request the agent wrapped: Fn-Http-Method, Fn-Http-Request-Url (absolute; its
  /// authority becomes Host unless the client's headers carry one), Fn-Http-H-* and Content-Type.
  static request unwrap(const request& req) {
    request out;
    out.method = std::string(find_header(req.headers, "Fn-Http-Method").value_or("GET"));
    const std::string_view url = find_header(req.headers, "Fn-Http-Request-Url").value_or("/");
    std::string_view authority;
    std::string_view target = url;
    if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
      const auto start = scheme + 3;
      const auto end = url.find_first_of("/?", start);
      authority = url.substr(start, end == std::string_view::npos ? url.npos : end - start);
      target = end == std::string_view::npos ? std::string_view("/") : url.substr(end);
    }
    // Built by appending: g++ 12 at -O3 (the release preset) reports a false -Wrestrict on
    // `"/" + std::string(target)` and on assigning "/".
    if (target.empty() || target.starts_with('?')) out.target.push_back('/');
    out.target.append(target);
    out.headers.reserve(req.headers.size() + 1);
    for (const auto& [name, value] : req.headers) {
      if (detail::iequals(name, "Content-Type")) {
        out.headers.emplace_back(name, value);
      } else if (name.size() > http_header_prefix.size() &&
                 detail::iequals(std::string_view(name).substr(0, http_header_prefix.size()),
                                 http_header_prefix)) {
        out.headers.emplace_back(name.substr(http_header_prefix.size()), value);
      }
    }
    if (!authority.empty() && !find_header(out.headers, "Host")) {
      out.headers.emplace_back("Host", std::string(authority));
    }
    out.body = req.body;
    out.remote_address = req.remote_address;
    return out;
  }

  /// A plain call's event (see the file comment); sets fn.isBase64Encoded for binary bodies.
  static std::string event_of(const std::string& body, json::object& fn) {
    if (body.empty()) return "null";
    if (detail::is_json(body)) return body;
    bool base64 = false;
    std::string event = detail::text_or_base64_json(body, base64);
    if (base64) fn["isBase64Encoded"] = true;
    return event;
  }

  /// Adds the FDK's optional identification header to an answer.
  [[nodiscard]] static reply with_fdk(reply r) {
    r.headers.emplace_back("Fn-Fdk-Version", "lamella/" LAMELLA_VERSION);
    return r;
  }

  fn_options options_;
};

}  // namespace

namespace detail {

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); 't' and 'z' as RFC 3339 allows.
  const auto year = digits_at(text, 0, 4);
  const auto month = digits_at(text, 5, 2);
  const auto day = digits_at(text, 8, 2);
  const auto hour = digits_at(text, 11, 2);
  const auto minute = digits_at(text, 14, 2);
  const auto second = digits_at(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':' || *hour > 23 ||
      *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  std::size_t at = 19;
  std::chrono::nanoseconds fraction{0};
  if (at < text.size() && text[at] == '.') {
    ++at;
    const std::size_t start = at;
    std::int64_t scale = 100'000'000;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      fraction += std::chrono::nanoseconds((text[at] - '0') * scale);
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  std::chrono::minutes offset{0};
  if (at + 1 == text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    // UTC
  } else if (at + 6 == text.size() && (text[at] == '+' || text[at] == '-') && text[at + 3] == ':') {
    const auto oh = digits_at(text, at + 1, 2);
    const auto om = digits_at(text, at + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset = std::chrono::minutes(*oh * 60 + *om);
    if (text[at] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  const auto utc = std::chrono::sys_days(date) + std::chrono::hours(*hour) +
                   std::chrono::minutes(*minute) + std::chrono::seconds(*second) + fraction -
                   offset;
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(utc);
}

}  // namespace detail

std::unique_ptr<adapter> make_fn_adapter(fn_options options) {
  return std::make_unique<fn_adapter>(std::move(options));
}

}  // namespace lamella::push
