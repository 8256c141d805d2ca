// GPU tests (`ctest -L gpu`): what only a CUDA device can show. Each test is
// skipped, saying why, where no GPU is visible or the NCCL backend was not
// built; scripts/gpu-check.sh runs them on a GPU machine.
//   - a training job per variant of TSCCN's tables and AASN's on CUDA, in fp32
//     and in bf16 (channels-last);
//   - a job interrupted on the GPU resumes from its checkpoint on the CPU;
//   - a tiny sweep under mpirun -np 4, four jobs side by side on one GPU;
//   - the NCCL sync of a group of one, attached: buckets queued during
//     backward, the gradients unchanged (the mean over one rank).
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include <torch/torch.h>

#include "core/fs.h"
#include "core/log.h"
#include "test_util.h"
#include "trainer/backends.h"
#include "spec/job_config.h"
#include "trainer/stop_signals.h"
#include "trainer/train_job.h"

#ifdef FRACSWEEP_HAVE_NCCL
#include "launcher/mpi.h"
#include "launcher/nccl_sync.h"
#endif

namespace fracsweep::trainer {
namespace {

namespace fs = std::filesystem;

#define SKIP_WITHOUT_GPU()                                                           \
  do {                                                                               \
    if (!nccl_compiled()) GTEST_SKIP() << "needs CUDA: built without the CUDA/NCCL backend"; \
    if (cuda_device_count() < 1) GTEST_SKIP() << "needs CUDA: no GPU visible";         \
  } while (0)


spec::JobConfig gpu_job(const std::string& variant, const fs::path& out, const std::string& train) {
  return spec::parse_job_config("preset: tiny\noutput: " + out.string() + "\ndata: {store: " +
                              testing::tiny_store_for(variant) + "}\nmodel: {variant: " + variant +
                              "}\ntrain: {epochs: 1, " + train + "}\n",
                          "gpu test job");
}

struct VariantPrecision {
  const char* variant;
  const char* train;  // extra train settings
};

class EveryVariantOnGpu : public ::testing::TestWithParam<VariantPrecision> {};

TEST_P(EveryVariantOnGpu, TrainsAJobToTheEnd) {
  SKIP_WITHOUT_GPU();
  testing::TempDir dir;
  const fs::path out = dir.path() / "job";
  core::Logger log(core::LogLevel::kWarn);
  const spec::JobConfig job = gpu_job(GetParam().variant, out, GetParam().train);
  ASSERT_EQ(train_job(job, log, {.progress = false}), 0);
  const auto metrics = nlohmann::json::parse(core::read_file((out / "metrics.json").string()));
  EXPECT_TRUE(
      metrics.contains(spec::VariantRegistry::built_in().at(GetParam().variant).headline));
}

std::vector<VariantPrecision> variants_and_precisions() {
  std::vector<VariantPrecision> out;
  for (const char* v : {"single-stream", "single-stream+triplet", "two-stream",
                        "two-stream+triplet", "two-stream+triplet+compare", "tsccn", "resnet18",
                        "rs", "cb-rw", "smote", "ldam", "ldam-drw", "pc-net", "nts-net",
                        "sdl-net", "aasn-vanilla", "aasn-ff", "aasn-ff-fa", "aasn-ff-cl",
                        "aasn-ff-fa-cl-noproj", "aasn"}) {
    out.push_back({v, "device: cuda"});
    out.push_back({v, "device: cuda, precision: bf16, channels_last: true"});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Gpu, EveryVariantOnGpu, ::testing::ValuesIn(variants_and_precisions()),
                         [](const auto& info) {
                           std::string n = std::string(info.param.variant) +
                                           (std::string(info.param.train).find("bf16") !=
                                                    std::string::npos
                                                ? "_bf16"
                                                : "_fp32");
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(Gpu, CheckpointWrittenOnTheGpuResumesOnTheCpu) {
  SKIP_WITHOUT_GPU();
  testing::TempDir dir;
  const fs::path out = dir.path() / "job";
  core::Logger log(core::LogLevel::kWarn);
  const spec::JobConfig on_gpu = gpu_job("tsccn", out, "device: cuda");
  ASSERT_EQ(train_job(on_gpu, log, {.progress = false, .stop_after_steps = 1}), kExitInterrupted);
  ASSERT_TRUE(fs::exists(out / "checkpoint_last.pt"));
  const spec::JobConfig on_cpu = gpu_job("tsccn", out, "device: cpu");
  ASSERT_EQ(train_job(on_cpu, log, {.progress = false}), 0);
  EXPECT_TRUE(fs::exists(out / "metrics.json"));
}

TEST(Gpu, FourRanksShareOneGpuInATinySweep) {
  SKIP_WITHOUT_GPU();
  testing::TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write(
      "sweep.yaml",
      "name: gpu-mini\noutput: " + out.string() +
          "\npreset: tiny\ndataset: {phantom: {patients: 12, patch_size: 32, seed: 1}}\n"
          "protocol: {split: random, repeats: [0, 1]}\nseeds: [1]\nvariants:\n"
          "  tsccn: {model: {variant: tsccn}}\n  resnet: {model: {variant: resnet18}}\n"
          "train: {epochs: 1, device: cuda, threads: 1, loader_workers: 1}\n");
  const testing::CommandResult r = testing::run_fracsweep_mpi(4, {"run", sweep});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_HAS(r.err + r.out, "training on cuda:0");
  for (const char* job : {"tsccn/repeat0/seed1", "tsccn/repeat1/seed1", "resnet/repeat0/seed1",
                          "resnet/repeat1/seed1"})
    EXPECT_TRUE(fs::exists(out / job / "metrics.json")) << job;
}

#ifdef FRACSWEEP_HAVE_NCCL
TEST(Gpu, NcclSyncOfAGroupOfOneOverlapsBackwardAndKeepsTheGradients) {
  SKIP_WITHOUT_GPU();
  launcher::MpiSession mpi;  // a singleton world: this process alone
  launcher::MpiComm self = launcher::MpiComm::dup(MPI_COMM_SELF);
  const torch::Device gpu(torch::kCUDA, 0);
  const auto make = [&] {
    torch::manual_seed(7);
    torch::nn::Sequential net(torch::nn::Linear(64, 256), torch::nn::ReLU(),
                              torch::nn::Linear(256, 256), torch::nn::ReLU(),
                              torch::nn::Linear(256, 3));
    net->to(gpu);
    return net;
  };
  torch::nn::Sequential net = make(), twin = make();
  std::vector<torch::Tensor> params = net->parameters();
  launcher::NcclSyncOptions o;
  o.bucket_bytes = 4;  // a bucket per gradient
  o.first_bucket_bytes = 4;
  launcher::NcclGradientSync sync(self.get(), 0, o);
  sync.attach(params);
  for (int step = 0; step < 2; ++step) {
    for (auto& p : params) p.mutable_grad().zero_();
    twin->zero_grad();
    const torch::Tensor x = torch::randn({32, 64}, gpu);
    net->forward(x).pow(2).sum().backward();
    twin->forward(x).pow(2).sum().backward();
    std::vector<torch::Tensor> grads;
    for (auto& p : params) grads.push_back(p.grad());
    sync.average(grads);
    const std::vector<torch::Tensor> expected = twin->parameters();
    for (size_t i = 0; i < grads.size(); ++i)
      EXPECT_TRUE(torch::allclose(grads[i].cpu(), expected[i].grad().cpu(), 1e-5, 1e-6))
          << "gradient " << i;
    EXPECT_EQ(sync.last_bucket_count(), params.size());
    EXPECT_GT(sync.last_early_buckets(), 0u);
  }
}
#endif

}  // namespace
}  // namespace fracsweep::trainer
