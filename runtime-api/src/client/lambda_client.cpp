#include "lamella/lambda_client.h"

#include "client/lambda_protocol.h"

#include "lamella/version.h"

#include <cstdio>

namespace lamella {

lambda_client::lambda_client(std::unique_ptr<transport> transport, std::string_view language)
    : transport_(std::move(transport)), user_agent_(user_agent(language, transport_->name())) {}

result<invocation> lambda_client::next() {
  http_request request{"GET", std::string(detail::next_target), {{"User-Agent", user_agent_}}, {}};
  auto response = transport_->send(request);
  if (!response) return response.error();
  if (response->status != 200) {
    std::fprintf(stderr, "lamella: GET /next answered %u: %s\n", response->status,
                 response->body.c_str());
  }
  return detail::parse_next_response(std::move(*response));
}

result<post_status> lambda_client::post_response(std::string_view request_id,
                                                 const outcome& success) {
  return post(detail::response_target(request_id), success, false);
}

result<post_status> lambda_client::post_error(std::string_view request_id, const outcome& failure) {
  return post(detail::error_target(request_id), failure, true);
}

result<post_status> lambda_client::post_init_error(const outcome& failure) {
  return post(std::string(detail::init_error_target), failure, true);
}

result<post_status> lambda_client::post(std::string target, const outcome& o,
                                        bool with_error_type) {
  http_request request{"POST", std::move(target), {{"User-Agent", user_agent_}}, o.payload()};
  request.headers.emplace_back("Content-Type", o.content_type());
  if (with_error_type && !o.error_type().empty()) {
    request.headers.emplace_back(detail::error_type_header, o.error_type());
  }
  auto response = transport_->send(request);
  if (!response) return response.error();
  switch (response->status) {
    case 200:
    case 202:
      return post_status::accepted;
    case 400:
    case 403:
    case 413:
      // The platform refused this one post (wrong id, wrong state, too large); the invocation
      // is over for the platform, and the runtime can serve the next one.
      std::fprintf(stderr, "lamella: POST %s refused with %u: %s\n", request.target.c_str(),
                   response->status, response->body.c_str());
      return post_status::refused;
    default:
      std::fprintf(stderr, "lamella: POST %s answered %u: %s\n", request.target.c_str(),
                   response->status, response->body.c_str());
      return errc::runtime_api_rejected;
  }
}

std::string user_agent(std::string_view language, std::string_view transport_name) {
  std::string ua = "lamella/" LAMELLA_VERSION " (";
  ua.append(language).append("; ").append(transport_name).append(")");
  return ua;
}

}  // namespace lamella
