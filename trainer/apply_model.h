// A finished job's selected model applied, unchanged, to another store (an
// external cohort): what `fracsweep predict` does for each job.
//
// The model is built as the job's own evaluation builds it (make_job_model,
// then checkpoint_best.pt, the checkpoint its validation chose) and applied by
// the same path (TrainingTask::test), so every variant the trainer builds,
// and so every model it can evaluate, can be applied; the files are those of
// a job's folder: predictions_test.csv, and for heatmap models
// heatmaps_test.h5 and overlays_test.png, here over every item of the store.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <torch/types.h>

#include "datastore/patch_store.h"
#include "metrics/predictions.h"
#include "spec/job_config.h"
#include "trainer/evaluate.h"
#include "trainer/job_model.h"

namespace fracsweep::trainer {

// A job's model with the job it was built from (the model keeps a reference
// to it, so the two live and die together; hence not movable).
struct SelectedModel {
  spec::JobConfig job;
  std::unique_ptr<JobModel> model;
};

// Builds the model of `job` (whose folder, job.output, holds
// checkpoint_best.pt) on `device` and loads the selected checkpoint. The
// job's model.init_weights is not read: the checkpoint replaces every weight.
// Throws core::ConfigError when the checkpoint is missing or damaged (naming
// it), UnreadableCheckpoint when it is not a checkpoint.
std::unique_ptr<SelectedModel> load_selected_model(const spec::JobConfig& job,
                                                   const torch::Device& device);

// Why `store` cannot be given to the model of `job`, trained on `trained_on`:
// "" when it can (the same task and image size), else one sentence naming
// what differs, both values, and the files.
std::string store_mismatch(const spec::JobConfig& job, const datastore::PatchStore& trained_on,
                           const datastore::PatchStore& store);

// Whether test-time augmentation by horizontal flip suits the job's task: the
// vertebra task only (a pelvis model already sees the mirrored side as its
// twin, and a flip would break the stored warp).
bool flip_augmentation_allowed(const spec::JobConfig& job);

struct ApplyOptions {
  // Average each item's probabilities with those of its horizontally flipped
  // image (and neighbours): off by default; refused where
  // flip_augmentation_allowed() is false.
  bool hflip = false;
  // Batch size and streams of the forward passes (evaluate.h): the same
  // probabilities whatever they are, up to rounding.
  InferenceOptions inference;
};

// Applies the model to every item of `store`, in store order, writing the
// job-folder files (above) into `dir`, which must exist. Returns the
// predictions written. Throws core::ConfigError for hflip on a task without
// it, core::IoError when a file cannot be written.
metrics::Predictions apply_to_store(SelectedModel& selected,
                                    const std::shared_ptr<const datastore::PatchStore>& store,
                                    const torch::Device& device, const std::filesystem::path& dir,
                                    const ApplyOptions& options = {});

}  // namespace fracsweep::trainer
