// Test helper: a tiny HTTP/1.1 client on a blocking loopback socket, for tests that must control
// the bytes (oversized heads, slow clients, keep-alive) and see exactly what the server answers.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lamella::testing {

/// One answer as read off the wire.
struct raw_response {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// The first header named `name` (ASCII case-insensitive), or empty.
  [[nodiscard]] std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n.size() == name.size() &&
          std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return v;
      }
    }
    return {};
  }
};

/// One client connection to 127.0.0.1:port. Reads block; a read that waits longer than 60 s
/// fails (throws), so that a test which would otherwise hang fails instead. Not thread-safe.
class raw_connection {
 public:
  explicit raw_connection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect");
    }
    timeval guard{};
    guard.tv_sec = 60;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  /// One client connection to the UNIX socket at `socket_path` (Fn's lsnr.sock); same rules.
  explicit raw_connection(const std::filesystem::path& socket_path)
      : fd_(::socket(AF_UNIX, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = socket_path.string();
    if (path.size() >= sizeof addr.sun_path) {
      ::close(fd_);
      throw std::runtime_error("socket path too long");
    }
    std::copy(path.begin(), path.end(), addr.sun_path);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect");
    }
    timeval guard{};
    guard.tv_sec = 60;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;
  ~raw_connection() { ::close(fd_); }

  /// Sends `bytes` as they are. False when the peer has gone.
  bool send_bytes(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Sends a request with a Content-Length body.
  bool send_request(std::string_view method, std::string_view target, std::string_view body = {},
                    std::string_view extra_headers = {}) {
    std::string head = std::string(method) + " " + std::string(target) +
                       " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n";
    head.append(extra_headers);
    head.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
    return send_bytes(head) && send_bytes(body);
  }

  /// Reads one answer: a Content-Length or chunked body (none at all when `bodiless`, the answer
  /// to a HEAD). nullopt when the connection closed first (for a chunked body: before its last
  /// chunk).
  std::optional<raw_response> read_response(bool bodiless = false) {
    auto r = read_head();
    if (!r) return std::nullopt;
    if (!bodiless && r->header("Transfer-Encoding") == "chunked") {
      for (;;) {
        auto chunk = read_chunk();
        if (!chunk) return std::nullopt;
        if (chunk->empty()) return r;
        r->body.append(*chunk);
      }
    }
    const std::string length = r->header("Content-Length");
    const std::size_t size = length.empty() || bodiless ? 0 : std::stoul(length);
    while (buffer_.size() < size) {
      if (!fill()) return std::nullopt;
    }
    r->body = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return r;
  }

  /// Reads the next chunk of a chunked body: its bytes, empty for the last chunk (whose trailers
  /// are read and dropped), nullopt when the connection closed first.
  std::optional<std::string> read_chunk() {
    std::size_t end = 0;
    while ((end = buffer_.find("\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    const std::size_t size = std::stoul(buffer_.substr(0, end), nullptr, 16);
    buffer_.erase(0, end + 2);
    if (size == 0) {
      for (;;) {  // trailers, up to the empty line
        while ((end = buffer_.find("\r\n")) == std::string::npos) {
          if (!fill()) return std::nullopt;
        }
        buffer_.erase(0, end + 2);
        if (end == 0) return std::string();
      }
    }
    while (buffer_.size() < size + 2) {
      if (!fill()) return std::nullopt;
    }
    std::string bytes = buffer_.substr(0, size);
    buffer_.erase(0, size + 2);
    return bytes;
  }

  /// Reads an answer's status line and headers, leaving its body unread.
  std::optional<raw_response> read_head() {
    std::size_t end = 0;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    raw_response r;
    const std::string head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    r.status = static_cast<unsigned>(std::stoul(status_line.substr(status_line.find(' ') + 1)));
    std::size_t pos = line_end + 2;
    while (pos < head.size()) {
      line_end = head.find("\r\n", pos);
      const std::string line = head.substr(pos, line_end - pos);
      const auto colon = line.find(':');
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace_back(line.substr(0, colon), value);
      pos = line_end + 2;
    }
    return r;
  }

  /// One request and its answer.
  std::optional<raw_response> exchange(std::string_view method, std::string_view target,
                                       std::string_view body = {},
                                       std::string_view extra_headers = {}) {
    if (!send_request(method, target, body, extra_headers)) return std::nullopt;
    return read_response();
  }

  /// Blocks until the server closes the connection (true) or sends bytes (false).
  bool wait_closed() {
    if (!buffer_.empty()) return false;
    char c = 0;
    const auto n = ::recv(fd_, &c, 1, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      throw std::runtime_error("no answer within 60 s");
    }
    return n <= 0;
  }

 private:
  bool fill() {
    char chunk[16 * 1024];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      throw std::runtime_error("no answer within 60 s");
    }
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  std::string buffer_;
};

}  // namespace lamella::testing
