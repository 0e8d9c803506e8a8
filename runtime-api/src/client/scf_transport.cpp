#include "client/scf_transport.h"

#include "client/lambda_protocol.h"
#include "common/base64.h"

#include <boost/json.hpp>

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
  http_response out;
  out.status = 200;
  out.body = std::move(scf.body);

  std::string request_id(scf.header(scf_request_id_header));
  if (request_id.empty()) request_id = fallback_request_id;
  const auto memory = parse_count(scf.header(scf_memory_header));
  const auto time_limit = parse_count(scf.header(scf_time_limit_header));

  out.headers.emplace_back(request_id_header, request_id);
  if (time_limit) {
    const auto deadline = now + std::chrono::milliseconds(*time_limit);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline.time_since_epoch()).count();
    out.headers.emplace_back(deadline_header, std::to_string(ms));
  }
  out.headers.emplace_back(function_arn_header, scf_function_arn(function));
  if (const auto type = scf.header(content_type_header); !type.empty()) {
    out.headers.emplace_back(content_type_header, type);
  }
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

http_response translate_post_response(http_response&& scf) {
  if (scf.status >= 200 && scf.status < 300) scf.status = 202;
  return std::move(scf);
}

std::string scf_make_request_id(std::uint64_t high, std::uint64_t low) {
  // Version 4, variant 10xx, as RFC 4122 random UUIDs.
  high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xffff), static_cast<unsigned>(high & 0xffff),
                static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return text;
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

class scf_transport final : public transport {
 public:
  scf_transport(std::unique_ptr<transport> inner, detail::scf_function function)
      : inner_(std::move(inner)),
        function_(std::move(function)),
        name_("scf/" + std::string(inner_->name())) {
    std::random_device rd;
    rng_.seed((std::uint64_t{rd()} << 32) ^ rd());
  }

  result<http_response> send(const http_request& request) override {
    const auto route = detail::route_lambda_request(request.target);
    switch (route.kind) {
      case detail::scf_route::next:
        return next(request);
      case detail::scf_route::response:
      case detail::scf_route::error:
        return post(request, route.scf_target, request.body);
      case detail::scf_route::init_error:
        return init_error(request);
      case detail::scf_route::unknown:
        break;
    }
    return local_response(404, R"({"errorType":"NotFound","errorMessage":"not an SCF route"})");
  }

  // SCF has no streamed responses: the chunks are gathered here and posted as one body when the
  // stream ends, so that a streaming handler still works (its caller gets the whole response at
  // the end). A stream ended with error trailers is posted to the error endpoint instead.
  result<void> begin_chunked(const http_request& request) override {
    const auto route = detail::route_lambda_request(request.target);
    if (route.kind != detail::scf_route::response) return errc::not_supported;
    chunked_.emplace();
    chunked_->target = route.scf_target;
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
    for (const auto& [name, value] : stream.headers) {
      request.headers.emplace_back(name, value);
    }
    if (error_type.empty()) return post(request, stream.target, stream.body);
    auto decoded = detail::base64_decode(error_body);
    const std::string body = decoded ? std::move(*decoded) : std::string();
    request.headers.emplace_back(detail::error_type_header, error_type);
    return post(request, detail::scf_error_target, body);
  }

  void abort_chunked() noexcept override { chunked_.reset(); }

  /// "scf/<inner>", e.g. "scf/beast" (the User-Agent's transport token).
  [[nodiscard]] std::string_view name() const noexcept override { return name_; }

 private:
  struct chunked_body {
    std::string_view target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };

  result<http_response> next(const http_request& request) {
    if (!ready_) {
      // SCF requires `POST /runtime/init/ready` once, after initialisation and before the first
      // poll. The client's first /next is that moment. Marked done only once SCF took it, so a
      // retried /next (after a connection failure) says it again.
      http_request ready{"POST", std::string(detail::scf_ready_target), request.headers, " "};
      auto answer = inner_->send(ready);
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
    auto answer = inner_->send(poll);
    if (!answer) return answer.error();
    return detail::translate_next_response(std::move(*answer), function_,
                                           std::chrono::system_clock::now(),
                                           detail::scf_make_request_id(rng_(), rng_()));
  }

  result<http_response> post(const http_request& request, std::string_view target,
                             std::string_view body) {
    http_request translated{"POST", std::string(target), {}, body};
    for (const auto& [name, value] : request.headers) {
      translated.headers.emplace_back(name, value);
    }
    auto answer = inner_->send(translated);
    if (!answer) return answer.error();
    return detail::translate_post_response(std::move(*answer));
  }

  // SCF has no init-error endpoint (§4: init ends with POST /runtime/init/ready, which a failed
  // init must not send), and posting to /runtime/invocation/error with no invocation fetched is
  // outside its protocol. So the error is logged to stderr, which SCF keeps in the function's
  // log, and acknowledged locally; the runtime then exits non-zero, which is how SCF learns
  // that init failed.
  static result<http_response> init_error(const http_request& request) {
    std::string_view type;
    for (const auto& [name, value] : request.headers) {
      if (iequals(name, detail::error_type_header)) type = value;
    }
    std::fprintf(stderr, "lamella: init error (SCF has no init-error endpoint): %.*s %.*s\n",
                 static_cast<int>(type.size()), type.data(), static_cast<int>(request.body.size()),
                 request.body.data());
    return local_response(202, R"({"status":"OK"})");
  }

  std::unique_ptr<transport> inner_;
  detail::scf_function function_;
  std::string name_;
  std::mt19937_64 rng_;
  bool ready_ = false;
  std::optional<chunked_body> chunked_;
};

}  // namespace

std::unique_ptr<transport> make_scf_transport(std::string_view host_port, transport_options options,
                                              std::unique_ptr<transport> inner) {
  if (!inner) inner = make_beast_transport(host_port, options);
  auto function = detail::scf_function_from_env([](std::string_view name) {
    const char* value = std::getenv(std::string(name).c_str());
    return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
  });
  return std::make_unique<scf_transport>(std::move(inner), std::move(function));
}

}  // namespace lamella
