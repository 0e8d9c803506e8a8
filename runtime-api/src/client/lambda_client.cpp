#include "lamella/lambda_client.h"

#include "client/lambda_protocol.h"
#include "common/base64.h"

#include "lamella/version.h"

#include <cstdio>

namespace lamella {
namespace {

// What the answer to a post means for the loop (see post_status).
result<post_status> post_outcome(const http_response& response, const std::string& target) {
  switch (response.status) {
    case 200:
    case 202:
      return post_status::accepted;
    case 400:
    case 403:
    case 413:
      // The platform refused this one post (wrong id, wrong state, too large); the invocation
      // is over for the platform, and the runtime can serve the next one.
      std::fprintf(stderr, "lamella: POST %s refused with %u: %s\n", target.c_str(),
                   response.status, response.body.c_str());
      return post_status::refused;
    default:
      std::fprintf(stderr, "lamella: POST %s answered %u: %s\n", target.c_str(), response.status,
                   response.body.c_str());
      return errc::runtime_api_rejected;
  }
}

constexpr std::string_view error_body_trailer = "Lambda-Runtime-Function-Error-Body";
constexpr std::string_view response_mode_header = "Lambda-Runtime-Function-Response-Mode";
constexpr std::string_view trailer_names =
    "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body";

}  // namespace

// --- response_stream

response_stream::response_stream(transport& t, std::string target) noexcept
    : transport_(&t), target_(std::move(target)) {}

response_stream::response_stream(response_stream&& other) noexcept
    : transport_(std::exchange(other.transport_, nullptr)), target_(std::move(other.target_)) {}

response_stream& response_stream::operator=(response_stream&& other) noexcept {
  if (this != &other) {
    if (transport_ != nullptr) transport_->abort_chunked();
    transport_ = std::exchange(other.transport_, nullptr);
    target_ = std::move(other.target_);
  }
  return *this;
}

response_stream::~response_stream() {
  if (transport_ != nullptr) transport_->abort_chunked();
}

result<void> response_stream::write(std::string_view bytes) {
  if (transport_ == nullptr) return errc::stream_closed;
  auto written = transport_->write_chunk(bytes);
  if (!written) transport_ = nullptr;  // the transport closed the connection
  return written;
}

result<post_status> response_stream::finish() { return end({}); }

result<post_status> response_stream::fail(std::string_view error_type,
                                          std::string_view error_json) {
  std::string type(error_type);
  for (char& c : type) {
    // A trailer value cannot hold line breaks; keep the rest of the name readable.
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  const std::string body = detail::base64_encode(error_json);
  return end({{detail::error_type_header, type}, {error_body_trailer, body}});
}

result<post_status> response_stream::end(
    const std::vector<std::pair<std::string_view, std::string_view>>& trailers) {
  if (transport_ == nullptr) return errc::stream_closed;
  auto response = std::exchange(transport_, nullptr)->end_chunked(trailers);
  if (!response) return response.error();
  return post_outcome(*response, target_);
}

// --- lambda_client

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

result<std::optional<invocation>> lambda_client::poll_next(unsigned idle) {
  return transport_->poll_next(idle);
}

result<post_status> lambda_client::post_response(std::string_view request_id,
                                                 const outcome& success) {
  return post(detail::response_target(request_id), success, false);
}

result<post_status> lambda_client::post_error(std::string_view request_id, const outcome& failure) {
  return post(detail::error_target(request_id), failure, true);
}

result<response_stream> lambda_client::stream_response(std::string_view request_id,
                                                       std::string_view content_type) {
  http_request request{
      "POST", detail::response_target(request_id), {{"User-Agent", user_agent_}}, {}};
  request.headers.emplace_back(response_mode_header, "streaming");
  request.headers.emplace_back("Trailer", trailer_names);
  request.headers.emplace_back(detail::content_type_header,
                               content_type.empty() ? "application/octet-stream" : content_type);
  if (auto started = transport_->begin_chunked(request); !started) return started.error();
  return response_stream(*transport_, std::move(request.target));
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
  return post_outcome(*response, request.target);
}

std::string user_agent(std::string_view language, std::string_view transport_name) {
  std::string ua = "lamella/" LAMELLA_VERSION " (";
  ua.append(language).append("; ").append(transport_name).append(")");
  return ua;
}

}  // namespace lamella
