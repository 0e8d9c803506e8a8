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
  /// The answer to a lifecycle request (initialize, pre_stop, pre_freeze) after its hooks ran;
  /// `failure` is nullptr on success, else the error outcome (an init error, a hook that threw).
  [[nodiscard]] virtual reply on_hook(const request& req, dispatch::kind hook,
                                      const outcome* failure) const = 0;
  /// The answer when the function failed to initialise (`/runtime/init/error` was posted):
  /// every request after that gets it.
  [[nodiscard]] virtual reply on_init_error(const request& req, const outcome& failure) const = 0;
  /// The answer when the server is saturated (queue full: 503 or 429 as the platform expects)
  /// or the invocation timed out (`timed_out`, 504 or the platform's equivalent).
  [[nodiscard]] virtual reply on_overload(const request& req) const = 0;
  [[nodiscard]] virtual reply on_timeout(const request& req, const invocation& inv) const = 0;
};

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
