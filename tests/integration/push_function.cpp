// The function the push-platform tests run (LAMELLA_PLATFORM=http): lamella::run() serving HTTP.
// Whatever the platform adapter makes of a request, the event contains the request body, so the
// handler looks for words in it:
//   "block"  -> prints "blocked" on stdout, then waits for a line on stdin (the test releases it)
//   else     -> the event back
// A shutdown hook prints "shutdown hook ran" on stdout.
#include "lamella/runtime.h"

#include <cstdio>
#include <string>

int main() {
  lamella::on_shutdown([] {
    std::printf("shutdown hook ran\n");
    std::fflush(stdout);
  });
  return lamella::run([](const lamella::invocation& inv) {
    if (inv.payload.find("block") != std::string::npos) {
      std::printf("blocked\n");
      std::fflush(stdout);
      char line[64];
      if (std::fgets(line, sizeof line, stdin) == nullptr) {
        return lamella::outcome::failure("Released", "stdin closed");
      }
      return lamella::outcome::success(R"({"released":true})");
    }
    return lamella::outcome::success(inv.payload, inv.content_type);
  });
}
