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

// `positive[i]` is 1 when sample i belongs to the positive class. Scores may be
// any finite numbers (logits, negative values, -0.0 ties with 0.0).
// Throws core::ConfigError when the sizes differ, a score is NaN or infinite
// (scikit-learn raises too), or there is no positive or no negative sample:
// AUC is undefined then (roc_auc_score raises), and so is AP, for which
// average_precision_score answers 0 without positives and 1 without negatives
// with a warning; refusing keeps one answer for both. AUC is the exact ratio
// rounded once, so it can differ from roc_auc_score's trapezoid sum in the last
// bits; AP sums its terms from the top score down, numpy in the other order:
// both agree with scikit-learn to about 1e-15 (tests/fixtures/metrics).
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
