// Tencent Cloud SCF's custom-runtime API behind the Lambda Runtime API: a transport that
// translates the requests a lambda_client makes into SCF's, and SCF's answers back into
// Lambda's, so that the same client (and every language adapter on it) runs on SCF unchanged.
// Contract: /work/shared/reference/platform-contracts.md §4.
//
//   Lambda (what the client sends)                 SCF (what goes on the wire)
//   GET  /2018-06-01/runtime/invocation/next       POST /runtime/init/ready (once, first), then
//                                                  GET  /runtime/invocation/next
//   POST /2018-06-01/runtime/invocation/{id}/response  POST /runtime/invocation/response
//   POST /2018-06-01/runtime/invocation/{id}/error     POST /runtime/invocation/error
//   POST /2018-06-01/runtime/init/error            nothing: logged to stderr (SCF has no
//                                                  init-error endpoint; see scf_transport.cpp)
//
// The pure translation functions are in lamella::detail and unit-tested
// (tests/unit/client/scf_transport_test.cpp).
#pragma once

#include "client/pull_transport.h"

#include "lamella/transport.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lamella {

/// A transport speaking SCF's runtime API at `host_port` ("host:port", built from
/// SCF_RUNTIME_API and SCF_RUNTIME_API_PORT) on behalf of a lambda_client. `inner` carries the
/// translated requests; empty = make_beast_transport(host_port, options). The function's
/// identity (for the invoked-function ARN) is read from the environment now.
/// Streamed responses are buffered and posted whole when they end (SCF has no streaming).
/// Not thread-safe, as every transport.
std::unique_ptr<transport> make_scf_transport(std::string_view host_port, transport_options options,
                                              std::unique_ptr<transport> inner = {});

namespace detail {

inline constexpr std::string_view scf_ready_target = "/runtime/init/ready";
inline constexpr std::string_view scf_next_target = "/runtime/invocation/next";
inline constexpr std::string_view scf_response_target = "/runtime/invocation/response";
inline constexpr std::string_view scf_error_target = "/runtime/invocation/error";

/// SCF's `/next` response headers (snake_case; compared case-insensitively).
inline constexpr std::string_view scf_request_id_header = "request_id";
inline constexpr std::string_view scf_memory_header = "memory_limit_in_mb";
inline constexpr std::string_view scf_time_limit_header = "time_limit_in_ms";

/// The function's identity on SCF, from its environment.
struct scf_function {
  std::string region;   ///< TENCENTCLOUD_REGION
  std::string uin;      ///< TENCENTCLOUD_UIN
  std::string name;     ///< SCF_FUNCTIONNAME
  std::string ns;       ///< SCF_NAMESPACE ("default" when unset)
  std::string version;  ///< SCF_FUNCTIONVERSION ("$LATEST" when unset)
};

/// Reads one environment variable (nullopt when unset); lets tests pass a fake environment.
using scf_env_reader = std::function<std::optional<std::string>(std::string_view)>;

/// The function's identity from `env` (TENCENTCLOUD_REGION, TENCENTCLOUD_UIN, SCF_FUNCTIONNAME,
/// SCF_NAMESPACE, SCF_FUNCTIONVERSION).
scf_function scf_function_from_env(const scf_env_reader& env);

/// "qcs::scf:<region>:uin/<uin>:namespace/<ns>/function/<name>" (Tencent's resource
/// description for a function).
std::string scf_function_arn(const scf_function& function);

/// What a Lambda Runtime API request becomes on SCF.
struct scf_route {
  enum kind_t {
    next,        ///< GET /runtime/invocation/next (after init/ready once)
    response,    ///< POST /runtime/invocation/response
    error,       ///< POST /runtime/invocation/error
    init_error,  ///< no SCF endpoint: handled locally
    unknown,     ///< not a Runtime API request: refused locally (404)
  } kind = unknown;
  std::string_view scf_target;  ///< the SCF target (empty for init_error and unknown)
};
/// Classifies a Lambda Runtime API target ("/2018-06-01/runtime/invocation/<id>/response", ...).
scf_route route_lambda_request(std::string_view lambda_target);

/// Translates SCF's answer to `GET /runtime/invocation/next` into Lambda's: the body is kept,
/// `request_id` becomes Lambda-Runtime-Aws-Request-Id (`fallback_request_id` when SCF sent
/// none or an empty one), `time_limit_in_ms` becomes Lambda-Runtime-Deadline-Ms = `now` + the
/// limit (no deadline header when SCF sent no usable limit: the client then has none),
/// Lambda-Runtime-Invoked-Function-Arn = scf_function_arn(function), the Content-Type is kept,
/// and Lamella-Platform-Context carries {"platform":"scf","request_id":...,
/// "memory_limit_in_mb":N,"time_limit_in_ms":N,"namespace":...,"function_version":...}
/// (the numbers only when SCF sent them). A status other than 200 is passed through unchanged,
/// for the client to reject.
http_response translate_next_response(http_response&& scf, const scf_function& function,
                                      std::chrono::system_clock::time_point now,
                                      std::string_view fallback_request_id);

/// A fresh version-4 UUID from two random 64-bit words (for invocations SCF sent no id for):
/// make_request_id(). SCF's answer to a post is translated by translate_post_response().
inline std::string scf_make_request_id(std::uint64_t high, std::uint64_t low) {
  return make_request_id(high, low);
}

}  // namespace detail
}  // namespace lamella
