// See progress.h.
#include "trainer/progress.h"

#include <unistd.h>

#include <algorithm>

namespace fracsweep::trainer {
namespace {
constexpr auto kPlainEvery = std::chrono::seconds(10);
constexpr int kBarWidth = 24;
}  // namespace

Progress::Progress(std::FILE* out) : Progress(out, ::isatty(::fileno(out)) == 1) {}
Progress::Progress(std::FILE* out, bool interactive) : out_(out), interactive_(interactive) {}

void Progress::start_epoch(int epoch, int epochs, size_t steps) {
  epoch_ = epoch;
  epochs_ = epochs;
  steps_ = steps;
  last_line_ = std::chrono::steady_clock::now();
}

void Progress::step(size_t step, double loss, double samples_per_s) {
  if (interactive_) {
    const int filled = steps_ ? static_cast<int>(kBarWidth * step / steps_) : kBarWidth;
    std::string bar(static_cast<size_t>(std::clamp(filled, 0, kBarWidth)), '#');
    bar.resize(kBarWidth, '.');
    std::fprintf(out_, "\repoch %d/%d [%s] step %zu/%zu  loss %.4f  %.1f samples/s ", epoch_ + 1,
                 epochs_, bar.c_str(), step, steps_, loss, samples_per_s);
    std::fflush(out_);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - last_line_ < kPlainEvery) return;
  last_line_ = now;
  std::fprintf(out_, "epoch %d/%d step %zu/%zu loss %.4f %.1f samples/s\n", epoch_ + 1, epochs_,
               step, steps_, loss, samples_per_s);
  std::fflush(out_);
}

void Progress::end_epoch(const std::string& summary) {
  if (interactive_) std::fputc('\n', out_);
  std::fprintf(out_, "epoch %d/%d %s\n", epoch_ + 1, epochs_, summary.c_str());
  std::fflush(out_);
}

}  // namespace fracsweep::trainer
