#include "server/http_event.h"

#include "common/base64.h"

#include <boost/json.hpp>

#include <time.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace lamella::push::detail {

namespace json = boost::json;

namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The media type of a Content-Type value, lower-cased, without parameters.
std::string media_type(std::string_view content_type) {
  const auto semi = content_type.find(';');
  if (semi != std::string_view::npos) content_type = content_type.substr(0, semi);
  return to_lower_ascii(trim(content_type));
}

bool is_json_content_type(std::string_view content_type) {
  const std::string type = media_type(content_type);
  return type == "application/json" || iends_with(type, "+json");
}

// A JSON string value for `bytes`, repaired to valid UTF-8.
json::string json_text(std::string_view bytes) {
  if (is_valid_utf8(bytes)) return json::string(bytes);
  const std::string fixed = to_valid_utf8(bytes);
  return json::string(fixed);
}

// RFC 9110 token characters (header names).
bool is_token(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

// A header value that can go on the wire: no CR, LF, NUL or other control character but HTAB.
bool is_field_value(std::string_view value) {
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return false;
  }
  return true;
}

// Adds a header from a handler's response when it is safe to send; drops it otherwise.
void add_response_header(header_list& headers, std::string_view name, std::string_view value) {
  if (!is_token(name) || !is_field_value(value) || is_framing_header(name)) return;
  headers.emplace_back(std::string(name), std::string(value));
}

// A response header value as API Gateway accepts it: a string, or a number or boolean as text.
std::optional<std::string> header_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_number() || v.is_bool()) return json::serialize(v);
  return std::nullopt;
}

// statusCode as an HTTP status (an integer 100..599, possibly written as a string).
std::optional<unsigned> status_of(const json::value& v) {
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64()) {
    if (v.get_uint64() > 1000) return std::nullopt;
    n = static_cast<std::int64_t>(v.get_uint64());
  } else if (v.is_double()) {
    const double d = v.get_double();
    if (!(d >= 100 && d < 600) || std::floor(d) != d) return std::nullopt;
    n = static_cast<std::int64_t>(d);
  } else if (v.is_string()) {
    const std::string_view s = v.get_string();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (n < 100 || n > 599) return std::nullopt;
  return static_cast<unsigned>(n);
}

bool has_header(const header_list& headers, std::string_view name) {
  return find_header(headers, name).has_value();
}

// API Gateway's answer to a response object (one with statusCode).
reply reply_from_response_object(const json::object& o) {
  const auto status = status_of(o.at("statusCode"));
  if (!status) return http_internal_error_reply();
  reply r;
  r.status = *status;
  if (const auto* h = o.if_contains("headers"); h != nullptr && h->is_object()) {
    for (const auto& field : h->get_object()) {
      if (auto text = header_text(field.value()))
        add_response_header(r.headers, field.key(), *text);
    }
  }
  if (const auto* h = o.if_contains("multiValueHeaders"); h != nullptr && h->is_object()) {
    for (const auto& field : h->get_object()) {
      if (!field.value().is_array()) continue;
      for (const auto& item : field.value().get_array()) {
        if (auto text = header_text(item)) add_response_header(r.headers, field.key(), *text);
      }
    }
  }
  if (const auto* c = o.if_contains("cookies"); c != nullptr && c->is_array()) {
    for (const auto& cookie : c->get_array()) {
      if (cookie.is_string()) add_response_header(r.headers, "Set-Cookie", cookie.get_string());
    }
  }
  bool base64 = false;
  if (const auto* b = o.if_contains("isBase64Encoded"); b != nullptr && b->is_bool()) {
    base64 = b->get_bool();
  }
  if (const auto* b = o.if_contains("body"); b != nullptr && !b->is_null()) {
    if (b->is_string()) {
      if (base64) {
        auto decoded = lamella::detail::base64_decode(b->get_string());
        if (!decoded) return http_internal_error_reply();
        r.body = std::move(*decoded);
      } else {
        r.body = std::string(b->get_string());
      }
    } else {
      r.body = json::serialize(*b);
    }
  }
  if (!has_header(r.headers, "content-type")) {
    r.headers.emplace_back("Content-Type", "application/json");
  }
  return r;
}

