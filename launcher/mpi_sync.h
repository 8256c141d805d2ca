// The CPU gradient all-reduce: trainer::GradientSync over an MPI communicator.
//
// average() packs the gradients, in order, into fixed-size buckets of one
// staging buffer and starts a non-blocking MPI_Iallreduce on each bucket as
// soon as it is full, so that packing bucket k + 1 overlaps the reduction of
// bucket k; then it waits for the buckets in order, scaling each by 1 / size
// as it is copied back. See Note [Bucket order] in mpi_sync.cpp.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "trainer/grad_sync.h"

namespace fracsweep::launcher {

struct MpiSyncOptions {
  // Bytes per bucket (rounded down to whole floats, at least one float).
  // Larger buckets mean fewer collectives and less per-call latency; smaller
  // ones start the first reduction earlier and overlap more of the packing.
  size_t bucket_bytes = size_t{8} << 20;
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
  // Gives the parameters gradients that are consecutive views of one flat
  // buffer; average() then reduces that buffer in place, bucket by bucket,
  // when it is handed exactly those gradients (and packs copies otherwise).
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

 private:
  // A run of floats that one tensor contributes to one bucket.
  struct Segment {
    size_t tensor;         // index into the grads of the current call
    size_t tensor_offset;  // first element within the tensor
    size_t count;          // elements
  };

  void check_tensors(const std::vector<torch::Tensor>& grads) const;
  void reduce_buckets(std::vector<torch::Tensor>& grads, size_t total);
  bool in_flat_buffer(const std::vector<torch::Tensor>& grads) const;
  void reduce_in_place(float* data, size_t total);

  MPI_Comm group_;
  int rank_ = 0, size_ = 1;
  int world_rank_ = 0;
  std::string host_;
  size_t bucket_floats_ = 1;

  // Reused across calls so that a step allocates nothing after the first.
  std::vector<float> staging_;
  torch::Tensor flat_;  // attach(): every gradient, end to end
  std::vector<MPI_Request> requests_;
  std::vector<std::vector<Segment>> segments_;  // per bucket

  double average_seconds_ = 0;
  int64_t average_calls_ = 0;
  size_t last_bucket_count_ = 0;
};

}  // namespace fracsweep::launcher
