// See nccl_sync.h.
#include "launcher/nccl_sync.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>

#include <c10/cuda/CUDAStream.h>

#include "core/error.h"
#include "launcher/mpi.h"

namespace fracsweep::launcher {
namespace {

using Clock = std::chrono::steady_clock;

int visible_devices() {
  int count = 0;
  // No driver or no device is reported as an error; both mean "none".
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
  return count;
}

// Selects `device` on this thread and builds the group's NCCL communicator.
// Every rank first reports over MPI whether its own part (device check, and on
// rank 0 the unique id) worked, so that one rank's failure makes every rank
// throw instead of leaving the others blocked in MPI_Bcast or ncclCommInitRank.
trainer::NcclComm make_comm(MPI_Comm group, int device) {
  int rank = 0, size = 1;
  FRACSWEEP_MPI_CHECK(MPI_Comm_rank(group, &rank));
  FRACSWEEP_MPI_CHECK(MPI_Comm_size(group, &size));
  ncclUniqueId id{};
  std::exception_ptr failure;
  try {
    const int count = visible_devices();
    CHECK_OR_THROW(core::ConfigError, device >= 0 && device < count, "CUDA device ", device,
                   " requested on host ", mpi_host_name(), " (group rank ", rank, " of ", size,
                   "), which sees ", count,
                   " device(s): pass the node-local rank modulo the device count, and run at "
                   "most one rank per GPU (check CUDA_VISIBLE_DEVICES)");
    FRACSWEEP_CUDA_CHECK(cudaSetDevice(device));
    if (rank == 0) id = trainer::NcclComm::new_unique_id();
  } catch (...) {
    failure = std::current_exception();
  }
  int ok = failure ? 0 : 1, all_ok = 0;
  FRACSWEEP_MPI_CHECK(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, group));
  if (failure) std::rethrow_exception(failure);
  CHECK_OR_THROW(core::CommError, all_ok == 1,
                 "another rank of this group could not select its CUDA device or make the NCCL "
                 "id, so the NCCL communicator was not built; that rank's error says why");
  FRACSWEEP_MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, group));
  return trainer::NcclComm::create(size, rank, id);
}

}  // namespace

NcclGradientSync::NcclGradientSync(MPI_Comm group, int device, const NcclSyncOptions& options)
    : mpi_(group, MpiSyncOptions{options.bucket_bytes}),
      device_(device),
      bucket_floats_(options.bucket_bytes / sizeof(float)),
      comm_(make_comm(group, device)),
      first_bucket_floats_(std::max<size_t>(1, options.first_bucket_bytes / sizeof(float))),
      overlap_(options.overlap) {}

template <class F>
void NcclGradientSync::or_abort(F&& step) {
  try {
    step();
  } catch (...) {
    comm_.abort();
    aborted_ = true;
    throw;
  }
}

void NcclGradientSync::check_tensors(const std::vector<torch::Tensor>& grads) const {
  for (size_t i = 0; i < grads.size(); ++i) {
    const torch::Tensor& t = grads[i];
    const auto where = [&] {
      return core::str_cat("NcclGradientSync::average (device ", device_, "): gradient ", i,
                           " of ", grads.size());
    };
    CHECK_OR_THROW(core::InternalError, t.defined(), where(),
                   " is undefined; pass a zero tensor for a parameter that received no "
                   "gradient, so that every rank sends the same layout");
    CHECK_OR_THROW(core::InternalError, !t.is_cuda() || t.device().index() == device_, where(),
                   " (shape ", t.sizes(), ") is on ", t.device(), ", not on this rank's device ",
                   device_, ": build the model on the device given to NcclGradientSync");
    CHECK_OR_THROW(core::InternalError, t.is_cuda() || t.device().is_cpu(), where(),
                   " is on ", t.device(), "; this backend takes CPU or CUDA tensors");
    CHECK_OR_THROW(core::InternalError, t.scalar_type() == torch::kFloat, where(), " (shape ",
                   t.sizes(), ") is ", t.scalar_type(),
                   "; this backend averages float32 tensors: keep gradients in float32");
    CHECK_OR_THROW(core::InternalError, t.is_contiguous(), where(), " (shape ", t.sizes(),
                   ") is not contiguous; pass the parameters' own gradients (param.grad()), "
                   "not views of them, so that the average lands where the optimizer reads it");
  }
}

void NcclGradientSync::average(std::vector<torch::Tensor>& grads) {
  const auto start = Clock::now();
  CHECK_OR_THROW(core::CommError, !aborted_,
                 "the NCCL communicator of this group was aborted after an earlier error; "
                 "stop this job (every rank of the group) and restart it");
  check_tensors(grads);
  if (flat_.holds(grads)) {
    or_abort([&] { reduce_attached(); });
  } else {
    size_t total = 0;
    for (const torch::Tensor& t : grads) total += static_cast<size_t>(t.numel());
    last_bucket_count_ = 0;
    // The device is per thread, and average() may run on another thread than the constructor.
    if (total > 0) or_abort([&] {
        FRACSWEEP_CUDA_CHECK(cudaSetDevice(device_));
        reduce_buckets(grads, total);
      });
  }
  average_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
  ++average_calls_;
}

