// The default transport: Boost.Beast on a blocking socket. Why blocking: the loop does one thing
// at a time, and a blocking read is the cheapest way to long-poll `/next`. Only the connect
// step runs asynchronously, so that it can be bounded by a timer.
#include "lamella/transport.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <optional>

namespace lamella {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class beast_transport final : public transport {
 public:
  beast_transport(std::string host, std::string port, transport_options options)
      : host_(std::move(host)), port_(std::move(port)), options_(std::move(options)) {}

  result<http_response> send(const http_request& request) override {
    const bool reused = socket_.is_open();
    if (!reused) {
      if (auto ec = connect()) return fail(ec, "connect");
    }
    boost::system::error_code ec = exchange(request);
    if (ec && reused) {
      // A keep-alive connection the server closed while we were idle: reconnect once.
      close();
      if (auto cec = connect()) return fail(cec, "connect");
      ec = exchange(request);
    }
    if (ec) {
      close();
      return fail(ec, "exchange");
    }
    http_response out;
    out.status = parser_->get().result_int();
    out.headers.reserve(8);
    for (const auto& field : parser_->get()) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(parser_->get().body());
    if (!parser_->get().keep_alive()) close();
    return out;
  }

  [[nodiscard]] std::string_view name() const noexcept override { return "beast"; }

 private:
  boost::system::error_code connect() {
    boost::system::error_code ec;
    tcp::resolver resolver(ioc_);
    const auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) return ec;
    ioc_.restart();
    boost::system::error_code connect_ec = net::error::would_block;
    net::async_connect(socket_, endpoints,
                       [&](boost::system::error_code e, const tcp::endpoint&) { connect_ec = e; });
    ioc_.run_for(options_.connect_timeout);
    if (!ioc_.stopped()) {
      close();
      ioc_.run();  // let the cancelled operation complete
      return net::error::timed_out;
    }
    if (connect_ec) {
      close();
      return connect_ec;
    }
    socket_.set_option(tcp::no_delay(true), ec);
    return ec;
  }

  boost::system::error_code exchange(const http_request& request) {
    boost::system::error_code ec;
    http::request<http::empty_body> head;
    head.method_string(request.method);
    head.target(request.target);
    head.version(11);
    head.set(http::field::host, host_);
    for (const auto& [name, value] : request.headers) head.insert(name, value);
    if (request.method != "GET" || !request.body.empty()) {
      head.content_length(request.body.size());
    }
    http::request_serializer<http::empty_body> sr(head);
    http::write_header(socket_, sr, ec);
    if (ec) return ec;
    if (!request.body.empty()) {
      net::write(socket_, net::buffer(request.body.data(), request.body.size()), ec);
      if (ec) return ec;
    }
    parser_.emplace();
    // Large events (up to Lambda's 6 MB request and beyond for streamed modes) are legal.
    parser_->body_limit(boost::none);
    http::read(socket_, buffer_, *parser_, ec);
    return ec;
  }

  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    buffer_.clear();
  }

  static result<http_response> fail(boost::system::error_code ec, const char* what) {
    std::fprintf(stderr, "lamella: Runtime API %s failed: %s\n", what, ec.message().c_str());
    return errc::runtime_api_unreachable;
  }

  std::string host_;
  std::string port_;
  transport_options options_;
  net::io_context ioc_{1};
  tcp::socket socket_{ioc_};
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

}  // namespace

std::unique_ptr<transport> make_beast_transport(std::string_view host_port,
                                                transport_options options) {
  const auto colon = host_port.rfind(':');
  std::string host(host_port.substr(0, colon == std::string_view::npos ? host_port.size() : colon));
  std::string port(colon == std::string_view::npos ? "80" : host_port.substr(colon + 1));
  return std::make_unique<beast_transport>(std::move(host), std::move(port), std::move(options));
}

}  // namespace lamella
