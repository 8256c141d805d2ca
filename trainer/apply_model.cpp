// See apply_model.h.
#include "trainer/apply_model.h"

#include <torch/torch.h>

#include <numeric>

#include "core/error.h"
#include "trainer/checkpoint.h"
#include "trainer/device.h"
#include "trainer/task.h"

namespace fracsweep::trainer {
namespace {

namespace fs = std::filesystem;

// Test-time augmentation: the model's probabilities averaged over the batch
// and its mirror image (every view flipped along the width, so a vertebra's
// neighbours stay its neighbours). Everything else is the model's own.
class HflipAverage final : public JobModel {
 public:
  explicit HflipAverage(JobModel& inner) : inner_(inner) {}
  torch::nn::Module& module() override { return inner_.module(); }
  void to(const torch::Device& device) override { inner_.to(device); }
  bool uses_neighbours() const override { return inner_.uses_neighbours(); }
  LossTerms loss(const BatchTensors& batch, int epoch) override {
    return inner_.loss(batch, epoch);
  }
  torch::Tensor probabilities(const BatchTensors& batch) override {
    BatchTensors mirrored = batch;
    mirrored.images = batch.images.flip({-1});
    return (inner_.probabilities(batch) + inner_.probabilities(mirrored)) / 2;
  }
  bool binary() const override { return inner_.binary(); }
  std::array<const char*, kLossTerms> term_names() const override {
    return inner_.term_names();
  }

 private:
  JobModel& inner_;
};

}  // namespace

std::unique_ptr<SelectedModel> load_selected_model(const spec::JobConfig& job,
                                                   const torch::Device& device) {
  auto out = std::make_unique<SelectedModel>();
  out->job = job;
  out->job.model.init_weights.clear();  // replaced by the checkpoint; the file may be gone
  const std::string best = (fs::path(job.output) / "checkpoint_best.pt").string();
  CHECK_OR_THROW(core::ConfigError, fs::exists(best), best,
                 ": missing, so the job's selected model is unknown; run the sweep to the end "
                 "(fracsweep run) before predicting");
  const std::string damaged = checkpoint_problem(best);
  CHECK_OR_THROW(core::ConfigError, damaged.empty(), best, ": ", damaged,
                 "; train the job again (delete its folder and run the sweep)");
  // The class counts only shape training losses (class weights, LDAM margins),
  // never a forward pass, so any positive counts build the same model.
  out->model = make_job_model(out->job, {1, 1, 1});
  out->model->to(device);
  if (out->job.train.channels_last) to_channels_last(out->model->module());
  load_checkpoint(best, *out->model, nullptr, device);
  out->model->module().eval();
  return out;
}

std::string store_mismatch(const spec::JobConfig& job, const datastore::PatchStore& trained_on,
                           const datastore::PatchStore& store) {
  const datastore::StoreInfo& a = trained_on.info();
  const datastore::StoreInfo& b = store.info();
  if (a.task != b.task)
    return core::str_cat(store.path(), " is a ", datastore::task_name(b.task), " store, but ",
                         job.output, " was trained on a ", datastore::task_name(a.task),
                         " store (", trained_on.path(), "); predict needs the same task");
  if (a.height != b.height || a.width != b.width)
    return core::str_cat(store.path(), " holds ", b.height, "x", b.width, " images, but ",
                         job.output, " was trained on ", a.height, "x", a.width, " (",
                         trained_on.path(), "); write the store at ", a.height, "x", a.width,
                         " (synth/ingest --patch-size, or --height/--width)");
  return "";
}

bool flip_augmentation_allowed(const spec::JobConfig& job) {
  return std::string(make_training_task(job)->name()) == "vertebra";
}

metrics::Predictions apply_to_store(SelectedModel& selected,
                                    const std::shared_ptr<const datastore::PatchStore>& store,
                                    const torch::Device& device, const fs::path& dir,
                                    const ApplyOptions& options) {
  const std::unique_ptr<TrainingTask> task = make_training_task(selected.job);
  task->check_store(*store, selected.job);
  CHECK_OR_THROW(core::ConfigError, !options.hflip || flip_augmentation_allowed(selected.job),
                 "--tta: variant '", selected.job.model.variant, "' is of the ", task->name(),
                 " task, which has no flip augmentation (its model sees the mirrored side "
                 "already); leave --tta out");
  std::vector<uint32_t> all(store->size());
  std::iota(all.begin(), all.end(), 0u);
  HflipAverage mirrored(*selected.model);
  JobModel& model = options.hflip ? static_cast<JobModel&>(mirrored) : *selected.model;
  // Nothing here is trained: inference tensors skip autograd's version counting.
  c10::InferenceMode inference;
  metrics::Predictions p =
      task->test(model, store, all, selected.job, device, dir, options.inference);
  metrics::write_predictions(p, (dir / "predictions_test.csv").string());
  return p;
}

}  // namespace fracsweep::trainer
