// Device placement without a GPU: every model variant and its loss trained on
// the strict device (strict_device.h), which refuses, as CUDA does, an
// operation that mixes device and CPU tensors. A tensor made on the wrong
// device anywhere in forward, loss, backward, the optimiser, evaluation or
// the checkpoint fails its variant's test here, naming the operation.
#include "trainer/strict_device.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/fs.h"
#include "core/log.h"
#include "metrics/predictions.h"
#include "test_util.h"
#include "spec/job_config.h"
#include "trainer/stop_signals.h"
#include "trainer/train_job.h"

namespace fracsweep::trainer {
namespace {

namespace fs = std::filesystem;
using testing::strict_device;

TEST(StrictDevice, RefusesAnOperationThatMixesDevicesAndNamesIt) {
  const torch::Tensor on_device = torch::ones({3}).to(strict_device());
  EXPECT_EQ(on_device.device(), strict_device());
  // Element-wise operators are refused by PyTorch's own check, the others by the device's.
  EXPECT_THROW((void)(on_device + torch::ones({3})), c10::Error);
  try {
    (void)torch::mm(on_device.view({1, 3}), torch::ones({3, 2}));
    FAIL() << "a CPU matrix was multiplied with a device matrix";
  } catch (const c10::Error& e) {
    EXPECT_HAS(std::string(e.what()), "aten::mm");
    EXPECT_HAS(std::string(e.what()), "mixes tensors on the device with CPU mat2 [3, 2]");
  }
  // CPU scalars are allowed, as on CUDA.
  EXPECT_EQ((on_device * torch::tensor(2.0f)).sum().item<float>(), 6.0f);
  torch::Generator cpu = at::detail::createCPUGenerator(1);
  EXPECT_THROW(torch::rand({2}, cpu, torch::TensorOptions().device(strict_device())), c10::Error);
}

// The device computes with the CPU's kernels on the same memory: a step of a
// small network gives the CPU's numbers exactly, batch norm's running
// statistics (updated in place, outside the operator's schema) included.
TEST(StrictDevice, AStepGivesTheCpusNumbersExactly) {
  auto make = [] {
    torch::manual_seed(4);
    return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3).padding(1)),
                                 torch::nn::BatchNorm2d(4), torch::nn::ReLU(),
                                 torch::nn::AdaptiveAvgPool2d(1), torch::nn::Flatten(),
                                 torch::nn::Linear(4, 3));
  };
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({5, 2, 8, 8});
  const torch::Tensor y = torch::tensor({0, 1, 2, 1, 0});
  auto step = [&](torch::nn::Sequential net, const torch::Device& device) {
    net->to(device);
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(0.01));
    const torch::Tensor loss = torch::cross_entropy_loss(net->forward(x.to(device)), y.to(device));
    loss.backward();
    opt.step();
    std::vector<torch::Tensor> out{loss.to(torch::kCPU)};
    for (const auto& p : net->parameters()) out.push_back(p.to(torch::kCPU));
    for (const auto& b : net->buffers()) out.push_back(b.to(torch::kCPU));
    return out;
  };
  const auto cpu = step(make(), torch::kCPU);
  const auto dev = step(make(), strict_device());
  ASSERT_EQ(cpu.size(), dev.size());
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_TRUE(torch::equal(cpu[i], dev[i])) << "tensor " << i;
}

spec::JobConfig variant_job(const std::string& variant, const fs::path& out) {
  return spec::parse_job_config("preset: tiny\noutput: " + out.string() + "\ndata: {store: " +
                              testing::tiny_store_for(variant) + "}\nmodel: {variant: " + variant +
                              "}\ntrain: {epochs: 1, batch_size: 8}\n",
                          "placement test job");
}

class EveryVariantOnTheStrictDevice : public ::testing::TestWithParam<std::string> {};

// The whole job: set-up, steps, validation, checkpoints, predictions, metrics.
TEST_P(EveryVariantOnTheStrictDevice, TrainsAJobToTheEnd) {
  testing::TempDir dir;
  const fs::path out = dir.path() / "job";
  core::Logger log(core::LogLevel::kWarn);
  ASSERT_EQ(train_job(variant_job(GetParam(), out), log,
                      {.progress = false, .device = strict_device()}),
            0);
  const auto metrics = nlohmann::json::parse(core::read_file((out / "metrics.json").string()));
  EXPECT_TRUE(metrics.contains(spec::VariantRegistry::built_in().at(GetParam()).headline));
}

INSTANTIATE_TEST_SUITE_P(Placement, EveryVariantOnTheStrictDevice,
                         ::testing::ValuesIn([] {
                           std::vector<std::string> names;
                           for (const auto& v : spec::VariantRegistry::built_in().variants())
                             names.push_back(v.name);
                           return names;
                         }()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// The device runs the CPU's kernels, so a job's results must not change when
// only its device does: the same predictions, up to the order of floating-point
// sums (autograd runs the device's backward on a thread of its own, whose
// intra-op thread count was fixed when an earlier test started it).
TEST(Placement, AJobOnTheDevicePredictsAsOnTheCpu) {
  testing::TempDir dir;
  core::Logger log(core::LogLevel::kWarn);
  for (const char* variant : {"tsccn", "ldam-drw"}) {
    const fs::path cpu = dir.path() / variant / "cpu", dev = dir.path() / variant / "strict";
    ASSERT_EQ(train_job(variant_job(variant, cpu), log,
                        {.progress = false, .device = torch::Device(torch::kCPU)}),
              0);
    ASSERT_EQ(train_job(variant_job(variant, dev), log, {.progress = false, .device = strict_device()}),
              0);
    const auto a = metrics::read_predictions((cpu / "predictions_test.csv").string());
    const auto b = metrics::read_predictions((dev / "predictions_test.csv").string());
    ASSERT_EQ(a.ids, b.ids) << variant;
    ASSERT_EQ(a.label, b.label) << variant;
    ASSERT_EQ(a.scores.size(), b.scores.size()) << variant;
    double worst = 0;
    for (size_t i = 0; i < a.scores.size(); ++i)
      worst = std::max(worst, std::abs(a.scores[i] - b.scores[i]));
    EXPECT_LT(worst, 1e-4) << variant;
  }
}

TEST(Placement, ACheckpointWrittenOnTheDeviceResumesOnTheCpu) {
  testing::TempDir dir;
  const fs::path out = dir.path() / "job";
  core::Logger log(core::LogLevel::kWarn);
  const spec::JobConfig job = variant_job("tsccn", out);
  ASSERT_EQ(train_job(job, log, {.progress = false, .device = strict_device(), .stop_after_steps = 1}),
            kExitInterrupted);
  ASSERT_TRUE(fs::exists(out / "checkpoint_last.pt"));
  ASSERT_EQ(train_job(job, log, {.progress = false, .device = torch::Device(torch::kCPU)}), 0);
  EXPECT_TRUE(fs::exists(out / "metrics.json"));
}

}  // namespace
}  // namespace fracsweep::trainer
