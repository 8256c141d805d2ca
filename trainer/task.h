// What a training run does differently for each kind of study, so that the
// run (train_job.cpp) never branches on one:
//   vertebra  three-class classification of vertebrae (TSCCN): a vertebra
//             store, class probabilities, aAUC as the headline;
//   pelvis    pelvic fracture detection (AASN and its baselines): a pelvis
//             store, one score per image, AUC as the headline, and for
//             heatmap models heatmaps_test.h5 and overlays_test.png.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include <torch/types.h>

#include "datastore/heatmaps.h"
#include "datastore/patch_store.h"
#include "metrics/predictions.h"
#include "spec/job_config.h"
#include "trainer/evaluate.h"
#include "trainer/job_model.h"

namespace fracsweep::trainer {

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  virtual const char* name() const = 0;  // "vertebra", "pelvis"
  // Label values 0..classes()-1 (normal, benign, malignant; or no fracture, fracture).
  virtual int classes() const = 0;
  // The test metric the run names when it is done.
  virtual const char* headline_metric() const = 0;
  // Throws core::ConfigError naming the store when it holds another task's data.
  void check_store(const datastore::PatchStore& store, const spec::JobConfig& job) const;
  // The best model's test predictions; the task keeps what else it makes of
  // them in the job's folder `dir`. `inference` sets the batches (predict()).
  metrics::Predictions test(JobModel& model,
                            const std::shared_ptr<const datastore::PatchStore>& store,
                            const std::vector<uint32_t>& samples, const spec::JobConfig& job,
                            const torch::Device& device, const std::filesystem::path& dir) const {
    return test(model, store, samples, job, device, dir, InferenceOptions{});
  }
  virtual metrics::Predictions test(JobModel& model,
                                    const std::shared_ptr<const datastore::PatchStore>& store,
                                    const std::vector<uint32_t>& samples,
                                    const spec::JobConfig& job, const torch::Device& device,
                                    const std::filesystem::path& dir,
                                    const InferenceOptions& inference) const = 0;

 protected:
  virtual datastore::Task store_task() const = 0;
  virtual const char* store_hint() const = 0;  // what the variant does and needs
};

// A few of `tests`' images (fractured first) beside their heatmaps
// (heatmaps.images[k] is tests[k]'s), as one PNG at `path`; nothing when
// there are none. Throws core::IoError when it cannot be written.
void write_overlays(const datastore::PatchStore& store, const std::vector<uint32_t>& tests,
                    const datastore::HeatmapSet& heatmaps, const std::filesystem::path& path);

// The task of the job's model.variant.
std::unique_ptr<TrainingTask> make_training_task(const spec::JobConfig& job);

}  // namespace fracsweep::trainer