// Strips an absolute-form target ("http://host/p?q") to origin form ("/p?q").
std::string_view origin_form(std::string_view target) {
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (istarts_with(target, scheme)) {
      const auto slash = target.find_first_of("/?", scheme.size());
      if (slash == std::string_view::npos) return "/";
      return target.substr(slash);
    }
  }
  return target;
}

// The path without a platform's base path prefix.
std::string strip_base_path(std::string_view path, std::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (base.empty() || path.substr(0, base.size()) != base) return std::string(path);
  const std::string_view rest = path.substr(base.size());
  if (rest.empty()) return "/";
  if (rest.front() != '/') return std::string(path);  // "/basefoo" is not under "/base"
  return std::string(rest);
}

}  // namespace

// ---- helpers ----

std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> find_header(const header_list& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

namespace {

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 when it is ill-formed.
std::size_t utf8_sequence_length(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlongs
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlongs
    if (b0 == 0xF4) hi = 0x8F;  // <= U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    const unsigned char min = i == 1 ? lo : 0x80;
    const unsigned char max = i == 1 ? hi : 0xBF;
    if (b < min || b > max) return 0;
  }
  return len;
}

// Moves the UTF-8 sequence at the start of `bytes` to `out`; an ill-formed byte becomes U+FFFD.
void take_utf8_sequence(std::string& out, std::string_view& bytes) {
  const std::size_t n = utf8_sequence_length(bytes);
  if (n == 0) {
    out.append("\xEF\xBF\xBD");  // U+FFFD
    bytes.remove_prefix(1);
  } else {
    out.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
  while (!bytes.empty()) {
    const std::size_t n = utf8_sequence_length(bytes);
    if (n == 0) return false;
    bytes.remove_prefix(n);
  }
  return true;
}

std::string to_valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) take_utf8_sequence(out, bytes);
  return out;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

bool is_textual_content_type(std::string_view content_type) {
  const std::string type = media_type(content_type);
  if (type.empty()) return false;
  if (type.rfind("text/", 0) == 0) return true;
  if (iends_with(type, "+json") || iends_with(type, "+xml")) return true;
  return type == "application/json" || type == "application/xml" ||
         type == "application/x-www-form-urlencoded" || type == "application/javascript" ||
         type == "application/x-javascript" || type == "application/ecmascript";
}

std::string format_clf_time(std::chrono::system_clock::time_point when) {
  static constexpr std::array<const char*, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  // One text per second, per thread (a push server asks for it on every request).
  thread_local std::time_t last = -1;
  thread_local std::string text;
  if (t == last) return text;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::array<char, 40> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), "%02d/%s/%04d:%02d:%02d:%02d +0000",
                              tm.tm_mday, months.at(static_cast<std::size_t>(tm.tm_mon) % 12),
                              tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  text.assign(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
  last = t;
  return text;
}

std::string_view target_path(std::string_view target) {
  target = origin_form(target);
  const auto q = target.find('?');
  const std::string_view path = q == std::string_view::npos ? target : target.substr(0, q);
  return path.empty() ? std::string_view("/") : path;
}

std::string_view target_query(std::string_view target) {
  target = origin_form(target);
  const auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

std::optional<json::value> parse_json(std::string_view text, std::size_t max_depth) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = max_depth;
  json::value v = json::parse(text, ec, {}, options);
  if (ec) return std::nullopt;
  return v;
}

bool is_json(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = max_json_depth;
  json::monotonic_resource scratch;
  (void)json::parse(text, ec, &scratch, options);
  return !ec;
}

std::string text_or_base64_json(std::string_view bytes, bool& base64) {
  if (is_valid_utf8(bytes)) return json::serialize(json::string(bytes));
  base64 = true;
  return json::serialize(json::string(lamella::detail::base64_encode(bytes)));
}

std::optional<unsigned> positive_header(const request& req, std::string_view name) {
  const auto text = find_header(req.headers, name);
  if (!text) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value == 0) return std::nullopt;
  return value;
}

// ---- request -> event ----

