// See stop_signals.h.
#include "trainer/stop_signals.h"

#include <unistd.h>

namespace fracsweep::trainer {
namespace {

// Written only by the handler, read by the training loop.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int sig) {
  if (sig == SIGINT && g_stop_signal == SIGINT) _exit(128 + SIGINT);  // asked twice: give up now
  g_stop_signal = sig;
}

void install(int sig, struct sigaction& old) {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, &old);
}

}  // namespace

// The flag is not reset here: a request that arrived while an outer
// StopSignals was installed (between two jobs of a sweep) must still stop the
// inner one.
StopSignals::StopSignals() {
  install(SIGINT, old_int_);
  install(SIGTERM, old_term_);
  install(SIGUSR1, old_usr1_);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGUSR1, &old_usr1_, nullptr);
}

bool StopSignals::requested() const { return g_stop_signal != 0; }
int StopSignals::signal() const { return g_stop_signal; }
void StopSignals::clear() { g_stop_signal = 0; }

}  // namespace fracsweep::trainer
