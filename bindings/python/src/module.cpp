// lamella._lamella: the C++ core as a Python extension module. The Runtime API loop stays in
// C++ (lamella::run_loop over lamella::lambda_client); Python is called, with the GIL held, only
// to turn one event into one result. Used both by `python -m lamella` and, inside the embedded
// interpreter, by the generic bootstrap (through liblamella_python.so).
#include "lamella/lambda_client.h"
#include "lamella/lifecycle.h"
#include "lamella/platform.h"
#include "lamella/runtime.h"
#include "lamella/version.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace lamella::python {
namespace {

/// The bytes of a str (UTF-8), bytes or bytearray result. Throws py::error_already_set (a
/// TypeError) for anything else.
std::string bytes_of(PyObject* o) {
  char* data = nullptr;
  Py_ssize_t size = 0;
  if (PyUnicode_Check(o)) {
    const char* utf8 = PyUnicode_AsUTF8AndSize(o, &size);
    if (utf8 == nullptr) throw py::error_already_set();
    return {utf8, static_cast<std::size_t>(size)};
  }
  if (PyBytes_Check(o)) {
    if (PyBytes_AsStringAndSize(o, &data, &size) != 0) throw py::error_already_set();
    return {data, static_cast<std::size_t>(size)};
  }
  if (PyByteArray_Check(o)) {
    return {PyByteArray_AS_STRING(o), static_cast<std::size_t>(PyByteArray_GET_SIZE(o))};
  }
  PyErr_SetString(PyExc_TypeError, "lamella: expected str or bytes from the invoke function");
  throw py::error_already_set();
}

/// Calls `invoke(payload, request_id, deadline_ms, arn, trace_id, client_context, identity,
/// tenant_id, content_type, platform_context)` under the GIL. It returns `(ok, body, kind)`: a
/// success with `kind` = content type, or a failure whose `body` is the complete error JSON and
/// `kind` the error type. A Python exception escaping it (a bug in lamella's package, or a
/// BaseException such as KeyboardInterrupt) becomes a function error; SystemExit ends the process,
/// as it does under the AWS runtime.
outcome call_python(const py::object& invoke, const invocation& inv) {
  py::gil_scoped_acquire gil;
  try {
    const auto deadline_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(inv.deadline.time_since_epoch())
            .count();
    const py::object r =
        invoke(py::bytes(inv.payload), inv.request_id, deadline_ms, inv.function_arn, inv.trace_id,
               inv.client_context, inv.cognito_identity, inv.tenant_id, inv.content_type,
               inv.platform_context);
    PyObject* t = r.ptr();
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3) {
      return outcome::failure("Runtime.Unknown", "lamella: the invoke function broke its contract");
    }
    std::string body = bytes_of(PyTuple_GET_ITEM(t, 1));
    std::string kind = bytes_of(PyTuple_GET_ITEM(t, 2));
    if (PyObject_IsTrue(PyTuple_GET_ITEM(t, 0)) == 1) {
      return outcome::success(std::move(body), std::move(kind));
    }
    return outcome::failure_with_body(std::move(kind), std::move(body));
  } catch (py::error_already_set& e) {
    if (e.matches(PyExc_SystemExit)) {
      e.restore();
      PyErr_Print();  // exits the process with the SystemExit's status
    }
    const std::string type = py::str(e.type().attr("__name__"));
    const std::string message = py::str(e.value());
    return outcome::failure(type, message);
  }
}

//------------------------------------------------------------------------------------------------
// Lifecycle hooks and SIGTERM handlers written in Python.

/// Calls `fn(args...)` under the GIL for a lifecycle hook. A Python exception is already logged
/// by lamella's wrapper (lamella/__init__.py); here it becomes the C++ exception the hook registry
/// reports as the hook's failure. SystemExit counts as success: the hook asked the process to end,
/// which it does after the shutdown hooks anyway (and must not do in the middle of FC's /pre-stop).
template <class... Args>
void call_hook(const py::object& fn, Args&&... args) {
  py::gil_scoped_acquire gil;
  try {
    fn(std::forward<Args>(args)...);
  } catch (py::error_already_set& e) {
    if (e.matches(PyExc_SystemExit)) return;
    const std::string type = py::str(e.type().attr("__name__"));
    const std::string message = py::str(e.value());
    throw std::runtime_error(message.empty() ? type : type + ": " + message);
  }
}

