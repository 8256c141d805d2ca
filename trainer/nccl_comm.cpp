// See nccl_comm.h.
#include "trainer/nccl_comm.h"

namespace fracsweep::trainer {

ncclUniqueId NcclComm::new_unique_id() {
  ncclUniqueId id;
  FRACSWEEP_NCCL_CHECK(ncclGetUniqueId(&id));
  return id;
}

NcclComm NcclComm::create(int world, int rank, const ncclUniqueId& id) {
  CHECK_OR_THROW(core::CommError, world > 0 && rank >= 0 && rank < world,
                 "NCCL communicator: rank ", rank, " is outside a world of ", world);
  ncclComm_t comm = nullptr;
  FRACSWEEP_NCCL_CHECK(ncclCommInitRank(&comm, world, id, rank));
  return NcclComm(comm);
}

NcclComm::~NcclComm() {
  if (comm_ != nullptr) ncclCommDestroy(comm_);  // nothing useful to do with an error here
}

void NcclComm::abort() noexcept {
  if (comm_ != nullptr) ncclCommAbort(std::exchange(comm_, nullptr));
}

CudaStream::CudaStream() {
  FRACSWEEP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

CudaStream::~CudaStream() {
  if (stream_ != nullptr) cudaStreamDestroy(stream_);  // a destructor must not throw
}

void CudaStream::synchronize() const { FRACSWEEP_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

DeviceBuffer::DeviceBuffer(size_t count) : count_(count) {
  FRACSWEEP_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&data_), count * sizeof(float)));
}

DeviceBuffer::~DeviceBuffer() {
  if (data_ != nullptr) cudaFree(data_);  // a destructor must not throw
}

void all_reduce_sum(const NcclComm& comm, float* data, size_t count, const CudaStream& stream) {
  FRACSWEEP_NCCL_CHECK(
      ncclAllReduce(data, data, count, ncclFloat, ncclSum, comm.get(), stream.get()));
}

}  // namespace fracsweep::trainer
