// The libcurl transport, built when LAMELLA_WITH_CURL is ON (target lamella::runtime_api_curl).
#pragma once

#include "lamella/transport.h"

namespace lamella {

/// A transport over one reused libcurl easy handle (keep-alive, TCP_NODELAY, no proxy, no total
/// timeout). Same contract as make_beast_transport(); links libcurl into the program, which costs
/// start-up time (see docs/performance.md). It has no chunked requests: begin_chunked() and so
/// lambda_client::stream_response() answer errc::not_supported (libcurl's easy interface pulls
/// the body through a callback, which does not fit a caller that pushes chunks; use the Beast
/// transport for response streaming).
std::unique_ptr<transport> make_curl_transport(std::string_view host_port,
                                               transport_options options);

}  // namespace lamella
