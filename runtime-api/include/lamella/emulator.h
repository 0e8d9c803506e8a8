// The local Lambda emulator: the Runtime API server, the invoke endpoint and the supervisor of
// the function's runtime process. Used by `lamella serve|invoke`, the tests and the benchmarks.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lamella {

/// What the emulator runs and how it configures it, mirroring a Lambda function's settings.
struct function_config {
  /// The task root (LAMBDA_TASK_ROOT and the runtime's working directory).
  std::filesystem::path dir;
  /// argv of the runtime process: `{dir/bootstrap}` for a custom runtime, or the generic lamella
  /// bootstrap. REQUIRES: not empty, [0] is an executable path.
  std::vector<std::string> command;
  std::string handler;                            ///< _HANDLER; may be empty
  std::string name = "function";                  ///< AWS_LAMBDA_FUNCTION_NAME
  std::string version = "$LATEST";                ///< AWS_LAMBDA_FUNCTION_VERSION
  int memory_mb = 128;                            ///< AWS_LAMBDA_FUNCTION_MEMORY_SIZE
  std::chrono::milliseconds timeout{3000};        ///< function timeout (Lambda's default 3 s)
  std::chrono::milliseconds init_timeout{10000};  ///< init phase limit (Lambda's 10 s)
  /// Cap on a streamed response (`Lambda-Runtime-Function-Response-Mode: streaming`); a longer
  /// one is cut off with Function.ResponseSizeTooLarge. Default 200 MiB (AWS documents 200 MB).
  /// Buffered responses keep Lambda's fixed 6 MiB + 100 B limit.
  std::size_t max_streamed_response_bytes = 200 * 1024 * 1024;
  std::string region = "us-east-1";  ///< AWS_REGION / AWS_DEFAULT_REGION
  /// The function's configured variables (`--env K=V`); they override Lambda's defaults.
  /// The host's environment is never passed on.
  std::vector<std::pair<std::string, std::string>> env;
};

/// Which platform's runtime API the emulator serves to the runtime, and with which environment.
/// The caller's side (the invoke endpoint, invoke()) is the same for all.
enum class runtime_dialect {
  /// The Lambda Runtime API (2018-06-01) at AWS_LAMBDA_RUNTIME_API, Lambda's environment.
  lambda,
  /// Tencent SCF's custom-runtime API at SCF_RUNTIME_API:SCF_RUNTIME_API_PORT, SCF's
  /// environment (SCF_FUNCTIONNAME, SCF_NAMESPACE, SCF_FUNCTIONVERSION, TENCENTCLOUD_*, _HANDLER;
  /// no AWS_* and no LAMBDA_TASK_ROOT): POST /runtime/init/ready (required once before the first
  /// poll), GET /runtime/invocation/next (headers request_id, memory_limit_in_mb,
  /// time_limit_in_ms), POST /runtime/invocation/response and /runtime/invocation/error (200).
  /// No init-error endpoint and no streamed responses.
  scf,
  /// Huawei FunctionGraph's custom-runtime API at RUNTIME_API_ADDR, FunctionGraph's environment
  /// (RUNTIME_FUNC_NAME, RUNTIME_HANDLER, RUNTIME_TIMEOUT, RUNTIME_CODE_ROOT, ...; no AWS_* and
  /// no LAMBDA_*): GET /v1/runtime/invocation/request (headers X-Cff-Request-Id and the X-CFF-*
  /// credentials), POST /v1/runtime/invocation/response/<id> and .../error/<id> (200). No
  /// init-error endpoint and no streamed responses.
  functiongraph,
};

/// Where the emulator listens and where its own log lines go.
struct emulator_options {
  /// The runtime API the runtime gets (see runtime_dialect).
  runtime_dialect dialect = runtime_dialect::lambda;
  std::string host = "127.0.0.1";  ///< address of both listeners
  std::uint16_t invoke_port = 0;   ///< invoke endpoint port; 0 = pick a free one
  std::uint16_t runtime_port = 0;  ///< Runtime API port; 0 = pick a free one
  bool invoke_endpoint = true;     ///< serve POST /2015-03-31/functions/function/invocations
  /// Receives the runtime's output and the emulator's START/END/REPORT lines, one complete line
  /// per call (newline included). Empty = write to stderr. Called on the emulator's thread.
  std::function<void(std::string_view)> log;
};

/// How an invocation is requested, as in Lambda's Invoke API.
enum class invocation_type { request_response, event, dry_run };

