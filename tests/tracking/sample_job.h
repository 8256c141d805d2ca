// A job as the tracking tests feed it to the trackers: its identity and the
// log line of an epoch, in the trainer's shape (tracking/job_observer.h).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tracking/job_observer.h"

namespace fracsweep::tracking {

// Epoch `epoch`'s line of log.jsonl: two loss terms, lr, 4 steps of 2 s in all,
// 8 samples/s, validation aAUC (the headline) rising by 0.1 an epoch and mAP.
inline nlohmann::json sample_epoch_line(int epoch) {
  return {{"epoch", epoch}, {"train", {{"total", 1.0 / epoch}, {"ce", 0.5 / epoch}}},
          {"lr", 1e-3}, {"steps", 4}, {"seconds", 2.0}, {"samples_per_s", 8.0},
          {"val", {{"aAUC", 0.5 + 0.1 * epoch}, {"mAP", 0.4}}}};
}

// tsccn/repeat0/seed1 of sweep "tiny" in `dir`, with axis and setting lr = 0.001.
inline RunInfo sample_run(const std::string& dir) {
  RunInfo run;
  run.dir = dir;
  run.name = "tsccn/repeat0/seed1";
  run.id = "0123456789abcdef";
  run.sweep = "tiny";
  run.variant = "tsccn";
  run.part = "repeat0";
  run.seed = 1;
  run.axes = {{"lr", "0.001"}};
  run.settings = {{"train.lr", "0.001"}};
  run.headline = "aAUC";
  return run;
}

}  // namespace fracsweep::tracking
