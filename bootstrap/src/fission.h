// Fission specialisation (platform-contracts.md §11): a Fission environment pod starts without
// its function; the fetcher later sends `POST /specialize` (v1: the code at /userfunc/user) or
// `POST /v2/specialize` ({"filepath", "functionName", ...}) on port 8888. The generic bootstrap
// must listen before it knows the handler, so in fission mode it first runs a small
// specialisation server; once a specialize succeeds it sets _HANDLER, LAMBDA_TASK_ROOT and the
// working directory from the request and hands its listening socket (LAMELLA_LISTEN_FD, not
// closed on exec) to the push server, which the language runtime then starts in this process
// (C++, Python) or in the node process the bootstrap execs. Connections that arrive meanwhile
// wait in the socket's backlog.
#pragma once

#include "config.h"

#include "lamella/platform.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace lamella {

/// Where a specialised function is.
struct fission_function {
  std::filesystem::path task_root;  ///< LAMBDA_TASK_ROOT and the working directory
  std::string handler;              ///< _HANDLER
};

/// The specialisation server's answer to one request.
struct fission_answer {
  unsigned status = 200;
  std::string body;                          ///< text/plain
  std::optional<fission_function> function;  ///< set when this request specialised the pod
  bool failed_specialization = false;        ///< a specialize that failed: `body` says why
};

/// Whether a path is a directory (tests pass a fake one).
using directory_probe = std::function<bool(const std::filesystem::path&)>;

/// The answer before specialisation to `method target` with `body` (pure: the filesystem only
/// through `files` and `directories`):
///   - `GET /healthz`: 200;
///   - `POST /v2/specialize`: the JSON body's `filepath` is the task root when it is a
///     directory; when it is a file, its directory is, and a `functionName` without a '.' or ':'
///     names a function in that file (`<file stem>.<functionName>`); otherwise `functionName` is
///     the handler (`module.function`, `file.export`, `lib.so:symbol`), and when it is empty,
///     `env_handler` (_HANDLER) is. 200 when the handler's module exists (Python: also under
///     /opt/python; C++: the library), else 500 naming what is missing (failed_specialization);
///     400 for a body that is not a JSON object with a string `filepath`.
///   - `POST /specialize` (v1): the task root /userfunc, the handler `env_handler` or else
///     `user.handler` (Fission v1 puts the code at /userfunc/user), checked as above;
///   - anything else: 500 "not specialized".
fission_answer fission_prespecialize_answer(std::string_view method, std::string_view target,
                                            std::string_view body, const std::string& env_handler,
                                            const file_probe& files,
                                            const directory_probe& directories);

/// The answer after a failed specialisation with `error` (Fission never specialises a pod
/// twice): `GET /healthz` 200, a specialize 400 "Not a generic container", anything else 500
/// with `error`.
fission_answer fission_failed_answer(std::string_view method, std::string_view target,
                                     const std::string& error);

/// In fission mode (platform_from_env says fission): serves `settings.listen_address:port` (or
/// the inherited LAMELLA_LISTEN_FD) until a specialize succeeds, then sets _HANDLER,
/// LAMBDA_TASK_ROOT, the working directory and LAMELLA_LISTEN_FD and returns 0. After a failed
/// specialize it keeps answering the error until the process is stopped. Returns 1 when it
/// cannot listen. Call it before any thread exists (it changes the environment).
int await_fission_specialization(const platform_settings& settings);

}  // namespace lamella
