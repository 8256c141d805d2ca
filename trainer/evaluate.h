// Evaluating a job's model: predictions (three-class or binary) of a list of
// samples, a heatmap model's heatmaps, and the validation metrics that pick the
// best epoch. Used by the training run (train_job.cpp).
#pragma once

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "datastore/heatmaps.h"
#include "datastore/patch_store.h"
#include "metrics/predictions.h"
#include "spec/job_config.h"
#include "trainer/job_model.h"

namespace fracsweep::trainer {

// A sample's id in prediction files: the patient for a pelvis store (one image
// each), else patient/slice/level.
std::string sample_id(const datastore::PatchStore& store, uint32_t i);

// Class probabilities (or binary scores) of `samples`, in that order, from the
// model in eval mode; with `heatmaps`, a heatmap model's heatmaps as well.
// `probabilities`, where given, stands in for model.probabilities() (a replayed CUDA
// graph, trainer/cuda_graphs.h); it is not used with `heatmaps`.
metrics::Predictions predict(
    JobModel& model, std::shared_ptr<const datastore::PatchStore> store,
    const std::vector<uint32_t>& samples, const spec::JobConfig& job, const torch::Device& device,
    datastore::HeatmapSet* heatmaps = nullptr,
    const std::function<torch::Tensor(const BatchTensors&)>& probabilities = {});

// The validation metrics and the selection score (higher is better).
std::pair<nlohmann::json, double> validate_predictions(const metrics::Predictions& p,
                                                       const spec::JobConfig& job);

}  // namespace fracsweep::trainer
