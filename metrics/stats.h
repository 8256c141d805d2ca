// Significance tests between two variants of a sweep.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "metrics/delong.h"

namespace fracsweep::metrics {

// Student's paired t-test, two-sided, as scipy.stats.ttest_rel, with t computed
// from the differences a - b as doubles, as exactly as their arithmetic allows:
//  - every difference 0 (identical samples, or signed zeros): t = 0, p = 1, where
//    scipy answers NaN (0 / 0): no evidence of a difference;
//  - all differences equal and non-zero: t = +-infinity, p = 0, also where
//    scipy's two-pass variance leaves a rounding residue (three differences of
//    0.1 give it t = 1e16, p = 1e-32);
//  - differences so small or large that their squares underflow or overflow
//    (1e-300, 1e200) are scaled by a power of two first, which t does not
//    depend on; scipy's variance becomes 0 or infinity there, and its t infinity
//    or 0;
//  - a NaN or infinite value, or a difference that overflows (1e308 - -1e308):
//    t = p = NaN, as scipy, so a failed job shows in a report rather than
//    stopping it.
// tests/fixtures/metrics/stats_edge.json holds these cases with the exact t.
struct PairedTTest {
  size_t n = 0;          // pairs
  double mean_diff = 0;  // mean of a - b
  double t = 0;
  double p = 1;
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
// Throws core::ConfigError on no folds. A summed variance <= 0 is answered as
// delong_z_and_p answers (z = 0, p = 1 for no difference; else +-infinity, 0).
CombinedDelong combine_delong(std::vector<DelongResult> folds);

}  // namespace fracsweep::metrics
