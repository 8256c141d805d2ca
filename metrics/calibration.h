// Calibration of fracture probabilities: the reliability diagram's bins, the
// Brier score and the expected calibration error (ECE).
//
// Bins are sklearn's calibration_curve(strategy="uniform"): n equal-width bins
// of [0, 1] with edges k / n, a probability on an inner edge falling into the
// lower bin (numpy.searchsorted on the inner edges); empty bins are left out.
// Brier is sklearn's brier_score_loss, mean (p - y)^2. ECE is
// sum over bins of (count / N) |fraction positive - mean probability| (Guo et
// al. 2017), from the same bins.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "metrics/predictions.h"

namespace fracsweep::metrics {

struct ReliabilityBin {
  int index = 0;                 // 0 .. bins-1
  size_t count = 0;              // samples in it (> 0)
  double mean_probability = 0;   // sklearn's prob_pred
  double fraction_positive = 0;  // sklearn's prob_true
};

struct Calibration {
  std::vector<ReliabilityBin> bins;  // non-empty bins, in order
  double brier = 0;
  double ece = 0;
  size_t samples = 0;
};

// Throws core::ConfigError when the sizes differ, there are no samples or `bins` < 1,
// or a probability lies outside [0, 1].
Calibration calibration(std::span<const double> probability, std::span<const uint8_t> positive,
                        int bins = 10);

// The probability of a fracture and whether there is one, per row: a binary
// file's score and label; a three-class file's 1 - p(normal) and label > 0.
void fracture_probabilities(const Predictions& p, std::vector<double>& probability,
                            std::vector<uint8_t>& positive);

}  // namespace fracsweep::metrics
