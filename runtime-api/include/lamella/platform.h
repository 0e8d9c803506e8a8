// Which platform delivers invocations, and its settings, read from the environment once.
#pragma once

#include "lamella/error.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace lamella {

/// The platform engine that delivers invocations. Pull platforms: lamella is a client of the
/// platform's runtime API. Push platforms: lamella serves HTTP and the platform calls it.
enum class platform_kind {
  lambda,         ///< AWS Lambda Runtime API: pull (long-poll `/next`)
  scf,            ///< Tencent SCF custom runtime: pull (`/runtime/init/ready`, then next/response)
  functiongraph,  ///< Huawei FunctionGraph custom runtime: pull (`/v1/runtime/invocation/...`)
  fc,             ///< Alibaba Function Compute custom runtime: push (`/invoke`, HTTP triggers)
  http,           ///< HTTP containers (Knative, Cloud Run, OpenFaaS): push, API Gateway events
  azure,          ///< Azure Functions custom handler: push (`POST /<function>`, {Data, Metadata})
  openwhisk,      ///< Apache OpenWhisk action proxy: push (`/init` once, `/run`)
  fission,        ///< Fission environment: push (`/specialize`, `/v2/specialize`, then any path)
  fn,             ///< Fn Project FDK contract: push over a UNIX socket (`POST /call`)
  gcf,            ///< Google Functions Framework contract (Cloud Run functions): push
  kubeless,       ///< Kubeless runtime contract: push (any path, `event-*` headers)
  functiongraph_http,  ///< Huawei FunctionGraph HTTP function: push on 127.0.0.1:8000
};

/// The platform's name as LAMELLA_PLATFORM and `--platform` spell it ("lambda", "scf",
/// "functiongraph", "fc", "http", "azure", "openwhisk", "fission", "fn", "gcf", "kubeless",
/// "functiongraph-http").
std::string_view to_string(platform_kind kind) noexcept;

/// The platform named `name` (as to_string() spells it); nullopt for an unknown name.
std::optional<platform_kind> platform_from_name(std::string_view name) noexcept;

/// Every platform, in declaration order (for help texts and tests).
std::span<const platform_kind> all_platforms() noexcept;

/// True for the platforms on which lamella runs a server and the platform calls it (everything
/// but lambda, scf and functiongraph, whose runtime APIs lamella polls).
constexpr bool is_push(platform_kind kind) noexcept {
  return kind != platform_kind::lambda && kind != platform_kind::scf &&
         kind != platform_kind::functiongraph;
}

/// The function's metadata as the platform gives it, for contexts and per-invocation deadlines.
struct function_settings {
  std::string name = "function";  ///< AWS_LAMBDA_FUNCTION_NAME / K_SERVICE / FC_FUNCTION_NAME
  std::string version =
      "$LATEST";                 ///< AWS_LAMBDA_FUNCTION_VERSION / K_REVISION / FC_FUNCTION_VERSION
  std::string region = "local";  ///< AWS_REGION / FC_REGION
  std::string account_id = "000000000000";  ///< FC_ACCOUNT_ID
  unsigned memory_mb = 128;  ///< AWS_LAMBDA_FUNCTION_MEMORY_SIZE / FC_FUNCTION_MEMORY_SIZE
  /// Per invocation: AWS_LAMBDA_FUNCTION_TIMEOUT (s) / FC_FUNCTION_TIMEOUT (s) /
  /// LAMELLA_FUNCTION_TIMEOUT_MS. Push servers answer on_timeout() when it passes.
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};
};

