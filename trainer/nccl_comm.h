// RAII owners of the NCCL and CUDA handles behind the GPU all-reduce.
//
// Compiled only when the build found CUDA and NCCL (FRACSWEEP_HAVE_NCCL).
// Every handle is move-only; destructors never throw. On error paths call
// NcclComm::abort() so peers blocked in a collective are released instead of
// hanging. Every CUDA/NCCL call is checked where it is made, and a failure
// throws core::CommError carrying the call, file:line and the library's text.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstddef>
#include <utility>

#include "core/error.h"

#define FRACSWEEP_CUDA_CHECK(call)                                                    \
  do {                                                                                \
    const cudaError_t fracsweep_err_ = (call);                                        \
    if (fracsweep_err_ != cudaSuccess)                                                \
      throw ::fracsweep::core::CommError(::fracsweep::core::str_cat(                  \
          #call, " failed at ", __FILE__, ":", __LINE__, ": ",                        \
          cudaGetErrorString(fracsweep_err_)));                                       \
  } while (0)

#define FRACSWEEP_NCCL_CHECK(call)                                                    \
  do {                                                                                \
    const ncclResult_t fracsweep_res_ = (call);                                       \
    if (fracsweep_res_ != ncclSuccess)                                                \
      throw ::fracsweep::core::CommError(::fracsweep::core::str_cat(                  \
          #call, " failed at ", __FILE__, ":", __LINE__, ": ",                        \
          ncclGetErrorString(fracsweep_res_)));                                       \
  } while (0)

namespace fracsweep::trainer {

// Owns one NCCL communicator.
class NcclComm {
 public:
  // Collective over `world` ranks: every rank calls it with the same id.
  static NcclComm create(int world, int rank, const ncclUniqueId& id);
  static ncclUniqueId new_unique_id();

  NcclComm(NcclComm&& o) noexcept : comm_(std::exchange(o.comm_, nullptr)) {}
  NcclComm& operator=(NcclComm&&) = delete;
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;
  ~NcclComm();

  // Releases peers blocked in collectives; the communicator is unusable after.
  void abort() noexcept;
  ncclComm_t get() const { return comm_; }

 private:
  explicit NcclComm(ncclComm_t c) : comm_(c) {}
  ncclComm_t comm_ = nullptr;
};

// Owns one CUDA stream (non-blocking with respect to the default stream).
class CudaStream {
 public:
  CudaStream();
  CudaStream(CudaStream&& o) noexcept : stream_(std::exchange(o.stream_, nullptr)) {}
  CudaStream& operator=(CudaStream&&) = delete;
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  ~CudaStream();

  void synchronize() const;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

// Owns a device allocation of `count` floats.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count);
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();

  float* data() const { return data_; }
  size_t size() const { return count_; }

 private:
  float* data_ = nullptr;
  size_t count_ = 0;
};

// Sums `count` floats in place across the communicator, on `stream`.
void all_reduce_sum(const NcclComm& comm, float* data, size_t count, const CudaStream& stream);

}  // namespace fracsweep::trainer
