#include "client/functiongraph_transport.h"

#include "client/lambda_protocol.h"
#include "client/scf_transport.h"
#include "common/base64.h"

#include <boost/json.hpp>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <utility>
#include <vector>

namespace lamella {
namespace detail {
namespace {

bool consume_prefix(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

std::optional<std::int64_t> parse_count(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || value < 0) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

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
  http_response out;
  out.status = 200;
  out.body = std::move(fg.body);

  std::string request_id(fg.header(fg_request_id_header));
  if (request_id.empty()) request_id = fallback_request_id;
  out.headers.emplace_back(request_id_header, request_id);
  if (function.timeout) {
    const auto deadline = now + *function.timeout;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline.time_since_epoch()).count();
    out.headers.emplace_back(deadline_header, std::to_string(ms));
  }
  out.headers.emplace_back(function_arn_header, fg_function_urn(function));
  if (const auto type = fg.header(content_type_header); !type.empty()) {
    out.headers.emplace_back(content_type_header, type);
  }

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

http_response translate_fg_post_response(http_response&& fg) {
  if (fg.status >= 200 && fg.status < 300) fg.status = 202;
  return std::move(fg);
}

}  // namespace detail

namespace {

http_response local_response(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

class functiongraph_transport final : public transport {
 public:
  functiongraph_transport(std::unique_ptr<transport> inner, detail::fg_function function)
      : inner_(std::move(inner)),
        function_(std::move(function)),
        name_("functiongraph/" + std::string(inner_->name())) {
    std::random_device rd;
    rng_.seed((std::uint64_t{rd()} << 32) ^ rd());
  }

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

  // No streamed responses on FunctionGraph: the chunks are gathered and posted as one body when
  // the stream ends; a stream ended with error trailers goes to the error endpoint instead.
  result<void> begin_chunked(const http_request& request) override {
    auto route = detail::route_fg_request(request.target);
    if (route.kind != detail::fg_route::response) return errc::not_supported;
    chunked_.emplace();
    chunked_->target = std::move(route.target);
    const auto id_at = detail::fg_response_prefix.size();
    chunked_->error_target = std::string(detail::fg_error_prefix) += chunked_->target.substr(id_at);
    for (const auto& [name, value] : request.headers) {
      if (iequals(name, "User-Agent") || iequals(name, "Content-Type")) {
        chunked_->headers.emplace_back(name, value);
      }
    }
    return {};
  }

  result<void> write_chunk(std::string_view bytes) override {
    if (!chunked_) return errc::runtime_api_unreachable;
    chunked_->body.append(bytes);
    return {};
  }

  result<http_response> end_chunked(
      const std::vector<std::pair<std::string_view, std::string_view>>& trailers) override {
    if (!chunked_) return errc::runtime_api_unreachable;
    auto stream = std::move(*chunked_);
    chunked_.reset();
    std::string_view error_type;
    std::string_view error_body;
    for (const auto& [name, value] : trailers) {
      if (iequals(name, detail::error_type_header)) error_type = value;
      if (iequals(name, "Lambda-Runtime-Function-Error-Body")) error_body = value;
    }
    http_request request{"POST", {}, {}, stream.body};
    for (const auto& [name, value] : stream.headers) request.headers.emplace_back(name, value);
    if (error_type.empty()) return post(request, std::move(stream.target), stream.body);
    auto decoded = detail::base64_decode(error_body);
    const std::string body = decoded ? std::move(*decoded) : std::string();
    request.headers.emplace_back(detail::error_type_header, error_type);
    return post(request, std::move(stream.error_target), body);
  }

  void abort_chunked() noexcept override { chunked_.reset(); }

  /// "functiongraph/<inner>", e.g. "functiongraph/beast" (the User-Agent's transport token).
  [[nodiscard]] std::string_view name() const noexcept override { return name_; }

 private:
  struct chunked_body {
    std::string target;
    std::string error_target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };

  result<http_response> next(const http_request& request) {
    http_request poll{"GET", std::string(detail::fg_next_target), request.headers, {}};
    auto answer = inner_->send(poll);
    if (!answer) return answer.error();
    return detail::translate_fg_next_response(std::move(*answer), function_,
                                              std::chrono::system_clock::now(),
                                              detail::scf_make_request_id(rng_(), rng_()));
  }

  result<http_response> post(const http_request& request, std::string target,
                             std::string_view body) {
    http_request translated{"POST", std::move(target), {}, body};
    for (const auto& [name, value] : request.headers) {
      translated.headers.emplace_back(name, value);
    }
    auto answer = inner_->send(translated);
    if (!answer) return answer.error();
    return detail::translate_fg_post_response(std::move(*answer));
  }

  // FunctionGraph has no init-error endpoint. Exiting at once would leave the invocation that
  // started this instance with the platform's generic "runtime exited" error and the real cause
  // only in the log. Instead, as Lambda does, the init error becomes that invocation's error:
  // the pending invocation is fetched and failed with it (its caller sees errorType and
  // errorMessage), then the runtime exits non-zero and the next invocation starts a fresh
  // instance, which initialises again. Acknowledged locally whatever happens on the wire: the
  // caller exits next in every case.
  result<http_response> init_error(const http_request& request) {
    std::string_view type;
    for (const auto& [name, value] : request.headers) {
      if (iequals(name, detail::error_type_header)) type = value;
    }
    std::fprintf(stderr, "lamella: init error: %.*s %.*s\n", static_cast<int>(type.size()),
                 type.data(), static_cast<int>(request.body.size()), request.body.data());
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

  std::unique_ptr<transport> inner_;
  detail::fg_function function_;
  std::string name_;
  std::mt19937_64 rng_;
  std::optional<chunked_body> chunked_;
};

}  // namespace

std::unique_ptr<transport> make_functiongraph_transport(std::string_view host_port,
                                                        transport_options options,
                                                        std::unique_ptr<transport> inner) {
  if (!inner) inner = make_beast_transport(host_port, options);
  auto function = detail::fg_function_from_env([](std::string_view name) {
    const char* value = std::getenv(std::string(name).c_str());
    return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
  });
  return std::make_unique<functiongraph_transport>(std::move(inner), std::move(function));
}

}  // namespace lamella
