// The per-job numbers the papers report, computed from predictions.
//
// Multi-class (TSCCN eq. 7-8): the predicted class is the argmax of the row
// (the first maximum on ties, like numpy.argmax); per class k, one-vs-rest,
// SE_k, SP_k, AUC_k (of p_k for label == k) and AP_k; then aSE, aSP, aAUC and
// mAP, the unweighted means over classes. Binary: AUC, AP, and SE/SP of the
// decision "score >= threshold".
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "metrics/predictions.h"

namespace fracsweep::metrics {

// An ordered list of named values ("SE_0", 0.95), the common currency of
// JSON output, tables and aggregation. Order is the papers' column order.
using MetricValues = std::vector<std::pair<std::string, double>>;

struct ClassMetrics {
  double se = 0, sp = 0, auc = 0, ap = 0;
};

struct MulticlassReport {
  std::vector<ClassMetrics> per_class;
  double ase = 0, asp = 0, aauc = 0, map = 0;
  // SE_0..SE_{K-1}, SP_0.., AUC_0.., AP_0.., aSE, aSP, aAUC, mAP.
  MetricValues values() const;
};

struct BinaryReport {
  double auc = 0, ap = 0, se = 0, sp = 0;
  double threshold = 0.5;
  // AUC, AP, SE, SP.
  MetricValues values() const;
};

// Throws core::ConfigError naming `source` and the class when a class has no
// positive or no negative sample, since its AUC and AP are then undefined.
MulticlassReport multiclass_report(const Predictions& p, const std::string& source);
BinaryReport binary_report(const Predictions& p, double threshold, const std::string& source);

// The names compute_metrics gives, in its order, for predictions of `classes` classes
// (1: binary).
std::vector<std::string> metric_names(int classes);

// The report matching the file's kind, as named values.
MetricValues compute_metrics(const Predictions& p, double threshold, const std::string& source);

}  // namespace fracsweep::metrics
