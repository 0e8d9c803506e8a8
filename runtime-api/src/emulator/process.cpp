#include "emulator/process.h"

#include "emulator/emulator_protocol.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <string_view>

namespace lamella::detail {

namespace {

boost::system::error_code errno_code(int e) { return {e, boost::system::system_category()}; }

// Reads a small /proc file whole; empty when it cannot be opened.
std::string read_small_file(const char* path) {
  std::string out;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      out.append(buf.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(fd);
  return out;
}

// Closes a pair of descriptors that are >= 0.
void close_fds(std::initializer_list<int> fds) {
  for (const int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
}

// RAII for the spawn attribute and file-action objects.
struct spawn_setup {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};
  spawn_setup() {
    ::posix_spawnattr_init(&attr);
    ::posix_spawn_file_actions_init(&actions);
  }
  ~spawn_setup() {
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;
};

std::size_t peak_rss_recursive(pid_t pid, int depth) {
  std::array<char, 64> path{};
  std::snprintf(path.data(), path.size(), "/proc/%d/status", static_cast<int>(pid));
  std::size_t total = parse_vm_hwm_kb(read_small_file(path.data()));
  if (depth >= 8) return total;
  std::snprintf(path.data(), path.size(), "/proc/%d/task/%d/children", static_cast<int>(pid),
                static_cast<int>(pid));
  const std::string children = read_small_file(path.data());
  const char* p = children.data();
  const char* const end = p + children.size();
  while (p < end) {
    int child = 0;
    const auto [next, ec] = std::from_chars(p, end, child);
    if (ec == std::errc{} && child > 0) {
      total += peak_rss_recursive(child, depth + 1);
      p = next;
    } else {
      ++p;
    }
  }
  return total;
}

}  // namespace

result<spawned_process> spawn_process(const std::vector<std::string>& argv,
                                      const std::vector<std::string>& env,
                                      const std::filesystem::path& cwd) {
  if (argv.empty()) return errno_code(EINVAL);
  std::array<int, 2> out{-1, -1};
  std::array<int, 2> err{-1, -1};
  if (::pipe2(out.data(), O_CLOEXEC) != 0) return errno_code(errno);
  if (::pipe2(err.data(), O_CLOEXEC) != 0) {
    const int e = errno;
    close_fds({out[0], out[1]});
    return errno_code(e);
  }
  // Only our read ends are non-blocking; the child's write ends stay blocking.
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);

  std::vector<char*> c_argv;
  c_argv.reserve(argv.size() + 1);
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  c_env.reserve(env.size() + 1);
  for (const auto& e : env) c_env.push_back(const_cast<char*>(e.c_str()));
  c_env.push_back(nullptr);

  spawn_setup s;
  // New process group (pgid = pid) so a timeout or reset can kill the runtime and everything it
  // started with one kill(-pgid). Signal mask empty and common signals at their defaults: the
  // emulator's own dispositions (an ignored SIGPIPE, Asio's SIGINT handler) are not inherited.
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int sig :
       {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
    sigaddset(&defaults, sig);
  }
  ::posix_spawnattr_setpgroup(&s.attr, 0);
  ::posix_spawnattr_setsigmask(&s.attr, &empty_mask);
  ::posix_spawnattr_setsigdefault(&s.attr, &defaults);
  ::posix_spawnattr_setflags(
      &s.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  ::posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&s.actions, out[1], 1);
  ::posix_spawn_file_actions_adddup2(&s.actions, err[1], 2);
  // Sockets opened by Asio are not close-on-exec; never let the runtime inherit a listener or a
  // connection.
  ::posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);
  if (!cwd.empty()) ::posix_spawn_file_actions_addchdir_np(&s.actions, cwd.c_str());

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, c_argv[0], &s.actions, &s.attr, c_argv.data(), c_env.data());
  close_fds({out[1], err[1]});
  if (rc != 0) {
    close_fds({out[0], err[0]});
    return errno_code(rc);
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    const int e = errno;
    kill_process_group(pid);
    int status = 0;
    ::waitpid(pid, &status, 0);
    close_fds({out[0], err[0]});
    return errno_code(e);
  }
  ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  return spawned_process{pid, pidfd, out[0], err[0]};
}

std::size_t peak_rss_kb(pid_t pid) { return pid > 0 ? peak_rss_recursive(pid, 0) : 0; }

void kill_process_group(pid_t pgid) noexcept {
  if (pgid > 0) ::kill(-pgid, SIGKILL);
}

}  // namespace lamella::detail
