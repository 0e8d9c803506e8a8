// cpp-hello: a C++ function built as its own Lambda `bootstrap` by linking lamella::runtime_api.
//   _HANDLER=hello (default): {"message":"Hello, <name>!","count":N}; N counts the invocations this
//                              warm process has served.
//   _HANDLER=echo:            returns the event unchanged.
//   _HANDLER=fail:            throws std::runtime_error, which lamella reports as a function error.
//   _HANDLER=noop:            {"message":"Hello, bench!"} without reading the event: the same work
//                              as the benchmark's floor client, so the benchmark can isolate
//                              lamella's own per-invocation cost.
#include "lamella/runtime.h"

#include <boost/json.hpp>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#ifdef LAMELLA_SAMPLE_CURL
#include "lamella/curl_transport.h"
#endif

namespace {

// Warm state: lives as long as the process, across invocations. Atomic: on a push platform with
// LAMELLA_CONCURRENCY above 1, invocations run on several threads at once (docs/cpp.md).
std::atomic<std::size_t> invocation_count{0};

lamella::outcome hello(const lamella::invocation& inv) {
  const std::size_t count = ++invocation_count;
  // The event's tree lives only in this call: a stack arena spares the heap for small events.
  unsigned char arena[4096];
  boost::json::monotonic_resource scratch(arena, sizeof arena);
  boost::system::error_code ec;
  const auto event = boost::json::parse(inv.payload, ec, &scratch);
  std::string name = "world";
  if (!ec && event.is_object()) {
    if (const auto* n = event.as_object().if_contains("name"); n != nullptr && n->is_string()) {
      name = n->as_string();
    }
  }
  boost::json::object body;
  body["message"] = "Hello, " + name + "!";
  body["count"] = count;
  return lamella::outcome::success(boost::json::serialize(body));
}

lamella::outcome echo(const lamella::invocation& inv) {
  return lamella::outcome::success(inv.payload, inv.content_type);
}

lamella::outcome noop(const lamella::invocation& /*inv*/) {
  return lamella::outcome::success(R"({"message":"Hello, bench!"})");
}

lamella::outcome fail(const lamella::invocation& /*inv*/) {
  throw std::runtime_error("something went wrong in the handler");
}

}  // namespace

int main() {
  lamella::run_options options;
#ifdef LAMELLA_SAMPLE_CURL
  options.make_transport = lamella::make_curl_transport;
#endif
  const char* env = std::getenv("_HANDLER");
  const std::string_view name = env == nullptr ? "" : env;
  if (name.empty() || name == "hello") return lamella::run(hello, options);
  if (name == "echo") return lamella::run(echo, options);
  if (name == "fail") return lamella::run(fail, options);
  if (name == "noop") return lamella::run(noop, options);
  return lamella::report_init_error(
      "Runtime.HandlerNotFound",
      "cpp-hello has no handler '" + std::string(name) + "' (choose hello, echo, fail or noop)",
      options);
}