namespace {

// Appends `bytes` to `out` as a JSON string, repaired to valid UTF-8 as to_valid_utf8() repairs
// it (an ill-formed byte becomes U+FFFD), with the escapes Boost.JSON's serializer writes.
void append_json_string(std::string& out, std::string_view bytes) {
  static constexpr std::string_view hex = "0123456789abcdef";
  out.push_back('"');
  while (!bytes.empty()) {
    // A run that needs no escape and is ASCII goes in one append.
    std::size_t run = 0;
    while (run < bytes.size()) {
      const auto u = static_cast<unsigned char>(bytes[run]);
      if (u < 0x20 || u >= 0x80 || u == '"' || u == '\\') break;
      ++run;
    }
    out.append(bytes.substr(0, run));
    bytes.remove_prefix(run);
    if (bytes.empty()) break;
    const auto u = static_cast<unsigned char>(bytes.front());
    if (u >= 0x80) {
      take_utf8_sequence(out, bytes);
      continue;
    }
    bytes.remove_prefix(1);
    // The short escapes, as "<char><letter>" pairs; any other control character is \u00XX.
    static constexpr std::string_view named = "\"\"\\\\\bb\ff\nn\rr\tt";
    std::size_t at = 0;
    while (at < named.size() && named[at] != static_cast<char>(u)) at += 2;
    if (at < named.size()) {
      out.push_back('\\');
      out.push_back(named[at + 1]);
    } else {
      out.append("\\u00");
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 0xF]);
    }
  }
  out.push_back('"');
}

// Names with their values, in first-seen order, a repeated name's values joined (headers and
// query parameters, as API Gateway joins them).
class joined_fields {
 public:
  void add(std::string name, std::string_view value, std::string_view separator) {
    for (auto& [n, v] : fields_) {
      if (n == name) {
        v.append(separator).append(value);
        return;
      }
    }
    fields_.emplace_back(std::move(name), std::string(value));
  }
  [[nodiscard]] bool empty() const noexcept { return fields_.empty(); }
  // Appends the fields as a JSON object.
  void append_to(std::string& out) const {
    out.push_back('{');
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (i != 0) out.push_back(',');
      append_json_string(out, fields_[i].first);
      out.push_back(':');
      append_json_string(out, fields_[i].second);
    }
    out.push_back('}');
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace

// Written straight as text, in the key order AWS uses: the event's shape is fixed, and building
// it as a boost::json tree first cost more than all the rest of a push-mode request (session 5's
// profile).
std::string make_http_event(const request& req, std::string_view request_id,
                            const function_info& function,
                            std::chrono::system_clock::time_point now,
                            const event_options& options) {
  const std::string path = strip_base_path(target_path(req.target), options.base_path);
  const std::string_view raw_query = target_query(req.target);

  joined_fields headers;
  std::vector<std::string_view> cookies;
  const std::string strip_prefix = to_lower_ascii(options.strip_header_prefix);
  for (const auto& [raw_name, raw_value] : req.headers) {
    std::string name = to_valid_utf8(to_lower_ascii(raw_name));
    if (!strip_prefix.empty() && name.rfind(strip_prefix, 0) == 0) continue;
    if (name == "cookie") {
      std::string_view rest = raw_value;
      while (!rest.empty()) {
        const auto semi = rest.find(';');
        const std::string_view one = trim(rest.substr(0, semi));
        if (!one.empty()) cookies.push_back(one);
        rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      }
      headers.add(std::move(name), raw_value, "; ");
    } else {
      headers.add(std::move(name), raw_value, ",");
    }
  }

  joined_fields query;
  for (std::string_view rest = raw_query; !rest.empty();) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string value =
        eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    // Repaired before joining: two keys that differ only in ill-formed bytes are one key.
    query.add(to_valid_utf8(percent_decode(pair.substr(0, eq), true)), value, ",");
  }

  const std::string host = to_valid_utf8(find_header(req.headers, "host").value_or("localhost"));
  const std::string_view domain_prefix =
      std::string_view(host).substr(0, std::string_view(host).find_first_of(".:"));
  // sourceIp: the client as the first proxy saw it (X-Forwarded-For's first entry, which Cloud
  // Run and Knative ingress set), else the peer. Informational, like any forwarded address.
  std::string_view source_ip = req.remote_address;
  if (const auto xff = find_header(req.headers, "x-forwarded-for")) {
    const std::string_view first = trim(xff->substr(0, xff->find(',')));
    if (!first.empty()) source_ip = first;
  }
  bool base64 = false;
  std::string body;
  if (!req.body.empty()) {
    const auto content_type = find_header(req.headers, "content-type");
    base64 = !content_type || !is_textual_content_type(*content_type) || !is_valid_utf8(req.body);
    if (base64) body = lamella::detail::base64_encode(req.body);
  }

