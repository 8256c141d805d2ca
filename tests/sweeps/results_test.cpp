#include "sweeps/results.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace fracsweep::sweeps {
namespace {

SweepJob job(std::string id, std::string variant) {
  SweepJob j;
  j.id = std::move(id);
  j.name = variant + "/" + j.id;
  j.variant = std::move(variant);
  return j;
}

LedgerRecord finished(const std::string& id, double auc, double se) {
  return make_finished(id, id, {0, "h"}, {{"aAUC", auc}, {"aSE", se}, {"aSP", 0.5}, {"mAP", nullptr}},
                       "2026-11-22T10:00:00.000Z");
}

TEST(ResultsTable, MeanAndSampleStdPerVariantOverFinishedJobsOnly) {
  Sweep s;
  s.jobs = {job("a1", "tsccn"), job("a2", "tsccn"), job("a3", "tsccn"), job("b1", "resnet")};
  const std::vector<LedgerRecord> records = {
      make_started("a1", "a1", {0, "h"}, "2026-11-22T09:00:00.000Z"),
      finished("a1", 0.7, 0.6),  // replaced by the job's later finished record
      finished("a1", 0.8, 0.6),
      finished("a2", 0.9, 0.8),
      make_failed("a3", "a3", {0, "h"}, "boom", "2026-11-22T10:00:00.000Z"),
  };
  const std::string t = results_table(s, records);
  // aAUC: mean of 80 and 90 is 85, sample std sqrt(50) = 7.07.
  EXPECT_HAS(t, "| tsccn | 2/3 | 70.00 ± 14.14 | 50.00 ± 0.00 | 85.00 ± 7.07 | - |");
  EXPECT_HAS(t, "| resnet | 0/1 | - | - | - | - |");
  EXPECT_LT(t.find("tsccn"), t.find("resnet"));  // sweep order
}

TEST(ResultsTable, OneJobShowsItsValueWithoutStd) {
  Sweep s;
  s.jobs = {job("a1", "tsccn")};
  EXPECT_HAS(results_table(s, {finished("a1", 0.75, 0.5)}), "| tsccn | 1/1 | 50.00 | 50.00 | 75.00 | - |");
}

}  // namespace
}  // namespace fracsweep::sweeps
