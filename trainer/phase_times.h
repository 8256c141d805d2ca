// Where one run of a job spends its time: start-up (folder, data, model, loader, resume),
// waiting for batches, the training steps, validation, checkpoints and the finish (test
// predictions, metrics). The run that finishes a job writes them to the job's timing.json,
// which bench/sweep_vs_ray.py reads to say where a sweep's time goes. A resumed job's file
// covers only the run that finished it.
//
// Not thread-safe; one per job run.
#pragma once

#include <chrono>

#include <nlohmann/json.hpp>

namespace fracsweep::trainer {

struct PhaseTimes {
  double startup_s = 0;     // prepare() and resume()
  double data_s = 0;        // waiting in the loader for the next batch
  double loop_s = 0;        // the epochs' step loops, data_s included
  double eval_s = 0;        // validation predictions and metrics, every epoch
  double checkpoint_s = 0;  // the best and the last checkpoint, every epoch
  double finish_s = 0;      // test predictions, prediction files, metrics

  nlohmann::json to_json() const {
    return {{"startup_s", startup_s}, {"data_s", data_s}, {"steps_s", loop_s - data_s},
            {"eval_s", eval_s},       {"checkpoint_s", checkpoint_s}, {"finish_s", finish_s}};
  }
};

// Adds the seconds from its construction to its destruction to one field.
class PhaseTimer {
 public:
  explicit PhaseTimer(double& into) : into_(into), started_(Clock::now()) {}
  ~PhaseTimer() { into_ += std::chrono::duration<double>(Clock::now() - started_).count(); }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  using Clock = std::chrono::steady_clock;
  double& into_;
  Clock::time_point started_;
};

}  // namespace fracsweep::trainer
