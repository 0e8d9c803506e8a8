#include "node_runner.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

namespace lamella {

std::optional<std::filesystem::path> find_node(const config& cfg, std::string_view path) {
  if (!cfg.node_executable.empty()) return std::filesystem::path(cfg.node_executable);
  while (!path.empty()) {
    const auto colon = path.find(':');
    const std::string_view dir = path.substr(0, colon);
    if (!dir.empty()) {
      auto candidate = std::filesystem::path(dir) / "node";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

std::filesystem::path node_runtime_path(const config& cfg) {
  if (!cfg.node_runtime.empty()) return cfg.node_runtime;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto dir = ec ? std::filesystem::current_path() : self.parent_path();
  return dir / "node" / "lamella-node" / "bin" / "lamella-node.js";
}

int run_node(const config& cfg, const run_options& options) {
  const char* path_env = std::getenv("PATH");
  const auto node = find_node(cfg, path_env == nullptr ? "/usr/local/bin:/usr/bin:/bin" : path_env);
  if (!node) {
    return report_init_error("Runtime.ImportModuleError",
                             "lamella cannot run Node.js handlers: no `node` executable on PATH "
                             "(set LAMELLA_NODE to its path)",
                             options);
  }
  const auto runtime = node_runtime_path(cfg);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(runtime, ec)) {
    return report_init_error(
        "Runtime.ImportModuleError",
        "lamella cannot run Node.js handlers: its JS runtime '" + runtime.string() + "' is missing",
        options);
  }
  std::string node_arg = node->string();
  std::string runtime_arg = runtime.string();
  char* const argv[] = {node_arg.data(), runtime_arg.data(), nullptr};
  ::execv(node_arg.c_str(), argv);
  const int error = errno;
  return report_init_error("Runtime.ImportModuleError",
                           "lamella cannot start '" + node_arg + "': " + std::strerror(error),
                           options);
}

}  // namespace lamella
