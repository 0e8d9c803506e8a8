// Push platforms (Alibaba FC, HTTP containers: Knative, Cloud Run, OpenFaaS): how one platform's
// HTTP request becomes an invocation and how an outcome becomes its HTTP answer. Adapters are
// pure mappings, unit-tested with recorded requests; the push server (push_server.h) owns the
// sockets, the queue and the timing, and hands invocations to the language adapters through an
// in-process transport, so that every language runs unchanged on every platform.
#pragma once

#include "lamella/invocation.h"
#include "lamella/outcome.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lamella::push {

/// A header list in arrival order (names as received; compare them case-insensitively).
using header_list = std::vector<std::pair<std::string, std::string>>;

/// One HTTP request as the push server received it (body fully read, within the limits).
struct request {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< origin-form target as received: path and query ("/a/b?x=1&y=2")
  header_list headers;
  std::string body;
  std::string remote_address;  ///< the peer's IP address, for sourceIp
};

/// One HTTP answer the push server sends.
struct reply {
  unsigned status = 200;
  header_list headers;  ///< Content-Length and Connection are added by the server
  std::string body;
};

/// The function's settings, from the environment, that adapters put into contexts.
struct function_info {
  std::string name = "function";  ///< AWS_LAMBDA_FUNCTION_NAME / K_SERVICE / FC_FUNCTION_NAME
  std::string version = "$LATEST";
  std::string region = "local";
  std::string account_id = "000000000000";
  unsigned memory_mb = 128;
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};  ///< per invocation
};

/// What a request turns into.
struct dispatch {
  enum class kind {
    invoke,      ///< run the handler with `inv`, then answer with adapter::on_outcome()
    reply_now,   ///< answer `immediate` without the handler (health check, 404, malformed)
    initialize,  ///< FC `POST /initialize`: run the initializer once, then answer on_hook()
    pre_stop,    ///< FC `GET /pre-stop`: run the shutdown hooks, then answer on_hook()
    pre_freeze,  ///< FC `GET /pre-freeze`: run the pre-freeze hooks, then answer on_hook()
  };
  kind what = kind::reply_now;
  /// For invoke: the invocation. The push server sets request_id and deadline if the adapter
  /// left them empty / at the epoch. `platform_context` carries platform-specific context
  /// (CloudEvent attributes, FC credentials) as a JSON object text, empty when none.
  invocation inv;
  reply immediate;  ///< for reply_now
};

/// Moments the server can mark in the function's log (adapter::log_line()).
enum class log_mark {
  invoke_start,      ///< a loop took the invocation: the handler is about to run
  invoke_end,        ///< its outcome arrived (or it timed out / was cut off at shutdown)
  initialize_start,  ///< an initialize request arrived (FC `POST /initialize`)
  initialize_end,    ///< it is being answered
};

/// Maps one platform's requests and outcomes. Implementations are stateless after
/// construction: safe to call from several threads at once.
class adapter {
 public:
  virtual ~adapter() = default;
  /// The adapter's name ("http", "fc").
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  /// Classifies and maps a request. `request_id` is a fresh id the server made (adapters may
  /// prefer one the platform sent, e.g. FC's x-fc-request-id).
  [[nodiscard]] virtual dispatch on_request(const request& req,
                                            std::string_view request_id) const = 0;
  /// The answer for an invocation's outcome (success or function error; see outcome.h).
  [[nodiscard]] virtual reply on_outcome(const request& req, const invocation& inv,
                                         const outcome& result) const = 0;
  // The four answers below have defaults (defined in http_event.cpp beside the replies they
  // use) that suit a platform with no rules of its own; an adapter overrides what its platform
  // specifies.

