// See task.h.
#include "trainer/task.h"

#include "core/error.h"
#include "datastore/heatmaps.h"
#include "datastore/preview.h"
#include "spec/exported.h"
#include "trainer/evaluate.h"

namespace fracsweep::trainer {
namespace {

class VertebraTask final : public TrainingTask {
 public:
  const char* name() const override { return "vertebra"; }
  int classes() const override { return 3; }
  const char* headline_metric() const override { return "aAUC"; }
  metrics::Predictions test(JobModel& model,
                            const std::shared_ptr<const datastore::PatchStore>& store,
                            const std::vector<uint32_t>& samples, const spec::JobConfig& job,
                            const torch::Device& device, const std::filesystem::path& /*dir*/,
                            const InferenceOptions& inference) const override {
    return predict(model, store, samples, job, device, nullptr, {}, inference);
  }

 protected:
  datastore::Task store_task() const override { return datastore::Task::kVcf; }
  const char* store_hint() const override {
    return "classifies vertebrae and needs a vertebra store (fracsweep synth vcf)";
  }
};

class PelvisTask final : public TrainingTask {
 public:
  const char* name() const override { return "pelvis"; }
  int classes() const override { return 2; }
  const char* headline_metric() const override { return "AUC"; }
  metrics::Predictions test(JobModel& model,
                            const std::shared_ptr<const datastore::PatchStore>& store,
                            const std::vector<uint32_t>& samples, const spec::JobConfig& job,
                            const torch::Device& device, const std::filesystem::path& dir,
                            const InferenceOptions& inference) const override {
    datastore::HeatmapSet heatmaps;
    heatmaps.radius = store->pelvis()->mask_radius;
    metrics::Predictions p = predict(model, store, samples, job, device, &heatmaps, {}, inference);
    if (!heatmaps.images.empty()) {  // a heatmap model
      datastore::write_heatmaps((dir / "heatmaps_test.h5").string(), heatmaps);
      write_overlays(*store, samples, heatmaps, dir / "overlays_test.png");
    }
    return p;
  }

 protected:
  datastore::Task store_task() const override { return datastore::Task::kPelvis; }
  const char* store_hint() const override {
    return "detects pelvic fractures and needs a pelvis store (fracsweep synth pelvis)";
  }
};

}  // namespace

// See task.h.
void write_overlays(const datastore::PatchStore& store, const std::vector<uint32_t>& tests,
                    const datastore::HeatmapSet& heatmaps, const std::filesystem::path& path) {
  const auto& ix = store.index();
  std::vector<size_t> chosen;
  for (int label : {1, 0}) {
    int taken = 0;
    for (size_t k = 0; k < tests.size() && taken < 3; ++k)
      if (ix.label[tests[k]] == label) {
        chosen.push_back(k);
        ++taken;
      }
  }
  std::vector<std::vector<uint8_t>> pixels(chosen.size(),
                                           std::vector<uint8_t>(store.image_bytes()));
  std::vector<datastore::HeatmapOverlayItem> items;
  for (size_t n = 0; n < chosen.size(); ++n) {
    const uint32_t i = tests[chosen[n]];
    store.read_image(i, pixels[n]);
    datastore::HeatmapOverlayItem item{sample_id(store, i), pixels[n],
                                       heatmaps.images[chosen[n]].heatmap, {}};
    for (size_t q = 0; q < store.pelvis()->num_points(i); ++q)
      item.points.push_back(store.pelvis()->point(i, q));
    items.push_back(std::move(item));
  }
  if (!items.empty())
    datastore::write_heatmap_overlays(path.string(), items, store.info().height,
                                      store.info().width, heatmaps.radius);
}

void TrainingTask::check_store(const datastore::PatchStore& store,
                               const spec::JobConfig& job) const {
  CHECK_OR_THROW(core::ConfigError, store.info().task == store_task(), job.output, ": data.store ",
                 store.path(), " is a ", datastore::task_name(store.info().task),
                 " store, but variant '", job.model.variant, "' ", store_hint());
}

std::unique_ptr<TrainingTask> make_training_task(const spec::JobConfig& job) {
  if (spec::job_variant(job).task == spec::Task::kPelvis)
    return std::make_unique<PelvisTask>();
  return std::make_unique<VertebraTask>();
}

}  // namespace fracsweep::trainer