  std::string out;
  out.reserve(512 + req.target.size() * 2 + req.body.size() * 4 / 3);
  out.append(R"({"version":"2.0","routeKey":"$default","rawPath":)");
  append_json_string(out, path);
  out.append(R"(,"rawQueryString":)");
  append_json_string(out, raw_query);
  if (!cookies.empty()) {
    out.append(R"(,"cookies":[)");
    for (std::size_t i = 0; i < cookies.size(); ++i) {
      if (i != 0) out.push_back(',');
      append_json_string(out, cookies[i]);
    }
    out.push_back(']');
  }
  out.append(R"(,"headers":)");
  headers.append_to(out);
  if (!query.empty()) {
    out.append(R"(,"queryStringParameters":)");
    query.append_to(out);
  }
  out.append(R"(,"requestContext":{"accountId":)");
  append_json_string(out, function.account_id);
  out.append(R"(,"apiId":)");
  append_json_string(out, domain_prefix);
  out.append(R"(,"domainName":)");
  append_json_string(out, host);
  out.append(R"(,"domainPrefix":)");
  append_json_string(out, domain_prefix);
  out.append(R"(,"http":{"method":)");
  append_json_string(out, req.method);
  out.append(R"(,"path":)");
  append_json_string(out, path);
  out.append(R"(,"protocol":"HTTP/1.1","sourceIp":)");
  append_json_string(out, source_ip);
  out.append(R"(,"userAgent":)");
  append_json_string(out, find_header(req.headers, "user-agent").value_or(""));
  out.append(R"(},"requestId":)");
  append_json_string(out, request_id);
  out.append(R"(,"routeKey":"$default","stage":"$default","time":)");
  append_json_string(out, format_clf_time(now));
  out.append(R"(,"timeEpoch":)");
  char digits[24];
  const auto epoch_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  out.append(digits, std::to_chars(digits, digits + sizeof digits, epoch_ms).ptr);
  out.push_back('}');
  if (!req.body.empty()) {
    out.append(R"(,"body":)");
    append_json_string(out, base64 ? std::string_view(body) : std::string_view(req.body));
  }
  out.append(base64 ? R"(,"isBase64Encoded":true})" : R"(,"isBase64Encoded":false})");
  return out;
}

// ---- result -> reply ----

reply simple_reply(unsigned status, std::string_view content_type, std::string body) {
  reply r;
  r.status = status;
  if (!content_type.empty()) r.headers.emplace_back("Content-Type", std::string(content_type));
  r.body = std::move(body);
  return r;
}

reply http_internal_error_reply() {
  return simple_reply(500, "application/json", R"({"message":"Internal Server Error"})");
}

reply http_reply_from_result(std::string_view payload, std::string_view content_type) {
  // Parsed into a local arena: the tree lives only while the reply is built (no heap for a small
  // result).
  std::array<unsigned char, 2048> arena;
  json::monotonic_resource scratch(arena.data(), arena.size());
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = max_json_depth;
  const json::value value = json::parse(payload, ec, &scratch, options);
  const json::value* parsed = ec ? nullptr : &value;
  if (parsed == nullptr) {
    // Not JSON: a handler that returned raw bytes (C++) gets them through unchanged.
    return simple_reply(200, content_type.empty() ? "application/octet-stream" : content_type,
                        std::string(payload));
  }
  if (parsed->is_object() && parsed->get_object().contains("statusCode")) {
    return reply_from_response_object(parsed->get_object());
  }
  if (parsed->is_string()) {
    // What API Gateway does with a bare string result: its text is the body.
    return simple_reply(200, "application/json", std::string(parsed->get_string()));
  }
  return simple_reply(200, "application/json", std::string(payload));
}

// ---- shared answers and mappings ----

reply ok_reply() { return simple_reply(200, "text/plain", "OK"); }

reply failure_reply(const outcome& failure, unsigned status) {
  return simple_reply(status, "application/json", failure.payload());
}

reply plain_hook_reply(const outcome* failure) {
  return failure != nullptr ? failure_reply(*failure) : ok_reply();
}

reply overload_reply() {
  reply r = simple_reply(503, "application/json", R"({"message":"Service Unavailable"})");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

reply gateway_timeout_reply() {
  return simple_reply(504, "application/json", R"({"message":"Endpoint request timed out"})");
}

std::string timeout_error_body(std::string_view request_id, std::chrono::milliseconds timeout) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  json::object body;
  body["errorType"] = "Sandbox.Timedout";
  body["errorMessage"] = "RequestId: " + to_valid_utf8(request_id) +
                         " Error: Task timed out after " + std::to_string(seconds) + ".00 seconds";
  return json::serialize(body);
}

