// Huawei Cloud FunctionGraph's custom-runtime API behind the Lambda Runtime API: a transport that
// translates the requests a lambda_client makes into FunctionGraph's, and its answers back into
// Lambda's, so that the same client (and every language adapter on it) runs on FunctionGraph
// unchanged. Contract: /work/shared/reference/platform-contracts.md §13.1.
//
//   Lambda (what the client sends)                      FunctionGraph (what goes on the wire)
//   GET  /2018-06-01/runtime/invocation/next            GET  /v1/runtime/invocation/request
//   POST /2018-06-01/runtime/invocation/{id}/response   POST /v1/runtime/invocation/response/{id}
//   POST /2018-06-01/runtime/invocation/{id}/error      POST /v1/runtime/invocation/error/{id}
//   POST /2018-06-01/runtime/init/error                 GET .../request, then POST .../error/{id}
//                                                       (no init-error endpoint: the pending
//                                                       invocation fails with the init error)
//
// The pure translation functions are in lamella::detail and unit-tested
// (tests/unit/client/functiongraph_transport_test.cpp).
#pragma once

#include "client/pull_transport.h"

#include "lamella/transport.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace lamella {

/// A transport speaking FunctionGraph's custom-runtime API at `host_port` (RUNTIME_API_ADDR
/// without "http://") on behalf of a lambda_client. `inner` carries the translated requests;
/// empty = make_beast_transport(host_port, options). The function's settings (RUNTIME_*) are read
/// from the environment now. Streamed responses are buffered and posted whole when they end
/// (FunctionGraph has no streaming). Not thread-safe, as every transport.
std::unique_ptr<transport> make_functiongraph_transport(std::string_view host_port,
                                                        transport_options options,
                                                        std::unique_ptr<transport> inner = {});

namespace detail {

inline constexpr std::string_view fg_next_target = "/v1/runtime/invocation/request";
inline constexpr std::string_view fg_response_prefix = "/v1/runtime/invocation/response/";
inline constexpr std::string_view fg_error_prefix = "/v1/runtime/invocation/error/";

/// The request id header of FunctionGraph's next-event answer (compared case-insensitively).
inline constexpr std::string_view fg_request_id_header = "X-Cff-Request-Id";

/// The function's settings on FunctionGraph, from its RUNTIME_* environment.
struct fg_function {
  std::string name;        ///< RUNTIME_FUNC_NAME
  std::string version;     ///< RUNTIME_FUNC_VERSION ("latest" when unset)
  std::string package;     ///< RUNTIME_PACKAGE, the app ("default" when unset)
  std::string project_id;  ///< RUNTIME_PROJECT_ID
  std::string region;      ///< not given to custom runtimes: empty unless a test sets it
  std::optional<std::int64_t> memory_mb;  ///< RUNTIME_MEMORY
  std::optional<std::int64_t> cpu;        ///< RUNTIME_CPU
  /// RUNTIME_TIMEOUT (seconds): each invocation's deadline is its arrival plus this.
  std::optional<std::chrono::seconds> timeout;
  std::string user_data;  ///< RUNTIME_USERDATA
};

/// Reads one environment variable (nullopt when unset); lets tests pass a fake environment.
using fg_env_reader = std::function<std::optional<std::string>(std::string_view)>;

/// The function's settings from `env` (RUNTIME_FUNC_NAME, RUNTIME_FUNC_VERSION,
/// RUNTIME_PACKAGE, RUNTIME_PROJECT_ID, RUNTIME_MEMORY, RUNTIME_CPU, RUNTIME_TIMEOUT,
/// RUNTIME_USERDATA); a number that does not parse counts as unset.
fg_function fg_function_from_env(const fg_env_reader& env);

/// "urn:fss:<region>:<project id>:function:<package>:<name>:<version>", FunctionGraph's
/// function URN (the region part is empty when unknown).
std::string fg_function_urn(const fg_function& function);

/// What a Lambda Runtime API request becomes on FunctionGraph.
struct fg_route {
  enum kind_t {
    next,        ///< GET /v1/runtime/invocation/request
    response,    ///< POST /v1/runtime/invocation/response/<id>
    error,       ///< POST /v1/runtime/invocation/error/<id>
    init_error,  ///< no endpoint: the next invocation is fetched and failed with it
    unknown,     ///< not a Runtime API request: refused locally (404)
  } kind = unknown;
  std::string target;  ///< the FunctionGraph target (empty for init_error and unknown)
};
/// Classifies a Lambda Runtime API target ("/2018-06-01/runtime/invocation/<id>/response", ...)
/// and builds FunctionGraph's target, with the id in it.
fg_route route_fg_request(std::string_view lambda_target);

/// Translates FunctionGraph's answer to `GET /v1/runtime/invocation/request` into Lambda's: the
/// body is kept, `X-Cff-Request-Id` becomes Lambda-Runtime-Aws-Request-Id (`fallback_request_id`
/// when absent or empty), Lambda-Runtime-Deadline-Ms = `now` + function.timeout (no deadline
/// when the timeout is unknown), Lambda-Runtime-Invoked-Function-Arn = fg_function_urn(), the
/// Content-Type is kept, and Lamella-Platform-Context carries {"functiongraph": {requestId,
/// functionName, version, package, projectId, memory, cpu, timeout, userData, accessKey,
/// secretKey, securityToken, authToken, invokeType}} (the numbers only when known, the
/// X-CFF-* values only when sent). A status other than 200 is passed through unchanged, for the
/// client to reject.
http_response translate_fg_next_response(http_response&& fg, const fg_function& function,
                                         std::chrono::system_clock::time_point now,
                                         std::string_view fallback_request_id);

/// Translates FunctionGraph's answer to a post: every 2xx becomes Lambda's 202; other statuses
/// are passed through (translate_post_response(), as on SCF).
inline http_response translate_fg_post_response(http_response&& fg) {
  return translate_post_response(std::move(fg));
}

}  // namespace detail
}  // namespace lamella
