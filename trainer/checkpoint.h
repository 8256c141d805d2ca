// A job's checkpoints: where it stands (CheckpointState) with its model and
// optimizer, written atomically with a checksum beside it, the previous one
// kept; read onto any device, whichever device wrote it. See Note [Checkpoint
// checksums] in checkpoint.cpp for what a damaged file leads to.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>

#include <torch/types.h>

#include "core/error.h"
#include "trainer/job_model.h"

namespace torch::optim {
class Optimizer;
}

namespace fracsweep::trainer {

// Where a job stands; saved in checkpoint_last.pt with the model and optimizer.
struct CheckpointState {
  int64_t epoch = 0;  // the epoch in progress (== epochs when done)
  int64_t step = 0;   // steps of `epoch` already taken
  double best_score = -std::numeric_limits<double>::infinity();
  int64_t best_epoch = -1;
  // Running sums of the loss terms over the steps of `epoch`, so the epoch's
  // log line is the same whether or not the epoch was interrupted.
  std::array<double, kLossTerms> sums{};
  int64_t samples = 0;
};

// A checkpoint that cannot be read at all (not one of another job or version).
class UnreadableCheckpoint : public core::ConfigError {
 public:
  using core::ConfigError::ConfigError;
};

// Why the checkpoint at `path` cannot be trusted: "" when its sum matches, or
// it has none (checkpoints before sums).
std::string checkpoint_problem(const std::string& path);

// Writes the checkpoint to `path` (temporary, sum, renames). With `previous`,
// the checkpoint it replaces moves there first.
void save_checkpoint(const std::string& path, JobModel& model, torch::optim::Optimizer* opt,
                     const CheckpointState& s, const std::string& previous = "");

// Reads the checkpoint into `model` (and `opt`), its tensors onto `device`.
// Throws UnreadableCheckpoint for a file that is not a checkpoint, and
// core::ConfigError for an optimizer state this LibTorch cannot restore.
CheckpointState load_checkpoint(const std::string& path, JobModel& model,
                                torch::optim::Optimizer* opt, const torch::Device& device);

}  // namespace fracsweep::trainer
