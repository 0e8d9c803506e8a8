// The emulator's protocol rules as pure functions: limits, error bodies, log lines, ids, the
// runtime's environment. No I/O here (except sanitizer_passthrough(), which reads getenv), so
// every rule is unit-tested on its own (tests/unit/emulator/emulator_protocol_test.cpp).
#pragma once

#include "common/base64.h"

#include "lamella/emulator.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lamella::detail {

/// Largest synchronous (RequestResponse) invoke payload: 6 MiB (Lambda's Invoke API limit).
inline constexpr std::size_t max_sync_request_bytes = 6 * 1024 * 1024;
/// Largest asynchronous (Event) invoke payload: 1 MiB (current Lambda limit).
inline constexpr std::size_t max_event_request_bytes = 1024 * 1024;
/// How much request body the emulator's HTTP parsers read before giving up on a connection.
/// Far above every protocol limit, so an oversize body is read whole, answered with 413 and
/// the connection stays usable.
inline constexpr std::size_t http_body_read_limit = 64 * 1024 * 1024;
/// How much of an invocation's log `X-Amz-Log-Type: Tail` returns (the last 4 KB).
inline constexpr std::size_t log_tail_bytes = 4096;
/// The account id in emulated ARNs (the same one RIE uses).
inline constexpr std::string_view emulated_account_id = "012345678912";

/// An ordered list of environment variables (name, value).
using env_list = std::vector<std::pair<std::string, std::string>>;

/// Maps `X-Amz-Invocation-Type`: empty or "RequestResponse", "Event", "DryRun" (exact case).
/// nullopt for anything else.
std::optional<invocation_type> parse_invocation_type(std::string_view header);

/// "<seconds>.<two decimals>", e.g. 3000 ms -> "3.00", 250 ms -> "0.25".
std::string format_seconds(std::chrono::milliseconds duration);

/// The body a caller gets when an invocation hits its timeout:
/// {"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id> Error: Task timed out after
/// 3.00 seconds"}.
std::string timeout_error_body(std::string_view request_id, std::chrono::milliseconds timeout);
/// The body a caller gets when the runtime does not call /next within the init timeout. Lambda
/// retries init inside the first invocation; the emulator instead fails that invocation with the
/// same error type as a timeout: {"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id>
/// Error: Init timed out after 10.00 seconds"}.
std::string init_timeout_error_body(std::string_view request_id,
                                    std::chrono::milliseconds init_timeout);
/// "exit status N" for a normal exit, "signal: <strsignal lowercased>" (e.g. "signal: killed",
/// "signal: segmentation fault") for a death by signal; `wait_status` is what waitpid() stored.
std::string describe_exit_status(int wait_status);
/// {"errorType":"Runtime.ExitError","errorMessage":"RequestId: <id> Error: Runtime exited with
/// error: <reason>"}.
std::string exit_error_body(std::string_view request_id, std::string_view reason);
/// {"errorType":"Runtime.InvalidEntrypoint","errorMessage":"RequestId: <id> Error: <reason>"}:
/// the runtime's command could not be started.
std::string entrypoint_error_body(std::string_view request_id, std::string_view reason);
/// The message of the Runtime API's 413: "Exceeded maximum allowed payload size (6291556 bytes)."
std::string response_too_large_message();
/// What the caller gets for an oversize buffered response:
/// {"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556
/// bytes).","errorType":"Function.ResponseSizeTooLarge"}.
std::string response_too_large_body();
/// The message of the Runtime API's 413 for a streamed response above `limit` bytes:
/// "Exceeded maximum allowed payload size (<limit> bytes)."
std::string streamed_too_large_message(std::size_t limit);
/// What the caller gets when a streamed response exceeds `limit` bytes:
/// {"errorMessage":"Response payload size exceeded maximum allowed payload size (<limit>
/// bytes).","errorType":"Function.ResponseSizeTooLarge"}.
std::string streamed_too_large_body(std::size_t limit);
/// What the caller gets when the runtime's connection closed in the middle of a streamed
/// response and the runtime then asked for its next invocation:
/// {"errorType":"Runtime.TruncatedResponse","errorMessage":"RequestId: <id> Error: the runtime
/// closed its connection before the end of the streamed response"}.
std::string truncated_response_body(std::string_view request_id);
/// A Runtime API error body: {"errorMessage": message, "errorType": type}.
std::string api_error_body(std::string_view error_type, std::string_view message);
/// An invoke API error body: {"errorType": type, "errorMessage": message}.
std::string invoke_error_body(std::string_view error_type, std::string_view message);
/// The invoke API's 413 body for a request above `limit` bytes
/// (errorType RequestEntityTooLargeException).
std::string request_too_large_body(std::size_t size, std::size_t limit);

