#include "client/functiongraph_transport.h"

#include "client/lambda_protocol.h"

#include <boost/json.hpp>

#include <array>
#include <cstdio>
#include <utility>

namespace lamella {
namespace detail {

fg_function fg_function_from_env(const fg_env_reader& env) {
  const auto get = [&env](std::string_view name, std::string_view fallback = {}) {
    auto value = env(name);
    return value && !value->empty() ? std::move(*value) : std::string(fallback);
  };
  const auto number = [&env](std::string_view name) -> std::optional<std::int64_t> {
    const auto value = env(name);
    return value ? parse_count(*value) : std::nullopt;
  };
  fg_function f;
  f.name = get("RUNTIME_FUNC_NAME");
  f.version = get("RUNTIME_FUNC_VERSION", "latest");
  f.package = get("RUNTIME_PACKAGE", "default");
  f.project_id = get("RUNTIME_PROJECT_ID");
  f.memory_mb = number("RUNTIME_MEMORY");
  f.cpu = number("RUNTIME_CPU");
  // A zero timeout would make every invocation late at once: treated as unknown.
  if (const auto seconds = number("RUNTIME_TIMEOUT"); seconds && *seconds > 0) {
    f.timeout = std::chrono::seconds(*seconds);
  }
  f.user_data = get("RUNTIME_USERDATA");
  return f;
}

std::string fg_function_urn(const fg_function& function) {
  std::string urn = "urn:fss:";
  urn.append(function.region).append(":").append(function.project_id).append(":function:");
  urn.append(function.package).append(":").append(function.name).append(":");
  urn.append(function.version);
  return urn;
}

fg_route route_fg_request(std::string_view lambda_target) {
  std::string_view path = lambda_target.substr(0, lambda_target.find('?'));
  if (!consume_prefix(path, api_prefix)) return {};
  if (path == "/runtime/invocation/next") return {fg_route::next, std::string(fg_next_target)};
  if (path == "/runtime/init/error") return {fg_route::init_error, {}};
  if (!consume_prefix(path, "/runtime/invocation/")) return {};
  const auto slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  const std::string_view id = path.substr(0, slash);
  const std::string_view action = path.substr(slash);
  if (action == "/response") return {fg_route::response, std::string(fg_response_prefix) += id};
  if (action == "/error") return {fg_route::error, std::string(fg_error_prefix) += id};
  return {};
}

http_response translate_fg_next_response(http_response&& fg, const fg_function& function,
                                         std::chrono::system_clock::time_point now,
                                         std::string_view fallback_request_id) {
  if (fg.status != 200) return std::move(fg);
  std::string request_id(fg.header(fg_request_id_header));
  if (request_id.empty()) request_id = fallback_request_id;
  std::optional<std::chrono::system_clock::time_point> deadline;
  if (function.timeout) deadline = now + *function.timeout;
  http_response out = lambda_next_response(std::move(fg.body), fg.header(content_type_header),
                                           request_id, deadline, fg_function_urn(function));

  boost::json::object fg_context;
  fg_context["requestId"] = request_id;
  fg_context["functionName"] = function.name;
  fg_context["version"] = function.version;
  fg_context["package"] = function.package;
  fg_context["projectId"] = function.project_id;
  if (function.memory_mb) fg_context["memory"] = *function.memory_mb;
  if (function.cpu) fg_context["cpu"] = *function.cpu;
  if (function.timeout) fg_context["timeout"] = function.timeout->count();
  if (!function.user_data.empty()) fg_context["userData"] = function.user_data;
  // The per-invocation credentials and the invoke type, as FunctionGraph sends them (the
  // credentials only when the function has an agency).
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> headers{{
      {"X-CFF-Access-Key", "accessKey"},
      {"X-CFF-Secret-Key", "secretKey"},
      {"X-CFF-Security-Token", "securityToken"},
      {"X-CFF-Auth-Token", "authToken"},
      {"X-CFF-Invoke-Type", "invokeType"},
  }};
  for (const auto& [header, key] : headers) {
    if (const auto value = fg.header(header); !value.empty()) fg_context[key] = value;
  }
  boost::json::object context;
  context["functiongraph"] = std::move(fg_context);
  out.headers.emplace_back(platform_context_header, boost::json::serialize(context));
  return out;
}

}  // namespace detail

namespace {

class functiongraph_transport final : public detail::buffered_pull_transport {
 public:
  functiongraph_transport(std::unique_ptr<transport> inner, detail::fg_function function)
      : buffered_pull_transport(std::move(inner), "functiongraph"),
        function_(std::move(function)) {}

