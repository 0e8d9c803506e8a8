// The `openwhisk` push adapter: Apache OpenWhisk's action proxy contract (platform-contracts.md
// §10), as a blackbox (`--docker`) action image implements it.
//
// /init. The invoker sends it once, before any /run. lamella loads the handler that is in the
// image when the container starts, not at /init (C++ and Python load it before the server
// listens; Node.js while the server already listens), so /init exports `value.env` and answers
// whether that load succeeded (the push server holds the answer until the function's init is
// done: dispatch::kind::initialize). Module-level code therefore cannot rely on seeing the init
// parameters; every activation does. An
// action that carries code (`code` present and not empty) is refused with 502: running the
// image's function instead would silently run something other than what the user deployed.
//
// /run. value = the event, activation_id = the request id, deadline = the invocation's deadline;
// the other fields become `__OW_<FIELD>` variables for that activation and platform_context
// {"openwhisk": {...}}. Results: OpenWhisk wants a JSON object (or array); the official runtimes
// answer 502 "The action did not return a dictionary or array." for anything else, which the
// invoker records as a developer error. lamella runs handlers written for Lambda, which may
// return a string or a number, so such a value is wrapped as {"result": value} instead, and
// objects and arrays pass unchanged (every action valid for OpenWhisk behaves the same).
//
// Environment. /init's parameters are set in the process environment once; each activation's
// __OW_* variables too when one activation runs at a time (OpenWhisk's default, and lamella's
// here), else they are only in the context. C++ handlers and Node.js's process.env read the
// process environment directly; CPython's os.environ is a copy taken at start, so the same
// variables are listed in platform_context "environment", which the Python runtime mirrors into
// os.environ. The values
// are kept in buffers this adapter owns (putenv), because setenv() never frees the value it
// replaces and three of the variables change on every activation.
//
// Logs: after each activation the sentinel line goes to stdout and stderr (end_of_activation),
// from on_outcome() (the loop's thread, after the handler returned, so its output is already
// written: lamella's Python and Node runtimes write stdout unbuffered/synchronously, and C++
// stdio is flushed first) or on_timeout().
#include "server/http_event.h"
#include "server/push_adapter.h"

#include <boost/json.hpp>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace lamella::push {

