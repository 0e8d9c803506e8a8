// The HTTP mappings the push adapters share: a request as an API Gateway HTTP API (payload 2.0)
// event, a handler's result as API Gateway's answer, and CloudEvents (HTTP binding, binary and
// structured mode). Pure functions: no I/O, no global state, safe to call from any thread.
#pragma once

#include "server/push_adapter.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace lamella::push::detail {

// ---- small helpers (exposed for the tests and the fuzzer) ----

/// The JSON nesting the mappings accept (Boost.JSON's default of 32 is below what handlers'
/// own parsers take).
inline constexpr std::size_t max_json_depth = 512;

/// The value of the first header called `name` (ASCII case-insensitive), nullopt when absent.
std::optional<std::string_view> find_header(const header_list& headers, std::string_view name);
/// True when `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);
/// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view bytes);
/// `bytes` with every ill-formed UTF-8 sequence replaced by U+FFFD, so that it is safe to put
/// into a JSON string.
std::string to_valid_utf8(std::string_view bytes);
/// Percent-decodes `text` ("%41" -> "A"; a '%' not followed by two hex digits stays as is);
/// '+' becomes a space when `plus_is_space` (query strings, form bodies).
std::string percent_decode(std::string_view text, bool plus_is_space);
/// True for content types whose bodies API Gateway passes as text: text/*, JSON (+json), XML
/// (+xml), application/x-www-form-urlencoded, JavaScript. Parameters (";charset=…") ignored.
bool is_textual_content_type(std::string_view content_type);
/// Common Log Format time as API Gateway writes it: "21/Apr/2020:15:08:21 +0000" (UTC).
std::string format_clf_time(std::chrono::system_clock::time_point when);
/// The path part of an origin-form target ("/a/b?x=1" -> "/a/b"; "" -> "/").
std::string_view target_path(std::string_view target);
/// The query part of a target without the '?' ("" when none).
std::string_view target_query(std::string_view target);
/// An RFC 3339 date-time ("2026-11-30T12:00:00.123Z", "...+01:00"; any number of fraction
/// digits) as a time point; nullopt when malformed. Fn's `Fn-Deadline` (fn_adapter.cpp).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

// ---- request -> API Gateway HTTP API payload 2.0 event ----

/// How to build the event for one platform.
struct event_options {
  /// Request headers whose lower-cased name starts with this prefix are left out of the event
  /// (FC: "x-fc-"); empty keeps every header.
  std::string_view strip_header_prefix;
  /// A path prefix the platform added (FC's x-fc-base-path, "/2016-08-15/proxy/svc/fn/"); it is
  /// removed from rawPath and requestContext.http.path when the path starts with it.
  std::string_view base_path;
};

/// The API Gateway HTTP API (payload 2.0) event for `req`, as JSON text, shaped as AWS shapes it:
/// version, routeKey "$default", rawPath, rawQueryString, cookies (Cookie headers split on "; "),
/// headers (lower-cased names, repeats joined with ","), queryStringParameters (percent-decoded,
/// repeated keys joined with ","), requestContext {accountId, apiId, domainName, domainPrefix,
/// http {method, path, protocol, sourceIp, userAgent}, requestId, routeKey, stage, time,
/// timeEpoch}, body (absent when empty) and isBase64Encoded (true when the content type is not
/// textual or the body is not valid UTF-8). Keys absent in AWS's events when empty (cookies,
/// queryStringParameters, body) are absent here too. Strings that are not valid UTF-8 are
/// repaired with U+FFFD, so the result is always a valid JSON document.
std::string make_http_event(const request& req, std::string_view request_id,
                            const function_info& function,
                            std::chrono::system_clock::time_point now,
                            const event_options& options = {});

// ---- handler result -> HTTP answer (API Gateway, payload 2.0) ----

/// The answer API Gateway gives for a successful result `payload` (content type
/// `content_type`): a JSON object with `statusCode` is an HTTP response (statusCode, headers,
/// multiValueHeaders, cookies as Set-Cookie, body base64-decoded when isBase64Encoded); a JSON
/// string is a 200 application/json answer whose body is the string's text; any other JSON value
/// is a 200 application/json answer whose body is the JSON text. A payload that is not JSON (a
/// C++ handler's plain bytes) is a 200 answer with those bytes and `content_type`. A malformed
/// response object (bad statusCode, undecodable base64 body) is API Gateway's 500.
reply http_reply_from_result(std::string_view payload, std::string_view content_type);
/// API Gateway's answer to a function error: 500 {"message":"Internal Server Error"}.
reply http_internal_error_reply();
/// A reply with `status`, a Content-Type and a body.
reply simple_reply(unsigned status, std::string_view content_type, std::string body);

// ---- CloudEvents (HTTP protocol binding) ----

/// How a request carries a CloudEvent.
enum class cloud_event_mode {
  none,        ///< not a CloudEvent: an ordinary HTTP request
  binary,      ///< attributes in ce-* headers, data in the body (ce-specversion present)
  structured,  ///< Content-Type application/cloudevents+json: the whole event in the body
};
/// The mode of `req` (cheap: looks at two headers).
cloud_event_mode detect_cloud_event(const request& req);

/// A CloudEvent as an invocation sees it.
struct cloud_event {
  std::string payload;           ///< the event's data as JSON text (the handler's event)
  std::string platform_context;  ///< {"cloudevent": {attributes…}} (+ "isBase64Encoded": true)
};
/// Maps a CloudEvent request (mode != none). The data becomes the event: binary mode, the body
/// as is when the content type is JSON (and the body parses), else the body as a JSON string
/// (base64 when it is not valid UTF-8, flagged by isBase64Encoded in the context), null when
/// empty; structured mode, the body's `data` (or `data_base64`, a string). The attributes
/// (id, source, type, specversion, time, subject, dataschema, datacontenttype and extensions)
/// go into the context, next to the members of `context` (FC adds its "fc" object). nullopt when
/// a structured body is not a JSON object.
std::optional<cloud_event> map_cloud_event(const request& req, cloud_event_mode mode,
                                           boost::json::object context = {});
/// Fills `d` for a CloudEvent request (`mode` != none), as both push adapters do: an invocation
/// whose event is the CloudEvent's data and whose platform context holds its attributes (and
/// `context`'s members), or, when a structured body is not a JSON object, a 400 answered at once.
void dispatch_cloud_event(dispatch& d, const request& req, cloud_event_mode mode,
                          boost::json::object context = {});
/// The answer to a CloudEvent's successful result: 204 when it is JSON null (or empty), else
/// 200 with the result bytes and their content type.
reply cloud_event_reply(std::string_view payload, std::string_view content_type);

}  // namespace lamella::push::detail
