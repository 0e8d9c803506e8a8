// The bootstrap's configuration, read from the environment once.
#pragma once

#include "lamella/error.h"
#include "lamella/platform.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lamella {

/// Reads one environment variable; returns nullopt when unset. Lets tests pass a fake
/// environment instead of the process's.
using env_reader = std::function<std::optional<std::string>(std::string_view name)>;

/// An env_reader over the process environment (getenv).
env_reader process_env();

/// Whether a regular file exists at a path. Lets tests decide what the task root holds.
using file_probe = std::function<bool(const std::filesystem::path&)>;

/// A file_probe over the real filesystem (std::filesystem::is_regular_file; errors are "no").
file_probe real_files();

/// The language of the handler.
enum class language { cpp, python, node };

/// Everything the bootstrap needs to know, read once at start. Plain, immutable after creation;
/// safe to share between threads as const.
struct config {
  lamella::platform_kind platform_kind = lamella::platform_kind::lambda;  ///< platform_from_env
  language language_kind = language::cpp;
  std::string runtime_api;  ///< "host:port" of the platform's runtime API
  /// _HANDLER as given; when unset, the platform's own naming of the handler (see
  /// config_from_env).
  std::string handler;
  std::filesystem::path task_root;  ///< LAMBDA_TASK_ROOT (default: the working directory)
  /// LAMELLA_PYTHON_ADAPTER: the Python adapter library to load; empty = the one next to the
  /// bootstrap executable.
  std::string python_adapter;
  /// LAMELLA_NODE: the `node` executable for JS handlers; empty = `node` on PATH.
  std::string node_executable;
  /// LAMELLA_NODE_RUNTIME: lamella's JS runtime entry (bin/lamella-node.js); empty = the one in
  /// node/lamella-node next to the bootstrap executable.
  std::string node_runtime;
  function_settings function;  ///< the function's metadata as the platform gives it
};

/// Builds the configuration from `env`, looking at the task root through `files`.
/// Platform: lamella::platform_from_env (lamella/platform.h): `LAMELLA_PLATFORM` (lambda, scf,
/// fc, http) if set, else lambda when `AWS_LAMBDA_RUNTIME_API` is set, scf when
/// `SCF_RUNTIME_API` is, fc when `FC_CUSTOM_LISTEN_PORT`/`FC_SERVER_PORT` is, http when `PORT`
/// is; runtime_api is the pull platform's "host:port" (empty for fc and http, which lamella
/// serves in-process). Language: `LAMELLA_LANGUAGE` ("cpp", "python", "node") if set, else from
/// the handler's form and the files it names:
///   - `lib.so:symbol` (a ':' in it) is C++;
///   - `module.function` or `dir/sub/module.function` (split at the last '.') is Python when
///     `<root>/<module>.py` or `<root>/<module>/__init__.py` exists, for root = the task root or
///     `/opt/python` (a layer);
///   - `file.export[.nested]` (the last path component split at its first '.') is Node.js when
///     `<task root>/<file>` with no extension or with `.js`, `.mjs` or `.cjs` is a file;
///   - with no such file it is Node.js when the task root has a package.json, else Python, so
///     that a missing module gets that language's Runtime.ImportModuleError.
/// Handler: `_HANDLER`; when it is unset, the platform's own variables name it: gcf
/// `FUNCTION_TARGET` t -> `main.t` (Python, the Functions Framework's main.py) or `index.t`
/// (Node.js, when `index.js`/`index.mjs`/`index.cjs` exists); kubeless `MOD_NAME.FUNC_HANDLER`;
/// functiongraph and functiongraph-http `RUNTIME_HANDLER`, with the task root
/// `RUNTIME_CODE_ROOT` when LAMBDA_TASK_ROOT is unset.
/// Errors: invalid_configuration (no platform recognised, unknown LAMELLA_PLATFORM or
/// LAMELLA_LANGUAGE, a bad number), malformed_handler (empty `_HANDLER` or a form no language
/// claims).
result<config> config_from_env(const env_reader& env, const file_probe& files = real_files());

/// On every platform but Lambda: the Lambda variables the language runtimes read for their
/// context, from what the platform gave (cfg.function: AWS_LAMBDA_FUNCTION_NAME,
/// AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_REGION and
/// AWS_DEFAULT_REGION), plus LAMBDA_TASK_ROOT = cfg.task_root and `_HANDLER` = cfg.handler, each
/// only when it is unset. The bootstrap sets them before starting the handler's language.
std::vector<std::pair<std::string, std::string>> lambda_names_for_platform(const env_reader& env,
                                                                           const config& cfg);

/// True when `handler` names an existing JS module file under `root` (see config_from_env).
bool node_module_exists(std::string_view handler, const std::filesystem::path& root,
                        const file_probe& files);

/// True when `handler` names an existing Python module under `root` (see config_from_env).
bool python_module_exists(std::string_view handler, const std::filesystem::path& root,
                          const file_probe& files);

}  // namespace lamella
