// The bootstrap's configuration, read from the environment once.
#pragma once

#include "lamella/error.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace lamella {

/// Reads one environment variable; returns nullopt when unset. Lets tests pass a fake
/// environment instead of the process's.
using env_reader = std::function<std::optional<std::string>(std::string_view name)>;

/// An env_reader over the process environment (getenv).
env_reader process_env();

/// The platform adapter that delivers invocations.
enum class platform { lambda };

/// The language of the handler.
enum class language { cpp };

/// Everything the bootstrap needs to know, read once at start. Plain, immutable after creation;
/// safe to share between threads as const.
struct config {
  platform platform_kind = platform::lambda;
  language language_kind = language::cpp;
  std::string runtime_api;          ///< "host:port" of the Runtime API
  std::string handler;              ///< _HANDLER as given
  std::filesystem::path task_root;  ///< LAMBDA_TASK_ROOT (default: the working directory)
};

/// Builds the configuration from `env`.
/// Platform: `LAMELLA_PLATFORM` if set (only "lambda" so far), else lambda when
/// `AWS_LAMBDA_RUNTIME_API` is set. Language: `LAMELLA_LANGUAGE` if set, else from the handler's
/// form (`lib.so:symbol` is C++).
/// Errors: invalid_configuration (no platform recognised, unknown LAMELLA_PLATFORM or
/// LAMELLA_LANGUAGE), malformed_handler (empty `_HANDLER` or a form no language claims).
result<config> config_from_env(const env_reader& env);

}  // namespace lamella
