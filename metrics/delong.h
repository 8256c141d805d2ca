// DeLong's test for two correlated ROC AUCs measured on the same samples
// (DeLong, DeLong & Clarke-Pearson, 1988), with the fast midrank algorithm of
// Sun & Xu (2014): O(n log n) instead of the O(m n) placement matrix.
#pragma once

#include <cstdint>
#include <span>

namespace fracsweep::metrics {

struct DelongResult {
  double auc_a = 0, auc_b = 0;
  double var_a = 0, var_b = 0, cov_ab = 0;  // DeLong's (co)variance estimates of the AUCs
  double z = 0;  // (auc_a - auc_b) / sd of the difference
  double p = 1;  // two-sided p-value under the standard normal
};

// `positive[i]` marks the positive class. Throws core::ConfigError when the
// sizes differ or a class has fewer than 2 samples (the variance needs 2).
// When the difference has zero variance (identical rankings) z = 0 and p = 1.
DelongResult delong_test(std::span<const double> scores_a, std::span<const double> scores_b,
                         std::span<const uint8_t> positive);

}  // namespace fracsweep::metrics
