/* The C ABI between the generic bootstrap and the Python adapter library
 * (liblamella_python.so). The bootstrap links no libpython: it dlopen()s the adapter only when
 * the handler is Python, finds `lamella_python_main` and hands it the configuration. Plain C so
 * that the two sides may be built separately. */
#ifndef LAMELLA_PYTHON_ABI_H
#define LAMELLA_PYTHON_ABI_H

#ifdef __cplusplus
extern "C" {
#endif

/** The version of this ABI; the adapter refuses arguments of another version. */
#define LAMELLA_PYTHON_ABI_VERSION 1

/** What the bootstrap passes to the adapter. Every string is NUL-terminated and outlives the
 * call. */
struct lamella_python_args {
  int abi_version;          /**< LAMELLA_PYTHON_ABI_VERSION */
  const char* handler;      /**< _HANDLER, e.g. "app.handler" or "dir/mod.handler" */
  const char* task_root;    /**< LAMBDA_TASK_ROOT */
  const char* runtime_api;  /**< "host:port" of the Runtime API; empty = from the environment */
  const char* adapter_path; /**< the adapter's own path: its Python package lies beside it */
  /** Reports an init failure the adapter cannot hand to Python (the interpreter did not start)
   * to /runtime/init/error. Returns the exit status to use. */
  int (*report_init_error)(const char* error_type, const char* error_message);
};

/** The adapter's entry point: starts the interpreter, loads the handler and serves invocations
 * until the platform goes away. Returns the process exit status (init failures are reported
 * to the platform before it returns 1). Called once per process, from the main thread. */
typedef int (*lamella_python_main_fn)(  // NOLINT(modernize-use-using): a C header
    const struct lamella_python_args* args);

/** The exported name of the entry point. */
#define LAMELLA_PYTHON_MAIN_SYMBOL "lamella_python_main"

#ifdef __cplusplus
}
#endif

#endif /* LAMELLA_PYTHON_ABI_H */
