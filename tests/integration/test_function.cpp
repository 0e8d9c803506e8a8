// The function the integration tests run: one handler whose behaviour the event picks, so each
// test can make the real bootstrap misbehave in a chosen way.
//   {"action":"echo"}                 -> the event back
//   {"action":"count"}                -> {"count":N,"pid":P} (warm state)
//   {"action":"throw"}                -> throws std::runtime_error("boom")
//   {"action":"fail"}                 -> returns a failure of type "InvalidInput"
//   {"action":"crash"}                -> std::abort()
//   {"action":"exit","code":N}        -> std::exit(N)
//   {"action":"sleep","ms":N}         -> sleeps, then {"slept":N}
//   {"action":"big","bytes":N}        -> N bytes of 'x' as application/octet-stream
//   {"action":"context"}              -> the invocation's fields and selected variables
//   {"action":"log","text":"..."}     -> writes the text to stdout, then {"logged":true}
// At init, LAMELLA_TEST_INIT=fail reports an init error, =exit exits 3 without a word.
#include "lamella/runtime.h"

#include <boost/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#ifdef LAMELLA_TEST_CURL
#include "lamella/curl_transport.h"
#endif

namespace {

int count = 0;  // warm state

boost::json::value env_value(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return nullptr;
  return boost::json::string(v);
}

lamella::outcome handle(const lamella::invocation& inv) {
  ++count;
  boost::system::error_code ec;
  const auto event = boost::json::parse(inv.payload, ec);
  if (ec || !event.is_object()) return lamella::outcome::failure("InvalidEvent", "not an object");
  const auto& obj = event.as_object();
  const auto* action_value = obj.if_contains("action");
  const std::string action =
      action_value != nullptr && action_value->is_string() ? action_value->as_string().c_str() : "";
  const auto number = [&](const char* key) -> std::int64_t {
    const auto* v = obj.if_contains(key);
    return v != nullptr && v->is_int64() ? v->as_int64() : 0;
  };
  if (action == "echo") return lamella::outcome::success(inv.payload, inv.content_type);
  if (action == "count") {
    return lamella::outcome::success(
        boost::json::serialize(boost::json::object{{"count", count}, {"pid", ::getpid()}}));
  }
  if (action == "throw") throw std::runtime_error("boom");
  if (action == "fail") return lamella::outcome::failure("InvalidInput", "the input was refused");
  if (action == "crash") std::abort();
  if (action == "exit") std::exit(static_cast<int>(number("code")));
  if (action == "sleep") {
    std::this_thread::sleep_for(std::chrono::milliseconds(number("ms")));
    return lamella::outcome::success(
        boost::json::serialize(boost::json::object{{"slept", number("ms")}}));
  }
  if (action == "big") {
    return lamella::outcome::success(std::string(static_cast<std::size_t>(number("bytes")), 'x'),
                                     "application/octet-stream");
  }
  if (action == "log") {
    const auto* text = obj.if_contains("text");
    std::printf("%s\n", text != nullptr && text->is_string() ? text->as_string().c_str() : "");
    std::fflush(stdout);
    return lamella::outcome::success(R"({"logged":true})");
  }
  if (action == "context") {
    boost::json::object out;
    out["request_id"] = inv.request_id;
    out["function_arn"] = inv.function_arn;
    out["trace_id"] = inv.trace_id;
    out["client_context"] = inv.client_context;
    out["tenant_id"] = inv.tenant_id;
    out["remaining_ms"] = inv.remaining_time().count();
    out["env_trace_id"] = env_value("_X_AMZN_TRACE_ID");
    out["function_name"] = env_value("AWS_LAMBDA_FUNCTION_NAME");
    out["memory_size"] = env_value("AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
    out["task_root"] = env_value("LAMBDA_TASK_ROOT");
    out["handler"] = env_value("_HANDLER");
    out["home"] = env_value("HOME");
    out["custom"] = env_value("LAMELLA_TEST_CUSTOM");
    out["cwd"] = std::filesystem::current_path().string();
    return lamella::outcome::success(boost::json::serialize(out));
  }
  return lamella::outcome::failure("UnknownAction", "unknown action '" + action + "'");
}

}  // namespace

int main() {
  lamella::run_options options;
#ifdef LAMELLA_TEST_CURL
  options.make_transport = lamella::make_curl_transport;
#endif
  const char* init = std::getenv("LAMELLA_TEST_INIT");
  if (init != nullptr && std::string(init) == "fail") {
    return lamella::report_init_error("Runtime.ConfigInvalid", "LAMELLA_TEST_INIT asked to fail",
                                      options);
  }
  if (init != nullptr && std::string(init) == "exit") return 3;
  return lamella::run(handle, options);
}
