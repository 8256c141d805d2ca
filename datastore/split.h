// Patient-grouped, label-stratified splits into train / validation / test.
//
// A split is over patients, never samples, so no patient's vertebrae sit on
// both sides. Patients are stratified by their patient-level label (for the
// vertebra task: benign or malignant), so every part keeps the whole's mix.
// Every split is a pure function of its inputs and seed (core::Rng, not the
// standard library's distributions), so it is the same on every machine.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace fracsweep::datastore {

// Patient indices per part, each sorted ascending.
struct Split {
  std::vector<int32_t> train, val, test;
};

// k-fold cross-validation (AASN: 5 folds, 70/10/20): fold f's test part is
// the f-th of k stratified folds; from the rest, a stratified share
// `val_share` of *all* patients (0.1 for 70/10/20) is held out for
// validation. Throws core::ConfigError on folds < 2, fold outside 0..folds-1,
// a share outside [0, 1), or fewer patients than folds.
Split kfold_split(std::span<const int32_t> patient_label, int folds, int fold, double val_share,
                  uint64_t seed);

// One repeat of a random stratified split with the given part weights
// (TSCCN: 3:1:1). Each repeat draws anew from (seed, repeat). Part sizes per
// label use largest-remainder rounding, so they add up exactly.
Split random_split(std::span<const int32_t> patient_label, double train_weight, double val_weight,
                   double test_weight, uint64_t seed, int repeat);

// The first `fraction` of a part's patients per label, in a seeded order,
// for the data-size study (1/4, 1/2, full). Nested: a smaller fraction's
// patients are a subset of a larger one's with the same seed.
std::vector<int32_t> subset_patients(std::span<const int32_t> patients,
                                     std::span<const int32_t> patient_label, double fraction,
                                     uint64_t seed);

}  // namespace fracsweep::datastore
