#include "client/scf_transport.h"

#include "client/lambda_protocol.h"

#include <boost/json.hpp>

#include <cstdio>
#include <utility>

namespace lamella {
namespace detail {

scf_function scf_function_from_env(const scf_env_reader& env) {
  const auto get = [&env](std::string_view name, std::string_view fallback) {
    auto value = env(name);
    return value && !value->empty() ? std::move(*value) : std::string(fallback);
  };
  return {get("TENCENTCLOUD_REGION", ""), get("TENCENTCLOUD_UIN", ""), get("SCF_FUNCTIONNAME", ""),
          get("SCF_NAMESPACE", "default"), get("SCF_FUNCTIONVERSION", "$LATEST")};
}

std::string scf_function_arn(const scf_function& function) {
  std::string arn = "qcs::scf:";
  arn.append(function.region).append(":uin/").append(function.uin);
  arn.append(":namespace/").append(function.ns).append("/function/").append(function.name);
  return arn;
}

scf_route route_lambda_request(std::string_view lambda_target) {
  std::string_view path = lambda_target.substr(0, lambda_target.find('?'));
  if (!consume_prefix(path, api_prefix)) return {};
  if (path == "/runtime/invocation/next") return {scf_route::next, scf_next_target};
  if (path == "/runtime/init/error") return {scf_route::init_error, {}};
  if (!consume_prefix(path, "/runtime/invocation/")) return {};
  const auto slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  // SCF runs one invocation at a time and its post endpoints carry no id: the id is dropped.
  const std::string_view action = path.substr(slash);
  if (action == "/response") return {scf_route::response, scf_response_target};
  if (action == "/error") return {scf_route::error, scf_error_target};
  return {};
}

http_response translate_next_response(http_response&& scf, const scf_function& function,
                                      std::chrono::system_clock::time_point now,
                                      std::string_view fallback_request_id) {
  if (scf.status != 200) return std::move(scf);
  std::string request_id(scf.header(scf_request_id_header));
  if (request_id.empty()) request_id = fallback_request_id;
  const auto memory = parse_count(scf.header(scf_memory_header));
  const auto time_limit = parse_count(scf.header(scf_time_limit_header));
  std::optional<std::chrono::system_clock::time_point> deadline;
  if (time_limit) deadline = now + std::chrono::milliseconds(*time_limit);
  http_response out = lambda_next_response(std::move(scf.body), scf.header(content_type_header),
                                           request_id, deadline, scf_function_arn(function));
  boost::json::object context;
  context["platform"] = "scf";
  context["request_id"] = request_id;
  if (memory) context["memory_limit_in_mb"] = *memory;
  if (time_limit) context["time_limit_in_ms"] = *time_limit;
  context["namespace"] = function.ns;
  context["function_version"] = function.version;
  out.headers.emplace_back(platform_context_header, boost::json::serialize(context));
  return out;
}

}  // namespace detail

namespace {

class scf_transport final : public detail::buffered_pull_transport {
 public:
  scf_transport(std::unique_ptr<transport> inner, detail::scf_function function)
      : buffered_pull_transport(std::move(inner), "scf"), function_(std::move(function)) {}

  result<http_response> send(const http_request& request) override {
    const auto route = detail::route_lambda_request(request.target);
    switch (route.kind) {
      case detail::scf_route::next:
        return next(request);
      case detail::scf_route::response:
      case detail::scf_route::error:
        return post(request, std::string(route.scf_target), request.body);
      case detail::scf_route::init_error:
        return init_error(request);
      case detail::scf_route::unknown:
        break;
    }
    return local_response(404, R"({"errorType":"NotFound","errorMessage":"not an SCF route"})");
  }

 private:
  // SCF has no streamed responses: a streamed response is posted whole when it ends (see
  // buffered_pull_transport), to SCF's response endpoint, or to its error endpoint when it ended
  // with error trailers.
  [[nodiscard]] std::optional<stream_targets> targets_for_stream(
      std::string_view lambda_target) const override {
    if (detail::route_lambda_request(lambda_target).kind != detail::scf_route::response) {
      return std::nullopt;
    }
    return stream_targets{std::string(detail::scf_response_target),
                          std::string(detail::scf_error_target)};
  }

  result<http_response> next(const http_request& request) {
    if (!ready_) {
      // SCF requires `POST /runtime/init/ready` once, after initialisation and before the first
      // poll. The client's first /next is that moment. Marked done only once SCF took it, so a
      // retried /next (after a connection failure) says it again.
      http_request ready{"POST", std::string(detail::scf_ready_target), request.headers, " "};
      auto answer = inner().send(ready);
      if (!answer) return answer.error();
      if (answer->status < 200 || answer->status >= 300) {
        std::fprintf(stderr, "lamella: POST %.*s answered %u: %s\n",
                     static_cast<int>(detail::scf_ready_target.size()),
                     detail::scf_ready_target.data(), answer->status, answer->body.c_str());
        return std::move(*answer);  // the client reports it as a rejected /next
      }
      ready_ = true;
    }
    http_request poll{"GET", std::string(detail::scf_next_target), request.headers, {}};
    auto answer = inner().send(poll);
    if (!answer) return answer.error();
    return detail::translate_next_response(std::move(*answer), function_,
                                           std::chrono::system_clock::now(), fresh_request_id());
  }

  // SCF has no init-error endpoint (§4: init ends with POST /runtime/init/ready, which a failed
  // init must not send), and posting to /runtime/invocation/error with no invocation fetched is
  // outside its protocol. So the error is logged to stderr, which SCF keeps in the function's
  // log, and acknowledged locally; the runtime then exits non-zero, which is how SCF learns
  // that init failed.
  static result<http_response> init_error(const http_request& request) {
    log_init_error(request, " (SCF has no init-error endpoint)");
    return local_response(202, R"({"status":"OK"})");
  }

  detail::scf_function function_;
  bool ready_ = false;
};

}  // namespace

std::unique_ptr<transport> make_scf_transport(std::string_view host_port, transport_options options,
                                              std::unique_ptr<transport> inner) {
  if (!inner) inner = make_beast_transport(host_port, options);
  auto function = detail::scf_function_from_env(detail::process_env);
  return std::make_unique<scf_transport>(std::move(inner), std::move(function));
}

}  // namespace lamella
