// Lifecycle hooks: code the function wants run when its environment stops or freezes.
#pragma once

#include <functional>

namespace lamella {

/// Registers `hook` to run once when the environment shuts down: on SIGTERM/SIGINT after the
/// in-flight invocations finished (push platforms), or on FC's `GET /pre-stop`. Hooks run in
/// registration order, on a thread that is not a handler's, at most once per process; a hook that
/// throws is reported (FC's pre-stop answers a failure) and the others still run. They must
/// finish within the platform's grace period (see platform_settings::shutdown_grace). On Lambda
/// and SCF (pull platforms) lamella gets no shutdown notice, so the hooks do not run there.
/// Thread-safe: may be called from any thread, at any time (a hook registered after shutdown
/// began is not run).
void on_shutdown(std::function<void()> hook);

/// Registers `hook` to run each time FC announces a freeze (`GET /pre-freeze`), before the
/// instance is frozen: flush buffers, close connections that would not survive. Hooks run in
/// registration order on a thread that is not a handler's; one that throws is reported and the
/// others still run. Thread-safe: may be called from any thread.
void on_pre_freeze(std::function<void()> hook);

}  // namespace lamella
