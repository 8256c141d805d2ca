// Turns SIGINT, SIGTERM and SIGUSR1 into a request to stop at the next safe
// point (after the current step: checkpoint, then exit with kExitInterrupted).
//
// SLURM sends SIGUSR1 (with --signal) or SIGTERM before it preempts or ends a
// job; a checkpoint then lets the requeued job resume where it stopped.
// A signal handler can only set a flag, and the flag must be reachable from
// the handler, so it is the one process-wide variable in fracsweep; a
// StopSignals object installs the handlers for its lifetime and restores the
// previous ones after. A second SIGINT while stopping exits at once.
#pragma once

#include <csignal>

namespace fracsweep::trainer {

// Exit code of a job that stopped on a signal after writing its checkpoint;
// the launcher and SLURM scripts requeue on it.
inline constexpr int kExitInterrupted = 3;

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool requested() const;
  int signal() const;  // the signal that asked, 0 if none
  void clear();        // forget a request (e.g. after it was handled)

 private:
  struct sigaction old_int_{}, old_term_{}, old_usr1_{};
};

}  // namespace fracsweep::trainer
