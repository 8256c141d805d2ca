// How the gradient syncs cut gradients into buckets, shared by the MPI and
// NCCL syncs so that both cut the same ones; pure, so it is tested without
// either. See Note [Bucket order] in mpi_sync.cpp.
//   Attached (plan_buckets): the parameters' gradients live in one flat
//   buffer in reverse order (backward writes the last layers' gradients
//   first), whole gradients per bucket, a small first bucket, as PyTorch's
//   DDP reducer does.
//   Packed (plan_packed): copies of the gradients end to end in the order
//   given, cut every bucket_floats; a gradient may straddle buckets.
#pragma once

#include <cstddef>
#include <vector>

namespace fracsweep::schedule {

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

// One run of one gradient in a packed buffer, in buffer order.
struct PackedSegment {
  size_t tensor = 0;         // index of the gradient
  size_t tensor_offset = 0;  // its first element in this run
  size_t count = 0;          // elements
  size_t bucket = 0;         // the bucket the run is in
  bool ends_bucket = false;  // the bucket's last run: once it is copied, the bucket can start
};

struct PackedPlan {
  size_t total = 0;    // floats in all
  size_t buckets = 0;  // bucket k holds floats [k * bucket_floats, min((k + 1) * bucket_floats, total))
  std::vector<PackedSegment> segments;
};

// `counts`: elements per gradient, in the order they are passed. Empty
// gradients have no segment. `bucket_floats` is at least one.
PackedPlan plan_packed(const std::vector<size_t>& counts, size_t bucket_floats);

}  // namespace fracsweep::schedule