void NcclGradientSync::attach(std::vector<torch::Tensor>& params) {
  flat_ = FlatGradients();  // the previous parameters' buffer and hooks go
  const torch::Device mine(torch::kCUDA, static_cast<torch::DeviceIndex>(device_));
  const auto elsewhere = [&](const torch::Tensor& p) {
    return p.device() != mine || p.scalar_type() != torch::kFloat;
  };
  if (params.empty() || std::any_of(params.begin(), params.end(), elsewhere)) return;
  flat_.attach(params, torch::TensorOptions().dtype(torch::kFloat).device(mine),
               first_bucket_floats_, bucket_floats_, overlap_, [this](size_t bucket) {
                 CHECK_OR_THROW(core::CommError, !aborted_,
                                "the NCCL communicator of this group was aborted after an "
                                "earlier error");
                 or_abort([&] { start_bucket(bucket); });
               });
}

// Queues a bucket's sum on the private stream, behind the work of the calling
// thread's stream (during backward: autograd's thread for this device), which
// wrote its gradients. Buckets are queued by index on every rank (Note
// [Bucket order] in mpi_sync.cpp), as NCCL requires of one communicator.
void NcclGradientSync::start_bucket(size_t bucket) {
  const size_t count = flat_.plan().buckets[bucket].count;
  if (count == 0) return;
  const auto index = static_cast<c10::DeviceIndex>(device_);
  written_.record(c10::cuda::getCurrentCUDAStream(index));
  written_.block(c10::cuda::getStreamFromExternal(stream_.get(), index));
  trainer::all_reduce_sum(comm_, flat_.bucket_data(bucket), count, stream_);
}

void NcclGradientSync::reduce_attached() {
  FRACSWEEP_CUDA_CHECK(cudaSetDevice(device_));
  last_early_buckets_ = flat_.start_rest();
  // LibTorch's stream waits for the sums and then scales them: the optimizer,
  // queued after, reads the mean; the host never waits.
  const auto index = static_cast<c10::DeviceIndex>(device_);
  summed_.record(c10::cuda::getStreamFromExternal(stream_.get(), index));
  summed_.block(c10::cuda::getCurrentCUDAStream(index));
  flat_.buffer().mul_(1.0 / static_cast<double>(mpi_.group_size()));
  last_bucket_count_ = flat_.plan().buckets.size();
  flat_.next_step();
}

void NcclGradientSync::reduce_buckets(std::vector<torch::Tensor>& grads, size_t total) {
  if (!buffer_ || buffer_->size() < total) {
    buffer_.reset();  // free the old allocation before making the larger one
    buffer_.emplace(total);
  }
  float* dev = buffer_->data();
  const cudaStream_t stream = stream_.get();
  // LibTorch wrote CUDA gradients on its own streams, which our non-blocking
  // stream does not wait for.
  if (std::any_of(grads.begin(), grads.end(), [](const torch::Tensor& t) { return t.is_cuda(); }))
    FRACSWEEP_CUDA_CHECK(cudaDeviceSynchronize());

  // Pack run by run; reduce every bucket as soon as its last run is in. All on
  // one stream, so each reduction follows the copies that fill it, and the
  // buckets are issued by index on every rank (see Note [Bucket order] in
  // mpi_sync.cpp; the plan is the MPI sync's, schedule/bucket_plan.h).
  std::vector<size_t> counts;
  for (const torch::Tensor& t : grads) counts.push_back(static_cast<size_t>(t.numel()));
  const schedule::PackedPlan plan = schedule::plan_packed(counts, bucket_floats_);
  size_t pos = 0;
  for (const schedule::PackedSegment& s : plan.segments) {
    const torch::Tensor& t = grads[s.tensor];
    FRACSWEEP_CUDA_CHECK(cudaMemcpyAsync(dev + pos, t.data_ptr<float>() + s.tensor_offset,
                                         s.count * sizeof(float),
                                         t.is_cuda() ? cudaMemcpyDeviceToDevice
                                                     : cudaMemcpyHostToDevice,
                                         stream));
    pos += s.count;
    if (!s.ends_bucket) continue;
    const size_t first = s.bucket * bucket_floats_;
    trainer::all_reduce_sum(comm_, dev + first, pos - first, stream_);
  }
  INTERNAL_ASSERT(pos == total);

  pos = 0;
  for (torch::Tensor& t : grads) {
    const size_t n = static_cast<size_t>(t.numel());
    if (n == 0) continue;
    FRACSWEEP_CUDA_CHECK(cudaMemcpyAsync(t.data_ptr<float>(), dev + pos, n * sizeof(float),
                                         t.is_cuda() ? cudaMemcpyDeviceToDevice
                                                     : cudaMemcpyDeviceToHost,
                                         stream));
    pos += n;
  }
  stream_.synchronize();
  const float scale = 1.0f / static_cast<float>(mpi_.group_size());
  for (torch::Tensor& t : grads) t.mul_(scale);
  last_bucket_count_ = plan.buckets;
}

}  // namespace fracsweep::launcher
