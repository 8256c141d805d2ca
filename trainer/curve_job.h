// A job that trains nothing: model.variant "curve" reports a seeded learning
// curve, so that searches (sweeps/search_run.h) can be tested and timed
// without training. Its folder holds what a trained job's holds for the
// search and the report: config.yaml, log.jsonl (validation "aAUC", "aSE",
// "aSP" and "mAP" every epoch), curve_state.json (the next epoch: a stop
// signal resumes there) and, when it finishes, predictions_test.csv (120
// three-class samples whose scores separate the classes as well as the
// curve's test value says) and metrics.json computed from them.
//
// The curve rises from 0.5 towards a level that peaks at train.lr = 1e-3,
// train.triplet_margin = 0.3 and train.loss_weights.d = 0.2, at a rate that is
// faster for better settings; validation and test values carry independent
// noise drawn from (train.seed, the protocol part, the settings, the epoch),
// so choosing among settings by a test value overstates it.
// Each epoch sleeps train.curve_epoch_seconds.
#pragma once

#include "core/log.h"
#include "metrics/predictions.h"
#include "spec/job_config.h"
#include "trainer/train_job.h"

namespace fracsweep::trainer {

// The curve's validation value after `epoch` epochs (1-based), and its test value.
double curve_value(const spec::JobConfig& job, int epoch);
double curve_test_value(const spec::JobConfig& job);
// The seeded test predictions of a finished job.
metrics::Predictions curve_test_predictions(const spec::JobConfig& job);

JobResult run_curve_job(const spec::JobConfig& job, core::Logger& log, const TrainRunOptions& options);

}  // namespace fracsweep::trainer