/// One call of the invoke API.
struct invoke_request {
  std::string payload;  ///< the event
  invocation_type type = invocation_type::request_response;
  bool tail_logs = false;      ///< X-Amz-Log-Type: Tail
  std::string client_context;  ///< decoded client context JSON, or empty
  std::string trace_id;        ///< X-Amzn-Trace-Id, or empty (one is generated)
  std::string tenant_id;       ///< X-Amz-Tenant-Id, or empty
  /// Streamed responses only: called with each piece of the body as it arrives from the runtime,
  /// on the emulator's thread, before the future of invoke() is ready (whose body holds the
  /// whole response as well). It should return quickly: the emulator waits for it. Exceptions
  /// are ignored. Empty = not called.
  std::function<void(std::string_view)> on_chunk;
};

/// What the caller of the invoke API gets back.
struct invoke_result {
  unsigned status = 200;       ///< HTTP status: 200, 202 (event), 204 (dry run), 4xx/5xx
  std::string body;            ///< response payload or error JSON
  std::string content_type;    ///< content type of `body`
  std::string function_error;  ///< "Unhandled" for a function error, else empty
  std::string log_result;      ///< base64 of the last 4 KB of the invocation's log (tail only)
  std::string request_id;      ///< the invocation's request id
  bool streamed = false;       ///< the runtime streamed its response (it may still have failed)
};

/// Timing and memory of one runtime process (one execution environment).
struct instance_stats {
  int pid = 0;
  std::chrono::steady_clock::time_point spawned;                        ///< process started
  std::optional<std::chrono::steady_clock::time_point> first_next;      ///< first GET /next
  std::optional<std::chrono::steady_clock::time_point> first_response;  ///< first result
  std::size_t invocations = 0;  ///< invocations this process completed
  std::size_t peak_rss_kb = 0;  ///< VmHWM of the process, sampled after each invocation
};

/// A running emulator for one function. It owns one I/O thread; all its state lives there.
/// Thread-safe: invoke(), reset(), stats accessors and stop() may be called from any thread.
class emulator {
 public:
  /// Binds both listeners and starts the I/O thread. The runtime is started lazily, on the first
  /// invocation, as Lambda does. Throws std::system_error when a port cannot be bound.
  emulator(function_config function, emulator_options options);
  /// Stops listening, kills the runtime process group and joins the I/O thread.
  ~emulator();
  emulator(const emulator&) = delete;
  emulator& operator=(const emulator&) = delete;

  /// The bound invoke endpoint port (0 when disabled).
  [[nodiscard]] std::uint16_t invoke_port() const noexcept;
  /// The bound Runtime API port (what AWS_LAMBDA_RUNTIME_API, SCF_RUNTIME_API_PORT or
  /// RUNTIME_API_ADDR points at).
  [[nodiscard]] std::uint16_t runtime_port() const noexcept;

  /// Queues one invocation; the future is ready when the caller would get its answer (for
  /// `event`, at once with 202). Invocations run one at a time in arrival order.
  std::future<invoke_result> invoke(invoke_request request);

  /// Kills the current runtime process (if any) so the next invocation starts a cold one.
  void reset();

  /// Statistics of the most recent runtime process, if one was started.
  [[nodiscard]] std::optional<instance_stats> last_instance() const;

  /// Blocks until stop() is called or the process receives SIGINT/SIGTERM.
  void wait();
  /// Stops serving; wait() returns. Idempotent.
  void stop();

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

/// The environment `lamella serve --platform NAME` gives a push-platform runtime (one that
/// serves HTTP itself): Lambda's, as the emulator gives a runtime, without AWS_LAMBDA_RUNTIME_API,
/// plus LAMELLA_PLATFORM = `platform` and the platform's port variable = `port`
/// (FC_CUSTOM_LISTEN_PORT for "fc", FUNCTIONS_CUSTOMHANDLER_PORT for "azure", FUNC_PORT for
/// "kubeless", PORT for "http" and "gcf", LAMELLA_PORT for the others), which override
/// `function.env`. "fn" listens on a UNIX socket instead of a port: it gets what the Fn agent
/// sets, FN_LISTENER = `unix:<socket_dir>/lsnr.sock` (`socket_dir` empty: Fn's /tmp/iofs),
/// FN_FORMAT = http-stream, FN_TYPE = sync and FN_MEMORY; `port` is unused. Sanitizer option
/// variables of this process are passed on, as to emulated runtimes.
std::vector<std::pair<std::string, std::string>> push_runtime_environment(
    const function_config& function, std::string_view platform, std::uint16_t port,
    const std::filesystem::path& socket_dir = {});

}  // namespace lamella
