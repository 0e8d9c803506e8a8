// liblamella_python.so: CPython embedded for the generic bootstrap. Starts one isolated,
// configured interpreter, then hands over to the pure-Python package beside this library
// (lamella/_bootstrap.py), which loads the handler and serves invocations through the module
// `_lamella` (src/module.cpp, linked in here and registered as a built-in module): the same C++
// loop the extension module lamella._lamella gives `python -m lamella`.
#include "python_abi.h"

#include <pybind11/embed.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace py = pybind11;

/// The module's init function, defined by PYBIND11_MODULE(_lamella, m) in module.cpp (the name
/// is CPython's convention).
// NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming)
extern "C" PyObject* PyInit__lamella();

namespace lamella::python {
namespace {

// Paths of the Python this library was built against (pinned in CMake, not found on PATH: the
// runtime gets Lambda's environment, with no PYTHONHOME and a PATH that may name another Python).
constexpr const char* python_executable = LAMELLA_PYTHON_EXECUTABLE;
constexpr const char* python_prefix = LAMELLA_PYTHON_PREFIX;
constexpr const char* python_stdlib = LAMELLA_PYTHON_STDLIB;
constexpr const char* python_platstdlib = LAMELLA_PYTHON_PLATSTDLIB;
constexpr const char* python_version = LAMELLA_PYTHON_VERSION;  // "3.11"

// PyConfig wants wide strings; the paths are bytes in the locale's encoding (UTF-8 here).
std::wstring widen(std::string_view s) {
  wchar_t* w = Py_DecodeLocale(std::string(s).c_str(), nullptr);
  if (w == nullptr) return std::wstring(s.begin(), s.end());
  std::wstring out(w);
  PyMem_RawFree(w);
  return out;
}

// sys.path, in the order the AWS Python runtime uses: the task root, PYTHONPATH (honoured by
// hand, since the isolated configuration ignores the environment), the layer directories, the
// standard library, then lamella's own package.
std::vector<std::string> search_path(const lamella_python_args& args) {
  std::vector<std::string> out{args.task_root};
  if (const char* pp = std::getenv("PYTHONPATH"); pp != nullptr) {
    std::string_view rest = pp;
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      if (colon != 0) out.emplace_back(rest.substr(0, colon));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  out.push_back(std::string("/opt/python/lib/python") + python_version + "/site-packages");
  out.emplace_back("/opt/python");
  out.emplace_back(python_stdlib);
  out.push_back(std::string(python_platstdlib) + "/lib-dynload");
  out.push_back((std::filesystem::path(args.adapter_path).parent_path() / "python").string());
  return out;
}

// Why Python did not start, as text for the init error.
std::string status_text(const PyStatus& status) {
  std::string text = status.err_msg == nullptr ? "unknown error" : status.err_msg;
  if (status.func != nullptr) text = std::string(status.func) + ": " + text;
  return text;
}

int run(const lamella_python_args& args) {
  // UTF-8 mode: Lambda's LANG may name a locale the image lacks; text must still be UTF-8.
  PyPreConfig pre;
  PyPreConfig_InitIsolatedConfig(&pre);
  pre.utf8_mode = 1;
  if (PyStatus s = Py_PreInitialize(&pre); PyStatus_Exception(s)) {
    return args.report_init_error("Runtime.Unknown",
                                  ("Python failed to pre-initialise: " + status_text(s)).c_str());
  }
  // Built in, so that `import _lamella` needs no file (see lamella/_bootstrap.py).
  if (PyImport_AppendInittab("_lamella", &PyInit__lamella) != 0) {
    return args.report_init_error("Runtime.Unknown", "Python: cannot register module _lamella");
  }
  PyConfig config;
  PyConfig_InitIsolatedConfig(&config);
  config.site_import = 0;     // no site: Lambda's sys.path is explicit, .pth files cost time
  config.buffered_stdio = 0;  // like -u: print() reaches the log at once, as with AWS's runtime
  config.install_signal_handlers = 0;
  const std::wstring executable = widen(python_executable);
  const std::wstring home = widen(python_prefix);
  PyConfig_SetString(&config, &config.program_name, executable.c_str());
  PyConfig_SetString(&config, &config.executable, executable.c_str());
  PyConfig_SetString(&config, &config.home, home.c_str());
  config.module_search_paths_set = 1;
  for (const auto& entry : search_path(args)) {
    const std::wstring w = widen(entry);
    PyWideStringList_Append(&config.module_search_paths, w.c_str());
  }
  config.parse_argv = 0;
  const char* const argv[] = {"lamella"};

  try {
    // pybind11 owns the interpreter (and clears `config`); finalised when `guard` goes.
    py::scoped_interpreter guard(&config, 1, argv, false);
    try {
      const py::object main = py::module_::import("lamella._bootstrap").attr("main");
      return main(args.handler, args.task_root, args.runtime_api).cast<int>();
    } catch (py::error_already_set& e) {
      // lamella's own package is missing or broken (user errors are handled in Python).
      const std::string what = e.what();
      std::fprintf(stderr, "lamella: the Python runtime package failed: %s\n", what.c_str());
      return args.report_init_error("Runtime.ImportModuleError",
                                    ("lamella's Python package failed: " + what).c_str());
    }
  } catch (const std::exception& e) {
    return args.report_init_error("Runtime.Unknown",
                                  (std::string("Python failed to start: ") + e.what()).c_str());
  }
}

}  // namespace
}  // namespace lamella::python

/// The entry point the bootstrap looks up (see python_abi.h).
extern "C" __attribute__((visibility("default"))) int lamella_python_main(
    const lamella_python_args* args) {
  if (args == nullptr || args->abi_version != LAMELLA_PYTHON_ABI_VERSION) {
    std::fprintf(stderr, "lamella: Python adapter ABI mismatch (bootstrap %d, adapter %d)\n",
                 args == nullptr ? -1 : args->abi_version, LAMELLA_PYTHON_ABI_VERSION);
    return 1;
  }
  return lamella::python::run(*args);
}