/// A function error as the caller receives it: the JSON body and its errorType.
struct function_error {
  std::string body;  ///< JSON error document
  std::string type;  ///< its errorType
};
/// Normalises an error the runtime posted (/error, /init/error): a JSON body is kept unchanged
/// and its type is its "errorType" string, else `header_type`, else "Runtime.Unknown"; a body
/// that is not JSON is wrapped as {"errorType": header_type or "Runtime.Unknown",
/// "errorMessage": body}.
function_error normalize_function_error(std::string body, std::string_view header_type);

/// "START RequestId: <id> Version: <version>\n".
std::string format_start_line(std::string_view request_id, std::string_view version);
/// "END RequestId: <id>\n".
std::string format_end_line(std::string_view request_id);
/// The REPORT line ("\n"-terminated):
/// "REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t
/// Max Memory Used: 5 MB" plus "\tInit Duration: 4.56 ms" when `init_duration` is set.
/// Billed duration = duration rounded up to a whole ms, at least 1; max memory = ceil(kB / 1024).
std::string format_report_line(
    std::string_view request_id, std::chrono::duration<double, std::milli> duration, int memory_mb,
    std::size_t max_memory_kb,
    std::optional<std::chrono::duration<double, std::milli>> init_duration);

/// The last `max_bytes` bytes of `log` (all of it when shorter).
std::string_view log_tail(std::string_view log, std::size_t max_bytes = log_tail_bytes);

/// A version-4 UUID (8-4-4-4-12 lowercase hex) built from 128 random bits.
std::string format_request_id(std::uint64_t high, std::uint64_t low);
/// An X-Ray trace header "Root=1-<8 hex epoch secs>-<24 hex>;Parent=<16 hex>;Sampled=0".
std::string format_trace_id(std::chrono::system_clock::time_point now, std::uint64_t random_a,
                            std::uint64_t random_b, std::uint64_t random_c);
/// "arn:aws:lambda:<region>:012345678912:function:<name>".
std::string function_arn(std::string_view region, std::string_view name);
/// "<yyyy/mm/dd>/[<version>]<32 hex>" (UTC date), Lambda's log stream name.
std::string log_stream_name(std::chrono::system_clock::time_point now, std::string_view version,
                            std::uint64_t random_high, std::uint64_t random_low);

/// Sanitizer option variables (ASAN_OPTIONS, UBSAN_OPTIONS, TSAN_OPTIONS, LSAN_OPTIONS) set in
/// this process's environment. They are the one exception to "never the host's environment": a
/// sanitizer test run must be able to configure the runtimes it starts (e.g. suppressions,
/// exit codes), and they change nothing for an uninstrumented runtime.
env_list sanitizer_passthrough();

/// The runtime's complete environment: Lambda's variables for `function` (AWS_LAMBDA_RUNTIME_API
/// = `runtime_api`, _HANDLER when set, LAMBDA_TASK_ROOT = absolute `function.dir`,
/// LAMBDA_RUNTIME_DIR = directory of `function.command[0]`, names, memory, log group and
/// `stream`, region, dummy credentials, X-Ray, TZ, LANG, PATH, LD_LIBRARY_PATH), then
/// `passthrough`, then `function.env`; a later entry with an existing name replaces that entry's
/// value in place. Nothing else from the host.
env_list lambda_environment(const function_config& function, std::string_view runtime_api,
                            std::string_view stream, const env_list& passthrough);