/// Everything the platform engine needs. Plain data, immutable once read; safe to share as const.
struct platform_settings {
  platform_kind kind = platform_kind::lambda;
  /// Pull platforms: "host:port" of the platform's API (AWS_LAMBDA_RUNTIME_API, or SCF's
  /// SCF_RUNTIME_API:SCF_RUNTIME_API_PORT). Empty for push platforms.
  std::string runtime_api;
  /// Push platforms: where to listen. FC refuses a server on 127.0.0.1, so the default is all
  /// interfaces; Azure and FunctionGraph HTTP functions call over loopback (127.0.0.1).
  std::string listen_address = "0.0.0.0";
  std::uint16_t port = 0;  ///< push: the port (0 = any free port, tests); LAMELLA_PORT overrides
  /// Push over a UNIX socket instead of TCP (Fn: the path in FN_LISTENER after "unix:"); empty
  /// for TCP.
  std::string unix_socket;
  /// Push: how many invocations run at once (LAMELLA_CONCURRENCY; fc 1 as FC's
  /// instanceConcurrency default, http 16). C++ run() starts this many loops.
  unsigned concurrency = 1;
  /// Push: invocations waiting for a free loop beyond which a request is answered
  /// adapter::on_overload() (LAMELLA_QUEUE, default 64).
  std::size_t queue_limit = 64;
  /// Push: after SIGTERM, how long in-flight invocations may take (LAMELLA_SHUTDOWN_GRACE_MS,
  /// default 9 s: Cloud Run kills 10 s after SIGTERM, and the shutdown hooks need the rest).
  std::chrono::milliseconds shutdown_grace{9000};
  /// Push: request line plus headers beyond this are answered 431 (FC's limit is 8 KiB).
  std::size_t header_limit = 8 * 1024;
  /// Push: request bodies beyond this are answered 413 (LAMELLA_BODY_LIMIT; FC 32 MiB as FC's
  /// synchronous limit, http 6 MiB as Lambda's).
  std::size_t body_limit = 6 * 1024 * 1024;
  /// Push: a new connection must deliver a whole request head within this
  /// (LAMELLA_HEADER_TIMEOUT_MS, default 10 s), or it is closed (slow-client protection).
  std::chrono::milliseconds header_timeout{10000};
  /// Push: an idle keep-alive connection is closed after this (LAMELLA_IDLE_TIMEOUT_MS).
  /// Why 620 s: longer than the front proxies' own idle timeouts (Google's front ends use 600 s),
  /// so the proxy closes first and never sends a request onto a connection we are closing.
  std::chrono::milliseconds idle_timeout{620000};
  /// Push: bound on reading a request body and on writing an answer (LAMELLA_IO_TIMEOUT_MS).
  std::chrono::milliseconds io_timeout{60000};
  /// Push: at most this many open connections; beyond it a new connection is closed at once.
  std::size_t connection_limit = 1024;
  function_settings function;  ///< the function's metadata
};

/// Reads one environment variable; nullopt when unset. Tests pass a fake environment.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// An env_lookup over the process environment (getenv). Thread-safe as getenv is.
env_lookup process_environment();

/// Chooses the platform from `env` and reads its settings.
/// Platform: LAMELLA_PLATFORM (a name to_string() gives) if set; else the first variable a
/// platform sets that is present (not empty):
///   AWS_LAMBDA_RUNTIME_API -> lambda; SCF_RUNTIME_API -> scf (SCF_RUNTIME_API_PORT, default
///   9001); RUNTIME_API_ADDR -> functiongraph; FC_CUSTOM_LISTEN_PORT or FC_SERVER_PORT -> fc
///   (port default 9000); FUNCTIONS_CUSTOMHANDLER_PORT or FUNCTIONS_HTTPWORKER_PORT -> azure;
///   FN_LISTENER -> fn; __OW_API_HOST -> openwhisk (port 8080); FUNCTION_TARGET -> gcf (PORT,
///   default 8080); FUNC_HANDLER -> kubeless (FUNC_PORT, default 8080); RUNTIME_CODE_ROOT ->
///   functiongraph-http (127.0.0.1:8000); PORT -> http (default 8080).
/// Fission sets nothing recognisable: its environment image sets LAMELLA_PLATFORM=fission (port
/// 8888). LAMELLA_PORT overrides the port of every push platform but fn, LAMELLA_LISTEN_ADDRESS
/// (an IP address; the server refuses to start on anything else) its listen address.
/// Errors: invalid_configuration (no platform recognised, an unknown LAMELLA_PLATFORM, a pull
/// platform without its API address, fn without a `unix:` FN_LISTENER or with an FN_FORMAT other
/// than `http-stream`, gcf with a FUNCTION_SIGNATURE_TYPE other than http, cloudevent or event
/// (also said on stderr), or a number that does not parse or is out of range).
result<platform_settings> platform_from_env(const env_lookup& env);

/// Why platform_from_env(env) refuses `env`, as one sentence for the operator (an unknown
/// LAMELLA_PLATFORM; Fn: FN_LISTENER missing, not `unix:`, too long, or an FN_FORMAT other than
/// `http-stream`); empty when it does not refuse, or when no more specific reason is known.
std::string platform_problem(const env_lookup& env);

}  // namespace lamella
