// `fracsweep report`: a sweep's tables, significance tests and curves, from its job folders.
//
// Metrics are recomputed from each job's predictions_test.csv (never taken from
// metrics.json or the ledger), so a new metric or a fixed formula needs no retraining.
// A job counts when its folder has its predictions and the ledger's latest word on it is
// "finished" (or, in a folder without a ledger, when its metrics.json exists); the others are
// reported as missing, per row.
//
// Which paper table a sweep gets is inferred (see infer_table) or named:
//   tsccn-1  TSCCN Table I: SE/SP per class, aSE, aSP, aAUC, mAP
//   tsccn-2  TSCCN Table II: aSE, aSP, aAUC, mAP, rows grouped by data size (data.subset)
//   tsccn-3  TSCCN Table III: aSE, aSP, aAUC, mAP
//   aasn-1   AASN Table 1: AUC, AP, recall at FP ratio 1% and 10%
//   aasn-2   AASN Table 2: the same, with each row's gain over the baseline row
//
// A search sweep (a `search:` section) is reported by nested selection: in each fold (part and
// seed) the trial with the best validation value of the search's metric (the ledger's result at
// the job's last epoch) is chosen among the trials that finished there, and the table gives the
// chosen jobs' test metrics over folds, with the choice per fold listed. Choosing by a test
// metric overstates the result; it is refused unless forced, and the table's title then says so.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "metrics/froc.h"
#include "metrics/predictions.h"
#include "metrics/report.h"
#include "metrics/table.h"
#include "sweeps/search.h"
#include "sweeps/status.h"

namespace fracsweep::report {

// One job of the sweep as the report sees it.
struct ReportJob {
  sweeps::ManifestJob job;
  std::string dir;            // its folder
  std::string row;            // its table row: the variant, plus hyperparameters (not the group's)
  std::string model_variant;  // model.variant of its config.yaml ("" when unknown)
  std::string budget = "epochs";  // train.budget of its config.yaml
  bool finished = false;
  metrics::Predictions test;  // when finished
  // Binary (pelvis) jobs with a heatmaps_test.h5 (datastore/heatmaps.h): the area FROC of their
  // test heatmaps, from which recall at FP ratio 1% and 10% are read.
  std::optional<metrics::AreaFrocCurve> froc;
  std::vector<nlohmann::json> log;  // log.jsonl, one object per epoch
  // A search's job: its trial's values (the ledger's started record) and the search metric's
  // validation value at its last epoch (the ledger's result), when recorded and finite.
  nlohmann::json params = nlohmann::json::object();
  std::optional<double> final_val;
};

struct SweepResults {
  std::string dir;
  sweeps::SweepManifest manifest;
  std::string sweep_text;  // the sweep file: <dir>/sweep.yaml, else the manifest's path, else ""
  std::vector<ReportJob> jobs;  // in the manifest's (the sweep file's) order
  std::optional<sweeps::SearchSpec> search;  // the sweep file's search section
};

// Reads the manifest, the ledger and every job folder. Throws core::ConfigError when `dir` is
// not a sweep's output folder or a finished job's predictions are not valid.
SweepResults collect_results(const std::string& dir);

// The id of the paper table the sweep fills, from the variant registry (spec/variants.h):
// of the tables of its task (three-class predictions: vertebra; binary: pelvis), the
// data-size study's when the jobs vary data.subset, else the one with most of the sweep's
// variants among its rows, the first listed on a tie. Throws core::ConfigError when no job
// has finished (nothing tells the task).
std::string infer_table(const SweepResults& results);

struct ReportOptions {
  std::string table;     // "" to infer
  std::string baseline;  // aasn-2's baseline row; "" for the first row
  double alpha = 0.05;   // significance level of the marks
  // A search sweep: choose each fold's trial on "validation" or, when `force`d, "test".
  std::string select_on = "validation";
  bool force = false;
};

struct Report {
  std::string table_kind;
  metrics::ResultTable table;
  metrics::TextTable significance;
  std::vector<std::string> missing;  // "tsccn: 1 of 2 jobs missing: tsccn/repeat1/seed1"
  // Per row, its finished jobs (indices into SweepResults::jobs), in table order.
  std::vector<std::pair<std::string, std::vector<size_t>>> rows;
  // A search sweep: the trial chosen in each fold (and `significance` is empty: one row).
  std::optional<metrics::TextTable> selection;
};

// Throws core::ConfigError on an unknown table name, a table that does not fit the
// predictions (e.g. tsccn-1 on binary predictions), an unknown baseline, or selection on test
// without `force`.
Report build_report(const SweepResults& results, const ReportOptions& options);

struct WriteOptions {
  std::vector<std::string> formats = {"md", "latex", "csv", "html"};
  bool curves = true;
};

// Writes table.{md,tex,csv}, significance.{md,tex,csv}, curves/*.{svg,png,dat,gp} and
// report.html (as `formats` ask) into `out_dir`, and returns the files written.
std::vector<std::string> write_report(const SweepResults& results, const Report& report,
                                      const std::string& out_dir, const WriteOptions& options);

}  // namespace fracsweep::report
