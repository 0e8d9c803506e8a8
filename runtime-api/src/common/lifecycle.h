// Running the lifecycle hooks registered through lamella/lifecycle.h.
#pragma once

#include "lamella/outcome.h"

#include <optional>

namespace lamella::detail {

/// Ends the process now with `status` (std::_Exit: no destructors, no atexit), after flushing
/// stdout and stderr unless another thread holds them. Why not fflush(nullptr): a handler left
/// running may be blocked inside stdio (fgets on stdin, a write to a full pipe) holding that
/// stream's lock, and flushing every stream would wait for it forever.
[[noreturn]] void exit_now(int status) noexcept;

/// Runs the shutdown hooks, the first time only (later calls return the first call's result at
/// once). Returns the first failure (a hook threw) as a function error, nullopt when all ran.
/// Thread-safe; blocks while another thread runs them.
std::optional<outcome> run_shutdown_hooks();

/// Runs the pre-freeze hooks (every time). Returns the first failure as run_shutdown_hooks().
/// Thread-safe; calls are serialised.
std::optional<outcome> run_pre_freeze_hooks();

}  // namespace lamella::detail
