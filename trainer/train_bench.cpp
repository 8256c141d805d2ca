// See train_bench.h.
#include "trainer/train_bench.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <tuple>
#include <utility>

#include "core/error.h"
#include "core/seed.h"
#include "datastore/loader.h"
#include "datastore/sampler.h"
#include "trainer/models/aasn.h"
#include "trainer/backends.h"
#include "trainer/batch_tensors.h"
#include "trainer/device.h"
#include "trainer/job_data.h"
#include "trainer/job_model.h"
#include "trainer/task.h"
#include "trainer/threads.h"
#include "trainer/torch_compat.h"

namespace fracsweep::trainer {

namespace {

using Clock = std::chrono::steady_clock;

// The job's model, optimizer, data and device, set up once for both timings.
class TrainBench {
 public:
  explicit TrainBench(const spec::JobConfig& job);
  // Seconds per step on one batch held on the device.
  double time_compute(int steps, int warmup);
  // Seconds per step with batches from the loader, and of those the seconds
  // spent waiting for the loader.
  std::pair<double, double> time_end_to_end(int steps, int warmup);
  std::string device_name() const {
    return device_.str() + (bf16_ ? " bf16" : "");
  }

 private:
  void step(const BatchTensors& t);
  std::vector<uint32_t> epoch_order(int epoch) const;
  BatchTensors on_device(datastore::Batch&& b) const {
    return to_device(to_tensors(std::move(b)), device_, job_.train.channels_last);
  }
  // Work on a GPU is queued: the clock is read once it is done.
  Clock::time_point now() const {
    if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
    return Clock::now();
  }

  const spec::JobConfig& job_;
  std::shared_ptr<const datastore::PatchStore> store_;
  JobSplit split_;
  torch::Device device_{torch::kCPU};
  bool bf16_ = false;
  std::unique_ptr<JobModel> model_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  std::vector<torch::Tensor> params_;
  datastore::LoaderOptions loader_options_;
  datastore::SamplerKind sampler_{};
  int classes_ = 3;
};

TrainBench::TrainBench(const spec::JobConfig& job) : job_(job) {
  store_ = std::make_shared<const datastore::PatchStore>(
      datastore::PatchStore::open(job.data.store));
  const auto task = make_training_task(job);
  task->check_store(*store_, job);
  classes_ = task->classes();
  const auto& ix = store_->index();
  split_ = resolve_split(ix, job.data);
  std::array<int64_t, 3> counts{};
  for (uint32_t i : split_.train_samples) ++counts[static_cast<size_t>(ix.label[i])];
  device_ = resolve_device(job.train.device, cuda_device_count(), 0, job.output);
  configure_backend(device_);
  bf16_ = uses_bf16(job.train.precision);
  torch::manual_seed(core::derive_seed(job.train.seed, "", 0, "init"));
  model_ = make_job_model(job, counts);
  model_->to(device_);
  if (job.train.channels_last) to_channels_last(model_->module());
  optimizer_ = std::make_unique<torch::optim::Adam>(model_->module().parameters(),
                                                    torch::optim::AdamOptions(job.train.lr));
  model_->module().train();
  params_ = model_->module().parameters();
  loader_options_.batch_size = job.train.batch_size;
  loader_options_.neighbours = model_->uses_neighbours();
  loader_options_.augment = {job.train.rotation, job.train.hflip, job.train.vflip};
  loader_options_.workers = job.train.loader_workers;
  loader_options_.drop_last = true;
  sampler_ = *datastore::parse_sampler(
      job.train.sampler == "auto" ? paper_sampler(job.model.variant) : job.train.sampler);
}

void TrainBench::step(const BatchTensors& t) {
  LossTerms terms;
  {
    AutocastScope autocast(device_.type(), bf16_);
    terms = model_->loss(t, 0);
  }
  zero_gradients(params_);
  terms.total.backward();
  optimizer_->step();
}

std::vector<uint32_t> TrainBench::epoch_order(int epoch) const {
  return datastore::epoch_order(sampler_, split_.train_samples, store_->index().label, classes_,
                                core::mix64(static_cast<uint64_t>(epoch) + 1));
}

double TrainBench::time_compute(int steps, int warmup) {
  // The batch comes from a loader that is gone before the clock starts, so
  // no loader thread runs while compute alone is timed.
  std::optional<datastore::Batch> first;
  {
    datastore::BatchLoader once(store_, loader_options_);
    once.start_epoch(0, epoch_order(0));
    first = once.next();
  }
  CHECK_OR_THROW(core::ConfigError, first.has_value(), job_.data.store,
                 ": the training part is smaller than one batch");
  const BatchTensors t = on_device(std::move(*first));
  for (int k = 0; k < warmup; ++k) step(t);
  const auto start = now();
  for (int k = 0; k < steps; ++k) step(t);
  return std::chrono::duration<double>(now() - start).count() / steps;
}

std::pair<double, double> TrainBench::time_end_to_end(int steps, int warmup) {
  datastore::BatchLoader loader(store_, loader_options_);
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
  return {std::chrono::duration<double>(now() - start).count() / steps, waited / steps};
}

}  // namespace

TrainBenchResult bench_training(const spec::JobConfig& job, int steps, int warmup) {
  CHECK_OR_THROW(core::ConfigError, steps >= 1 && warmup >= 0, "steps must be >= 1, warmup >= 0");
  const int threads = intra_op_threads(job.train.threads, std::thread::hardware_concurrency());
  torch::set_num_threads(threads);
  TrainBench bench(job);
  TrainBenchResult r;
  r.device = bench.device_name();
  r.batch_size = job.train.batch_size;
  r.steps = steps;
  r.threads = threads;
  r.compute_s_per_step = bench.time_compute(steps, warmup);
  std::tie(r.end_to_end_s_per_step, r.data_wait_s_per_step) = bench.time_end_to_end(steps, warmup);
  return r;
}

}  // namespace fracsweep::trainer

