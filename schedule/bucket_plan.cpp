// See bucket_plan.h.
#include "schedule/bucket_plan.h"

#include <algorithm>

namespace fracsweep::schedule {

BucketPlan plan_buckets(const std::vector<size_t>& counts, size_t first_bucket_floats,
                        size_t bucket_floats) {
  BucketPlan plan;
  const size_t n = counts.size();
  plan.offsets.assign(n, 0);
  plan.bucket_of.assign(n, 0);
  for (size_t k = 0; k < n; ++k) {
    const size_t i = n - 1 - k;
    const size_t count = counts[i];
    const size_t limit = plan.buckets.size() <= 1 ? first_bucket_floats : bucket_floats;
    const bool full = !plan.buckets.empty() && plan.buckets.back().count > 0 &&
                      plan.buckets.back().count + count > limit;
    if (plan.buckets.empty() || full) plan.buckets.push_back({plan.total, 0, 0});
    plan.offsets[i] = plan.total;
    plan.bucket_of[i] = plan.buckets.size() - 1;
    plan.buckets.back().count += count;
    ++plan.buckets.back().parameters;
    plan.total += count;
  }
  return plan;
}

PackedPlan plan_packed(const std::vector<size_t>& counts, size_t bucket_floats) {
  PackedPlan plan;
  for (size_t n : counts) plan.total += n;
  plan.buckets = (plan.total + bucket_floats - 1) / bucket_floats;
  size_t pos = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    for (size_t off = 0; off < counts[i];) {
      const size_t k = pos / bucket_floats;
      const size_t bucket_end = std::min((k + 1) * bucket_floats, plan.total);
      const size_t take = std::min(counts[i] - off, bucket_end - pos);
      pos += take;
      plan.segments.push_back({i, off, take, k, pos == bucket_end});
      off += take;
    }
  }
  return plan;
}

}  // namespace fracsweep::schedule