std::string event_content_type(std::string_view body) {
  return is_json(body) ? "application/json" : "application/octet-stream";
}

void copy_trace_id(const request& req, invocation& inv) {
  if (const auto trace = find_header(req.headers, "x-amzn-trace-id")) {
    inv.trace_id = std::string(*trace);
  }
}

void dispatch_http_request(dispatch& d, const request& req, std::string_view request_id,
                           const function_info& function, std::chrono::system_clock::time_point now,
                           json::object context, const event_options& options) {
  d.inv.content_type = "application/json";
  if (const auto mode = detect_cloud_event(req); mode != cloud_event_mode::none) {
    dispatch_cloud_event(d, req, mode, std::move(context));
    return;
  }
  d.inv.payload = make_http_event(req, request_id, function, now, options);
  if (!context.empty()) d.inv.platform_context = json::serialize(context);
}

reply api_gateway_reply(const outcome& result) {
  if (!result.is_success()) return http_internal_error_reply();
  return http_reply_from_result(result.payload(), result.content_type());
}

reply cloud_event_outcome_reply(const outcome& result) {
  if (!result.is_success()) return failure_reply(result);
  return cloud_event_reply(result.payload(), result.content_type());
}

reply http_request_reply(const request& req, const outcome& result) {
  if (detect_cloud_event(req) != cloud_event_mode::none) return cloud_event_outcome_reply(result);
  return api_gateway_reply(result);
}

// ---- CloudEvents ----

cloud_event_mode detect_cloud_event(const request& req) {
  if (const auto type = find_header(req.headers, "content-type");
      type && istarts_with(trim(*type), "application/cloudevents+json")) {
    return cloud_event_mode::structured;
  }
  if (find_header(req.headers, "ce-specversion")) return cloud_event_mode::binary;
  return cloud_event_mode::none;
}

std::optional<cloud_event> map_cloud_event(const request& req, cloud_event_mode mode,
                                           json::object context) {
  json::object attributes;
  cloud_event out;
  bool base64 = false;
  if (mode == cloud_event_mode::binary) {
    for (const auto& [name, value] : req.headers) {
      if (!istarts_with(name, "ce-") || name.size() == 3) continue;
      const std::string attribute = to_valid_utf8(to_lower_ascii(std::string_view(name).substr(3)));
      if (attributes.contains(attribute)) continue;  // the first one wins
      attributes[attribute] = to_valid_utf8(percent_decode(value, false));
    }
    const auto content_type = find_header(req.headers, "content-type");
    if (content_type) attributes["datacontenttype"] = json_text(*content_type);
    if (req.body.empty()) {
      out.payload = "null";
    } else if (content_type && is_json_content_type(*content_type) && parse_json(req.body)) {
      out.payload = req.body;
    } else {
      out.payload = text_or_base64_json(req.body, base64);
    }
  } else if (mode == cloud_event_mode::structured) {
    auto parsed = parse_json(req.body);
    if (!parsed || !parsed->is_object()) return std::nullopt;
    json::object& event = parsed->get_object();
    if (const auto* data = event.if_contains("data")) {
      out.payload = json::serialize(*data);
    } else if (const auto* data64 = event.if_contains("data_base64")) {
      out.payload = json::serialize(*data64);
      base64 = true;
    } else {
      out.payload = "null";
    }
    event.erase("data");
    event.erase("data_base64");
    attributes = std::move(event);
  } else {
    return std::nullopt;
  }
  context["cloudevent"] = std::move(attributes);
  if (base64) context["isBase64Encoded"] = true;
  out.platform_context = json::serialize(context);
  return out;
}

void dispatch_cloud_event(dispatch& d, const request& req, cloud_event_mode mode,
                          boost::json::object context) {
  auto event = map_cloud_event(req, mode, std::move(context));
  if (!event) {
    d.what = dispatch::kind::reply_now;
    d.immediate =
        simple_reply(400, "application/json",
                     R"({"message":"Malformed CloudEvent: the body is not a JSON object"})");
    return;
  }
  d.inv.payload = std::move(event->payload);
  d.inv.platform_context = std::move(event->platform_context);
}