namespace {

namespace json = boost::json;

constexpr std::string_view sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n";

void write_sentinels() {
  std::fflush(stdout);
  std::fflush(stderr);
  std::fwrite(sentinel.data(), 1, sentinel.size(), stdout);
  std::fflush(stdout);
  std::fwrite(sentinel.data(), 1, sentinel.size(), stderr);
  std::fflush(stderr);
}

// {"error": error}, OpenWhisk's error answer.
reply error_value_reply(unsigned status, json::value error) {
  json::object body;
  body["error"] = std::move(error);
  return detail::simple_reply(status, "application/json", json::serialize(body));
}

reply error_reply(unsigned status, std::string_view message) {
  return error_value_reply(status, json::string(message));
}

using detail::parse_json;

// A JSON value as an environment variable's value: strings as they are, anything else as JSON
// text (OpenWhisk stringifies non-string init parameters the same way).
std::string env_value(const json::value& v) {
  if (v.is_string()) return detail::to_valid_utf8(v.get_string());
  return json::serialize(v);
}

// A name putenv() can take: not empty, no '=' and no NUL.
bool valid_env_name(std::string_view name) {
  return !name.empty() && name.find('=') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

// The /run fields OpenWhisk's invoker sends (besides value); absent ones are unset, so an
// activation never sees the previous one's __OW_API_KEY.
constexpr std::array<std::string_view, 7> activation_fields{
    "namespace",      "action_name", "action_version", "activation_id",
    "transaction_id", "deadline",    "api_key"};

std::string ow_name(std::string_view field) {
  std::string name = "__OW_";
  for (const char c : field) {
    name.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return name;
}

// Process environment variables whose "NAME=value" strings this object owns (putenv): a
// replaced value is freed, unlike setenv()'s. Thread-safe (one mutex); getenv() in other threads
// may race with a change as it does with setenv().
class owned_environment {
 public:
  owned_environment() = default;
  owned_environment(const owned_environment&) = delete;
  owned_environment& operator=(const owned_environment&) = delete;

  void set(const std::string& name, std::string_view value) {
    const std::lock_guard lock(mutex_);
    const std::size_t size = name.size() + 1 + value.size() + 1;
    auto entry = std::make_unique<char[]>(size);
    std::memcpy(entry.get(), name.data(), name.size());
    entry[name.size()] = '=';
    std::memcpy(entry.get() + name.size() + 1, value.data(), value.size());
    entry[size - 1] = '\0';
    if (::putenv(entry.get()) != 0) return;
    buffers_[name] = std::move(entry);  // frees the previous one, no longer in environ
  }

  void unset(const std::string& name) {
    const std::lock_guard lock(mutex_);
    ::unsetenv(name.c_str());
    buffers_.erase(name);
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<char[]>> buffers_;
};

enum class ow_kind { init, run, other };

ow_kind classify(const request& req) {
  const std::string_view path = detail::target_path(req.target);
  if (path == "/init") return ow_kind::init;
  if (path == "/run") return ow_kind::run;
  return ow_kind::other;
}

// The deadline field: epoch milliseconds as a JSON string (the invoker) or number (the docs).
std::optional<std::chrono::system_clock::time_point> parse_deadline(const json::value& v) {
  std::int64_t ms = 0;
  if (v.is_int64()) {
    ms = v.get_int64();
  } else if (v.is_uint64()) {
    ms = static_cast<std::int64_t>(v.get_uint64());
  } else if (v.is_double()) {
    ms = static_cast<std::int64_t>(v.get_double());
  } else if (v.is_string()) {
    const std::string_view text = v.get_string();
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (ms <= 0) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

class openwhisk_adapter final : public adapter {
 public:
  explicit openwhisk_adapter(openwhisk_options options) : options_(std::move(options)) {
    if (!options_.end_of_activation) options_.end_of_activation = write_sentinels;
  }

  [[nodiscard]] std::string_view name() const noexcept override { return "openwhisk"; }

  [[nodiscard]] dispatch on_request(const request& req,
                                    std::string_view request_id) const override {
    dispatch d;
    const ow_kind kind = classify(req);
    if (kind == ow_kind::other) {
      d.immediate = error_reply(404, "Command not found: " + detail::to_valid_utf8(req.target));
      return d;
    }
    if (req.method != "POST") {
      d.immediate = error_reply(405, "Method not allowed: use POST");
      return d;
    }
    auto body = parse_json(req.body);
    if (!body || !body->is_object()) {
      d.immediate = error_reply(400, body ? "Error unmarshaling request: not a JSON object"
                                          : "Error unmarshaling request: invalid JSON");
      return d;
    }
    return kind == ow_kind::init ? init(body->get_object()) : run(body->get_object(), request_id);
  }

  [[nodiscard]] reply on_outcome(const request& /*req*/, const invocation& /*inv*/,
                                 const outcome& result) const override {
    reply r = result.is_success() ? success_reply(result) : function_error_reply(result);
    options_.end_of_activation();
    return r;
  }

  [[nodiscard]] reply on_hook(const request& /*req*/, dispatch::kind /*hook*/,
                              const outcome* failure) const override {
    if (failure != nullptr) return error_value_reply(502, error_value(*failure));
    return detail::simple_reply(200, "application/json", R"({"ok":true})");
  }

  // /init and /run after the handler failed to load: OpenWhisk records a non-200 /init as the
  // action's init failure.
  [[nodiscard]] reply on_init_error(const request& /*req*/, const outcome& failure) const override {
    return error_value_reply(502, error_value(failure));
  }

  // 503 is how a container says it is going away: the invoker reschedules the activation.
  [[nodiscard]] reply on_overload(const request& /*req*/) const override {
    return error_reply(503, "The action container is busy or shutting down.");
  }

  [[nodiscard]] reply on_timeout(const request& /*req*/, const invocation& /*inv*/) const override {
    options_.end_of_activation();
    // Non-200, as the invoker classifies its own timeouts (a developer error).
    return error_reply(502, "The action did not finish before its deadline and timed out.");
  }

 private:
  dispatch init(const json::object& body) const {
    dispatch d;
    const auto* value = body.if_contains("value");
    if (value == nullptr || !value->is_object()) {
      d.immediate = error_reply(400, "Error unmarshaling request: no \"value\" object");
      return d;
    }
    const auto& init = value->get_object();
    if (const auto* code = init.if_contains("code");
        code != nullptr && !code->is_null() && !(code->is_string() && code->get_string().empty())) {
      d.immediate = error_reply(
          502,
          "lamella runs the function in the image: this action carries code, which lamella "
          "does not load; create the action with --docker IMAGE and no code");
      return d;
    }
    {
      const std::lock_guard lock(mutex_);
      if (initialized_) {
        d.immediate = error_reply(403, "Cannot initialize the action more than once.");
        return d;
      }
      initialized_ = true;
      if (const auto* env = init.if_contains("env"); env != nullptr && env->is_object()) {
        for (const auto& entry : env->get_object()) {
          const std::string name(entry.key());
          if (!valid_env_name(name)) continue;
          std::string text = env_value(entry.value());
          environment_.set(name, text);  // once, before any /run: no activation races it
          init_env_[name] = std::move(text);
        }
      }
    }
    d.what = dispatch::kind::initialize;
    return d;
  }

  dispatch run(const json::object& body, std::string_view request_id) const {
    dispatch d;
    json::object fields;
    json::object variables;
    {
      const std::lock_guard lock(mutex_);
      if (!initialized_) {
        d.immediate = error_reply(500, "no action defined yet");
        return d;
      }
      for (const auto& [name, text] : init_env_) variables[name] = text;
    }
    d.what = dispatch::kind::invoke;
    invocation& inv = d.inv;
    const auto* value = body.if_contains("value");
    inv.payload = value == nullptr ? "{}" : json::serialize(*value);
    inv.content_type = "application/json";
    inv.request_id = std::string(request_id);
    std::set<std::string> exported;
    json::object activation_variables;
    for (const auto& entry : body) {
      if (entry.key() == "value") continue;
      fields[entry.key()] = entry.value();
      const std::string name = ow_name(entry.key());
      if (!valid_env_name(name)) continue;
      activation_variables[name] = env_value(entry.value());
      exported.insert(name);
      if (entry.key() == "activation_id" && entry.value().is_string() &&
          !entry.value().get_string().empty()) {
        inv.request_id = detail::to_valid_utf8(entry.value().get_string());
      }
      if (entry.key() == "deadline") {
        if (const auto deadline = parse_deadline(entry.value())) inv.deadline = *deadline;
      }
    }
    json::object context;
    context["openwhisk"] = std::move(fields);
    if (options_.export_activation_variables) {
      const std::lock_guard lock(mutex_);
      for (const auto field : activation_fields) {
        const std::string name = ow_name(field);
        if (!exported.contains(name)) {
          environment_.unset(name);
          activation_variables[name] = nullptr;  // the Python mirror drops it too
        }
      }
      for (const auto& name : last_exported_) {
        if (!exported.contains(name) && !activation_variables.contains(name)) {
          environment_.unset(name);
          activation_variables[name] = nullptr;
        }
      }
      for (const auto& entry : activation_variables) {
        if (entry.value().is_string()) {
          environment_.set(std::string(entry.key()), entry.value().get_string());
        }
        variables[entry.key()] = entry.value();
      }
      last_exported_ = std::move(exported);
    }
    if (!variables.empty()) context["environment"] = std::move(variables);
    inv.platform_context = json::serialize(context);
    return d;
  }

  [[nodiscard]] static reply success_reply(const outcome& result) {
    const auto& type = result.content_type();
    const bool json_type = type.empty() || type.starts_with("application/json");
    auto value = json_type ? parse_json(result.payload()) : std::nullopt;
    if (!value) {
      return error_reply(502, "The action did not return a dictionary or array: its result is " +
                                  std::string(json_type ? "not valid JSON" : "of type ") +
                                  (json_type ? "" : detail::to_valid_utf8(type)));
    }
    if (value->is_object() || value->is_array()) {
      return detail::simple_reply(200, "application/json", result.payload());
    }
    json::object wrapped;
    wrapped["result"] = std::move(*value);
    return detail::simple_reply(200, "application/json", json::serialize(wrapped));
  }

  // An application error: 200 {"error": <the function's error object>}.
  [[nodiscard]] static reply function_error_reply(const outcome& result) {
    return error_value_reply(200, error_value(result));
  }

  // The error object of a failure; a body that is not a JSON object becomes
  // {errorType, errorMessage}.
  [[nodiscard]] static json::value error_value(const outcome& failure) {
    if (auto v = parse_json(failure.payload()); v && v->is_object()) return std::move(*v);
    json::object error;
    error["errorType"] = detail::to_valid_utf8(failure.error_type());
    error["errorMessage"] = detail::to_valid_utf8(failure.payload());
    return error;
  }

  openwhisk_options options_;
  mutable std::mutex mutex_;
  mutable bool initialized_ = false;                     // guarded by mutex_
  mutable std::map<std::string, std::string> init_env_;  // guarded by mutex_
  mutable std::set<std::string> last_exported_;          // guarded by mutex_
  mutable owned_environment environment_;
};

}  // namespace

std::unique_ptr<adapter> make_openwhisk_adapter(openwhisk_options options) {
  return std::make_unique<openwhisk_adapter>(std::move(options));
}

}  // namespace lamella::push
