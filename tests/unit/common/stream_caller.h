// Test helper: a caller of the emulator's invoke endpoint on a raw loopback socket that reads
// the answer piece by piece, so a test can see what has arrived before the runtime sends more.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace lamella::testing {

/// Sends one `POST /2015-03-31/functions/function/invocations` and reads its answer on demand.
/// Reads block; a read that waits longer than 30 s fails (throws) so that a test which would
/// otherwise hang fails instead. Not thread-safe.
class stream_caller {
 public:
  using response = boost::beast::http::response<boost::beast::http::string_body>;

  /// Connects to 127.0.0.1:`port` and sends the invocation with `payload` and `headers`.
  explicit stream_caller(std::uint16_t port, std::string_view payload = "{}",
                         std::string_view extra_headers = {})
      : socket_(io_) {
    namespace net = boost::asio;
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
    timeval guard{};
    guard.tv_sec = 30;
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
    std::string request =
        "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\n";
    request.append(extra_headers);
    request.append("Content-Length: ").append(std::to_string(payload.size())).append("\r\n\r\n");
    request.append(payload);
    net::write(socket_, net::buffer(request));
    parser_.body_limit(boost::none);
  }

  /// Reads until the head has arrived.
  void read_head() {
    if (!parser_.is_header_done()) boost::beast::http::read_header(socket_, buffer_, parser_);
  }

  /// Reads until the body holds at least `size` bytes or the response is complete; returns the
  /// body so far.
  const std::string& read_body_until(std::size_t size) {
    read_head();
    while (!parser_.is_done() && parser_.get().body().size() < size) {
      boost::beast::http::read_some(socket_, buffer_, parser_);
    }
    return parser_.get().body();
  }

  /// Reads the rest of the response (trailers are merged into the fields).
  const response& read_all() {
    read_head();
    if (!parser_.is_done()) boost::beast::http::read(socket_, buffer_, parser_);
    return parser_.get();
  }

  /// The response as far as it has been read.
  [[nodiscard]] const response& message() const { return parser_.get(); }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::response_parser<boost::beast::http::string_body> parser_;
};

}  // namespace lamella::testing
