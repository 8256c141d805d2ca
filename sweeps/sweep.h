// Sweep files and their expansion into jobs.
//
// A sweep is variants x protocol parts (folds or repeats) x seeds x
// hyperparameter points, each a spec::JobConfig with a readable name and a
// stable id. The file:
//
//   name: tsccn-table3-tiny
//   output: runs/table3-tiny          # one folder per job below it
//   preset: tiny                      # the jobs' preset (spec/job_config.h)
//   dataset: {store: vcf.h5}          # or {phantom: {patients: 40, patch_size: 64,
//                                     #   difficulty: 0.5, seed: 1, slices: 3}}
//                                     # or {pelvis_phantom: {images: 100, height: 64,
//                                     #   width: 128, difficulty: 0.5, seed: 1,
//                                     #   landmark_error_mm: 0.8}}
//   protocol: {split: random, repeats: [0, 1, 2, 3, 4], split_seed: 0}
//             # or {split: kfold, folds: 5, run_folds: [0, 1, 2, 3, 4], val_share: 0.1}
//   seeds: [1, 2]
//   variants:                         # name -> sections merged over the base ones
//     tsccn: {model: {variant: tsccn}}
//     resnet: {model: {variant: resnet18}, train: {lr: 3e-4}}
//   axes:
//     grid: {train.lr: [1e-4, 3e-4]}                   # every combination
//     random: {count: 4, seed: 0,                      # `count` draws, per job seed
//              params: {train.lr: {dist: loguniform, low: 1e-5, high: 1e-3}}}
//   search: {...}                     # instead of axes: a hyperparameter search
//                                     # (sweeps/search.h); one variant
//   ranks_per_job: 1
//   tracking: {mlflow: {uri: http://HOST:PORT, experiment: NAME}}   # spec/tracking.h
//   data: {...}  model: {...}  train: {...}             # base job sections
//
// Unknown keys fail with the file, the key's path and the nearest known key.
// A job's name is "<variant>/<fold F|repeat R>/seed<S>[/<key>=<value>...]"
// ("/trial<K>" in a search, whose values are chosen as it runs); its
// id is a hash of its resolved configuration (without its output folder), so
// it is the same wherever and whenever the sweep is expanded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <optional>

#include "datastore/phantom_pelvis.h"
#include "datastore/phantom_vcf.h"
#include "spec/job_config.h"
#include "spec/tracking.h"
#include "sweeps/search.h"

namespace fracsweep::sweeps {

// A vertebra phantom a sweep writes into its folder (datastore/phantom_vcf.h).
struct PhantomSpec {
  int patients = 40, patch_size = 64, slices = 3;
  double difficulty = 0.5;
  uint64_t seed = 1;
  // The generator's options for this spec, the patients split benign:malignant as in the
  // paper. REQUIRES: patients >= 1 (checked when the sweep is read).
  datastore::VcfPhantomOptions options() const;
};

// A pelvis phantom a sweep writes into its folder (datastore/phantom_pelvis.h);
// fractured images are 759 of 2,359, as in the paper, scaled to `images`.
struct PelvisPhantomSpec {
  int images = 100, height = 64, width = 128;
  double difficulty = 0.5;
  uint64_t seed = 1;
  // The phantom's landmark detector (sd per coordinate); named in job ids and the
  // store's spec only where it is not the default, so older sweeps keep theirs.
  double landmark_error_mm = datastore::PelvisPhantomOptions{}.landmark_error_mm;
  bool default_landmark_error() const {
    return landmark_error_mm == datastore::PelvisPhantomOptions{}.landmark_error_mm;
  }
  // The generator's options for this spec, the fractured count scaled from the paper's.
  datastore::PelvisPhantomOptions options() const;
};

// The values of a job's hyperparameter axes, in the sweep file's order: the
// field (without its section) and the value as written, e.g. {"lr", "0.0001"}.
using AxisValues = std::vector<std::pair<std::string, std::string>>;

struct SweepJob {
  std::string name;     // e.g. "tsccn/repeat2/seed1/lr=0.0001"
  std::string id;       // 16 hex digits
  std::string variant;  // the sweep's variant name, e.g. "tsccn"
  std::string part;     // the protocol part: "repeat2" or "fold0"
  uint64_t seed = 1;    // train.seed
  AxisValues axes;      // the axis values of its hyperparameter point
  spec::JobConfig config;
  // The id fracsweep 0.1 gave the job, which hashed the phantom's path in the
  // sweep's folder; empty when it is the same as `id` (a store dataset). A run
  // carries finished records over from it (sweeps/status.h: carried_over).
  std::string former_id;
  int trial = -1;  // a search's trial; its values are in the ledger (sweeps/search_run.h)
};

struct Sweep {
  std::string name;
  std::string path;    // the sweep file
  std::string output;  // the sweep's folder
  // Ranks that train one job together: the file's ranks_per_job, or the command line's
  // when it overrides it (load_sweep's `ranks_per_job`).
  int ranks_per_job = 1;
  std::string store;   // the dataset; for a phantom, <output>/phantom.h5
  bool synthesise = false;
  PhantomSpec phantom;          // when synthesising a vertebra phantom
  bool pelvis = false;          // synthesising a pelvis phantom instead
  PelvisPhantomSpec pelvis_phantom;
  std::vector<SweepJob> jobs;
  std::optional<SearchSpec> search;  // a search sweep: jobs are trials x parts x seeds
  // TensorBoard in every job's tb/, an MLflow server (its experiment defaults to `name`).
  spec::TrackingSpec tracking;
};

// Reads, validates and expands a sweep file. Throws core::ConfigError naming
// the file and the key (with the nearest known key for a typo), or the job
// whose settings are invalid, before any job starts: among them every check a
// job would otherwise fail on when it starts (a phantom spec the generator
// refuses, a batch size its group of ranks cannot split; see check_ranks_per_job).
// A nonzero `ranks_per_job` is the command line's --ranks-per-job, which replaces
// the file's and is checked in its place (refused below 1).
Sweep load_sweep(const std::string& path, int ranks_per_job = 0);
Sweep parse_sweep(const std::string& yaml_text, const std::string& where, int ranks_per_job = 0);

// Throws core::ConfigError, naming the sweep file, the job, the key and its
// value, when a job cannot train on groups of `ranks_per_job` ranks
// (spec::validate_group): every job, and for a search every value its space
// gives train.batch_size (each choice, or the two ends of a range). `from` names
// where the group size was set, e.g. "ranks_per_job 4" or "--ranks-per-job 4".
void check_ranks_per_job(const Sweep& sweep, int ranks_per_job, const std::string& from);

// A search's job with its trial's values set; throws core::ConfigError, naming
// the job, when a value is not valid for its key.
spec::JobConfig with_params(const SweepJob& job, const ParamValues& params);

}  // namespace fracsweep::sweeps
