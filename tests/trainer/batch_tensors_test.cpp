#include "trainer/batch_tensors.h"

#include <gtest/gtest.h>

namespace fracsweep::trainer {
namespace {

TEST(BatchTensors, AdoptsTheBuffersWithoutCopying) {
  datastore::Batch b;
  b.size = 2;
  b.views = 3;
  b.height = 4;
  b.width = 5;
  b.pixels.resize(2 * 3 * 4 * 5);
  for (size_t i = 0; i < b.pixels.size(); ++i) b.pixels[i] = 0.5f * static_cast<float>(i);
  b.labels = {2, 0};
  b.samples = {17, 3};
  b.has_prev = {0, 1};
  b.has_next = {1, 1};
  b.prev_labels = {-1, 2};
  b.next_labels = {0, 1};
  const float* data = b.pixels.data();
  const BatchTensors t = to_tensors(std::move(b));
  EXPECT_EQ(t.images.sizes(), (std::vector<int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(t.images.dtype(), torch::kFloat32);
  EXPECT_EQ(t.images.data_ptr<float>(), data);
  EXPECT_FLOAT_EQ(t.images[1][2][3][4].item<float>(), 0.5f * (60 + 40 + 15 + 4));
  EXPECT_EQ(t.labels.dtype(), torch::kInt64);
  EXPECT_EQ(t.labels[0].item<int64_t>(), 2);
  EXPECT_EQ(t.samples[0].item<int64_t>(), 17);
  EXPECT_FALSE(t.has_prev[0].item<bool>());
  EXPECT_TRUE(t.has_prev[1].item<bool>());
  EXPECT_EQ(t.prev_labels[1].item<int64_t>(), 2);
  EXPECT_EQ(t.next_labels[0].item<int64_t>(), 0);
  // The tensor outlives the batch it came from.
  const torch::Tensor kept = t.images.clone();
  EXPECT_TRUE(torch::equal(kept, t.images));
}

}  // namespace
}  // namespace fracsweep::trainer