/// A Python callable as a C++ hook. The reference is deliberately never released: the registry
/// is static and may be destroyed after the interpreter is finalised, when a decref would crash.
/// Hooks are registered a handful of times per process.
std::function<void()> python_hook(py::object fn) {
  auto* held = new py::object(std::move(fn));  // NOLINT(cppcoreguidelines-owning-memory)
  return [held] { call_hook(*held); };
}

/// SIGTERM handlers installed with Python's `signal.signal()`.
///
/// Python's own delivery cannot work here: CPython runs a Python signal handler on the main
/// thread between two bytecodes, but lamella's main thread waits in C++ for the next invocation
/// without the GIL, so the handler would not run until an invocation arrives (never, at shutdown).
/// Worse, on a push platform signal.signal() replaces the push server's own SIGTERM handling, and
/// the graceful stop (drain, shutdown hooks, exit 0) would be lost. So:
///   - push platforms: the server keeps SIGTERM; the Python handler, as `signal.getsignal()` gives
///     it at the time, runs as the last shutdown hook (after draining, or on FC's /pre-stop) with
///     (SIGTERM, None); its sys.exit() ends nothing early (lamella exits after the hooks).
///   - pull platforms (Lambda with an extension registered, SCF): lamella installs its own C
///     handler, which wakes a watcher thread that calls the Python handler at once with the GIL,
///     as AWS's runtime would; sys.exit(n) there ends the process with n.
/// A handler set later by an invocation (on the main thread: signal.signal() works nowhere else)
/// is picked up after that invocation: one sigaction() query per invocation of the main loop.
class sigterm_bridge {
 public:
  /// Records the push server's SIGTERM handling right after the server started (listen() does,
  /// before the handler module is imported and may call signal.signal()).
  static void remember_server_handler() {
    if (::sigaction(SIGTERM, nullptr, &server_action()) == 0) have_server_action() = true;
  }

  /// Call after the push server (if any) started, i.e. after make_lambda_client().
  explicit sigterm_bridge(bool push) : push_(push) {
    if (push_) {
      // The push server's handler: as recorded when it started (the import that followed may
      // have replaced it), else the current one.
      if (have_server_action()) {
        wanted_ = server_action();
      } else {
        ::sigaction(SIGTERM, nullptr, &wanted_);
      }
      have_wanted_ = true;
      lamella::on_shutdown([] { run_python_handler(/*exit_on_system_exit=*/false); });
    }
    check();
  }

  /// Restores lamella's SIGTERM handling if Python code took SIGTERM. Main loop thread only;
  /// without the GIL.
  void check() {
    struct sigaction current {};
    if (::sigaction(SIGTERM, nullptr, &current) != 0) return;
    if (have_wanted_ && current.sa_handler == wanted_.sa_handler) return;
    if (push_) {
      ::sigaction(SIGTERM, &wanted_, nullptr);
      return;
    }
    if (current.sa_handler == SIG_DFL || current.sa_handler == SIG_IGN ||
        current.sa_handler == left_alone_) {
      return;
    }
    if (!python_handler_set()) {
      left_alone_ = current.sa_handler;  // some C library's handler: not asked again
      return;
    }
    take_over();
  }

 private:
  static struct sigaction& server_action() {
    static struct sigaction action {};
    return action;
  }
  static bool& have_server_action() {
    static bool have = false;
    return have;
  }

  static bool python_handler_set() {
    py::gil_scoped_acquire gil;
    const py::object handler = py::module_::import("signal").attr("getsignal")(SIGTERM);
    return PyCallable_Check(handler.ptr()) != 0;
  }

