// Where ranks train and how groups reduce: the GPU of a node-local rank, the
// gradient sync chosen for a group's device, and NCCL's one-rank-per-GPU rule.
#include "launcher/placement.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_util.h"

namespace fracsweep::launcher {
namespace {

TEST(RankDevice, NodeLocalRankModuloTheVisibleGpus) {
  EXPECT_EQ(rank_device(0, 4, 1, false), 0);
  EXPECT_EQ(rank_device(3, 4, 1, false), 0);  // four ranks share one GPU
  EXPECT_EQ(rank_device(5, 8, 4, false), 1);
  EXPECT_EQ(rank_device(2, 3, 0, false), 0);  // no GPU: the value is unused
  EXPECT_EQ(rank_device(3, 4, 4, true), 3);
}

TEST(RankDevice, ExclusiveGpusRefuseMoreRanksThanGpus) {
  try {
    rank_device(0, 4, 2, true);
    FAIL() << "no error";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "runs 4 ranks");
    EXPECT_HAS(std::string(e.what()), "2 GPU(s)");
  }
}

TEST(ChooseSync, NcclOnCudaMpiOnTheCpuNothingForOneRank) {
  EXPECT_EQ(choose_sync(1, c10::DeviceType::CUDA, true), SyncBackend::kLocal);
  EXPECT_EQ(choose_sync(1, c10::DeviceType::CPU, false), SyncBackend::kLocal);
  EXPECT_EQ(choose_sync(2, c10::DeviceType::CPU, true), SyncBackend::kMpi);
  EXPECT_EQ(choose_sync(2, c10::DeviceType::CUDA, true), SyncBackend::kNccl);
  EXPECT_EQ(choose_sync(8, c10::DeviceType::CUDA, true), SyncBackend::kNccl);
  EXPECT_STREQ(sync_name(SyncBackend::kNccl), "NCCL");
}

TEST(ChooseSync, CudaGroupsWithoutNcclAreRefused) {
  try {
    choose_sync(2, c10::DeviceType::CUDA, false);
    FAIL() << "no error";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "without the NCCL backend");
  }
}

TEST(CheckDistinctGpus, TwoRanksOfAGroupOnOneGpuAreRefused) {
  EXPECT_NO_THROW(check_distinct_gpus({{0, "n1", 0}, {1, "n1", 1}, {2, "n2", 0}}));
  try {
    check_distinct_gpus({{0, "n1", 0}, {1, "n2", 0}, {5, "n1", 0}});
    FAIL() << "no error";
  } catch (const core::ConfigError& e) {
    const std::string text = e.what();
    EXPECT_HAS(text, "ranks 0 and 5");
    EXPECT_HAS(text, "share GPU 0 on host n1");
  }
}

}  // namespace
}  // namespace fracsweep::launcher
