// C++ handlers in shared libraries: `_HANDLER=libname.so:symbol`, through the C ABI of
// lamella/c_handler.h.
#pragma once

#include "lamella/error.h"
#include "lamella/runtime.h"

#include <filesystem>
#include <string>
#include <string_view>

namespace lamella {

/// The two halves of a `lib.so:symbol` handler string.
struct so_handler_spec {
  std::string library;  ///< path as written (relative to the task root unless absolute)
  std::string symbol;   ///< exported C symbol
};

/// Splits `lib.so:symbol` at the last ':'. Errors: malformed_handler when either half is empty.
result<so_handler_spec> parse_so_handler(std::string_view handler_string);

/// Why loading failed, with the AWS error type to report to /runtime/init/error.
struct load_error {
  std::string error_type;  ///< "Runtime.MalformedHandlerName", "Runtime.ImportModuleError", ...
  std::string message;     ///< human-readable detail (dlerror() text included)
};

/// Loads `handler` (`lib.so:symbol`): dlopen()s the library (relative to `task_root` unless
/// absolute; it stays loaded for the life of the process), checks the optional
/// `lamella_abi_version`, runs the optional `lamella_init`, and wraps the symbol as a handler.
/// On failure returns an empty handler and fills `error` with the AWS error type:
/// Runtime.MalformedHandlerName (bad form), Runtime.ImportModuleError (library missing or not
/// loadable, ABI mismatch), Runtime.HandlerNotFound (symbol missing), Runtime.InitError
/// (lamella_init failed, unless it set its own type).
/// The returned handler calls the C function from the calling thread; the C ABI promises one
/// call at a time.
lamella::handler load_so_handler(std::string_view handler_string,
                                 const std::filesystem::path& task_root, load_error& error);

}  // namespace lamella
