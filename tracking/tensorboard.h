// A job's TensorBoard event files, in <job>/tb/.
//
// Per epoch (step = epoch): "val/<metric>" (the headline metric first),
// "loss/<term>", "lr", "time/step_seconds", "time/samples_per_s",
// "time/epoch_seconds". At the end, at the last epoch's step: "test/<metric>"
// and the hparams plugin's session start and end, so that
// `tensorboard --logdir SWEEP_DIR` lists every job as a run ("<job name>/tb")
// with its variant, part, seed and axis values as hyperparameters.
//
// Resuming (started(done > 0)) rewrites the earlier files without their events
// after epoch `done` and opens a new file whose first event is a SessionLog
// START at epoch done + 1: every reader sees each step once, and TensorBoard's
// own reader drops later steps of older files even where a file could not be
// rewritten. Not thread-safe: one job's writer thread calls it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/log.h"
#include "tracking/job_observer.h"

namespace fracsweep::tracking {

class TensorBoardWriter final : public JobObserver {
 public:
  TensorBoardWriter(RunInfo run, core::Logger& log);
  ~TensorBoardWriter() override;
  void started(int done_epochs) noexcept override;
  void epoch(const nlohmann::json& line) noexcept override;
  void finished(const nlohmann::json& metrics, const std::vector<std::string>& files) noexcept override;

 private:
  class File;
  template <typename Body>
  void guarded(const char* what, Body&& body) noexcept;

  RunInfo run_;
  core::Logger& log_;
  std::unique_ptr<File> file_;
  double start_time_ = 0;
  int64_t last_step_ = 0;
  bool warned_ = false;
};

// The sweep's experiment on TensorBoard's hparams page: the hyperparameters and the
// metrics its table shows, in this order (the headline metric first; without an
// experiment the page sorts the metrics by name and shows each session's own).
struct HParamsExperiment {
  // A hyperparameter and the values the sessions give it (as hparam_value() reads them:
  // numbers where the text is one): the page's filter offers the texts, or the numbers'
  // range.
  struct HParam {
    std::string name;
    std::vector<std::string> values;  // distinct, in the order met
  };
  std::string name;
  std::vector<HParam> hparams;
  std::vector<std::string> metrics;  // tags: "test/aAUC", "val/aAUC", ...
};

// Writes `experiment` as the one event file of `dir` (<sweep>/tb), replacing an
// earlier one whole. Throws core::IoError.
void write_hparams_experiment(const std::string& dir, const HParamsExperiment& experiment);

// Rewrites the event files of `tb_dir` without what follows epoch `done_epochs`
// (and without an earlier end's test metrics and hparams); returns how many
// events it dropped. Throws core::IoError.
size_t prune_event_files(const std::string& tb_dir, int64_t done_epochs);

}  // namespace fracsweep::tracking
