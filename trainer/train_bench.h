// Training throughput of one job's model: what `fracsweep bench train` prints.
//
// compute: one batch, loaded once, run through `steps` optimizer steps
//          (forward, loss, backward, step): the model's cost alone;
// end to end: `steps` batches from the job's sampler and prefetching loader
//          (read, inflate, augment, normalise) through the same steps.
// Both after `warmup` untimed steps, at the job's thread count, on the job's
// device (train.device, GPU 0) and precision; on a GPU the clock is read after
// the device has finished. data wait: the part of an end-to-end step spent
// waiting for the loader (the GPU idles then).
#pragma once

#include <string>

#include "spec/job_config.h"

namespace fracsweep::trainer {

struct TrainBenchResult {
  int batch_size = 0, steps = 0, threads = 0;
  double compute_s_per_step = 0, end_to_end_s_per_step = 0;
  double data_wait_s_per_step = 0;
  std::string device;  // "cpu", "cuda:0"; " bf16" appended when autocast is on
};

TrainBenchResult bench_training(const spec::JobConfig& job, int steps, int warmup);

}  // namespace fracsweep::trainer

namespace fracsweep::trainer {

// One AASN training step on random inputs held in memory (no data path yet):
// forward of the image and its twin, L_b + lambda L_c, backward and Adam, at
// `threads` intra-op threads on the CPU. For comparing the model's cost with
// the same model in Python's torch (bench/aasn_vs_pytorch.py).
struct AasnBenchOptions {
  std::string row = "aasn";   // a Table 2 row, see AasnSwitches::of_row
  int growth_rate = 32;       // 32 = DenseNet-121
  int height = 256, width = 512, batch = 2;
  int steps = 3, warmup = 1, threads = 0;
  uint64_t seed = 1;
};

struct AasnBenchResult {
  int64_t parameters = 0;
  int threads = 0;
  double s_per_step = 0;
};

AasnBenchResult bench_aasn_step(const AasnBenchOptions& options);

}  // namespace fracsweep::trainer
