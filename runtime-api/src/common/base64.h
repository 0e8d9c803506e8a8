// Standard base64 (RFC 4648), shared by the client (streamed error trailers) and the emulator.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lamella::detail {

/// Standard base64 (RFC 4648, with padding) of `bytes`.
std::string base64_encode(std::string_view bytes);
/// Decodes standard base64; padding is optional. nullopt for any character outside the alphabet,
/// misplaced padding or an impossible length.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace lamella::detail
