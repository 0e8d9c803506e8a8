#include "client/scf_transport.h"

namespace lamella::detail {

std::unique_ptr<transport> make_scf_transport(const platform_settings& /*settings*/) {
  return nullptr;  // TODO(scf): the SCF transport replaces this stub.
}

}  // namespace lamella::detail