reply cloud_event_reply(std::string_view payload, std::string_view content_type) {
  std::string_view text = payload;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.remove_suffix(1);
  }
  if (text.empty() || text == "null") return simple_reply(204, "", "");
  return simple_reply(200, content_type.empty() ? "application/json" : content_type,
                      std::string(payload));
}

}  // namespace lamella::push::detail

namespace lamella::push {

bool is_framing_header(std::string_view name) {
  return detail::iequals(name, "content-length") || detail::iequals(name, "transfer-encoding") ||
         detail::iequals(name, "connection") || detail::iequals(name, "keep-alive");
}

// ---- push::adapter's defaults (push_adapter.h) ----

namespace {

/// How a streamed response begins, as a function URL reads it (streamed_outcome(),
/// streamed_head()).
struct stream_start {
  bool http = false;  ///< application/vnd.awslambda.http-integration-response
  std::size_t body_at = std::string_view::npos;  ///< after the prelude's eight NULs; npos: not yet
  std::optional<boost::json::object> response;   ///< the prelude, statusCode 200 when absent
};

/// For the HTTP integration type: the prelude before the first eight NULs of `bytes` (all of
/// them when `whole` and there are none), parsed; `response` stays empty when it is not a JSON
/// object.
stream_start read_stream_start(std::string_view content_type, std::string_view bytes, bool whole) {
  constexpr std::string_view http_integration =
      "application/vnd.awslambda.http-integration-response";
  constexpr std::string_view delimiter("\0\0\0\0\0\0\0\0", 8);
  stream_start out;
  out.http = detail::iequals(detail::trim(content_type), http_integration);
  if (!out.http) return out;
  const auto end = bytes.find(delimiter);
  if (end == std::string_view::npos && !whole) return out;
  out.body_at = end == std::string_view::npos ? bytes.size() : end + delimiter.size();
  auto prelude = detail::parse_json(bytes.substr(0, end));
  if (prelude && prelude->is_object()) {
    out.response = std::move(prelude->get_object());
    if (!out.response->contains("statusCode")) (*out.response)["statusCode"] = 200;
  }
  return out;
}

std::string stream_content_type(std::string_view content_type) {
  return content_type.empty() ? std::string("application/octet-stream") : std::string(content_type);
}

}  // namespace

outcome streamed_outcome(std::string_view content_type, std::string_view bytes) {
  auto start = read_stream_start(content_type, bytes, true);
  if (!start.http) return outcome::success(std::string(bytes), stream_content_type(content_type));
  if (!start.response) {
    return outcome::failure("Runtime.InvalidResponseStream",
                            "the streamed response's HTTP prelude is not a JSON object");
  }
  (*start.response)["body"] = lamella::detail::base64_encode(bytes.substr(start.body_at));
  (*start.response)["isBase64Encoded"] = true;
  return outcome::success(boost::json::serialize(*start.response), "application/json");
}

streamed_head_result streamed_head(std::string_view content_type, std::string_view bytes) {
  auto start = read_stream_start(content_type, bytes, false);
  streamed_head_result out;
  if (!start.http) {
    out.what = streamed_head_result::state::ready;
    out.head.status = 200;
    out.head.headers.emplace_back("Content-Type", stream_content_type(content_type));
    return out;
  }
  if (start.body_at == std::string_view::npos) return out;  // need_more
  if (!start.response) {
    out.what = streamed_head_result::state::invalid;
    return out;
  }
  (*start.response)["body"] = "";
  // API Gateway's mapping of a result object, whose (empty) body and framing are dropped.
  out.head =
      detail::http_reply_from_result(boost::json::serialize(*start.response), "application/json");
  out.head.body.clear();
  out.what = streamed_head_result::state::ready;
  out.body_at = start.body_at;
  return out;
}

reply adapter::on_hook(const request& /*req*/, dispatch::kind /*hook*/,
                       const outcome* failure) const {
  return detail::plain_hook_reply(failure);
}

reply adapter::on_init_error(const request& /*req*/, const outcome& failure) const {
  return detail::failure_reply(failure);
}

reply adapter::on_overload(const request& /*req*/) const { return detail::overload_reply(); }

reply adapter::on_timeout(const request& /*req*/, const invocation& /*inv*/) const {
  return detail::gateway_timeout_reply();
}

}  // namespace lamella::push
