#include "lamella/error.h"

#include <string>

namespace lamella {
namespace {

class category_impl final : public boost::system::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "lamella"; }

  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::runtime_api_unreachable:
        return "the Runtime API cannot be reached";
      case errc::bad_runtime_response:
        return "the Runtime API sent a response the protocol does not allow";
      case errc::runtime_api_rejected:
        return "the Runtime API refused the request";
      case errc::payload_too_large:
        return "the payload exceeds the platform's limit";
      case errc::invalid_configuration:
        return "invalid configuration";
      case errc::handler_not_found:
        return "the handler cannot be found";
      case errc::malformed_handler:
        return "the handler name is malformed";
      case errc::not_supported:
        return "the transport does not support this operation";
      case errc::stream_closed:
        return "the response stream is already finished";
      case errc::shutting_down:
        return "the platform is shutting this environment down";
    }
    return "unknown lamella error";
  }
};

}  // namespace

const boost::system::error_category& lamella_category() noexcept {
  static const category_impl instance;
  return instance;
}

boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), lamella_category()};
}

}  // namespace lamella
