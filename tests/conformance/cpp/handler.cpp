// The C++ conformance handler (a library for the generic bootstrap, _HANDLER=
// libconformance.so:handle): one action per case of tests/conformance/cases.json.
#include "lamella/c_handler.h"

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace {

namespace json = boost::json;

void reply(lamella_response* response, const json::value& v) {
  const std::string body = json::serialize(v);
  response->set_success(response, body.data(), body.size(), "application/json");
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) extern const int lamella_abi_version = LAMELLA_C_ABI_VERSION;

/// Dispatches on event["action"] (see cases.json).
__attribute__((visibility("default"))) int handle(const lamella_invocation* inv,
                                                  lamella_response* response) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(std::string_view(inv->payload, inv->payload_size), ec);
  if (ec || !parsed.is_object()) {
    response->set_failure(response, "InvalidInput", "event is not a JSON object");
    return 0;
  }
  const json::object& event = parsed.get_object();
  if (const auto* path = event.if_contains("rawPath")) {
    // An API Gateway HTTP event (an HTTP trigger): answered as an HTTP response.
    const auto& method = event.at("requestContext").at("http").at("method");
    reply(response,
          json::object{
              {"statusCode", 201},
              {"headers", {{"content-type", "text/plain"}, {"x-conformance-method", method}}},
              {"body", std::string(path->as_string()) + "?" +
                           std::string(event.at("rawQueryString").as_string())}});
    return 0;
  }
  const std::string action(event.at("action").as_string());
  if (action == "echo") {
    reply(response, event.at("value"));
  } else if (action == "greet") {
    reply(response,
          json::object{{"message", "Hello, " + std::string(event.at("name").as_string()) + "!"}});
  } else if (action == "null") {
    reply(response, nullptr);
  } else if (action == "request_id") {
    reply(response, json::object{{"request_id", inv->request_id}});
  } else if (action == "remaining") {
    reply(response, json::object{{"positive", inv->deadline_ms - now_ms() > 0}});
  } else if (action == "repeat") {
    reply(response, json::string(static_cast<std::size_t>(event.at("count").to_number<int>()),
                                 event.at("char").as_string()[0]));
  } else if (action == "error") {
    const std::string message(event.at("message").as_string());
    response->set_failure(response, "InvalidInput", message.c_str());
  } else if (action == "log") {
    std::printf("%s\n", std::string(event.at("line").as_string()).c_str());
    std::fflush(stdout);
    reply(response, json::object{{"logged", true}});
  } else {
    response->set_failure(response, "InvalidInput", ("unknown action " + action).c_str());
  }
  return 0;
}
}