namespace fracsweep::trainer {

AasnBenchResult bench_aasn_step(const AasnBenchOptions& o) {
  CHECK_OR_THROW(core::ConfigError, o.steps >= 1 && o.warmup >= 0 && o.batch >= 1,
                 "steps must be >= 1, warmup >= 0 and batch >= 1");
  AasnBenchResult r;
  r.threads = intra_op_threads(o.threads, std::thread::hardware_concurrency());
  torch::set_num_threads(r.threads);
  torch::manual_seed(o.seed);
  AasnOptions options;
  options.backbone = DenseNetOptions::densenet121(o.growth_rate);
  options.switches = AasnSwitches::of_row(o.row);
  Aasn model(options);
  model->train();
  for (const auto& p : model->parameters()) r.parameters += p.numel();
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-5));
  const auto image = torch::rand({o.batch, 1, o.height, o.width}) * 2 - 1;
  const auto twin = torch::rand({o.batch, 1, o.height, o.width}) * 2 - 1;
  const auto grid = (torch::rand({o.batch, o.height / 8, o.width / 8, 2}) * 2 - 1) * 0.95;
  const auto mask = (torch::rand({o.batch, 1, o.height, o.width}) > 0.95).to(torch::kFloat32);
  const auto step = [&] {
    const AasnOutput out = model->forward(image, twin, grid);
    auto loss = heatmap_bce(out.logits, mask);
    if (out.embedding.defined())
      loss = loss + options.lambda * contrastive_margin_loss(out.embedding, out.embedding_twin,
                                                             mask, options.margin);
    adam.zero_grad();
    loss.backward();
    adam.step();
  };
  for (int k = 0; k < o.warmup; ++k) step();
  const auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < o.steps; ++k) step();
  r.s_per_step =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / o.steps;
  return r;
}

}  // namespace fracsweep::trainer
