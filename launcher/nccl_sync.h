// The GPU gradient all-reduce: trainer::GradientSync over NCCL, for a group of
// ranks with one CUDA device each.
//
// Compiled only when the build found CUDA and NCCL (FRACSWEEP_HAVE_NCCL). The
// NCCL communicator is built from an MPI group communicator: the group's rank 0
// makes the unique id and broadcasts it over MPI. any() and check_agreement()
// go through MPI on the same group.
//
// attach() gives the parameters (on this rank's device) gradients that are
// views of one flat device buffer, laid out and cut into buckets as the MPI
// sync does (schedule/bucket_plan.h), and hooks their gradient accumulators:
// once backward has written a bucket, its ncclAllReduce is queued on a
// private stream behind the work that wrote it, so it runs while backward
// goes on. average() queues what is left, makes LibTorch's stream wait for
// the reductions and scales the buffer there: in place, with no copy and no
// host synchronisation. Without attach(), average() packs the gradients into
// fixed-size buckets of a device buffer (host-to-device copies for CPU
// tensors, device-to-device for CUDA tensors), reduces and copies back.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <ATen/cuda/CUDAEvent.h>

#include "schedule/bucket_plan.h"
#include "launcher/flat_gradients.h"
#include "launcher/mpi_sync.h"
#include "trainer/grad_sync.h"
#include "trainer/nccl_comm.h"

namespace fracsweep::launcher {

struct NcclSyncOptions {
  // Bytes per bucket (whole floats, at least one). NCCL pipelines within one
  // call, so large buckets cost little; small ones only add launches.
  size_t bucket_bytes = size_t{8} << 20;
  // attach(): the first bucket, filled first by backward, is small so that the
  // first reduction starts early.
  size_t first_bucket_bytes = size_t{1} << 20;
  // attach(): queue each bucket from autograd hooks during backward (true), or
  // only in average() (false).
  bool overlap = true;
};

// Averages gradients over `group`, which the caller owns and which must outlive
// this object; every rank of the group constructs one (a collective) and then
// makes the same calls in the same order. `device` is this rank's CUDA device,
// typically its node-local rank modulo the devices visible; NCCL needs a
// different device for every rank of the group on one node.
//
// A group of one still goes through NCCL (use trainer::LocalSync for it).
// Not thread-safe: one thread at a time. average() takes defined, contiguous
// float32 tensors, each on the CPU or on `device`. Bad tensors throw
// core::InternalError before any communication. A failed CUDA/NCCL call
// throws core::CommError after aborting the NCCL communicator (so that peers
// blocked in a collective are released); the object is unusable afterwards,
// and further calls throw core::CommError.
class NcclGradientSync final : public trainer::GradientSync {
 public:
  // Throws core::ConfigError when `device` is not a visible CUDA device.
  NcclGradientSync(MPI_Comm group, int device, const NcclSyncOptions& options = {});
  NcclGradientSync(const NcclGradientSync&) = delete;
  NcclGradientSync& operator=(const NcclGradientSync&) = delete;

  // As MpiGradientSync::attach(); parameters not on this rank's device are
  // left alone (average() then packs). The hooks run on autograd's thread
  // for the device.
  void attach(std::vector<torch::Tensor>& params) override;
  void average(std::vector<torch::Tensor>& grads) override;
  uint32_t any(uint32_t bits) override { return mpi_.any(bits); }
  void check_agreement(const trainer::ModelSignature& mine) override {
    mpi_.check_agreement(mine);
  }
  int group_size() const override { return mpi_.group_size(); }
  int group_rank() const override { return mpi_.group_rank(); }

  int device() const { return device_; }
  // As MpiGradientSync's counters.
  double average_seconds() const { return average_seconds_; }
  int64_t average_calls() const { return average_calls_; }
  size_t last_bucket_count() const { return last_bucket_count_; }
  size_t last_early_buckets() const { return last_early_buckets_; }

 private:
  void check_tensors(const std::vector<torch::Tensor>& grads) const;
  void reduce_buckets(std::vector<torch::Tensor>& grads, size_t total);
  void start_bucket(size_t bucket);
  void reduce_attached();
  // Runs `step`; on failure aborts the communicator first (peers may be
  // inside a collective waiting for this rank).
  template <class F> void or_abort(F&& step);

  // Serves any() and check_agreement(); its average() is never called, so it holds no buffers.
  MpiGradientSync mpi_;
  int device_;
  size_t bucket_floats_;
  trainer::NcclComm comm_;      // created after the device is selected
  trainer::CudaStream stream_;  // on device_
  std::optional<trainer::DeviceBuffer> buffer_;  // grows to the total gradient size once
  bool aborted_ = false;

  // attach(): the gradients in one device buffer, and the events that order
  // the reductions after backward's writes and LibTorch's stream after them.
  size_t first_bucket_floats_;
  bool overlap_;
  FlatGradients flat_;
  at::cuda::CUDAEvent written_;
  at::cuda::CUDAEvent summed_;

  double average_seconds_ = 0;
  int64_t average_calls_ = 0;
  size_t last_bucket_count_ = 0;
  size_t last_early_buckets_ = 0;
};

}  // namespace fracsweep::launcher
