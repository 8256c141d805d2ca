// How an attached gradient sync lays the parameters' gradients out in one
// flat buffer and cuts it into buckets: reverse order (backward writes the
// last layers' gradients first), whole gradients per bucket, a small first
// bucket, as PyTorch's DDP reducer does. Shared by the MPI and NCCL syncs so
// that both cut the same buckets; pure, so it is tested without either.
#pragma once

#include <cstddef>
#include <vector>

namespace fracsweep::launcher {

struct BucketPlan {
  struct Bucket {
    size_t first = 0, count = 0;  // floats of the flat buffer
    int parameters = 0;           // gradients it holds
  };
  std::vector<size_t> offsets;    // per parameter (in the caller's order): where its gradient starts
  std::vector<size_t> bucket_of;  // per parameter: its bucket
  std::vector<Bucket> buckets;    // in the order backward fills them
  size_t total = 0;               // floats in all
};

// `counts`: elements per parameter, in the model's order. The first bucket
// takes gradients up to `first_bucket_floats`, every later one up to
// `bucket_floats`; a gradient is never split (one larger than the limit
// fills a bucket by itself). Both limits are at least one.
BucketPlan plan_buckets(const std::vector<size_t>& counts, size_t first_bucket_floats,
                        size_t bucket_floats);

}  // namespace fracsweep::launcher
