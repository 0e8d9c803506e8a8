#include "node_runner.h"

#include "lamella/platform.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

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

std::vector<std::string> node_arguments(std::optional<long> memory_mb,
                                        std::string_view node_options) {
  // Not --expose-gc, which the managed runtime also passes: it is a V8 flag that costs node
  // 4-7 ms of start-up here (measured: docs/node.md); NODE_OPTIONS=--expose-gc restores it.
  std::vector<std::string> args{"--max-http-header-size=81920"};
  const bool sized = node_options.find("max-old-space-size") != std::string_view::npos ||
                     node_options.find("max_old_space_size") != std::string_view::npos ||
                     node_options.find("max-semi-space-size") != std::string_view::npos ||
                     node_options.find("max_semi_space_size") != std::string_view::npos;
  if (memory_mb && *memory_mb >= 64 && !sized) {
    const long young = *memory_mb / 10;
    args.push_back("--max-semi-space-size=" + std::to_string(std::max(1L, young / 2)));
    args.push_back("--max-old-space-size=" + std::to_string(*memory_mb - young));
  }
  return args;
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
  std::optional<long> memory_mb;
  if (const char* m = std::getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")) {
    char* end = nullptr;
    const long v = std::strtol(m, &end, 10);
    if (end != m && *end == '\0') memory_mb = v;
  }
  // On a push platform each concurrent invocation's wait for work holds one libuv worker
  // thread (the addon's next()): give node enough of them, beside the four it has for fs/dns.
  if (std::getenv("UV_THREADPOOL_SIZE") == nullptr) {
    const auto platform = platform_from_env(process_environment());
    if (platform && is_push(platform->kind) && platform->concurrency > 1) {
      const unsigned threads = std::min(1024U, platform->concurrency + 4);
      ::setenv("UV_THREADPOOL_SIZE", std::to_string(threads).c_str(), 1);
    }
  }
  const char* node_options = std::getenv("NODE_OPTIONS");
  std::vector<std::string> args{node->string()};
  for (auto& a : node_arguments(memory_mb, node_options == nullptr ? "" : node_options)) {
    args.push_back(std::move(a));
  }
  args.push_back(runtime.string());
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  const std::string node_arg = args.front();
  const int error = errno;
  return report_init_error("Runtime.ImportModuleError",
                           "lamella cannot start '" + node_arg + "': " + std::strerror(error),
                           options);
}

}  // namespace lamella
