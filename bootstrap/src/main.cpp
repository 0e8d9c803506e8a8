// The generic lamella `bootstrap`: what a platform starts. Reads the configuration once, loads
// the handler in its language, and runs the platform's loop (on Fission, after the pod has been
// specialised: fission.h). Init failures are reported to the
// platform with the AWS error type, then the process exits non-zero.
#include "config.h"
#include "cpp_adapter.h"
#include "fission.h"
#include "node_runner.h"
#include "python_loader.h"

#include "lamella/platform.h"
#include "lamella/runtime.h"

#include <cstdio>
#include <cstdlib>
#include <string>

int main() {
  // Fission starts the pod before it names the function: serve the specialisation first, which
  // sets _HANDLER and LAMBDA_TASK_ROOT and leaves the listening socket for the push server.
  if (const auto platform = lamella::platform_from_env(lamella::process_environment());
      platform && platform->kind == lamella::platform_kind::fission) {
    if (const int status = lamella::await_fission_specialization(*platform); status != 0) {
      return status;
    }
  }
  const auto cfg = lamella::config_from_env(lamella::process_env());
  if (!cfg) {
    if (cfg.error() == lamella::make_error_code(lamella::errc::malformed_handler)) {
      // The platform is known but the handler is not usable: tell the platform.
      return lamella::report_init_error(
          "Runtime.MalformedHandlerName",
          "Bad handler: set _HANDLER to 'module.function' for a Python handler, "
          "'file.export' for a Node.js handler or 'library.so:symbol' for a C++ handler");
    }
    if (const auto why = lamella::platform_problem(lamella::process_environment()); !why.empty()) {
      std::fprintf(stderr, "lamella bootstrap: configuration error: %s\n", why.c_str());
      return 1;
    }
    std::fprintf(stderr,
                 "lamella bootstrap: %s: no platform recognised: set AWS_LAMBDA_RUNTIME_API, "
                 "another platform's variables (docs/platforms.md) or LAMELLA_PLATFORM (this "
                 "program is started by a platform or by `lamella serve`)\n",
                 cfg.error().message().c_str());
    return 1;
  }
  lamella::run_options options;
  options.runtime_api = cfg->runtime_api;
  if (cfg->platform_kind != lamella::platform_kind::lambda) {
    // Every language (the C++ loop here, the embedded Python, the node child) makes its client
    // with make_lambda_client(), which serves the platform in the environment when no endpoint
    // and no AWS_LAMBDA_RUNTIME_API are given. Set that up once, here, before any thread or
    // child exists; and give the runtimes the Lambda names they read for their context.
    ::unsetenv("AWS_LAMBDA_RUNTIME_API");
    ::setenv("LAMELLA_PLATFORM", std::string(lamella::to_string(cfg->platform_kind)).c_str(), 1);
    for (const auto& [name, value] :
         lamella::lambda_names_for_platform(lamella::process_env(), *cfg)) {
      ::setenv(name.c_str(), value.c_str(), 0);
    }
    options.runtime_api.clear();
  }
  if (cfg->language_kind == lamella::language::python) {
    options.language = "python";
    return lamella::run_python(*cfg, options);
  }
  if (cfg->language_kind == lamella::language::node) {
    options.language = "node";
    return lamella::run_node(*cfg, options);
  }
  if (lamella::is_push(cfg->platform_kind)) {
    // Listen before the handler loads: a platform that waits for the socket (Fn gives 5 s from
    // the container's start) must not wait for the function's init; calls queue meanwhile.
    (void)lamella::make_lambda_client(options);
  }
  lamella::load_error error;
  const auto h = lamella::load_so_handler(cfg->handler, cfg->task_root, error);
  if (!h) return lamella::report_init_error(error.error_type, error.message, options);
  return lamella::run(h, options);
}
