// Node.js handlers: the generic bootstrap hands the process over to the machine's `node`,
// running lamella's JS runtime (bindings/node), which drives the same C++ client via its addon.
#pragma once

#include "config.h"

#include "lamella/runtime.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lamella {

/// The `node` to run: `cfg.node_executable` if set, else the first executable `node` on `path`
/// (a PATH-style list); nullopt when there is none.
std::optional<std::filesystem::path> find_node(const config& cfg, std::string_view path);

/// lamella's JS runtime entry: `cfg.node_runtime` if set, else
/// `<dir of this executable>/node/lamella-node/bin/lamella-node.js`.
std::filesystem::path node_runtime_path(const config& cfg);

/// The arguments `node` is started with, before the runtime entry:
/// `--max-http-header-size=81920` as the managed Lambda Node runtimes pass, and a V8 heap sized
/// to the function's memory (`memory_mb` = AWS_LAMBDA_FUNCTION_MEMORY_SIZE, as they do: a tenth
/// for the young generation, `--max-semi-space-size` half of that, `--max-old-space-size` the
/// rest), unless `node_options` (NODE_OPTIONS) already sizes the heap or the memory is unknown.
std::vector<std::string> node_arguments(std::optional<long> memory_mb,
                                        std::string_view node_options);

/// Replaces this process with `node <runtime entry>` (same pid, same environment, so the
/// platform's process supervision and the handler's environment are unchanged). Returns only
/// when that is impossible (no node, no runtime, exec failed): the failure is reported to
/// `/runtime/init/error` as Runtime.ImportModuleError and the exit status (1) returned.
int run_node(const config& cfg, const run_options& options);

}  // namespace lamella
