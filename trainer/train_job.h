// Trains and evaluates one job: what `fracsweep train JOB.yaml` runs.
//
// The job's folder (job.output) receives:
//   config.yaml            the resolved job (every setting, defaults included)
//   split.json             patient ids per part
//   log.jsonl              one line per finished epoch: losses by term, lr,
//                          validation metrics, samples, seconds, samples/s
//   checkpoint_last.pt     model, optimizer, epoch and step, after every epoch
//                          and on a stop signal (atomic: temporary + rename);
//                          the one it replaced kept as checkpoint_prev.pt
//   checkpoint_best.pt     the model with the best validation score so far
//   *.pt.sum               each checkpoint's checksum: a damaged checkpoint
//                          gives way to the previous one, or the job starts over
//   failure.txt            a failed step's whole error, LibTorch's backtrace too
//   predictions_val.csv, predictions_test.csv   from the best checkpoint
//   metrics.json           test metrics (metrics/), plus the best epoch
// Restarting a job whose folder holds a checkpoint resumes it; on the CPU the
// result is bit-identical to an uninterrupted run, because every random draw
// (initialisation, epoch order, augmentation) is derived from the job's seed
// and the epoch, never carried in a generator's state. A finished job is not
// run again.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include <c10/core/Device.h>

#include "core/log.h"
#include "trainer/grad_sync.h"
#include "tracking/job_observer.h"
#include "spec/job_config.h"

namespace fracsweep::trainer {

// Where a running job stands, reported after every step.
struct StepReport {
  int64_t epoch = 0, epochs = 0;  // epoch is 0-based
  int64_t step = 0, steps = 0;    // steps of this epoch taken, and in all
  double loss = 0;                // mean total loss of the epoch so far
};

// A search's word after an epoch: go on, stop the job for good, or pause it
// (checkpoint and end, to be resumed later: its trial's other folds must reach
// the same rung first).
enum class EpochVerdict { kContinue, kStop, kPause };

struct TrainRunOptions {
  bool progress = true;           // a progress bar or lines on stderr
  // The data-parallel group (nullptr: one rank). Every rank of the group calls
  // train_job with the same job; each takes its share of every batch
  // (train.batch_size / group size samples), and only group rank 0 writes the
  // job's folder.
  GradientSync* sync = nullptr;
  // The CUDA device this rank was given (launcher: node-local rank mod visible
  // GPUs); used when the job's train.device resolves to CUDA.
  int rank_device = 0;
  // The device to train on, chosen by the caller instead of train.device
  // (tests: a device that refuses mixed placement where no GPU is).
  std::optional<c10::Device> device = std::nullopt;
  int stop_after_steps = -1;      // tests: behave as if a stop signal came after this many steps
  std::function<void(const StepReport&)> on_step = nullptr;  // called after every step
  // Called on group rank 0 after each epoch's validation, before its checkpoint,
  // with the epoch (1-based) and the validation metrics: a search's decision,
  // which every rank of the group follows together. Must be set on every rank
  // of the group (the others join the group's agreement).
  std::function<EpochVerdict(int epoch, const nlohmann::json& val)> on_epoch = nullptr;
  // Told of the job's start, each epoch's log line and its end, on group rank 0
  // (TensorBoard, MLflow: tracking/job_observer.h); never throws. Null: none.
  tracking::JobObserver* observer = nullptr;
};

struct JobResult {
  // 0 when the job is finished (now or before), kExitInterrupted after a stop
  // signal reached any rank of the group (a checkpoint was written).
  int code = 0;
  // Finished, on group rank 0: the test metrics, as written to metrics.json
  // (read from it when the job had finished before). Else null.
  nlohmann::json metrics;
  // on_epoch stopped the job after this epoch (code 0, no metrics); 0 if not.
  int stopped_at_epoch = 0;
  // on_epoch paused the job after this epoch, its checkpoint written (code
  // kExitInterrupted): it resumes there when run again. 0 if not.
  int paused_at_epoch = 0;
};

// Trains the job (or resumes or skips it). Throws core::ConfigError for a bad
// job or store, core::Error for a non-finite loss (naming epoch, step, term)
// and I/O failures.
JobResult run_job(const spec::JobConfig& job, core::Logger& log, const TrainRunOptions& options = {});

// What a user reads of an error: LibTorch's (c10::Error) message without the
// C++ backtrace it carries, anything else's what().
std::string error_message(const std::exception& e);

// run_job's code alone, for callers that need no metrics.
int train_job(const spec::JobConfig& job, core::Logger& log, const TrainRunOptions& options = {});

}  // namespace fracsweep::trainer
