// Significance tests between two variants of a sweep.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "metrics/delong.h"

namespace fracsweep::metrics {

// Student's paired t-test, two-sided, as scipy.stats.ttest_rel.
struct PairedTTest {
  size_t n = 0;          // pairs
  double mean_diff = 0;  // mean of a - b
  double t = 0;
  double p = 1;  // p = 1 when every difference is 0; p = 0 when they are equal and non-zero
};
// Throws core::ConfigError when the sizes differ or there are fewer than 2 pairs.
PairedTTest paired_t_test(std::span<const double> a, std::span<const double> b);

// DeLong's test per fold, combined over folds: the AUC differences of the folds
// summed and divided by the square root of the summed variances of the
// differences (var_a + var_b - 2 cov_ab), as independent estimates are when the
// folds' test sets are disjoint (k-fold). Two-sided p under the standard normal.
struct CombinedDelong {
  std::vector<DelongResult> folds;
  double diff = 0;  // sum of (auc_a - auc_b) over folds / number of folds
  double z = 0;
  double p = 1;
};
// Throws core::ConfigError on no folds.
CombinedDelong combine_delong(std::vector<DelongResult> folds);

}  // namespace fracsweep::metrics
