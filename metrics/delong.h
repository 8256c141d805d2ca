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
// sizes differ, a score is NaN or infinite, or a class has fewer than 2
// samples (the sample variances need 2; the direct computation gives NaN).
// When the difference has no variance (var_a + var_b - 2 cov_ab <= 0), see
// delong_z_and_p.
DelongResult delong_test(std::span<const double> scores_a, std::span<const double> scores_b,
                         std::span<const uint8_t> positive);

// z = diff / sqrt(var_diff) and its two-sided normal p. Where var_diff <= 0 (no
// variance, e.g. identical rankings, or both models scoring every sample
// perfectly or all tied): a zero difference gives z = 0 and p = 1 (where the
// division gives NaN); a non-zero one gives z = +-infinity and p = 0, as the
// division does (AUC 1 against AUC 0.5 from all-tied scores, say).
void delong_z_and_p(double diff, double var_diff, double& z, double& p);

}  // namespace fracsweep::metrics
