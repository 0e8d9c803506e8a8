// The entry point of a C++ function: lamella::run(handler).
#pragma once

#include "lamella/invocation.h"
#include "lamella/lambda_client.h"
#include "lamella/lifecycle.h"
#include "lamella/outcome.h"
#include "lamella/platform.h"
#include "lamella/transport.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace lamella {

/// A function handler. It may throw: any exception becomes a function error
/// (`errorType` = "std::exception" type name or "Unknown") and the loop continues.
using handler = std::function<outcome(const invocation&)>;

/// Makes a transport for "host:port"; used to swap the default Beast transport for another.
using transport_factory =
    std::function<std::unique_ptr<transport>(std::string_view host_port, transport_options)>;

/// How often and how patiently the loop retries a broken Runtime API connection.
/// Written policy (docs/architecture.md): a failed `/next` or post is retried on a fresh
/// connection up to `attempts` times in all, sleeping `first_backoff`, then 4x that, and so on;
/// after the last failure the loop returns the error and the process exits non-zero.
/// A refused post (400/403/413) is not a connection failure: it is logged and the loop goes on.
struct retry_policy {
  int attempts = 3;                             ///< attempts per call, the first included
  std::chrono::milliseconds first_backoff{10};  ///< sleep before the second attempt
};

/// Calls `f` (returning a result<T>) under `policy` and returns its last result. Only connection
/// failures (runtime_api_unreachable) are retried, on the caller's thread, sleeping between
/// attempts: a refusal or a protocol error will not heal by itself. Language adapters that drive
/// a lambda_client themselves use it to keep the loop's policy.
template <class F>
auto with_retries(const retry_policy& policy, F&& f) -> decltype(f()) {
  auto backoff = policy.first_backoff;
  for (int attempt = 1;; ++attempt) {
    auto r = f();
    if (r || r.error() != make_error_code(errc::runtime_api_unreachable) ||
        attempt >= policy.attempts) {
      return r;
    }
    std::this_thread::sleep_for(backoff);
    backoff *= 4;
  }
}

/// Options of run(). Defaults suit a deployed function; tests bound the loop.
struct run_options {
  /// Stop after this many invocations (tests, benchmarks); unset = serve until the platform
  /// goes away.
  std::optional<std::size_t> max_invocations;
  /// "host:port" of the Runtime API; empty = the AWS_LAMBDA_RUNTIME_API environment variable.
  std::string runtime_api;
  /// Transport to use; empty = the Beast transport.
  transport_factory make_transport;
  /// Language token of the User-Agent ("cpp", "python", "node").
  std::string language = "cpp";
  /// Retry policy for connection failures.
  retry_policy retry;
  /// Set `_X_AMZN_TRACE_ID` from each invocation's trace id (unset when absent), as the AWS
  /// runtimes do. Turn off when several loops share one process.
  bool set_trace_env = true;
};

/// Runs the Lambda loop: next -> handler -> response/error, until `max_invocations` is reached
/// (returns 0) or the Runtime API is lost (logs a clear message to stderr, returns 1).
/// On a push platform (platform_from_env says fc or http, and `options.runtime_api` is empty) it
/// starts the process's push server and `platform_settings::concurrency` loops (threads, each
/// with its own client; `set_trace_env` is off when there are several), serves until SIGTERM or
/// SIGINT, lets the in-flight invocations finish, runs the shutdown hooks and returns 0
/// (`max_invocations` bounds each loop).
/// Intended use: `int main() { return lamella::run(my_handler); }`.
/// Not reentrant with itself on one thread; each call owns its own connection.
int run(const handler& h, const run_options& options = {});

/// Runs the loop on an existing client. Returns success when `max_invocations` was reached, or
/// the runtime error that ended the loop. Function errors never end it.
result<void> run_loop(lambda_client& client, const handler& h, const run_options& options);

/// Makes a Lambda client for `options` (endpoint from the options or the environment, the
/// chosen transport, the User-Agent). With `options.runtime_api` empty the platform comes from
/// platform_from_env(): lambda uses AWS_LAMBDA_RUNTIME_API; fc and http use an in-process
/// transport to the process-wide push server (started on first use; it then also ends the process
/// after a SIGTERM, see docs/architecture.md "Push platforms"); scf uses the SCF transport.
/// Errors: invalid_configuration when no platform is recognised or its transport cannot start.
result<lambda_client> make_lambda_client(const run_options& options);

/// Reports an initialisation failure to `/runtime/init/error` (endpoint and transport from
/// `options`) and logs it to stderr. Returns the process exit status to use (always 1).
int report_init_error(std::string_view error_type, std::string_view error_message,
                      const run_options& options = {});

}  // namespace lamella
