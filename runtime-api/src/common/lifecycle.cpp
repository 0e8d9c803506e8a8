#include "lamella/lifecycle.h"

#include "common/lifecycle.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>

namespace lamella {
namespace {

using hook_list = std::vector<std::function<void()>>;

struct registry {
  std::mutex mutex;  // guards everything below
  hook_list shutdown;
  hook_list pre_freeze;
  bool shutdown_ran = false;
  std::optional<outcome> shutdown_result;
  std::mutex run_mutex;  // held while hooks run: one run at a time
};

registry& hooks() {
  static registry r;  // NOLINT: the process-wide hook registry
  return r;
}

/// Runs every hook; a throwing hook becomes the (first) failure, and the rest still run.
std::optional<outcome> run_all(const hook_list& list, std::string_view what) {
  std::optional<outcome> failure;
  for (const auto& hook : list) {
    try {
      hook();
    } catch (const std::exception& e) {
      if (!failure)
        failure = outcome::failure("Runtime.HookError", std::string(what) + ": " + e.what());
    } catch (...) {
      if (!failure) failure = outcome::failure("Runtime.HookError", std::string(what) + " threw");
    }
  }
  return failure;
}

}  // namespace

void on_shutdown(std::function<void()> hook) {
  auto& r = hooks();
  const std::lock_guard lock(r.mutex);
  r.shutdown.push_back(std::move(hook));
}

void on_pre_freeze(std::function<void()> hook) {
  auto& r = hooks();
  const std::lock_guard lock(r.mutex);
  r.pre_freeze.push_back(std::move(hook));
}

namespace detail {

std::optional<outcome> run_shutdown_hooks() {
  auto& r = hooks();
  const std::lock_guard running(r.run_mutex);
  hook_list list;
  {
    const std::lock_guard lock(r.mutex);
    if (r.shutdown_ran) return r.shutdown_result;
    r.shutdown_ran = true;
    list.swap(r.shutdown);
  }
  auto failure = run_all(list, "a shutdown hook");
  const std::lock_guard lock(r.mutex);
  r.shutdown_result = failure;
  return failure;
}

std::optional<outcome> run_pre_freeze_hooks() {
  auto& r = hooks();
  const std::lock_guard running(r.run_mutex);
  hook_list list;
  {
    const std::lock_guard lock(r.mutex);
    list = r.pre_freeze;
  }
  return run_all(list, "a pre-freeze hook");
}

void exit_now(int status) noexcept {
  for (std::FILE* stream : {stdout, stderr}) {
    if (::ftrylockfile(stream) == 0) {
      ::fflush_unlocked(stream);
      ::funlockfile(stream);
    }
  }
  std::_Exit(status);
}

}  // namespace detail
}  // namespace lamella