  /// The answer to a lifecycle request (initialize, pre_stop, pre_freeze) after its hooks ran;
  /// `failure` is nullptr on success, else the error outcome (an init error, a hook that threw).
  /// Default: 200 "ok", or 500 with the error JSON.
  [[nodiscard]] virtual reply on_hook(const request& req, dispatch::kind hook,
                                      const outcome* failure) const;
  /// The answer when the function failed to initialise (`/runtime/init/error` was posted):
  /// every request after that gets it. Default: 500 with the error JSON.
  [[nodiscard]] virtual reply on_init_error(const request& req, const outcome& failure) const;
  /// The answer when the server is saturated (queue full: 503 or 429 as the platform expects).
  /// Default: 503 with Retry-After.
  [[nodiscard]] virtual reply on_overload(const request& req) const;
  /// The answer when the invocation timed out (504 or the platform's equivalent). Default: API
  /// Gateway's 504 {"message":"Endpoint request timed out"}.
  [[nodiscard]] virtual reply on_timeout(const request& req, const invocation& inv) const;
  /// Whether a response the handler streams for `req` (through a response stream) goes to the
  /// HTTP client chunk by chunk as it is written, status and headers first (streamed_head()),
  /// instead of being gathered and answered whole through on_outcome(streamed_outcome()).
  /// Default: false, for a platform that takes one answer per invocation.
  [[nodiscard]] virtual bool streams(const request& /*req*/) const { return false; }
  /// The head of a response streamed to the client, from the one streamed_head() read (status,
  /// headers; no body). Default: unchanged.
  [[nodiscard]] virtual reply on_stream_head(const request& /*req*/, const invocation& /*inv*/,
                                             reply head) const {
    return head;
  }
  /// The line (without newline) the server writes to stdout at `mark`, so that a platform that
  /// slices its log by markers finds them (FC: `FC Invoke Start RequestId: <id>`). `request_id`
  /// is the invocation's; empty for initialize marks. Empty (the default): nothing is written.
  [[nodiscard]] virtual std::string log_line(log_mark /*mark*/, const request& /*req*/,
                                             std::string_view /*request_id*/) const {
    return {};
  }
};

/// The outcome of a response the handler streamed (Node's awslambda.streamifyResponse), gathered
/// whole: a push platform answers once. With the content type
/// application/vnd.awslambda.http-integration-response, the bytes before the first eight NULs
/// are the JSON prelude (statusCode, headers, cookies, as a function URL reads it): the outcome
/// is then that API Gateway response object with the rest as its base64 body. Otherwise it is
/// the bytes as they are, with `content_type` (application/octet-stream when empty). A prelude
/// that is not a JSON object gives a Runtime.InvalidResponseStream function error. (Defined in
/// http_event.cpp.)
outcome streamed_outcome(std::string_view content_type, std::string_view bytes);

/// The head of a response streamed to the HTTP client (adapter::streams()), from the first
/// bytes the handler wrote, read as streamed_outcome() reads them.
struct streamed_head_result {
  enum class state {
    need_more,  ///< an HTTP prelude whose eight NULs have not come yet
    ready,      ///< `head` and `body_at` are set
    invalid,    ///< the prelude is not a JSON object: gather, and fail as streamed_outcome() does
  } what = state::need_more;
  reply head;               ///< the status and headers (no body)
  std::size_t body_at = 0;  ///< where the body starts in the bytes
};
/// For application/vnd.awslambda.http-integration-response, the prelude's statusCode (200 when
/// absent), headers, multiValueHeaders and cookies; for any other type, 200 with that
/// Content-Type (application/octet-stream when empty). (Defined in http_event.cpp.)
streamed_head_result streamed_head(std::string_view content_type, std::string_view bytes);

/// Headers the server writes itself (Content-Length, Transfer-Encoding, Connection, Keep-Alive):
/// never taken from a handler's result or an adapter's reply. (Defined in http_event.cpp.)
bool is_framing_header(std::string_view name);

/// Options of the `http` adapter (Knative, Cloud Run, OpenFaaS http mode).
struct http_options {
  function_info function;
  std::string health_path = "/_/health";  ///< answered 200 without the handler (also "/healthz")
};

/// Every request becomes an API Gateway HTTP API (payload 2.0) event; the handler's result maps
/// back (statusCode, headers, multiValueHeaders, cookies, body, isBase64Encoded; a string or any
/// other JSON value is a 200 application/json body). CloudEvents (binary and structured mode)
/// give the event's `data` as the event and the attributes in platform_context {"cloudevent":…}.
std::unique_ptr<adapter> make_http_adapter(http_options options);

