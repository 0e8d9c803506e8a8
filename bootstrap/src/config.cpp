#include "config.h"

#include <cstdlib>

namespace lamella {

env_reader process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

result<config> config_from_env(const env_reader& env) {
  config c;
  const auto platform_name = env("LAMELLA_PLATFORM");
  if (platform_name && *platform_name != "lambda") return errc::invalid_configuration;
  const auto api = env("AWS_LAMBDA_RUNTIME_API");
  if (!api || api->empty()) return errc::invalid_configuration;
  c.platform_kind = platform::lambda;
  c.runtime_api = *api;

  const auto root = env("LAMBDA_TASK_ROOT");
  c.task_root =
      root && !root->empty() ? std::filesystem::path(*root) : std::filesystem::current_path();
  c.handler = env("_HANDLER").value_or("");

  const auto lang = env("LAMELLA_LANGUAGE");
  if (lang) {
    if (*lang != "cpp") return errc::invalid_configuration;
    c.language_kind = language::cpp;
    return c;
  }
  if (c.handler.empty()) return errc::malformed_handler;
  if (c.handler.find(':') != std::string::npos) {
    c.language_kind = language::cpp;
    return c;
  }
  return errc::malformed_handler;
}

}  // namespace lamella
