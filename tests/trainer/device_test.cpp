// Devices: resolving train.device, the job settings for device and precision,
// and a bf16 channels-last step on the CPU.
// Where each tensor lands is tested on the strict device (strict_device_test.cpp).
#include "trainer/device.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cctype>
#include <string>

#include "core/error.h"
#include "trainer/batch_tensors.h"
#include "spec/job_config.h"
#include "trainer/job_model.h"
#include "test_util.h"

namespace fracsweep::trainer {
namespace {

constexpr int64_t kBatch = 4;

spec::JobConfig tiny_job(const std::string& variant) {
  return spec::parse_job_config("preset: tiny\noutput: unused\ndata: {store: unused.h5}\n"
                          "model: {variant: " + variant + "}\n",
                          "placement test");
}

TEST(ResolveDevice, AutoTakesTheRanksGpuWhenThereIsOne) {
  EXPECT_EQ(resolve_device("auto", 0, 0, "job"), torch::Device(torch::kCPU));
  EXPECT_EQ(resolve_device("auto", 4, 3, "job"), torch::Device(torch::kCUDA, 3));
  EXPECT_EQ(resolve_device("cuda", 2, 1, "job"), torch::Device(torch::kCUDA, 1));
  EXPECT_EQ(resolve_device("cpu", 8, 1, "job"), torch::Device(torch::kCPU));
}

TEST(ResolveDevice, CudaWithoutAGpuIsRefusedNamingTheJob) {
  try {
    resolve_device("cuda", 0, 0, "runs/x/job3");
    FAIL() << "no error";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "runs/x/job3");
    EXPECT_HAS(std::string(e.what()), "no CUDA device is visible");
  }
  EXPECT_THROW(resolve_device("gpu", 1, 0, "job"), core::ConfigError);
  EXPECT_THROW(resolve_device("auto", 2, 2, "job"), core::InternalError);
}

TEST(JobConfigDevice, SettingsAreValidatedAndPrecisionIsWrittenOnlyWhenSet) {
  const spec::JobConfig plain = tiny_job("tsccn");
  EXPECT_EQ(plain.train.device, "auto");
  EXPECT_EQ(to_yaml(plain).find("device"), std::string::npos);  // old job ids stay
  const spec::JobConfig gpu = spec::parse_job_config(
      "preset: tiny\noutput: o\ndata: {store: s.h5}\n"
      "train: {device: cuda, precision: bf16, channels_last: true}\n", "t");
  EXPECT_EQ(gpu.train.device, "cuda");
  EXPECT_TRUE(uses_bf16(gpu.train.precision));
  EXPECT_HAS(to_yaml(gpu), "precision: bf16");
  EXPECT_EQ(to_yaml(gpu).find("device"), std::string::npos);  // where, not what
  EXPECT_THROW(spec::parse_job_config("output: o\ndata: {store: s.h5}\ntrain: {precision: fp16}\n", "t"),
               core::ConfigError);
  EXPECT_THROW(spec::parse_job_config("output: o\ndata: {store: s.h5}\ntrain: {device: tpu}\n", "t"),
               core::ConfigError);
}

// A step under channels-last weights and bf16 autocast on the CPU, where
// autocast's casts are real.
TEST(Precision, Bf16AutocastTrainsAStepOnTheCpuWithFp32Gradients) {
  spec::JobConfig job = tiny_job("tsccn");
  torch::manual_seed(1);
  std::unique_ptr<JobModel> model = make_job_model(job, {20, 7, 5});
  to_channels_last(model->module());
  BatchTensors b;
  b.images = torch::randn({kBatch, 3, 32, 32});
  b.labels = torch::tensor({0, 1, 2, 0});
  b.samples = torch::arange(kBatch);
  b.has_prev = torch::tensor({true, true, false, true});
  b.has_next = torch::tensor({true, false, true, true});
  b.prev_labels = torch::tensor({0, 1, -1, 0});
  b.next_labels = torch::tensor({0, -1, 2, 0});
  b = to_device(std::move(b), torch::Device(torch::kCPU), /*channels_last=*/true);
  EXPECT_TRUE(b.images.is_contiguous(torch::MemoryFormat::ChannelsLast));
  LossTerms terms;
  {
    AutocastScope autocast(torch::kCPU, true);
    EXPECT_TRUE(at::autocast::is_autocast_enabled(torch::kCPU));
    terms = model->loss(b, 0);
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(torch::kCPU));
  EXPECT_TRUE(std::isfinite(terms.total.item<double>()));
  terms.total.backward();
  for (const auto& p : model->module().parameters()) {
    if (p.grad().defined()) {
      EXPECT_EQ(p.grad().scalar_type(), torch::kFloat);
    }
  }
}

}  // namespace
}  // namespace fracsweep::trainer
