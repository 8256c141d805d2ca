// Progress of a training job: a bar redrawn in place on a terminal, plain
// lines (at most one every few seconds, plus one per epoch) when stderr is a
// file or a pipe, as under SLURM.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace fracsweep::trainer {

class Progress {
 public:
  // `out` is usually stderr; `interactive` says whether to redraw in place
  // (defaults to isatty(out)).
  explicit Progress(std::FILE* out = stderr);
  Progress(std::FILE* out, bool interactive);

  void start_epoch(int epoch, int epochs, size_t steps);
  void step(size_t step, double loss, double samples_per_s);
  // Ends the epoch's bar with a summary line.
  void end_epoch(const std::string& summary);

 private:
  std::FILE* out_;
  bool interactive_;
  int epoch_ = 0, epochs_ = 0;
  size_t steps_ = 0;
  std::chrono::steady_clock::time_point last_line_{};
};

}  // namespace fracsweep::trainer
