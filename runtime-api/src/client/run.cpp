#include "client/functiongraph_transport.h"
#include "client/scf_transport.h"
#include "common/lifecycle.h"
#include "server/push_server.h"

#include "lamella/runtime.h"

#include <cxxabi.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

namespace lamella {
namespace {

/// The exception's dynamic type as written in C++ ("std::runtime_error"): the nearest thing to
/// the class name the Python and Node runtimes use as errorType.
std::string demangled_type_name(const std::exception& e) {
  const char* mangled = typeid(e).name();
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

/// Runs the handler; every exception becomes a function error (exceptions never unwind
/// through the loop).
outcome call_handler(const handler& h, const invocation& inv) {
  try {
    return h(inv);
  } catch (const std::exception& e) {
    return outcome::failure(demangled_type_name(e), e.what());
  } catch (...) {
    return outcome::failure("Unknown", "the handler threw a value that is not a std::exception");
  }
}

/// Keeps `_X_AMZN_TRACE_ID` equal to the current invocation's trace id. Why not setenv():
/// glibc never frees a value setenv() replaces, so a new trace id per invocation would grow the
/// heap without bound (~150 bytes each). This owns one buffer, hands it to putenv() and rewrites
/// it in place; it grows (and is handed over again) only for a longer id. Not thread-safe, like
/// the environment itself.
class trace_env {
 public:
  trace_env() = default;
  trace_env(const trace_env&) = delete;
  trace_env& operator=(const trace_env&) = delete;
  ~trace_env() {
    if (owns_entry()) ::unsetenv(trace_variable);
  }

  void set(std::string_view value) {
    if (value.empty()) {
      if (owns_entry() || std::getenv(trace_variable) != nullptr) ::unsetenv(trace_variable);
      return;
    }
    const std::size_t prefix = std::char_traits<char>::length(trace_variable) + 1;  // "NAME="
    const std::size_t need = prefix + value.size() + 1;
    if (need > capacity_) {
      auto fresh = std::make_unique<char[]>(std::max<std::size_t>(need, 256));
      std::memcpy(fresh.get(), trace_variable, prefix - 1);
      fresh[prefix - 1] = '=';
      write_value(fresh.get() + prefix, value);
      ::putenv(fresh.get());  // the environment now points at `fresh`; the old buffer is free
      buffer_ = std::move(fresh);
      capacity_ = std::max<std::size_t>(need, 256);
      return;
    }
    write_value(buffer_.get() + prefix, value);
    // The handler may have set or unset the variable itself: hand the buffer over again then.
    if (!owns_entry()) ::putenv(buffer_.get());
  }

 private:
  static void write_value(char* out, std::string_view value) {
    std::memcpy(out, value.data(), value.size());
    out[value.size()] = '\0';
  }
  [[nodiscard]] bool owns_entry() const {
    const char* current = std::getenv(trace_variable);
    return buffer_ && current == buffer_.get() + std::char_traits<char>::length(trace_variable) + 1;
  }

  static constexpr const char* trace_variable = "_X_AMZN_TRACE_ID";
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
};

std::string endpoint_of(const run_options& options) {
  if (!options.runtime_api.empty()) return options.runtime_api;
  const char* env = std::getenv("AWS_LAMBDA_RUNTIME_API");
  return env != nullptr ? env : "";
}

/// The platform from the environment when the options name no endpoint; nullopt otherwise.
std::optional<result<platform_settings>> platform_of(const run_options& options) {
  if (!options.runtime_api.empty()) return std::nullopt;
  return platform_from_env(process_environment());
}

bool is_push_platform(const std::optional<result<platform_settings>>& platform) {
  return platform && *platform && is_push((**platform).kind);
}

/// run() on a push platform, the handler called by the server's I/O threads, up to `limit` at
/// once, until the server stops (SIGTERM); then 0 once it has drained and run the shutdown hooks.
int serve_directly(push::server& server, const handler& h, const run_options& options,
                   unsigned limit) {
  // One environment: the trace id variable only when invocations never overlap. They run one
  // after another on different threads, each taken under the server's lock, which orders them.
  auto trace = std::make_shared<trace_env>();
  const bool set_trace = options.set_trace_env && limit == 1;
  server.serve_directly(
      [&h, trace, set_trace](const invocation& inv) {
        if (set_trace) trace->set(inv.trace_id);
        return call_handler(h, inv);
      },
      limit);
  server.wait();
  // The server has stopped (every answer written or abandoned, the shutdown hooks run); handlers
  // still busy after a moment outlived the grace period: the process ends without them, as the
  // platform would end it.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (server.handlers_running() != 0) {
    if (std::chrono::steady_clock::now() >= give_up) {
      std::fprintf(stderr, "lamella: %zu handler(s) still running after the grace period\n",
                   server.handlers_running());
      detail::exit_now(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return 0;
}

/// run() on a push platform with max_invocations: `concurrency` loops over in-process transports
/// until the server stops (SIGTERM), then 0 once it has drained and run the shutdown hooks.
int run_push(const handler& h, const run_options& options, const platform_settings& settings) {
  auto server = push::server_for_process(/*exit_process_when_stopped=*/false);
  if (!server) {
    std::fprintf(stderr, "lamella: cannot start the %s platform server\n",
                 std::string(to_string(settings.kind)).c_str());
    return 1;
  }
  // The server may have been started earlier by make_lambda_client(): this caller exits itself.
  (*server)->set_exit_process_when_stopped(false);
  const unsigned loops = std::max(1U, settings.concurrency);
  if (!options.max_invocations) return serve_directly(**server, h, options, loops);
  run_options loop_options = options;
  if (loops > 1) loop_options.set_trace_env = false;  // one environment, several invocations
  struct shared_state {
    std::mutex mutex;
    std::condition_variable cv;
    unsigned loops_done = 0;
    bool server_stopped = false;
  } state;
  std::vector<result<void>> results(loops);
  std::vector<std::thread> threads;
  threads.reserve(loops + 1);
  for (unsigned i = 0; i < loops; ++i) {
    threads.emplace_back([&, i] {
      lambda_client client((*server)->make_transport(), options.language);
      auto r = run_loop(client, h, loop_options);
      const std::lock_guard lock(state.mutex);
      results[i] = r;
      ++state.loops_done;
      state.cv.notify_all();
    });
  }
  threads.emplace_back([&] {
    (*server)->wait();
    const std::lock_guard lock(state.mutex);
    state.server_stopped = true;
    state.cv.notify_all();
  });
  {
    std::unique_lock lock(state.mutex);
    state.cv.wait(lock, [&] { return state.loops_done == loops || state.server_stopped; });
    if (state.loops_done < loops) {
      // The server has stopped (every answer written or abandoned, the shutdown hooks run); loops
      // still busy after a moment are handlers that outlived the grace period: the process ends
      // without them, as the platform would end it.
      if (!state.cv.wait_for(lock, std::chrono::seconds(1),
                             [&] { return state.loops_done == loops; })) {
        std::fprintf(stderr, "lamella: %u handler(s) still running after the grace period\n",
                     loops - state.loops_done);
        detail::exit_now(0);
      }
    }
  }
  // Every loop has ended: the server stopped, or each loop reached max_invocations.
  (*server)->request_stop();
  for (auto& t : threads) t.join();
  int status = 0;
  for (const auto& r : results) {
    if (!r && r.error() != make_error_code(errc::shutting_down)) {
      std::fprintf(stderr, "lamella: exiting: %s\n", r.error().message().c_str());
      status = 1;
    }
  }
  return status;
}

}  // namespace

result<lambda_client> make_lambda_client(const run_options& options) {
  const auto platform = platform_of(options);
  if (is_push_platform(platform)) {
    auto server = push::server_for_process(/*exit_process_when_stopped=*/true);
    if (!server) return server.error();
    return lambda_client((*server)->make_transport(), options.language);
  }
  const transport_factory& make =
      options.make_transport ? options.make_transport : transport_factory(make_beast_transport);
  if (platform && *platform && (**platform).kind == platform_kind::scf) {
    // The chosen transport carries SCF's requests; the SCF transport translates to them.
    const std::string& scf = (**platform).runtime_api;
    return lambda_client(
        make_scf_transport(scf, transport_options{}, make(scf, transport_options{})),
        options.language);
  }
  if (platform && *platform && (**platform).kind == platform_kind::functiongraph) {
    // Likewise for FunctionGraph's custom-runtime API (RUNTIME_API_ADDR).
    const std::string& api = (**platform).runtime_api;
    return lambda_client(
        make_functiongraph_transport(api, transport_options{}, make(api, transport_options{})),
        options.language);
  }
  const std::string endpoint = endpoint_of(options);
  if (endpoint.empty()) {
    std::fprintf(stderr,
                 "lamella: no platform recognised (AWS_LAMBDA_RUNTIME_API, SCF_RUNTIME_API, "
                 "RUNTIME_API_ADDR, FC_CUSTOM_LISTEN_PORT, PORT or LAMELLA_PLATFORM); nothing "
                 "to serve\n");
    return errc::invalid_configuration;
  }
  return lambda_client(make(endpoint, transport_options{}), options.language);
}

result<void> run_loop(lambda_client& client, const handler& h, const run_options& options) {
  trace_env trace;
  for (std::size_t served = 0; !options.max_invocations || served < *options.max_invocations;
       ++served) {
    auto inv = with_retries(options.retry, [&] { return client.next(); });
    if (!inv) return inv.error();
    if (options.set_trace_env) trace.set(inv->trace_id);
    const outcome o = call_handler(h, *inv);
    auto posted = with_retries(options.retry, [&] {
      return o.is_success() ? client.post_response(inv->request_id, o)
                            : client.post_error(inv->request_id, o);
    });
    if (!posted) return posted.error();
  }
  return {};
}

int run(const handler& h, const run_options& options) {
  const auto platform = platform_of(options);
  if (is_push_platform(platform)) return run_push(h, options, **platform);
  auto client = make_lambda_client(options);
  if (!client) return 1;
  auto r = run_loop(*client, h, options);
  if (!r) {
    // SCF's and FunctionGraph's address is the platform's, not AWS_LAMBDA_RUNTIME_API.
    const bool translated = platform && *platform && !(**platform).runtime_api.empty() &&
                            (**platform).kind != platform_kind::lambda;
    std::fprintf(stderr, "lamella: exiting: %s (%s)\n", r.error().message().c_str(),
                 translated ? (**platform).runtime_api.c_str() : endpoint_of(options).c_str());
    return 1;
  }
  return 0;
}

int report_init_error(std::string_view error_type, std::string_view error_message,
                      const run_options& options) {
  std::fprintf(stderr, "lamella: init failed: %.*s: %.*s\n", static_cast<int>(error_type.size()),
               error_type.data(), static_cast<int>(error_message.size()), error_message.data());
  auto client = make_lambda_client(options);
  if (!client) return 1;
  const auto failure = outcome::failure(error_type, error_message);
  (void)with_retries(options.retry, [&] { return client->post_init_error(failure); });
  return 1;
}

}  // namespace lamella
