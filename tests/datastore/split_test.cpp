#include "datastore/split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/seed.h"

namespace fracsweep::datastore {
namespace {

// 239 patients, 136 benign (1) and 103 malignant (2), as in the TSCCN data.
std::vector<int32_t> tsccn_like_labels() {
  std::vector<int32_t> labels(239, 1);
  core::Rng rng(5);
  std::vector<size_t> idx(239);
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  rng.shuffle(idx);
  for (size_t k = 0; k < 103; ++k) labels[idx[k]] = 2;
  return labels;
}

void expect_partition(const Split& s, size_t n) {
  std::set<int32_t> seen;
  for (const auto* part : {&s.train, &s.val, &s.test})
    for (int32_t p : *part) EXPECT_TRUE(seen.insert(p).second) << "patient " << p << " is in two parts";
  EXPECT_EQ(seen.size(), n);
}

double malignant_share(const std::vector<int32_t>& part, const std::vector<int32_t>& labels) {
  double m = 0;
  for (int32_t p : part) m += labels[static_cast<size_t>(p)] == 2;
  return m / static_cast<double>(part.size());
}

TEST(KfoldSplit, FoldsPartitionPatientsAndKeepProportions) {
  const auto labels = tsccn_like_labels();
  const double whole = 103.0 / 239.0;
  std::set<int32_t> all_test;
  for (int fold = 0; fold < 5; ++fold) {
    const Split s = kfold_split(labels, 5, fold, 0.1, 42);
    expect_partition(s, labels.size());
    for (int32_t p : s.test) EXPECT_TRUE(all_test.insert(p).second) << "patient " << p << " tested twice";
    // 70/10/20 of 239 patients, within rounding per stratum.
    EXPECT_NEAR(static_cast<double>(s.test.size()), 0.2 * 239, 1.0);
    EXPECT_NEAR(static_cast<double>(s.val.size()), 0.1 * 239, 2.0);
    EXPECT_NEAR(malignant_share(s.test, labels), whole, 0.03);
    EXPECT_NEAR(malignant_share(s.val, labels), whole, 0.05);
    EXPECT_NEAR(malignant_share(s.train, labels), whole, 0.03);
  }
  EXPECT_EQ(all_test.size(), labels.size());  // every patient is tested exactly once
}

TEST(KfoldSplit, DeterministicPerSeed) {
  const auto labels = tsccn_like_labels();
  const Split a = kfold_split(labels, 5, 2, 0.1, 7), b = kfold_split(labels, 5, 2, 0.1, 7);
  EXPECT_EQ(a.test, b.test);
  EXPECT_EQ(a.val, b.val);
  EXPECT_NE(kfold_split(labels, 5, 2, 0.1, 8).test, a.test);
}

TEST(RandomSplit, ThreeOneOneIsStratifiedAndRepeatsDiffer) {
  const auto labels = tsccn_like_labels();
  const Split s = random_split(labels, 3, 1, 1, 0, 0);
  expect_partition(s, labels.size());
  // Per stratum: 136 -> 82/27/27 (81.6, 27.2, 27.2) and 103 -> 62/21/20 (61.8, 20.6, 20.6).
  EXPECT_EQ(s.train.size(), 82u + 62u);
  EXPECT_EQ(s.val.size(), 27u + 21u);
  EXPECT_EQ(s.test.size(), 27u + 20u);
  EXPECT_NEAR(malignant_share(s.test, labels), 103.0 / 239.0, 0.02);
  EXPECT_NE(random_split(labels, 3, 1, 1, 0, 1).test, s.test);
  EXPECT_EQ(random_split(labels, 3, 1, 1, 0, 0).test, s.test);
}

TEST(SubsetPatients, NestedAndStratified) {
  const auto labels = tsccn_like_labels();
  const Split s = random_split(labels, 3, 1, 1, 0, 0);
  const auto quarter = subset_patients(s.train, labels, 0.25, 3);
  const auto half = subset_patients(s.train, labels, 0.5, 3);
  const auto full = subset_patients(s.train, labels, 1.0, 3);
  EXPECT_EQ(full, s.train);
  EXPECT_NEAR(static_cast<double>(quarter.size()), 0.25 * s.train.size(), 1.0);
  EXPECT_TRUE(std::includes(half.begin(), half.end(), quarter.begin(), quarter.end()));
  EXPECT_NEAR(malignant_share(quarter, labels), malignant_share(s.train, labels), 0.03);
}

TEST(Splits, RejectBadArguments) {
  const auto labels = tsccn_like_labels();
  EXPECT_THROW(kfold_split(labels, 1, 0, 0.1, 0), core::ConfigError);
  EXPECT_THROW(kfold_split(labels, 5, 5, 0.1, 0), core::ConfigError);
  EXPECT_THROW(kfold_split(labels, 5, 0, 1.0, 0), core::ConfigError);
  EXPECT_THROW(kfold_split(std::vector<int32_t>{1, 2}, 5, 0, 0.1, 0), core::ConfigError);
  EXPECT_THROW(random_split(labels, 0, 1, 1, 0, 0), core::ConfigError);
  EXPECT_THROW(subset_patients(labels, labels, 0.0, 0), core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::datastore
