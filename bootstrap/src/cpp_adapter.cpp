#include "cpp_adapter.h"

#include "lamella/c_handler.h"

#include <dlfcn.h>

#include <chrono>
#include <optional>

namespace lamella {
namespace {

/// The bootstrap's side of lamella_response: collects what the C handler sets.
struct response_slot {
  lamella_response abi{};
  std::optional<outcome> result;
  std::string failure_message;  ///< the raw message of a failure, for init errors
};

void set_success(lamella_response* self, const char* data, size_t size, const char* content_type) {
  auto* slot = static_cast<response_slot*>(self->impl);
  slot->result =
      outcome::success(std::string(data == nullptr ? "" : data, data == nullptr ? 0 : size),
                       content_type == nullptr ? "application/json" : content_type);
}

void set_failure(lamella_response* self, const char* error_type, const char* error_message) {
  auto* slot = static_cast<response_slot*>(self->impl);
  slot->failure_message = error_message == nullptr ? "" : error_message;
  slot->result = outcome::failure(error_type == nullptr ? "Runtime.HandlerError" : error_type,
                                  error_message == nullptr ? "" : error_message);
}

response_slot make_slot() {
  response_slot slot;
  slot.abi.set_success = &set_success;
  slot.abi.set_failure = &set_failure;
  return slot;
}

std::string dl_error() {
  const char* e = ::dlerror();
  return e == nullptr ? "unknown dynamic loader error" : e;
}

}  // namespace

result<so_handler_spec> parse_so_handler(std::string_view handler_string) {
  const auto colon = handler_string.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == handler_string.size()) {
    return errc::malformed_handler;
  }
  return so_handler_spec{std::string(handler_string.substr(0, colon)),
                         std::string(handler_string.substr(colon + 1))};
}

lamella::handler load_so_handler(std::string_view handler_string,
                                 const std::filesystem::path& task_root, load_error& error) {
  const auto spec = parse_so_handler(handler_string);
  if (!spec) {
    error = {"Runtime.MalformedHandlerName",
             "Bad handler '" + std::string(handler_string) + "': expected 'library.so:symbol'"};
    return {};
  }
  std::filesystem::path path(spec->library);
  if (path.is_relative()) path = task_root / path;
  // RTLD_NOW: a library with unresolved symbols fails here, at init, not mid-invocation.
  void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    error = {"Runtime.ImportModuleError",
             "Unable to load library '" + spec->library + "': " + dl_error()};
    return {};
  }
  if (const auto* abi = static_cast<const int*>(::dlsym(lib, "lamella_abi_version"));
      abi != nullptr && *abi != LAMELLA_C_ABI_VERSION) {
    error = {"Runtime.ImportModuleError",
             "Library '" + spec->library + "' was built for lamella C ABI " + std::to_string(*abi) +
                 ", this bootstrap speaks " + std::to_string(LAMELLA_C_ABI_VERSION)};
    return {};
  }
  auto* fn = reinterpret_cast<lamella_handler_fn>(::dlsym(lib, spec->symbol.c_str()));
  if (fn == nullptr) {
    error = {"Runtime.HandlerNotFound",
             "Handler '" + spec->symbol + "' missing in library '" + spec->library + "'"};
    return {};
  }
  if (auto* init = reinterpret_cast<lamella_init_fn>(::dlsym(lib, "lamella_init"))) {
    auto slot = make_slot();
    slot.abi.impl = &slot;
    if (init(&slot.abi) != 0) {
      if (slot.result && !slot.result->is_success()) {
        error = {slot.result->error_type(), slot.failure_message};
      } else {
        error = {"Runtime.InitError", "lamella_init in '" + spec->library + "' failed"};
      }
      return {};
    }
  }
  return [fn](const invocation& inv) -> outcome {
    const lamella_invocation c_inv{
        inv.payload.c_str(),
        inv.payload.size(),
        inv.request_id.c_str(),
        std::chrono::duration_cast<std::chrono::milliseconds>(inv.deadline.time_since_epoch())
            .count(),
        inv.function_arn.c_str(),
        inv.trace_id.c_str(),
        inv.client_context.c_str(),
        inv.cognito_identity.c_str(),
        inv.tenant_id.c_str(),
        inv.content_type.c_str(),
    };
    auto slot = make_slot();
    slot.abi.impl = &slot;
    const int rc = fn(&c_inv, &slot.abi);
    if (slot.result) return std::move(*slot.result);
    if (rc != 0) {
      return outcome::failure("Runtime.HandlerError",
                              "handler returned " + std::to_string(rc) + " without a result");
    }
    return outcome::failure("Runtime.NoResult", "handler returned without setting a result");
  };
}

}  // namespace lamella