  /// Runs Python's current SIGTERM handler, if it is a Python callable.
  static void run_python_handler(bool exit_on_system_exit) {
    py::gil_scoped_acquire gil;
    const py::object signal = py::module_::import("signal");
    const py::object handler = signal.attr("getsignal")(SIGTERM);
    if (PyCallable_Check(handler.ptr()) == 0) return;
    try {
      handler(static_cast<int>(SIGTERM), py::none());
    } catch (py::error_already_set& e) {
      if (!e.matches(PyExc_SystemExit)) {
        const std::string what = e.what();
        std::fprintf(stderr, "lamella: the SIGTERM handler raised: %s\n", what.c_str());
        if (exit_on_system_exit) {
          std::fflush(nullptr);
          std::_Exit(1);  // as an exception escaping a signal handler ends AWS's runtime
        }
        throw std::runtime_error("the SIGTERM handler raised: " + what);
      }
      if (!exit_on_system_exit) return;
      const py::object code = e.value().attr("code");
      int status = 0;
      if (PyLong_Check(code.ptr()) != 0) {
        status = code.cast<int>();
      } else if (!code.is_none()) {
        py::print(code, py::arg("file") = py::module_::import("sys").attr("stderr"));
        status = 1;
      }
      py::module_::import("sys").attr("stdout").attr("flush")();
      std::fflush(nullptr);
      std::_Exit(status);
    }
  }

  // Pull platforms: a C handler that only wakes the watcher thread (async-signal-safe).
  static int& pipe_write_end() {
    static int fd = -1;  // NOLINT: written once, before the handler is installed
    return fd;
  }
  static void on_signal(int /*signal*/) {
    const int saved = errno;
    const char byte = 1;
    (void)!::write(pipe_write_end(), &byte, 1);
    errno = saved;
  }

  void take_over() {
    if (pipe_write_end() < 0) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) return;
      pipe_write_end() = fds[1];
      std::thread([read_end = fds[0]] {
        // This thread takes SIGTERM (the loop thread blocks it below), so the handler never
        // interrupts the Runtime API read. It waits in poll(), not read(): ThreadSanitizer runs
        // a signal's handler at once only in calls it knows to block (poll is one), and would
        // otherwise hold the signal until read() returned, which only the handler makes happen.
        sigset_t term;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        ::pthread_sigmask(SIG_UNBLOCK, &term, nullptr);
        char byte = 0;
        for (;;) {
          pollfd ready{read_end, POLLIN, 0};
          if (::poll(&ready, 1, -1) < 0) {
            if (errno == EINTR) continue;
            return;
          }
          const auto n = ::read(read_end, &byte, 1);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) return;
          try {
            run_python_handler(/*exit_on_system_exit=*/true);
          } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): reported above
          }
        }
      }).detach();
    }
    struct sigaction action {};
    action.sa_handler = &on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;  // the Runtime API read in progress just goes on
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGTERM, nullptr, &wanted_);
    have_wanted_ = true;
    // The loop thread (and the threads it starts from now on) leave SIGTERM to the watcher.
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &term, nullptr);
  }

  bool push_;
  bool have_wanted_ = false;
  struct sigaction wanted_ {};  // the handling lamella keeps: the server's, or on_signal
  void (*left_alone_)(int) = nullptr;
};

/// serve(invoke, runtime_api="", max_invocations=None) -> int
/// On a push platform with instance concurrency (lamella/platform.h) it runs that many loops,
/// each on its own thread with its own client; each takes the GIL only to call `invoke`, so
/// handlers overlap wherever they release it (I/O, sleeps, C extensions).
int serve(const py::object& invoke, const std::string& runtime_api,
          std::optional<std::size_t> max_invocations) {
  run_options options;
  options.runtime_api = runtime_api;
  options.language = "python";
  options.max_invocations = max_invocations;
  unsigned loops = 1;
  if (runtime_api.empty()) {
    const auto platform = platform_from_env(process_environment());
    if (platform && is_push(platform->kind)) loops = std::max(1U, platform->concurrency);
  }
  if (loops > 1) options.set_trace_env = false;  // the Python side sets it per invocation
  std::vector<lambda_client> clients;
  for (unsigned i = 0; i < loops; ++i) {
    auto client = make_lambda_client(options);
    if (!client) return 1;
    clients.push_back(std::move(*client));
  }
  const handler h = [&invoke](const invocation& inv) { return call_python(invoke, inv); };
  // The clients exist, so a push platform's server (and its SIGTERM handling) is running.
  bool push = false;
  if (runtime_api.empty()) {
    const auto platform = platform_from_env(process_environment());
    push = platform && is_push(platform->kind);
  }
  std::optional<sigterm_bridge> sigterm;
  {
    py::gil_scoped_release release;  // the bridge takes the GIL itself, when it needs it
    sigterm.emplace(push);
  }
  // The main thread's loop (where signal.signal() can be called) checks after each invocation.
  const handler main_h = [&](const invocation& inv) {
    auto o = call_python(invoke, inv);
    sigterm->check();
    return o;
  };
  std::vector<result<void>> results(loops);
  {
    // The loops wait on the platform without the GIL; call_python() takes it per invocation.
    py::gil_scoped_release release;
    std::vector<std::thread> extra;
    extra.reserve(loops - 1);
    for (unsigned i = 1; i < loops; ++i) {
      extra.emplace_back([&, i] { results[i] = run_loop(clients[i], h, options); });
    }
    results[0] = run_loop(clients[0], main_h, options);
    for (auto& t : extra) t.join();
  }
  for (const auto& r : results) {
    if (!r && r.error() != make_error_code(errc::shutting_down)) {
      std::fprintf(stderr, "lamella: exiting: %s (%s)\n", r.error().message().c_str(),
                   runtime_api.empty() ? "the platform in the environment" : runtime_api.c_str());
      return 1;
    }
  }
  return 0;
}

