// See calibration.h.
#include "metrics/calibration.h"

#include <cmath>

#include "core/error.h"

namespace fracsweep::metrics {

Calibration calibration(std::span<const double> probability, std::span<const uint8_t> positive,
                        int bins) {
  CHECK_OR_THROW(core::ConfigError, probability.size() == positive.size(), "calibration: ",
                 probability.size(), " probabilities but ", positive.size(), " labels");
  CHECK_OR_THROW(core::ConfigError, !probability.empty() && bins >= 1,
                 "calibration needs samples and at least one bin");
  const double step = 1.0 / bins;  // numpy.linspace(0, 1, bins + 1)'s k-th edge is k * step
  std::vector<double> sum(static_cast<size_t>(bins)), hits(static_cast<size_t>(bins));
  std::vector<size_t> count(static_cast<size_t>(bins));
  Calibration out;
  out.samples = probability.size();
  for (size_t i = 0; i < probability.size(); ++i) {
    const double p = probability[i];
    CHECK_OR_THROW(core::ConfigError, p >= 0 && p <= 1, "calibration: probability ", p,
                   " of sample ", i, " is outside [0, 1]");
    int b = 0;  // how many inner edges lie below p (searchsorted, side "left")
    while (b < bins - 1 && (b + 1) * step < p) ++b;
    sum[static_cast<size_t>(b)] += p;
    hits[static_cast<size_t>(b)] += positive[i] ? 1 : 0;
    ++count[static_cast<size_t>(b)];
    const double e = p - (positive[i] ? 1.0 : 0.0);
    out.brier += e * e;
  }
  out.brier /= static_cast<double>(probability.size());
  for (int b = 0; b < bins; ++b) {
    const size_t n = count[static_cast<size_t>(b)];
    if (n == 0) continue;
    ReliabilityBin bin{b, n, sum[static_cast<size_t>(b)] / static_cast<double>(n),
                       hits[static_cast<size_t>(b)] / static_cast<double>(n)};
    out.ece += static_cast<double>(n) / static_cast<double>(out.samples) *
               std::abs(bin.fraction_positive - bin.mean_probability);
    out.bins.push_back(bin);
  }
  return out;
}

void fracture_probabilities(const Predictions& p, std::vector<double>& probability,
                            std::vector<uint8_t>& positive) {
  probability.resize(p.size());
  positive.resize(p.size());
  const bool binary = p.kind == PredictionKind::kBinary;
  for (size_t i = 0; i < p.size(); ++i) {
    // A three-class row sums to 1 up to rounding; clamp so the bins take it.
    probability[i] = binary ? p.row(i)[0] : std::min(1.0, std::max(0.0, 1.0 - p.row(i)[0]));
    positive[i] = p.label[i] > 0 ? 1 : 0;
  }
}

}  // namespace fracsweep::metrics
