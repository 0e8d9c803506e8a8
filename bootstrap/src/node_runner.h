// Node.js handlers: the generic bootstrap hands the process over to the machine's `node`,
// running lamella's JS runtime (bindings/node), which drives the same C++ client via its addon.
#pragma once

#include "config.h"

#include "lamella/runtime.h"

#include <filesystem>
#include <optional>
#include <string_view>

namespace lamella {

/// The `node` to run: `cfg.node_executable` if set, else the first executable `node` on `path`
/// (a PATH-style list); nullopt when there is none.
std::optional<std::filesystem::path> find_node(const config& cfg, std::string_view path);

/// lamella's JS runtime entry: `cfg.node_runtime` if set, else
/// `<dir of this executable>/node/lamella-node/bin/lamella-node.js`.
std::filesystem::path node_runtime_path(const config& cfg);

/// Replaces this process with `node <runtime entry>` (same pid, same environment, so the
/// platform's process supervision and the handler's environment are unchanged). Returns only
/// when that is impossible (no node, no runtime, exec failed): the failure is reported to
/// `/runtime/init/error` as Runtime.ImportModuleError and the exit status (1) returned.
int run_node(const config& cfg, const run_options& options);

}  // namespace lamella
