// The push server adopting an inherited listening socket (LAMELLA_LISTEN_FD), as the bootstrap
// hands its Fission specialisation socket over: served over real loopback HTTP.
#include "raw_http.h"
#include "server/push_server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <string>

namespace lamella::push {
namespace {

/// A listening socket on 127.0.0.1 (any port) without close-on-exec, as inherited; its port.
std::pair<int, std::uint16_t> listening_socket() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 16) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
    return {-1, 0};
  }
  return {fd, ntohs(addr.sin_port)};
}

platform_settings settings_for_test() {
  platform_settings s;
  s.kind = platform_kind::fission;
  s.listen_address = "127.0.0.1";
  s.port = 1;  // never bound: the inherited socket is used instead
  return s;
}

TEST(listen_fd, the_server_adopts_an_inherited_listening_socket) {
  const auto [fd, port] = listening_socket();
  ASSERT_GE(fd, 0);
  // A client that connected before the server existed waits in the backlog, as a request does
  // while the handler loads after a Fission specialize.
  testing::raw_connection early(port);
  ASSERT_TRUE(early.send_request("GET", "/healthz"));
  ::setenv("LAMELLA_LISTEN_FD", std::to_string(fd).c_str(), 1);
  auto s = server::start(settings_for_test(), make_fission_adapter(fission_options{}));
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->port(), port);
  EXPECT_EQ(std::getenv("LAMELLA_LISTEN_FD"), nullptr) << "children must not see it";
  EXPECT_EQ(::fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) << "children must not inherit it";
  const auto answer = early.read_response();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  testing::raw_connection later(port);
  const auto again = later.exchange("GET", "/healthz");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200u);
}

TEST(listen_fd, something_that_is_not_a_listening_socket_is_refused) {
  std::array<int, 2> pipe_fds{-1, -1};
  ASSERT_EQ(::pipe(pipe_fds.data()), 0);
  const int unconnected = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  for (const std::string& value : {std::to_string(pipe_fds[0]), std::to_string(unconnected),
                                   std::string("x"), std::string("99999")}) {
    SCOPED_TRACE(value);
    ::setenv("LAMELLA_LISTEN_FD", value.c_str(), 1);
    const auto s = server::start(settings_for_test(), make_fission_adapter(fission_options{}));
    EXPECT_FALSE(s);
  }
  ::unsetenv("LAMELLA_LISTEN_FD");
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  ::close(unconnected);
}

}  // namespace
}  // namespace lamella::push
