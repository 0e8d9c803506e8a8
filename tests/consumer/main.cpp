// A function built outside the lamella tree against the installed package: it echoes events.
#include "lamella/runtime.h"

int main() {
  return lamella::run([](const lamella::invocation& inv) {
    return lamella::outcome::success(inv.payload, inv.content_type);
  });
}
