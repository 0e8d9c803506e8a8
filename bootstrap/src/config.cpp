#include "config.h"

#include "lamella/platform.h"

#include <cstdlib>

namespace lamella {

env_reader process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

file_probe real_files() {
  return [](const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
  };
}

bool python_module_exists(std::string_view handler, const std::filesystem::path& root,
                          const file_probe& files) {
  const auto dot = handler.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  const std::filesystem::path module = root / std::string(handler.substr(0, dot));
  return files(std::filesystem::path(module).concat(".py")) || files(module / "__init__.py");
}

bool node_module_exists(std::string_view handler, const std::filesystem::path& root,
                        const file_probe& files) {
  const auto slash = handler.rfind('/');
  const auto base_start = slash == std::string_view::npos ? 0 : slash + 1;
  const auto dot = handler.find('.', base_start);
  if (dot == std::string_view::npos || dot == base_start || handler.find("..") != handler.npos) {
    return false;
  }
  const std::filesystem::path file = root / std::string(handler.substr(0, dot));
  for (const char* ext : {"", ".js", ".mjs", ".cjs"}) {
    if (files(std::filesystem::path(file).concat(ext))) return true;
  }
  return false;
}

namespace {

/// The handler as the platform names it when _HANDLER is unset (see config_from_env); empty when
/// the platform names none.
std::string platform_handler(const env_reader& env, platform_kind kind,
                             const std::filesystem::path& root, const file_probe& files) {
  const auto get = [&](std::string_view name) { return env(name).value_or(""); };
  switch (kind) {
    case platform_kind::gcf: {
      const std::string target = get("FUNCTION_TARGET");
      if (target.empty()) return "";
      if (!files(root / "main.py") && node_module_exists("index." + target, root, files)) {
        return "index." + target;
      }
      return "main." + target;
    }
    case platform_kind::kubeless: {
      const std::string module = get("MOD_NAME");
      const std::string function = get("FUNC_HANDLER");
      return module.empty() || function.empty() ? "" : module + "." + function;
    }
    case platform_kind::functiongraph:
    case platform_kind::functiongraph_http:
      return get("RUNTIME_HANDLER");
    default:
      return "";
  }
}

}  // namespace

result<config> config_from_env(const env_reader& env, const file_probe& files) {
  config c;
  // One rule for every process lamella runs in (this bootstrap, node, python -m lamella):
  // lamella::platform_from_env decides the platform.
  const auto settings = platform_from_env(env);
  if (!settings) return settings.error();
  c.platform_kind = settings->kind;
  c.runtime_api = settings->runtime_api;  // empty for push platforms: served in-process

  const auto root = env("LAMBDA_TASK_ROOT");
  c.task_root =
      root && !root->empty() ? std::filesystem::path(*root) : std::filesystem::current_path();
  if (!root || root->empty()) {
    // FunctionGraph names the code directory (its bootstrap need not run there): the task root,
    // whether the handler comes from RUNTIME_HANDLER or from a _HANDLER the bootstrap set.
    if (const auto code = env("RUNTIME_CODE_ROOT");
        code && !code->empty() &&
        (c.platform_kind == platform_kind::functiongraph ||
         c.platform_kind == platform_kind::functiongraph_http)) {
      c.task_root = *code;
    }
  }
  c.function = settings->function;
  c.handler = env("_HANDLER").value_or("");
  if (c.handler.empty()) c.handler = platform_handler(env, c.platform_kind, c.task_root, files);
  c.python_adapter = env("LAMELLA_PYTHON_ADAPTER").value_or("");
  c.node_executable = env("LAMELLA_NODE").value_or("");
  c.node_runtime = env("LAMELLA_NODE_RUNTIME").value_or("");

  const auto lang = env("LAMELLA_LANGUAGE");
  if (lang) {
    if (*lang == "cpp") {
      c.language_kind = language::cpp;
    } else if (*lang == "python") {
      c.language_kind = language::python;
    } else if (*lang == "node") {
      c.language_kind = language::node;
    } else {
      return errc::invalid_configuration;
    }
    return c;
  }
  if (c.handler.empty()) return errc::malformed_handler;
  if (c.handler.find(':') != std::string::npos) {
    c.language_kind = language::cpp;
    return c;
  }
  const auto dot = c.handler.rfind('.');
  if (dot != std::string::npos && dot != 0 && dot + 1 != c.handler.size()) {
    if (python_module_exists(c.handler, c.task_root, files) ||
        python_module_exists(c.handler, "/opt/python", files)) {
      c.language_kind = language::python;
      return c;
    }
    if (node_module_exists(c.handler, c.task_root, files)) {
      c.language_kind = language::node;
      return c;
    }
    // No module file found: a package.json says Node.js, anything else Python, so that the
    // missing module is reported as that runtime's ImportModuleError.
    c.language_kind = files(c.task_root / "package.json") ? language::node : language::python;
    return c;
  }
  return errc::malformed_handler;
}

std::vector<std::pair<std::string, std::string>> lambda_names_for_platform(const env_reader& env,
                                                                           const config& cfg) {
  std::vector<std::pair<std::string, std::string>> out;
  if (cfg.platform_kind == platform_kind::lambda) return out;
  const auto add = [&](std::string_view lambda_name, std::string value) {
    if (env(lambda_name) || value.empty()) return;  // never overrides
    out.emplace_back(std::string(lambda_name), std::move(value));
  };
  add("AWS_LAMBDA_FUNCTION_NAME", cfg.function.name);
  add("AWS_LAMBDA_FUNCTION_VERSION", cfg.function.version);
  add("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(cfg.function.memory_mb));
  add("AWS_REGION", cfg.function.region);
  add("AWS_DEFAULT_REGION", cfg.function.region);
  add("LAMBDA_TASK_ROOT", cfg.task_root.string());
  add("_HANDLER", cfg.handler);
  return out;
}

}  // namespace lamella
