// The LibTorch version differences: which optimizer states resume correctly
// across versions, and gradients zeroed in place whatever the version.
#include "trainer/torch_compat.h"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "core/error.h"
#include "test_util.h"

namespace fracsweep::trainer {
namespace {

TEST(TorchCompat, VersionNumberAndName) {
  EXPECT_EQ(kTorchVersion / 100, TORCH_VERSION_MAJOR);
  EXPECT_EQ(kTorchVersion % 100, TORCH_VERSION_MINOR);
  EXPECT_EQ(torch_version_name(113), "1.13");
  EXPECT_EQ(torch_version_name(211), "2.11");
  EXPECT_EQ(torch_version_name(202), "2.2");
}

TEST(TorchCompat, AdamStateWrittenBefore22CannotBeReadFrom22On) {
  EXPECT_TRUE(optimizer_state_portable(113, 113));
  EXPECT_TRUE(optimizer_state_portable(113, 201));
  EXPECT_FALSE(optimizer_state_portable(113, 202));
  EXPECT_FALSE(optimizer_state_portable(113, 211));
  EXPECT_FALSE(optimizer_state_portable(201, 202));
  EXPECT_TRUE(optimizer_state_portable(202, 211));
  EXPECT_TRUE(optimizer_state_portable(211, 211));
  // An earlier version keeps the later one's keys as opaque text.
  EXPECT_TRUE(optimizer_state_portable(211, 113));
}

TEST(TorchCompat, RefusalNamesTheCheckpointAndBothVersions) {
  EXPECT_NO_THROW(check_optimizer_state_portable("job/checkpoint_last.pt", 113, 113));
  try {
    check_optimizer_state_portable("job/checkpoint_last.pt", 113, 211);
    FAIL() << "a 1.13 optimizer state was accepted by 2.11";
  } catch (const core::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_HAS(what, "job/checkpoint_last.pt");
    EXPECT_HAS(what, "LibTorch 1.13");
    EXPECT_HAS(what, "LibTorch 2.11");
    EXPECT_HAS(what, "delete the checkpoint");
  }
}

TEST(TorchCompat, ZeroGradientsZeroesInPlaceAndLeavesMissingOnesMissing) {
  torch::Tensor a = torch::ones({3}, torch::requires_grad());
  torch::Tensor b = torch::ones({2}, torch::requires_grad());
  (a * 2).sum().backward();
  ASSERT_TRUE(a.grad().defined());
  ASSERT_FALSE(b.grad().defined());
  const void* storage = a.grad().data_ptr();
  std::vector<torch::Tensor> params{a, b};
  zero_gradients(params);
  ASSERT_TRUE(a.grad().defined());
  EXPECT_EQ(a.grad().data_ptr(), storage);
  EXPECT_TRUE(torch::equal(a.grad(), torch::zeros({3})));
  EXPECT_FALSE(b.grad().defined());
  // Gradients accumulate into the zeroed tensor on the next backward.
  (a * 3).sum().backward();
  EXPECT_TRUE(torch::equal(a.grad(), torch::full({3}, 3.0)));
}

}  // namespace
}  // namespace fracsweep::trainer
