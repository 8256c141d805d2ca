// See bucket_plan.h.
#include "launcher/bucket_plan.h"

namespace fracsweep::launcher {

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

}  // namespace fracsweep::launcher