/// The account (uin) and app id in emulated SCF environments.
inline constexpr std::string_view emulated_scf_uin = "100000000001";
inline constexpr std::string_view emulated_scf_appid = "1250000000";

/// The runtime's complete environment on emulated Tencent SCF (runtime_dialect::scf):
/// SCF_RUNTIME_API = `host`, SCF_RUNTIME_API_PORT = `port`, _HANDLER when set, SCF_FUNCTIONNAME,
/// SCF_NAMESPACE ("default"), SCF_FUNCTIONVERSION, TENCENTCLOUD_REGION (`function.region`),
/// TENCENTCLOUD_APPID, TENCENTCLOUD_UIN, dummy TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN,
/// TZ, LANG, PATH, LD_LIBRARY_PATH; then `passthrough`, then `function.env`, as
/// lambda_environment(). No AWS_* or LAMBDA_* variable: the runtime works in its task root.
env_list scf_environment(const function_config& function, std::string_view host, std::uint16_t port,
                         const env_list& passthrough);

/// The project id in emulated FunctionGraph environments (32 hex digits, as Huawei's).
inline constexpr std::string_view emulated_fg_project_id = "0123456789abcdef0123456789abcdef";

/// The runtime's complete environment on emulated Huawei FunctionGraph
/// (runtime_dialect::functiongraph, platform-contracts.md §13.1): RUNTIME_API_ADDR =
/// `runtime_api` ("host:port"), RUNTIME_PROJECT_ID, RUNTIME_FUNC_NAME, RUNTIME_FUNC_VERSION
/// ("latest" for "$LATEST"), RUNTIME_PACKAGE ("default"), RUNTIME_HANDLER when set,
/// RUNTIME_TIMEOUT (whole seconds, rounded up), RUNTIME_MEMORY, RUNTIME_CPU, RUNTIME_USERDATA
/// (empty), RUNTIME_CODE_ROOT (absolute `function.dir`), RUNTIME_MAX_RESP_BODY_SIZE, RUNTIME_ROOT,
/// RUNTIME_LOG_DIR, TZ, LANG, PATH, LD_LIBRARY_PATH; then `passthrough`, then `function.env`, as
/// lambda_environment(). No AWS_*, LAMBDA_* or _HANDLER variable.
env_list functiongraph_environment(const function_config& function, std::string_view runtime_api,
                                   const env_list& passthrough);

/// What a Runtime API request target addresses.
struct runtime_target {
  enum kind_t { unknown, next, response, error, init_error, ping, init_ready } kind = unknown;
  std::string_view request_id;  ///< for response and error: the {AwsRequestId} path segment
};
/// Classifies a Runtime API target ("/2018-06-01/runtime/invocation/<id>/response", ...). A query
/// string is ignored. An empty id is `unknown`.
runtime_target parse_runtime_target(std::string_view target);
/// Classifies an SCF runtime API target: "/runtime/init/ready" (init_ready),
/// "/runtime/invocation/next", "/runtime/invocation/response", "/runtime/invocation/error"; a
/// query string is ignored; the request id is always empty (SCF's targets carry none).
runtime_target parse_scf_target(std::string_view target);
/// Classifies a FunctionGraph runtime API target: "/v1/runtime/invocation/request" (next),
/// "/v1/runtime/invocation/response/<id>", "/v1/runtime/invocation/error/<id>" (with the id; an
/// empty id or one with a '/' is `unknown`); a query string is ignored.
runtime_target parse_functiongraph_target(std::string_view target);
/// True for "/2015-03-31/functions/<name>/invocations" (any non-empty name without '/'; a query
/// string is ignored).
bool is_invoke_target(std::string_view target);

/// The value of "VmHWM:" in the text of /proc/<pid>/status, in kB; 0 when absent.
std::size_t parse_vm_hwm_kb(std::string_view proc_status);

}  // namespace lamella::detail