/// Options of the `fc` adapter (Alibaba Function Compute custom runtime).
struct fc_options {
  function_info function;
};

/// FC: `POST /invoke` (event functions: body = event, x-fc-* headers = context), `POST
/// /initialize`, `GET /pre-stop`, `GET /pre-freeze`; any other request is an HTTP-trigger
/// request, mapped as the http adapter maps it. Errors: 404 with `x-fc-status: 404` and the
/// error JSON (`X-Fc-Error-Type: UnhandledInvocationError`).
std::unique_ptr<adapter> make_fc_adapter(fc_options options);

/// Options of the `fn` adapter (Fn Project FDK contract, `http-stream`).
struct fn_options {
  function_info function;
};

/// Fn: `POST /call` with Fn-Call-Id (the request id) and Fn-Deadline (the invocation's deadline).
/// A plain call's body is the event (JSON as is, other text as a JSON string, other bytes as a
/// base64 string, empty as null) and the result the answer's body (200). An HTTP-trigger call
/// (`Fn-Intent: httprequest`, Fn-Http-Method, Fn-Http-Request-Url, Fn-Http-H-*) is unwrapped
/// into an API Gateway payload 2.0 event, and the result mapped back as API Gateway would is
/// wrapped into a 200 with Fn-Http-Status and Fn-Http-H-* headers. Function and init errors answer
/// 502 with the error JSON, timeouts 504, a call that could not run 502 (the agent kills the
/// container on any status but 200, 502 and 504). The platform context is {"fn": {callId,
/// deadline, headers (plain calls), intent (HTTP triggers), isBase64Encoded (binary events)}}.
std::unique_ptr<adapter> make_fn_adapter(fn_options options);
/// Options of the `functiongraph` adapter (Huawei FunctionGraph HTTP functions and
/// container-image functions).
struct functiongraph_options {
  function_info function;
};

/// FunctionGraph (platform-contracts.md §13.2, §13.3): `POST /invoke` is an event (body = event,
/// the container-image event contract), `POST /init` the initializer (answered once init is
/// done); every other request is an HTTP function's request, mapped as the http adapter maps it
/// without the X-CFF-* headers. X-CFF-Request-Id is the request id, X-CFF-Timeout (s) the
/// deadline, and the X-CFF-* context goes into platform_context {"functiongraph": {...}}.
/// Function errors: 500 with the error JSON for events, API Gateway's 500 for HTTP requests.
std::unique_ptr<adapter> make_functiongraph_adapter(functiongraph_options options);
/// Options of the `azure` adapter (Azure Functions custom handlers).
struct azure_options {
  function_info function;
};

/// Azure Functions custom handlers (platform-contracts.md §9). `GET /` answers 200 at once (the
/// host's readiness poll). A payload invocation, `POST /<FunctionName>` whose body is a JSON
/// object with a "Data" object, runs the handler with the trigger's payload (Data's only entry,
/// else the whole Data object), or, when an entry is an HTTP request object (Url, Method, ...),
/// with an API Gateway v2 event built from it; the context is {"azure": {functionName,
/// invocationId, metadata}}; the answer is 200 {"Outputs", "Logs", "ReturnValue"} (an HTTP
/// result goes into Outputs.res), a function error 500 with the error JSON. Every other request
/// (enableForwardingHttpRequest / enableProxyingHttpRequest) is mapped as the http adapter maps
/// it. X-Azure-Functions-InvocationId is the request id when sent.
std::unique_ptr<adapter> make_azure_adapter(azure_options options);

/// What a Functions Framework function takes (FUNCTION_SIGNATURE_TYPE).
enum class gcf_signature {
  http,        ///< every request is an API Gateway v2 event (the default)
  cloudevent,  ///< binary or structured CloudEvents; anything else is answered 400
  event,       ///< legacy background events ({context, data} or the flat form), and CloudEvents
};

