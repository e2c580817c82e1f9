#include "host/runner.h"

#include <signal.h>

#include <cerrno>
#include <ctime>

namespace wc::host {

namespace {
sigset_t termination_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

void block_termination_signals() {
  sigset_t set = termination_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_termination(const std::function<bool()>& stopped) {
  sigset_t set = termination_set();
  for (;;) {
    if (stopped && stopped()) return 0;
    timespec ts{0, 100 * 1000 * 1000};
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) return sig;
  }
}

}  // namespace wc::host
