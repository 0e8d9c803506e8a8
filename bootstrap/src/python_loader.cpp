#include "python_loader.h"

#include "python_abi.h"

#include <dlfcn.h>

#include <string>
#include <system_error>

namespace lamella {
namespace {

// The options report_init_error() uses when the adapter calls back; set once by run_python().
const run_options* current_options = nullptr;

int report_from_adapter(const char* error_type, const char* error_message) {
  return report_init_error(error_type == nullptr ? "Runtime.Unknown" : error_type,
                           error_message == nullptr ? "" : error_message,
                           current_options == nullptr ? run_options{} : *current_options);
}

}  // namespace

std::filesystem::path python_adapter_path(const config& cfg) {
  if (!cfg.python_adapter.empty()) return cfg.python_adapter;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto dir = ec ? std::filesystem::current_path() : self.parent_path();
  return dir / "liblamella_python.so";
}

int run_python(const config& cfg, const run_options& options) {
  current_options = &options;
  const auto path = python_adapter_path(cfg);
  // RTLD_GLOBAL: libpython's symbols must be visible to the extension modules the handler
  // imports (they do not link libpython themselves).
  void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (lib == nullptr) {
    const char* why = ::dlerror();
    return report_init_error("Runtime.ImportModuleError",
                             "lamella cannot run Python handlers: the Python adapter '" +
                                 path.string() +
                                 "' is not loadable: " + (why == nullptr ? "unknown error" : why),
                             options);
  }
  auto* entry = reinterpret_cast<lamella_python_main_fn>(::dlsym(lib, LAMELLA_PYTHON_MAIN_SYMBOL));
  if (entry == nullptr) {
    return report_init_error(
        "Runtime.ImportModuleError",
        "the Python adapter '" + path.string() + "' has no " + LAMELLA_PYTHON_MAIN_SYMBOL, options);
  }
  const std::string task_root = cfg.task_root.string();
  const std::string adapter = path.string();
  const lamella_python_args args{
      LAMELLA_PYTHON_ABI_VERSION,  cfg.handler.c_str(), task_root.c_str(),
      options.runtime_api.c_str(), adapter.c_str(),     &report_from_adapter};
  return entry(&args);
}

}  // namespace lamella
