// See split.h.
#include "datastore/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/seed.h"

namespace fracsweep::datastore {
namespace {

using core::ConfigError;

// Patients grouped by label (in label order), each group shuffled by `rng`.
std::vector<std::vector<int32_t>> shuffled_strata(std::span<const int32_t> patients,
                                                  std::span<const int32_t> patient_label,
                                                  core::Rng& rng) {
  std::map<int32_t, std::vector<int32_t>> by_label;
  for (int32_t p : patients) by_label[patient_label[static_cast<size_t>(p)]].push_back(p);
  std::vector<std::vector<int32_t>> strata;
  for (auto& [label, group] : by_label) {
    rng.shuffle(group);
    strata.push_back(std::move(group));
  }
  return strata;
}

std::vector<int32_t> all_patients(size_t n) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// Splits `count` into parts proportional to `weights`, summing exactly to count.
std::vector<size_t> largest_remainder(size_t count, const std::vector<double>& weights) {
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<size_t> sizes(weights.size());
  std::vector<std::pair<double, size_t>> remainders;
  size_t used = 0;
  for (size_t k = 0; k < weights.size(); ++k) {
    const double exact = static_cast<double>(count) * weights[k] / total;
    sizes[k] = static_cast<size_t>(std::floor(exact));
    used += sizes[k];
    // Ties go to the earlier part, so the order of parts decides, not float noise.
    remainders.emplace_back(-(exact - std::floor(exact)), k);
  }
  std::sort(remainders.begin(), remainders.end());
  for (size_t r = 0; used < count; ++r, ++used) ++sizes[remainders[r].second];
  return sizes;
}

void finish(Split& s) {
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.val.begin(), s.val.end());
  std::sort(s.test.begin(), s.test.end());
}

}  // namespace

Split kfold_split(std::span<const int32_t> patient_label, int folds, int fold, double val_share,
                  uint64_t seed) {
  CHECK_OR_THROW(ConfigError, folds >= 2, "k-fold split: folds = ", folds, " must be >= 2");
  CHECK_OR_THROW(ConfigError, fold >= 0 && fold < folds, "k-fold split: fold ", fold,
                 " is outside 0..", folds - 1);
  CHECK_OR_THROW(ConfigError, val_share >= 0 && val_share < 1, "k-fold split: validation share ",
                 val_share, " must be in [0, 1)");
  CHECK_OR_THROW(ConfigError, patient_label.size() >= static_cast<size_t>(folds), "k-fold split: ",
                 patient_label.size(), " patients cannot fill ", folds, " folds");
  // The fold assignment depends on the seed only, not on `fold`, so the k
  // folds of one seed partition the patients.
  core::Rng rng(core::derive_seed(seed, "kfold", folds, "assign"));
  const auto strata = shuffled_strata(all_patients(patient_label.size()), patient_label, rng);
  Split s;
  // Dealing each stratum round-robin, continuing where the last one stopped,
  // keeps fold sizes within one patient of each other.
  size_t dealt = 0;
  std::vector<std::vector<int32_t>> rest_by_label;
  for (const auto& group : strata) {
    rest_by_label.emplace_back();
    for (int32_t p : group) {
      if (static_cast<int>(dealt++ % folds) == fold) s.test.push_back(p);
      else rest_by_label.back().push_back(p);
    }
  }
  const double val_of_rest =
      val_share * static_cast<double>(patient_label.size()) /
      static_cast<double>(patient_label.size() - s.test.size());
  for (const auto& rest : rest_by_label) {
    // `rest` is already in shuffled order; its head goes to validation.
    const auto val_count = static_cast<size_t>(std::llround(val_of_rest * static_cast<double>(rest.size())));
    for (size_t k = 0; k < rest.size(); ++k) (k < val_count ? s.val : s.train).push_back(rest[k]);
  }
  finish(s);
  return s;
}

Split random_split(std::span<const int32_t> patient_label, double train_weight, double val_weight,
                   double test_weight, uint64_t seed, int repeat) {
  CHECK_OR_THROW(ConfigError,
                 train_weight > 0 && val_weight >= 0 && test_weight > 0,
                 "random split: weights ", train_weight, ":", val_weight, ":", test_weight,
                 " need train > 0, validation >= 0, test > 0");
  CHECK_OR_THROW(ConfigError, repeat >= 0, "random split: repeat ", repeat, " must be >= 0");
  core::Rng rng(core::derive_seed(seed, "random_split", repeat, "assign"));
  const auto strata = shuffled_strata(all_patients(patient_label.size()), patient_label, rng);
  Split s;
  for (const auto& group : strata) {
    const auto sizes = largest_remainder(group.size(), {train_weight, val_weight, test_weight});
    for (size_t k = 0; k < group.size(); ++k) {
      auto& part = k < sizes[0] ? s.train : k < sizes[0] + sizes[1] ? s.val : s.test;
      part.push_back(group[k]);
    }
  }
  CHECK_OR_THROW(ConfigError, !s.train.empty() && !s.test.empty(), "random split of ",
                 patient_label.size(), " patients left the train or test part empty");
  finish(s);
  return s;
}

std::vector<int32_t> subset_patients(std::span<const int32_t> patients,
                                     std::span<const int32_t> patient_label, double fraction,
                                     uint64_t seed) {
  CHECK_OR_THROW(ConfigError, fraction > 0 && fraction <= 1, "data subset fraction ", fraction,
                 " must be in (0, 1]");
  core::Rng rng(core::derive_seed(seed, "subset", 0, "order"));
  std::vector<int32_t> sorted(patients.begin(), patients.end());
  std::sort(sorted.begin(), sorted.end());
  const auto strata = shuffled_strata(sorted, patient_label, rng);
  std::vector<int32_t> out;
  for (const auto& group : strata) {
    const auto keep = std::max<size_t>(
        1, static_cast<size_t>(std::llround(fraction * static_cast<double>(group.size()))));
    out.insert(out.end(), group.begin(), group.begin() + std::min(keep, group.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace fracsweep::datastore