/// The signature FUNCTION_SIGNATURE_TYPE names ("http", "cloudevent", "event"); nullopt for
/// another name.
std::optional<gcf_signature> gcf_signature_from_name(std::string_view name) noexcept;

/// Options of the `gcf` adapter (Google Functions Framework contract, Cloud Run functions).
struct gcf_options {
  function_info function;
  gcf_signature signature = gcf_signature::http;
};

/// The Functions Framework contract (platform-contracts.md §14): `/robots.txt` and
/// `/favicon.ico` are 404 without the handler; every other request is one invocation, mapped per
/// `signature`. Errors: 500 with `X-Google-Status: error` (a failed init: `crash`), 504 on
/// timeout, 400 for a request the signature cannot take.
std::unique_ptr<adapter> make_gcf_adapter(gcf_options options);

/// Options of the `kubeless` adapter (Kubeless runtime contract).
struct kubeless_options {
  function_info function;
  std::string runtime;       ///< FUNC_RUNTIME, for the context
  std::string memory_limit;  ///< FUNC_MEMORY_LIMIT (a Kubernetes quantity), for the context
};

/// The Kubeless runtime contract (platform-contracts.md §15): `GET /healthz` answers 200,
/// `GET /metrics` the Prometheus counters function_calls_total and function_failures_total per
/// method; any other GET, POST, PUT, PATCH or DELETE runs the handler with the body (JSON-decoded
/// when Content-Type is JSON, else a string) and the event-* headers in the context {"kubeless":
/// ...}. A string result is answered as text/plain, any other as JSON; a function error 500; a
/// timeout 408. The only adapter with state (the counters, atomic): still safe from any thread.
std::unique_ptr<adapter> make_kubeless_adapter(kubeless_options options);
/// Options of the `openwhisk` adapter (Apache OpenWhisk action proxy, contracts §10).
struct openwhisk_options {
  function_info function;
  /// Export each activation's `__OW_*` variables into the process environment (and list them in
  /// platform_context "environment", which the Python runtime mirrors into os.environ). Only
  /// safe when one activation runs at a time (concurrency 1); otherwise they are only in
  /// platform_context "openwhisk". `/init`'s `value.env` is always exported (and listed), once,
  /// before any activation.
  bool export_activation_variables = true;
  /// Called once per activation after its answer is decided (result, function error, timeout),
  /// on the thread that decided it. Empty = write the log sentinel
  /// `XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX` to stdout and stderr (flushing both first, so the
  /// handler's own output precedes it).
  std::function<void()> end_of_activation;
};

/// OpenWhisk: `POST /init` once (`{"value": {name, main, binary, code?, env?}}`; an action that
/// carries code is refused with 502: lamella runs the function in the image), then `POST /run`
/// (`{"value": params, activation_id, deadline, ...}`): event = value, request id =
/// activation_id, deadline = deadline. Answers: 200 + the result when it is a JSON object or
/// array, 200 + {"result": value} for any other JSON value; a function error 200 +
/// {"error": {errorType, errorMessage, ...}} (an application error); 400 malformed JSON, 403 a
/// second /init, 500 /run before /init, 502 an init failure or a timeout, 503 overload; every
/// error body is {"error": ...}.
std::unique_ptr<adapter> make_openwhisk_adapter(openwhisk_options options);

/// Options of the `fission` adapter (Fission environment after specialisation, contracts §11).
struct fission_options {
  function_info function;
  /// True when the generic bootstrap has answered the specialize request already (it sets
  /// LAMELLA_FISSION_SPECIALIZED=1); false for a function linked with lamella, which is loaded
  /// from the start, so that its first specialize is answered 200.
  bool specialized = true;
};

/// Fission, once specialised (the generic bootstrap answers `/specialize` and `/v2/specialize`
/// before it loads the handler and hands its listening socket over): `GET /healthz` answers 200,
/// a second specialize 400 "Not a generic container", and every other request is the
/// function's, mapped as the http adapter maps it (API Gateway v2 event or CloudEvent), with the
/// router's X-Fission-* headers also in platform_context {"fission": {...}}.
std::unique_ptr<adapter> make_fission_adapter(fission_options options);

}  // namespace lamella::push
