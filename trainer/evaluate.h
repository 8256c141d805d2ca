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

// How predict() batches and schedules the forward passes. See Note [Inference streams].
struct InferenceOptions {
  // Samples per forward pass; 0: the job's train.batch_size. Larger batches
  // pay the per-operator overhead of a small model fewer times, at the cost of
  // activation memory; the predictions are the same.
  int batch_size = 0;
  // CPU only: batches in flight at once, each on a thread of its own with one
  // intra-op thread. 1: one batch at a time on the caller's thread with the
  // process's intra-op threads (the training run's evaluation).
  int streams = 1;
};

// Note [Inference streams]
// A small model on a few cores spends much of an intra-op-parallel forward
// pass waking and joining OpenMP threads (every convolution, every batch
// norm), not computing. With streams > 1 the threads take whole batches
// instead: each runs its batch's forward pass alone, in the caller's grad
// and inference mode, and the results are put back in batch order. Every
// batch is computed by one thread whichever takes it, so the predictions do
// not depend on thread timing. The loader is shared (its next() is taken
// under a lock); an exception in any stream stops the others and is rethrown.

// Class probabilities (or binary scores) of `samples`, in that order, from the
// model in eval mode; with `heatmaps`, a heatmap model's heatmaps as well.
// `probabilities`, where given, stands in for model.probabilities() (a replayed CUDA
// graph, trainer/cuda_graphs.h); it is not used with `heatmaps`, and runs one stream.
metrics::Predictions predict(
    JobModel& model, std::shared_ptr<const datastore::PatchStore> store,
    const std::vector<uint32_t>& samples, const spec::JobConfig& job, const torch::Device& device,
    datastore::HeatmapSet* heatmaps = nullptr,
    const std::function<torch::Tensor(const BatchTensors&)>& probabilities = {},
    const InferenceOptions& inference = {});

// The validation metrics and the selection score (higher is better).
std::pair<nlohmann::json, double> validate_predictions(const metrics::Predictions& p,
                                                       const spec::JobConfig& job);

}  // namespace fracsweep::trainer
