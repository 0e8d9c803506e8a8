// Starting and observing the runtime process: posix_spawn, pidfd, /proc. Plain POSIX, no Asio.
#pragma once

#include "lamella/error.h"

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace lamella::detail {

/// A started child. The caller owns the three descriptors (all O_CLOEXEC; the pipes are
/// O_NONBLOCK) and must reap `pid`.
struct spawned_process {
  pid_t pid = -1;
  int pidfd = -1;      ///< pidfd_open(pid): readable once the child has exited
  int stdout_fd = -1;  ///< read end of the child's stdout pipe
  int stderr_fd = -1;  ///< read end of the child's stderr pipe
};

/// Starts `argv` with exactly `env` ("NAME=value" strings) as its environment, `cwd` as its
/// working directory, in a new process group (pgid = pid), stdin from /dev/null, stdout and
/// stderr into two pipes, default signal dispositions, and no other inherited descriptor.
/// REQUIRES: argv not empty. Errors: the errno of the failing call (pipe2, posix_spawn —
/// including exec failures such as ENOENT — or pidfd_open), as a system-category error_code.
/// Thread-safe (no shared state).
result<spawned_process> spawn_process(const std::vector<std::string>& argv,
                                      const std::vector<std::string>& env,
                                      const std::filesystem::path& cwd);

/// VmHWM (peak resident set) of `pid` plus that of its descendants, in kB; 0 when the process is
/// gone. Descendants are found through /proc/<pid>/task/<pid>/children (the main thread's
/// children, which covers runtimes that start one worker process, such as Node).
std::size_t peak_rss_kb(pid_t pid);

/// Sends SIGKILL to the process group `pgid`; ESRCH (already gone) is not an error.
void kill_process_group(pid_t pgid) noexcept;

}  // namespace lamella::detail