/// on_shutdown(fn) / on_pre_freeze(fn): registers `fn()` in lamella's C++ hook registry.
void register_shutdown(py::object fn) { lamella::on_shutdown(python_hook(std::move(fn))); }
void register_pre_freeze(py::object fn) { lamella::on_pre_freeze(python_hook(std::move(fn))); }

/// report_init_error(error_type, body, runtime_api="") -> bool
bool report_init_error(const std::string& error_type, const std::string& body,
                       const std::string& runtime_api) {
  py::gil_scoped_release release;
  run_options options;
  options.runtime_api = runtime_api;
  options.language = "python";
  auto client = make_lambda_client(options);
  if (!client) return false;
  const auto failure = outcome::failure_with_body(error_type, body);
  const auto posted = with_retries(options.retry, [&] { return client->post_init_error(failure); });
  return posted && *posted == post_status::accepted;
}

/// listen(runtime_api="") -> None
/// On a push platform (no runtime_api given), starts the process's server now, so that it
/// listens while the handler loads (Fn waits only 5 s for its socket); elsewhere nothing.
void listen(const std::string& runtime_api) {
  if (!runtime_api.empty()) return;
  const auto platform = platform_from_env(process_environment());
  if (!platform || !is_push(platform->kind)) return;
  py::gil_scoped_release release;
  run_options options;
  options.language = "python";
  if (make_lambda_client(options)) {  // starts the server; serve() gets the same one
    sigterm_bridge::remember_server_handler();
  }
}

}  // namespace
}  // namespace lamella::python

PYBIND11_MODULE(_lamella, m) {
  m.doc() = "lamella's C++ core: the Lambda Runtime API loop for Python handlers";
  m.attr("__version__") = LAMELLA_VERSION;
  m.def("serve", &lamella::python::serve, py::arg("invoke"), py::arg("runtime_api") = "",
        py::arg("max_invocations") = py::none(),
        "Serves invocations until the platform goes away (or max_invocations): next, "
        "invoke(...) under the GIL, then response or error. Returns the exit status (0, or 1 "
        "when the Runtime API was lost).");
  m.def("listen", &lamella::python::listen, py::arg("runtime_api") = "",
        "On a push platform, starts serving the platform now (before the handler loads); "
        "invocations wait until serve() runs.");
  m.def("on_shutdown", &lamella::python::register_shutdown, py::arg("fn"),
        "Registers fn() to run once when the environment shuts down (push platforms: SIGTERM "
        "after draining, FC's /pre-stop), with the GIL, on the server's hook thread. An "
        "exception is the hook's failure.");
  m.def("on_pre_freeze", &lamella::python::register_pre_freeze, py::arg("fn"),
        "Registers fn() to run on each FC /pre-freeze, with the GIL, on the server's hook "
        "thread. An exception is the hook's failure.");
  m.def("report_init_error", &lamella::python::report_init_error, py::arg("error_type"),
        py::arg("body"), py::arg("runtime_api") = "",
        "Posts an init failure (a complete error JSON body) to /runtime/init/error with the "
        "error type header. Returns True when the platform accepted it.");
}
