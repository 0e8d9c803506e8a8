// The Tencent SCF custom-runtime transport (a pull platform like Lambda, with its own paths).
#pragma once

#include "lamella/platform.h"
#include "lamella/transport.h"

#include <memory>

namespace lamella::detail {

/// A transport that speaks the Lambda Runtime API to lambda_client and SCF's API
/// (`settings.runtime_api`) to the platform. Returns nullptr while SCF is not implemented.
/// TODO(scf): implemented on its own branch; make_lambda_client() already calls it.
std::unique_ptr<transport> make_scf_transport(const platform_settings& settings);

}  // namespace lamella::detail
