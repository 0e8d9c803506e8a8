// The libcurl transport, built when LAMELLA_WITH_CURL is ON (target lamella::runtime_api_curl).
#pragma once

#include "lamella/transport.h"

namespace lamella {

/// A transport over one reused libcurl easy handle (keep-alive, TCP_NODELAY, no proxy, no total
/// timeout). Same contract as make_beast_transport(); links libcurl into the program, which costs
/// start-up time (see docs/performance.md).
std::unique_ptr<transport> make_curl_transport(std::string_view host_port,
                                               transport_options options);

}  // namespace lamella
