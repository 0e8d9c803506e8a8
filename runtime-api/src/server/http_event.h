// The HTTP mappings the push adapters share: a request as an API Gateway HTTP API (payload 2.0)
// event, a handler's result as API Gateway's answer, and CloudEvents (HTTP binding, binary and
// structured mode). Pure functions: no I/O, no global state, safe to call from any thread.
#pragma once

#include "server/push_adapter.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

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
/// `s` with ASCII A-Z lower-cased (header names; every other byte as it is).
std::string to_lower_ascii(std::string_view s);
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
/// Parses `text` as one JSON document nested at most `max_depth` deep; nullopt when it is not
/// one.
std::optional<boost::json::value> parse_json(std::string_view text,
                                             std::size_t max_depth = max_json_depth);
/// True when `text` is one JSON document (nested at most max_json_depth deep); cheaper than
/// parse_json() when the value is not needed.
bool is_json(std::string_view text);
/// `bytes` as a JSON string (serialized): their text when they are valid UTF-8; otherwise their
/// base64, and `base64` is set to true (left alone otherwise), for the caller to flag.
std::string text_or_base64_json(std::string_view bytes, bool& base64);
/// The value of header `name` of `req` as a positive decimal integer; nullopt when absent, zero
/// or not a number (FC's x-fc-function-timeout, FunctionGraph's X-CFF-Timeout).
std::optional<unsigned> positive_header(const request& req, std::string_view name);
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

// ---- answers and mappings several adapters share (each says which it uses) ----

/// 200 text/plain "OK": health checks and readiness probes.
reply ok_reply();
/// The failure's error JSON (its payload) as an application/json answer with `status`.
reply failure_reply(const outcome& failure, unsigned status = 500);
/// The answer to a lifecycle request on a platform that sends none (the server asks anyway):
/// failure_reply(*failure) when `failure`, else ok_reply().
reply plain_hook_reply(const outcome* failure);
/// The answer when the server is saturated: 503 {"message":"Service Unavailable"} with
/// `Retry-After: 1`, for the platform or client to retry.
reply overload_reply();
/// API Gateway's answer to an integration that ran out of time: 504
/// {"message":"Endpoint request timed out"}.
reply gateway_timeout_reply();
/// The error JSON of an event invocation that ran out of `timeout`, in the shape lamella's
/// emulator gives Lambda's timeouts: {"errorType":"Sandbox.Timedout","errorMessage":"RequestId:
/// <request_id> Error: Task timed out after <whole seconds>.00 seconds"}.
std::string timeout_error_body(std::string_view request_id, std::chrono::milliseconds timeout);
/// The content type of an event function's event `body`: the platforms send events as bytes, but
/// the handlers lamella runs are AWS Lambda's, whose events are JSON and arrive decoded, so a body
/// that is one JSON document is "application/json"; anything else "application/octet-stream".
std::string event_content_type(std::string_view body);
/// Sets `inv.trace_id` from the request's X-Amzn-Trace-Id header when it has one.
void copy_trace_id(const request& req, invocation& inv);

/// Maps a request into `d` (whose `what` the caller sets) as the http adapter maps every request:
/// Content-Type application/json; a CloudEvent (detect_cloud_event()) goes through
/// dispatch_cloud_event() with `context`; any other request becomes make_http_event(req,
/// request_id, function, now, options), with `context` as platform_context (none when empty).
void dispatch_http_request(dispatch& d, const request& req, std::string_view request_id,
                           const function_info& function, std::chrono::system_clock::time_point now,
                           boost::json::object context = {}, const event_options& options = {});
/// API Gateway's answer to an outcome: http_reply_from_result() for a result,
/// http_internal_error_reply() for a function error.
reply api_gateway_reply(const outcome& result);
/// The answer to a CloudEvent's outcome: cloud_event_reply() for a result, failure_reply() (500)
/// for a function error.
reply cloud_event_outcome_reply(const outcome& result);
/// The answer to the outcome of a request dispatch_http_request() mapped:
/// cloud_event_outcome_reply() for a CloudEvent, api_gateway_reply() for any other request.
reply http_request_reply(const request& req, const outcome& result);

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
