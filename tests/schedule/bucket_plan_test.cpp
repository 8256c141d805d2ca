// The attached syncs' layout: reverse order, whole gradients, a small first bucket.
#include "schedule/bucket_plan.h"

#include <gtest/gtest.h>

namespace fracsweep::schedule {
namespace {

TEST(BucketPlan, LaysGradientsOutInReverseWithASmallFirstBucket) {
  // Parameters as a model lists them: conv (100), bias (10), fc weight (40), fc bias (3).
  const BucketPlan p = plan_buckets({100, 10, 40, 3}, /*first=*/45, /*bucket=*/120);
  EXPECT_EQ(p.total, 153u);
  // Backward writes fc bias, fc weight, bias, conv: that is the buffer's order.
  EXPECT_EQ(p.offsets, (std::vector<size_t>{53, 43, 3, 0}));
  // First bucket: fc bias + fc weight (43 <= 45); bias would make it 53 > 45.
  ASSERT_EQ(p.buckets.size(), 2u);
  EXPECT_EQ(p.buckets[0].first, 0u);
  EXPECT_EQ(p.buckets[0].count, 43u);
  EXPECT_EQ(p.buckets[0].parameters, 2);
  EXPECT_EQ(p.buckets[1].first, 43u);
  EXPECT_EQ(p.buckets[1].count, 110u);
  EXPECT_EQ(p.buckets[1].parameters, 2);
  EXPECT_EQ(p.bucket_of, (std::vector<size_t>{1, 1, 0, 0}));
}

TEST(BucketPlan, ALargeGradientIsNeverSplitAndBucketsTileTheBuffer) {
  const BucketPlan p = plan_buckets({5, 500, 0, 5}, 4, 8);
  // Reverse order: param 3 (5 > 4, but whole) alone; the empty param 2 opens
  // the next bucket, which param 1 (500 > 8, whole) joins; then param 0.
  ASSERT_EQ(p.buckets.size(), 3u);
  EXPECT_EQ(p.buckets[0].count, 5u);
  EXPECT_EQ(p.buckets[0].parameters, 1);
  EXPECT_EQ(p.buckets[1].count, 500u);
  EXPECT_EQ(p.buckets[1].parameters, 2);
  EXPECT_EQ(p.buckets[2].count, 5u);
  EXPECT_EQ(p.bucket_of, (std::vector<size_t>{2, 1, 1, 0}));
  size_t sum = 0;
  for (const auto& b : p.buckets) {
    EXPECT_EQ(b.first, sum);
    sum += b.count;
  }
  EXPECT_EQ(sum, p.total);
}

TEST(BucketPlan, NoParametersNoBuckets) {
  const BucketPlan p = plan_buckets({}, 4, 8);
  EXPECT_TRUE(p.buckets.empty());
  EXPECT_EQ(p.total, 0u);
}

TEST(PackedPlan, CutsEveryBucketFloatsAcrossGradientsAndMarksWhereABucketCanStart) {
  const PackedPlan p = plan_packed({5, 3, 0, 10}, 4);
  EXPECT_EQ(p.total, 18u);
  EXPECT_EQ(p.buckets, 5u);  // the last holds 2 floats
  struct Run {
    size_t tensor, offset, count, bucket;
    bool ends;
  };
  const std::vector<Run> expected = {{0, 0, 4, 0, true},  {0, 4, 1, 1, false}, {1, 0, 3, 1, true},
                                     {3, 0, 4, 2, true},  {3, 4, 4, 3, true},  {3, 8, 2, 4, true}};
  ASSERT_EQ(p.segments.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const PackedSegment& s = p.segments[i];
    EXPECT_EQ(s.tensor, expected[i].tensor) << i;
    EXPECT_EQ(s.tensor_offset, expected[i].offset) << i;
    EXPECT_EQ(s.count, expected[i].count) << i;
    EXPECT_EQ(s.bucket, expected[i].bucket) << i;
    EXPECT_EQ(s.ends_bucket, expected[i].ends) << i;
  }
}

}  // namespace
}  // namespace fracsweep::schedule
