// Bootstrap confidence intervals resampled over patients, stratified, seeded,
// and reproducible outside C++.
//
// Note [Patient bootstrap]. A replicate draws, within each stratum, as many
// patients as the stratum has, with replacement, and takes every row of each
// drawn patient (a patient drawn twice counts twice). A patient's stratum is
// its highest label (binary: fractured or not; three-class: normal, benign,
// malignant), so every replicate keeps every class and the case mix. Strata
// are visited in increasing label order, the patients of a stratum in order
// of first appearance (Predictions::patient_names). The draws come from one
// SplitMix64 stream (Steele, Lea & Flood 2014; the generator of
// java.util.SplittableRandom) started at the seed and run through every
// replicate in turn: the j-th patient of a stratum of n is the stratum's
// (next() mod n)-th (the modulo bias is below n / 2^64). Any language with
// 64-bit unsigned arithmetic draws the same patients
// (tests/fixtures/metrics/make_bootstrap_fixture.py does, in numpy).
// Intervals are percentiles of the replicates' values with numpy's default
// (linear) interpolation.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "metrics/aggregate.h"
#include "metrics/predictions.h"

namespace fracsweep::metrics {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// The patients (indices into Predictions::patient_names) of each stratum, in
// increasing label order; empty strata left out.
std::vector<std::vector<int32_t>> patient_strata(const Predictions& p);

// `replicates` resamples of the strata's patients (Note [Patient bootstrap]).
std::vector<std::vector<int32_t>> resample_patients(
    const std::vector<std::vector<int32_t>>& strata, int replicates, uint64_t seed);

// The rows of `patients`, patient by patient in that order (each patient's
// rows in file order), as a Predictions of their own (ids left out).
Predictions rows_of_patients(const Predictions& p, std::span<const int32_t> patients);

// The (1 - alpha) percentile interval (metrics::percentile, numpy's) of
// `values`, the replicates' statistic: NaN where it was undefined, left out and
// counted. nullopt when none is defined.
std::optional<BootstrapInterval> percentile_interval(std::span<const double> values,
                                                     double alpha = 0.05);

// A paired bootstrap comparison from the replicates of two statistics on the
// same resamples: the difference a - b, its percentile interval, and the
// two-sided p-value 2 min(P*(d <= 0), P*(d >= 0)), capped at 1, where P* is
// the share of the defined replicates.
struct PairedDifference {
  double difference = 0;  // a - b on the whole sample
  BootstrapInterval interval;
  double p = 1;
};
std::optional<PairedDifference> paired_difference(double a, double b, std::span<const double> reps_a,
                                                  std::span<const double> reps_b,
                                                  double alpha = 0.05);

}  // namespace fracsweep::metrics
