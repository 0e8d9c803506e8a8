// The same hello handler as a shared library for the generic lamella `bootstrap`
// (_HANDLER=libhello.so:hello). It needs only the C ABI header: no lamella library is linked.
#include "lamella/c_handler.h"

#include <atomic>
#include <cstdio>
#include <string>

namespace {
// Warm state. Atomic: on a push platform with LAMELLA_CONCURRENCY above 1 the bootstrap calls the
// handler from several threads at once (docs/cpp.md).
std::atomic<int> invocation_count{0};
}  // namespace

extern "C" {

__attribute__((visibility("default"))) extern const int lamella_abi_version = LAMELLA_C_ABI_VERSION;

/// Answers {"message":"Hello from a shared library!","count":N,"bytes":<event size>}.
__attribute__((visibility("default"))) int hello(const lamella_invocation* inv,
                                                 lamella_response* response) {
  const int count = ++invocation_count;
  const std::string body =
      "{\"message\":\"Hello from a shared library!\",\"count\":" + std::to_string(count) +
      ",\"bytes\":" + std::to_string(inv->payload_size) + "}";
  response->set_success(response, body.data(), body.size(), "application/json");
  return 0;
}

/// Always fails with a function error of type "HelloError".
__attribute__((visibility("default"))) int fail(const lamella_invocation* /*inv*/,
                                                lamella_response* response) {
  response->set_failure(response, "HelloError", "this handler always fails");
  return 0;
}
}
