#include "lamella/outcome.h"

#include <boost/json.hpp>

namespace lamella {

outcome outcome::success(std::string payload, std::string content_type) {
  return {true, std::move(payload), std::move(content_type), {}};
}

outcome outcome::failure(std::string_view error_type, std::string_view error_message,
                         const std::vector<std::string>& stack_trace) {
  boost::json::array trace;
  trace.reserve(stack_trace.size());
  for (const auto& frame : stack_trace) trace.emplace_back(frame);
  boost::json::object body;
  body["errorMessage"] = error_message;
  body["errorType"] = error_type;
  body["stackTrace"] = std::move(trace);
  return {false, boost::json::serialize(body), "application/json", std::string(error_type)};
}

outcome outcome::failure_with_body(std::string error_type, std::string json_body) {
  return {false, std::move(json_body), "application/json", std::move(error_type)};
}

}  // namespace lamella
