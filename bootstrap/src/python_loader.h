// Python handlers in the generic bootstrap: loads the Python adapter library on demand.
#pragma once

#include "config.h"

#include "lamella/runtime.h"

#include <filesystem>

namespace lamella {

/// Where the Python adapter is looked for: `cfg.python_adapter` when set, else
/// `liblamella_python.so` in the directory of the running executable (/proc/self/exe).
std::filesystem::path python_adapter_path(const config& cfg);

/// Runs a Python handler: dlopen()s the adapter (RTLD_GLOBAL, so that the handler's C extension
/// modules find libpython's symbols) and calls its `lamella_python_main`. The bootstrap itself
/// never links libpython, so C++ functions pay nothing for Python.
/// Returns the process exit status. When the adapter cannot be loaded, the failure is reported
/// to /runtime/init/error as Runtime.ImportModuleError (with the path and the loader's message)
/// and 1 is returned.
int run_python(const config& cfg, const run_options& options);

}  // namespace lamella
