// Threshold-free ranking metrics of one binary problem: ROC AUC and average precision.
//
// Both are computed from one O(n log n) sort with tied scores grouped, and agree
// with scikit-learn's roc_auc_score and average_precision_score (ties counted
// half in AUC; AP = sum_n (R_n - R_{n-1}) P_n over distinct thresholds, with no
// interpolation). Pure functions: no I/O, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace fracsweep::metrics {

struct RankingMetrics {
  double auc = 0;  // area under the ROC curve, in [0, 1]
  double ap = 0;   // average precision, in [0, 1]
};

// `positive[i]` is 1 when sample i belongs to the positive class.
// Throws core::ConfigError when the sizes differ or when there is no positive
// or no negative sample (both metrics are undefined then).
RankingMetrics ranking_metrics(std::span<const double> scores,
                               std::span<const uint8_t> positive);

// Midranks (1-based, ties get their average rank), as used by DeLong's test.
std::vector<double> midranks(std::span<const double> values);

// Counts of a binary decision against the truth.
struct Confusion {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  // TP / (TP + FN); NaN when there are no positives.
  double sensitivity() const;
  // TN / (TN + FP); NaN when there are no negatives.
  double specificity() const;
};

}  // namespace fracsweep::metrics
