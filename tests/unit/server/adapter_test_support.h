// What the adapter unit tests (tests/unit/server/*_adapter_test.cpp) share: reading a reply's
// headers and building a request's header list.
#pragma once

#include "server/http_event.h"
#include "server/push_adapter.h"

#include <string>
#include <string_view>

namespace lamella::push::test_support {

/// The value of the reply's header `name` (case-insensitive), or "<absent>" when it has none, so
/// an expectation can tell a missing header from an empty one.
inline std::string header(const reply& r, std::string_view name) {
  return std::string(detail::find_header(r.headers, name).value_or("<absent>"));
}

/// `headers` with `more` appended (a platform's usual headers plus the ones a test adds).
inline header_list with(header_list headers, header_list more) {
  for (auto& h : more) headers.push_back(std::move(h));
  return headers;
}

}  // namespace lamella::push::test_support
