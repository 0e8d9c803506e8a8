// The same hello handler as a shared library for the generic lamella `bootstrap`
// (_HANDLER=libhello.so:hello). It needs only the C ABI header: no lamella library is linked.
#include "lamella/c_handler.h"

#include <cstdio>
#include <string>

namespace {
int invocation_count = 0;  // warm state
}  // namespace

extern "C" {

__attribute__((visibility("default"))) extern const int lamella_abi_version = LAMELLA_C_ABI_VERSION;

/// Answers {"message":"Hello from a shared library!","count":N,"bytes":<event size>}.
__attribute__((visibility("default"))) int hello(const lamella_invocation* inv,
                                                 lamella_response* response) {
  ++invocation_count;
  const std::string body = "{\"message\":\"Hello from a shared library!\",\"count\":" +
                           std::to_string(invocation_count) +
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
