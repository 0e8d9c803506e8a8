#include "lamella/transport.h"

#include <algorithm>
#include <cctype>

namespace lamella {

std::string_view http_response::header(std::string_view name) const noexcept {
  const auto same = [name](const std::pair<std::string, std::string>& h) {
    return h.first.size() == name.size() &&
           std::equal(h.first.begin(), h.first.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  };
  const auto it = std::find_if(headers.begin(), headers.end(), same);
  return it == headers.end() ? std::string_view{} : std::string_view{it->second};
}

}  // namespace lamella
