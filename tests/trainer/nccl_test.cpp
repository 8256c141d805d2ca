// The NCCL backend: compiled when CUDA and NCCL are found, exercised only
// where a GPU is present, and reported as skipped elsewhere.
#include <gtest/gtest.h>

#include <vector>

#include "trainer/backends.h"

#ifdef FRACSWEEP_HAVE_NCCL
#include "trainer/nccl_comm.h"
#endif

namespace fracsweep::trainer {
namespace {

TEST(Nccl, AllReduceSumsAcrossOneRankPerDevice) {
  if (!nccl_compiled()) GTEST_SKIP() << "needs CUDA: built without the NCCL backend";
  if (cuda_device_count() < 1) GTEST_SKIP() << "needs CUDA: no GPU visible";
#ifdef FRACSWEEP_HAVE_NCCL
  // One process, one device: the sum over a world of 1 is the input itself;
  // the multi-rank version of this check runs under mpirun with the launcher.
  const ncclUniqueId id = NcclComm::new_unique_id();
  NcclComm comm = NcclComm::create(1, 0, id);
  CudaStream stream;
  constexpr size_t kCount = 1 << 20;
  DeviceBuffer buffer(kCount);
  std::vector<float> host(kCount);
  for (size_t i = 0; i < kCount; ++i) host[i] = static_cast<float>(i % 97) + 1.0f;
  FRACSWEEP_CUDA_CHECK(cudaMemcpy(buffer.data(), host.data(), kCount * sizeof(float),
                                  cudaMemcpyHostToDevice));
  all_reduce_sum(comm, buffer.data(), kCount, stream);
  stream.synchronize();
  std::vector<float> back(kCount);
  FRACSWEEP_CUDA_CHECK(cudaMemcpy(back.data(), buffer.data(), kCount * sizeof(float),
                                  cudaMemcpyDeviceToHost));
  EXPECT_EQ(back, host);
#endif
}

TEST(Nccl, SummaryMatchesTheBuild) {
  const std::string s = backend_summary();
  EXPECT_EQ(s.find("compiled (NCCL") != std::string::npos, nccl_compiled()) << s;
}

}  // namespace
}  // namespace fracsweep::trainer