  result<http_response> send(const http_request& request) override {
    auto route = detail::route_fg_request(request.target);
    switch (route.kind) {
      case detail::fg_route::next:
        return next(request);
      case detail::fg_route::response:
      case detail::fg_route::error:
        return post(request, std::move(route.target), request.body);
      case detail::fg_route::init_error:
        return init_error(request);
      case detail::fg_route::unknown:
        break;
    }
    return local_response(404,
                          R"({"errorType":"NotFound","errorMessage":"not a FunctionGraph route"})");
  }

 private:
  // No streamed responses on FunctionGraph: a streamed response is posted whole when it ends (see
  // buffered_pull_transport), to the invocation's response endpoint, or to its error endpoint
  // when it ended with error trailers.
  [[nodiscard]] std::optional<stream_targets> targets_for_stream(
      std::string_view lambda_target) const override {
    auto route = detail::route_fg_request(lambda_target);
    if (route.kind != detail::fg_route::response) return std::nullopt;
    const auto id_at = detail::fg_response_prefix.size();
    std::string error = std::string(detail::fg_error_prefix) += route.target.substr(id_at);
    return stream_targets{std::move(route.target), std::move(error)};
  }

  result<http_response> next(const http_request& request) {
    http_request poll{"GET", std::string(detail::fg_next_target), request.headers, {}};
    auto answer = inner().send(poll);
    if (!answer) return answer.error();
    return detail::translate_fg_next_response(std::move(*answer), function_,
                                              std::chrono::system_clock::now(), fresh_request_id());
  }

  // FunctionGraph has no init-error endpoint. Exiting at once would leave the invocation that
  // started this instance with the platform's generic "runtime exited" error and the real cause
  // only in the log. Instead, as Lambda does, the init error becomes that invocation's error:
  // the pending invocation is fetched and failed with it (its caller sees errorType and
  // errorMessage), then the runtime exits non-zero and the next invocation starts a fresh
  // instance, which initialises again. Acknowledged locally whatever happens on the wire: the
  // caller exits next in every case.
  result<http_response> init_error(const http_request& request) {
    log_init_error(request, "");
    auto pending = next(request);
    if (!pending || pending->status != 200) {
      std::fprintf(stderr, "lamella: no invocation to report the init error to (GET %.*s failed)\n",
                   static_cast<int>(detail::fg_next_target.size()), detail::fg_next_target.data());
      return local_response(202, R"({"status":"OK"})");
    }
    const std::string id(pending->header(detail::request_id_header));
    auto posted = post(request, std::string(detail::fg_error_prefix) += id, request.body);
    if (!posted || posted->status != 202) {
      std::fprintf(stderr, "lamella: posting the init error as invocation %s's error failed\n",
                   id.c_str());
    }
    return local_response(202, R"({"status":"OK"})");
  }

  detail::fg_function function_;
};

}  // namespace

std::unique_ptr<transport> make_functiongraph_transport(std::string_view host_port,
                                                        transport_options options,
                                                        std::unique_ptr<transport> inner) {
  if (!inner) inner = make_beast_transport(host_port, options);
  auto function = detail::fg_function_from_env(detail::process_env);
  return std::make_unique<functiongraph_transport>(std::move(inner), std::move(function));
}

}  // namespace lamella
