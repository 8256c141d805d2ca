// `fracsweep report SWEEP_DIR --external DIR`: the external-validation tables
// of a sweep whose models `fracsweep predict` applied to another cohort (DIR is
// predict's output folder, launcher/predict_sweep.h).
//
//   ensemble    per variant, the ensemble's (mean probability over its folds
//               and seeds) headline metrics with 95 % bootstrap intervals
//               resampled over patients (metrics/bootstrap.h, Note [Patient
//               bootstrap]: stratified by the patient's highest label, seeded,
//               2,000 replicates by default), the Brier score and the expected
//               calibration error with theirs. FROC recalls (AASN) are point
//               values: their heatmaps are not resampled.
//   single      the single models on the external cohort, as the paper table
//               (mean ± std over folds x seeds: their spread), with the
//               internal report's significance tests, curves (ROC, PR, FROC
//               bands over the single models) under single_models/.
//   paired      every row against the proposed model on the same external
//               cases: DeLong's test for each AUC (per class for three-class
//               files; DeLong treats rows as independent, where the bootstrap
//               keeps a patient's rows together), and for every other metric
//               the paired bootstrap on the same resamples (difference, its
//               interval, two-sided p).
//   internal vs external
//               the internal report's mean of each headline metric beside the
//               external single models' mean and the ensemble's value, and the
//               drop from internal to external single models (like for like:
//               the internal test parts have no ensemble).
//   calibration the ensembles' reliability diagram (10 equal bins of the
//               fracture probability: a binary score, or 1 - p(normal)).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "metrics/calibration.h"
#include "metrics/table.h"
#include "report/report.h"

namespace fracsweep::report {

struct ExternalOptions {
  std::string dir;        // predict's output folder
  int replicates = 2000;  // bootstrap replicates; more narrow the ends' Monte-Carlo error
  uint64_t seed = 1;      // of the bootstrap's SplitMix64 stream
  double alpha = 0.05;    // 1 - the intervals' coverage, and the tests' level
  // The row every other is compared with; "" for the table's proposed model:
  // "tsccn" or "aasn" when present, else the last row.
  std::string proposed;
};

struct ExternalReport {
  std::string table_kind;
  std::string proposed;
  metrics::TextTable ensemble, paired, side_by_side;
  std::vector<std::pair<std::string, metrics::Calibration>> calibration;  // per variant
  SweepResults single_results;  // the sweep's jobs with their external predictions
  Report single;                // the single models' table on the external cohort
};

// Reads predict's folder. Throws core::ConfigError when `options.dir` is not
// one (no predict.json), holds no ensemble, is of another sweep (job names the
// sweep lacks), or options are out of range (naming the flag).
ExternalReport build_external_report(const SweepResults& internal, const Report& internal_report,
                                     const ExternalOptions& options);

// Writes ensemble.*, paired.*, internal_vs_external.* (md, tex, csv as
// `options.formats` ask), reliability.{svg,png}, single_models/ (the paper
// table's files and curves) and external.html into `out_dir`; returns the
// files written.
std::vector<std::string> write_external_report(const ExternalReport& report,
                                               const std::string& out_dir,
                                               const WriteOptions& options);

}  // namespace fracsweep::report
