// The CPU gradient all-reduce: trainer::GradientSync over an MPI communicator.
//
// attach() lays the parameters' gradients out in one flat buffer, in reverse
// order (the order backward writes them), cut into buckets, and hooks each
// parameter's gradient accumulator: as soon as backward has written the last
// gradient of a bucket, that bucket's non-blocking MPI_Iallreduce starts, so
// the communication hides behind the rest of backward, as PyTorch's DDP
// reducer does; average() then starts what is left and waits. Without
// attach(), average() packs the gradients into buckets of a staging buffer,
// starting each as soon as it is full. See Note [Bucket order] in mpi_sync.cpp.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "schedule/bucket_plan.h"
#include "launcher/flat_gradients.h"
#include "trainer/grad_sync.h"

namespace fracsweep::launcher {

struct MpiSyncOptions {
  // Bytes per bucket (rounded down to whole floats, at least one float).
  // Larger buckets mean fewer collectives and less per-call latency; smaller
  // ones start the first reduction earlier and overlap more of the packing.
  size_t bucket_bytes = size_t{8} << 20;
  // attach(): the first bucket, which backward fills first (the last layers),
  // is small, so that the first reduction starts early in backward.
  size_t first_bucket_bytes = size_t{1} << 20;
  // attach(): start each bucket from autograd hooks during backward (true),
  // or only in average() (false: no overlap, for comparison).
  bool overlap = true;
};

// Averages gradients over `group`, a communicator that the caller owns (a
// launcher::MpiComm) and that must outlive this object. Every rank of the
// group must construct one and make the same calls in the same order.
//
// Not thread-safe: one thread at a time per object, and no other thread may
// use `group` while a call is in progress. Errors: a tensor that is not a
// defined, contiguous float32 CPU tensor throws core::InternalError before any
// communication (on every rank, since every rank passes the same tensors); an
// MPI failure throws core::CommError, after which the group must be aborted
// (peers may be blocked in the collective).
class MpiGradientSync final : public trainer::GradientSync {
 public:
  // Collective over `group` (reads its size and rank; MPI_COMM_WORLD gives
  // the world rank and MPI the host name, both for error messages).
  explicit MpiGradientSync(MPI_Comm group, const MpiSyncOptions& options = {});
  MpiGradientSync(const MpiGradientSync&) = delete;
  MpiGradientSync& operator=(const MpiGradientSync&) = delete;

  // The staging buffer grows to the total gradient size on the first call
  // and is reused afterwards. With a group of one, nothing is communicated.
  // Gives the parameters gradients that are views of one flat buffer (in
  // reverse order) and, with `overlap`, hooks on their gradient accumulators
  // that start each bucket's reduction once backward has written it (the hooks
  // run on the thread that runs backward: the caller's, on the CPU). average()
  // then reduces that buffer in place when it is handed exactly those
  // gradients (and packs copies otherwise). A later attach() drops the hooks
  // of the previous parameters. Every backward between two average() calls
  // must write each parameter's gradient at most once.
  void attach(std::vector<torch::Tensor>& params) override;
  void average(std::vector<torch::Tensor>& grads) override;
  uint32_t any(uint32_t bits) override;
  // Collective: every rank receives every rank's signature and host, so
  // every rank throws the same core::ConfigError.
  void check_agreement(const trainer::ModelSignature& mine) override;
  int group_size() const override { return size_; }
  int group_rank() const override { return rank_; }

  // For benchmarks: wall-clock seconds spent inside average(), summed over
  // calls; the number of calls; the buckets of the most recent call (0 for a
  // group of one).
  double average_seconds() const { return average_seconds_; }
  int64_t average_calls() const { return average_calls_; }
  size_t last_bucket_count() const { return last_bucket_count_; }
  size_t bucket_floats() const { return bucket_floats_; }
  // Attached: the buckets of the most recent call that hooks started during
  // backward (the rest average() started).
  size_t last_early_buckets() const { return last_early_buckets_; }

 private:
  void check_tensors(const std::vector<torch::Tensor>& grads) const;
  void reduce_buckets(std::vector<torch::Tensor>& grads, size_t total);
  void reduce_attached();
  void start_bucket(size_t bucket);
  void finish_ready_buckets();
  void scale_bucket(size_t bucket);

  MPI_Comm group_;
  int rank_ = 0, size_ = 1;
  int world_rank_ = 0;
  std::string host_;
  size_t bucket_floats_ = 1;
  size_t first_bucket_floats_ = 1;
  bool overlap_ = true;

  // Reused across calls so that a step allocates nothing after the first.
  std::vector<float> staging_;
  std::vector<MPI_Request> requests_;
  std::vector<size_t> counts_, packed_counts_;  // this call's gradient sizes, and the plan's
  schedule::PackedPlan packed_;

  // attach(): the gradients in one buffer, and the buckets reduced and scaled
  // this step (a prefix of those started).
  FlatGradients flat_;
  size_t reduced_ = 0;

  double average_seconds_ = 0;
  int64_t average_calls_ = 0;
  size_t last_bucket_count_ = 0;
  size_t last_early_buckets_ = 0;
};

}  // namespace fracsweep::launcher
