// The default transport: Boost.Beast's HTTP parser on a blocking TCP socket. Why blocking: the
// loop does one thing at a time, and a blocking read is the cheapest way to long-poll `/next`
// (one recv per response; a non-blocking socket would cost a failed recv and a poll first).
// Why the request head is written by hand: it is a handful of fixed lines, and sending head and
// body with one gather write keeps a small POST in one TCP segment.
#include "lamella/transport.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/read.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>

namespace lamella {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

/// Sets the send timeout, which Linux also applies to a blocking connect(); zero = none.
void set_send_timeout(tcp::socket& socket, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/// Beast's HTTP/1.1 response parser feeding an http_response directly: no intermediate field
/// container, one allocation per header string at most, the body appended in place.
/// Single use: construct a new one per response.
class response_parser final : public http::basic_parser<false> {
 public:
  explicit response_parser(http_response& out) : out_(out) {
    out_.headers.reserve(12);
    // Large events (6 MB for synchronous invokes, more for other modes) are legal.
    body_limit(boost::none);
  }

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       boost::system::error_code& ec) override {
    ec = http::error::bad_method;  // never called for a response parser
  }
  void on_response_impl(int code, beast::string_view, int, boost::system::error_code&) override {
    out_.status = static_cast<unsigned>(code);
  }
  void on_field_impl(http::field, beast::string_view name, beast::string_view value,
                     boost::system::error_code&) override {
    out_.headers.emplace_back(std::string(name), std::string(value));
  }
  void on_header_impl(boost::system::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         boost::system::error_code&) override {
    if (length) out_.body.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(beast::string_view body, boost::system::error_code&) override {
    out_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view,
                            boost::system::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 boost::system::error_code&) override {
    out_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(boost::system::error_code&) override {}

  http_response& out_;
};

class beast_transport final : public transport {
 public:
  beast_transport(std::string host, std::string port, transport_options options)
      : host_(std::move(host)), port_(std::move(port)), options_(options) {
    // Room for a typical response in one read; it grows on demand for large events.
    buffer_.reserve(16 * 1024);
    head_.reserve(512);
  }

  result<http_response> send(const http_request& request) override {
    abort_chunked();  // a request during a chunked one abandons it (the caller broke the rule)
    const bool reused = socket_.is_open();
    if (!reused) {
      if (auto ec = connect()) return fail(ec, "connect");
    }
    http_response out;
    bool keep_alive = false;
    boost::system::error_code ec = exchange(request, out, keep_alive);
    if (ec && reused) {
      // A keep-alive connection the server closed while we were idle: reconnect once.
      close();
      if (auto cec = connect()) return fail(cec, "connect");
      out = http_response{};
      ec = exchange(request, out, keep_alive);
    }
    if (ec) {
      close();
      return fail(ec, "exchange");
    }
    if (!keep_alive) close();
    return out;
  }

  [[nodiscard]] std::string_view name() const noexcept override { return "beast"; }

  result<void> begin_chunked(const http_request& request) override {
    abort_chunked();
    // The head alone cannot tell a dead keep-alive connection (a write into it succeeds), and
    // chunks already sent cannot be replayed: so look before writing.
    if (socket_.is_open() && peer_closed()) close();
    if (!socket_.is_open()) {
      if (auto ec = connect()) return fail_void(ec, "connect");
    }
    write_head(request, /*chunked=*/true);
    boost::system::error_code ec;
    net::write(socket_, net::buffer(head_), ec);
    if (ec) {
      close();
      return fail_void(ec, "exchange");
    }
    chunked_ = true;
    return {};
  }

  result<void> write_chunk(std::string_view bytes) override {
    if (!chunked_) return errc::stream_closed;
    if (bytes.empty()) return {};  // an empty chunk would end the body
    char size_line[24];
    auto* end = std::to_chars(size_line, size_line + sizeof size_line - 2, bytes.size(), 16).ptr;
    *end++ = '\r';
    *end++ = '\n';
    static constexpr std::string_view crlf = "\r\n";
    const std::array<net::const_buffer, 3> buffers{
        net::buffer(size_line, static_cast<std::size_t>(end - size_line)),
        net::buffer(bytes.data(), bytes.size()), net::buffer(crlf.data(), crlf.size())};
    boost::system::error_code ec;
    net::write(socket_, buffers, ec);
    if (ec) {
      close();
      return fail_void(ec, "exchange");
    }
    return {};
  }

  result<http_response> end_chunked(
      const std::vector<std::pair<std::string_view, std::string_view>>& trailers) override {
    if (!chunked_) return errc::stream_closed;
    chunked_ = false;
    head_.assign("0\r\n");
    for (const auto& [name, value] : trailers) {
      head_.append(name).append(": ").append(value).append("\r\n");
    }
    head_.append("\r\n");
    boost::system::error_code ec;
    net::write(socket_, net::buffer(head_), ec);
    http_response out;
    bool keep_alive = false;
    if (!ec) ec = read_response(out, keep_alive);
    if (ec) {
      close();
      return fail(ec, "exchange");
    }
    if (!keep_alive) close();
    return out;
  }

  void abort_chunked() noexcept override {
    if (!chunked_) return;
    chunked_ = false;
    close();
  }

 private:
  boost::system::error_code connect() {
    boost::system::error_code ec;
    tcp::endpoint endpoint;
    const auto address = net::ip::make_address(host_, ec);
    if (!ec) {
      unsigned short port = 0;
      std::from_chars(port_.data(), port_.data() + port_.size(), port);
      endpoint = tcp::endpoint(address, port);
    } else {
      tcp::resolver resolver(ioc_);
      const auto results = resolver.resolve(host_, port_, ec);
      if (ec) return ec;
      if (results.empty()) return net::error::host_not_found;
      endpoint = results.begin()->endpoint();
    }
    socket_.open(endpoint.protocol(), ec);
    if (ec) return ec;
    set_send_timeout(socket_, options_.connect_timeout);
    socket_.connect(endpoint, ec);
    if (ec) {
      close();
      return ec == net::error::would_block || ec == net::error::in_progress ? net::error::timed_out
                                                                            : ec;
    }
    // No timeout on anything after connect: /next long-polls (see transport.h).
    set_send_timeout(socket_, std::chrono::milliseconds(0));
    socket_.set_option(tcp::no_delay(true), ec);
    return ec;
  }

  // Writes the request line and headers into head_, ending with the blank line.
  void write_head(const http_request& request, bool chunked) {
    head_.clear();
    head_.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\nHost: ");
    head_.append(host_).append("\r\n");
    for (const auto& [name, value] : request.headers) {
      head_.append(name).append(": ").append(value).append("\r\n");
    }
    if (chunked) {
      head_.append("Transfer-Encoding: chunked\r\n");
    } else if (request.method != "GET" || !request.body.empty()) {
      char digits[24];
      const auto end = std::to_chars(digits, digits + sizeof digits, request.body.size()).ptr;
      head_.append("Content-Length: ").append(digits, end).append("\r\n");
    }
    head_.append("\r\n");
  }

  boost::system::error_code exchange(const http_request& request, http_response& out,
                                     bool& keep_alive) {
    write_head(request, false);
    boost::system::error_code ec;
    const std::array<net::const_buffer, 2> buffers{
        net::buffer(head_), net::buffer(request.body.data(), request.body.size())};
    net::write(socket_, buffers, ec);
    if (ec) return ec;
    return read_response(out, keep_alive);
  }

  boost::system::error_code read_response(http_response& out, bool& keep_alive) {
    boost::system::error_code ec;
    response_parser parser(out);
    http::read(socket_, buffer_, parser, ec);
    keep_alive = !ec && parser.keep_alive();
    return ec;
  }

  // True when the server has closed (or reset) the idle connection: a non-blocking peek sees
  // end-of-stream or an error instead of "nothing to read yet".
  bool peer_closed() {
    char byte = 0;
    const ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }

  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    buffer_.clear();
  }

  static result<void> fail_void(boost::system::error_code ec, const char* what) {
    return fail(ec, what).error();
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
  std::string head_;
  bool chunked_ = false;  // a chunked request's body is being written
};

}  // namespace

std::unique_ptr<transport> make_beast_transport(std::string_view host_port,
                                                transport_options options) {
  const auto colon = host_port.rfind(':');
  std::string host(host_port.substr(0, colon == std::string_view::npos ? host_port.size() : colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // "[::1]:9001"
  }
  std::string port(colon == std::string_view::npos ? "80" : host_port.substr(colon + 1));
  return std::make_unique<beast_transport>(std::move(host), std::move(port), options);
}

}  // namespace lamella
