// See train_bench.h.
#include "trainer/train_bench.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/seed.h"
#include "datastore/loader.h"
#include "datastore/sampler.h"
#include "trainer/backends.h"
#include "trainer/batch_tensors.h"
#include "trainer/device.h"
#include "trainer/job_data.h"
#include "trainer/job_model.h"
#include "trainer/threads.h"
#include "trainer/torch_compat.h"

namespace fracsweep::trainer {

TrainBenchResult bench_training(const JobConfig& job, int steps, int warmup) {
  CHECK_OR_THROW(core::ConfigError, steps >= 1 && warmup >= 0, "steps must be >= 1, warmup >= 0");
  const int threads = intra_op_threads(job.train.threads, std::thread::hardware_concurrency());
  torch::set_num_threads(threads);
  auto store = std::make_shared<const datastore::PatchStore>(
      datastore::PatchStore::open(job.data.store));
  const auto& ix = store->index();
  const JobSplit split = resolve_split(ix, job.data);
  std::array<int64_t, 3> counts{};
  for (uint32_t i : split.train_samples) ++counts[static_cast<size_t>(ix.label[i])];
  const torch::Device device =
      resolve_device(job.train.device, cuda_device_count(), 0, job.data.store);
  configure_backend(device);
  const bool bf16 = uses_bf16(job.train.precision);
  torch::manual_seed(core::derive_seed(job.train.seed, "", 0, "init"));
  auto model = make_job_model(job, counts);
  model->to(device);
  if (job.train.channels_last) to_channels_last(model->module());
  torch::optim::Adam optimizer(model->module().parameters(),
                               torch::optim::AdamOptions(job.train.lr));
  model->module().train();
  std::vector<torch::Tensor> params = model->module().parameters();
  const auto step = [&](const BatchTensors& t) {
    LossTerms terms;
    {
      AutocastScope autocast(device.type(), bf16);
      terms = model->loss(t, 0);
    }
    zero_gradients(params);
    terms.total.backward();
    optimizer.step();
  };

  datastore::LoaderOptions lo;
  lo.batch_size = job.train.batch_size;
  lo.neighbours = model->uses_neighbours();
  lo.augment = {job.train.rotation, job.train.hflip, job.train.vflip};
  lo.workers = job.train.loader_workers;
  lo.drop_last = true;
  const std::string sampler =
      job.train.sampler == "auto" ? paper_sampler(job.model.variant) : job.train.sampler;
  const auto epoch_order = [&](int epoch) {
    return datastore::epoch_order(*datastore::parse_sampler(sampler), split.train_samples,
                                  ix.label, 3, core::mix64(static_cast<uint64_t>(epoch) + 1));
  };

  using Clock = std::chrono::steady_clock;
  // Work on a GPU is queued: the clock is read once it is done.
  const auto now = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
    return Clock::now();
  };
  const auto on_device = [&](datastore::Batch&& b) {
    return to_device(to_tensors(std::move(b)), device, job.train.channels_last);
  };
  TrainBenchResult r;
  r.device = device.str() + (bf16 ? " bf16" : "");
  r.batch_size = job.train.batch_size;
  r.steps = steps;
  r.threads = threads;
  {
    // The batch comes from a loader that is gone before the clock starts, so
    // no loader thread runs while compute alone is timed.
    std::optional<datastore::Batch> first;
    {
      datastore::BatchLoader once(store, lo);
      once.start_epoch(0, epoch_order(0));
      first = once.next();
    }
    CHECK_OR_THROW(core::ConfigError, first.has_value(), job.data.store,
                   ": the training part is smaller than one batch");
    const BatchTensors t = on_device(std::move(*first));
    for (int k = 0; k < warmup; ++k) step(t);
    const auto start = now();
    for (int k = 0; k < steps; ++k) step(t);
    r.compute_s_per_step = std::chrono::duration<double>(now() - start).count() / steps;
  }
  datastore::BatchLoader loader(store, lo);
  int epoch = 1, done = -warmup;
  loader.start_epoch(epoch, epoch_order(epoch));
  Clock::time_point start = now();
  double waited = 0;
  while (done < steps) {
    const auto asked = Clock::now();
    auto b = loader.next();
    if (done >= 0) waited += std::chrono::duration<double>(Clock::now() - asked).count();
    if (!b) {
      ++epoch;
      loader.start_epoch(epoch, epoch_order(epoch));
      continue;
    }
    step(on_device(std::move(*b)));
    if (++done == 0) start = now();
  }
  r.end_to_end_s_per_step = std::chrono::duration<double>(now() - start).count() / steps;
  r.data_wait_s_per_step = waited / steps;
  return r;
}

}  // namespace fracsweep::trainer
