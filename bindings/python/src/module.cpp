// lamella._lamella: the C++ core as a Python extension module. The Runtime API loop stays in
// C++ (lamella::run_loop over lamella::lambda_client); Python is called, with the GIL held, only
// to turn one event into one result. Used both by `python -m lamella` and, inside the embedded
// interpreter, by the generic bootstrap (through liblamella_python.so).
#include "lamella/lambda_client.h"
#include "lamella/platform.h"
#include "lamella/runtime.h"
#include "lamella/version.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
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
  std::vector<result<void>> results(loops);
  {
    // The loops wait on the platform without the GIL; call_python() takes it per invocation.
    py::gil_scoped_release release;
    std::vector<std::thread> extra;
    extra.reserve(loops - 1);
    for (unsigned i = 1; i < loops; ++i) {
      extra.emplace_back([&, i] { results[i] = run_loop(clients[i], h, options); });
    }
    results[0] = run_loop(clients[0], h, options);
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
  (void)make_lambda_client(options);  // starts the server; serve() gets the same one
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
  m.def("report_init_error", &lamella::python::report_init_error, py::arg("error_type"),
        py::arg("body"), py::arg("runtime_api") = "",
        "Posts an init failure (a complete error JSON body) to /runtime/init/error with the "
        "error type header. Returns True when the platform accepted it.");
}
