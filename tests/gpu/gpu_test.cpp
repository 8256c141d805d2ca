// GPU tests (`ctest -L gpu`): what only a CUDA device can show. Each test is
// skipped, saying why, where no GPU is visible or the NCCL backend was not
// built; scripts/gpu-check.sh runs them on a GPU machine.
//   - a training job per variant on CUDA, in fp32 and in bf16 (channels-last);
//   - a job interrupted on the GPU resumes from its checkpoint on the CPU;
//   - a tiny sweep under mpirun -np 4, four jobs side by side on one GPU.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/fs.h"
#include "core/log.h"
#include "test_util.h"
#include "trainer/backends.h"
#include "trainer/job_config.h"
#include "trainer/stop_signals.h"
#include "trainer/train_job.h"

namespace fracsweep::trainer {
namespace {

namespace fs = std::filesystem;

#define SKIP_WITHOUT_GPU()                                                           \
  do {                                                                               \
    if (!nccl_compiled()) GTEST_SKIP() << "needs CUDA: built without the CUDA/NCCL backend"; \
    if (cuda_device_count() < 1) GTEST_SKIP() << "needs CUDA: no GPU visible";         \
  } while (0)


JobConfig gpu_job(const std::string& variant, const fs::path& out, const std::string& train) {
  return parse_job_config("preset: tiny\noutput: " + out.string() + "\ndata: {store: " +
                              testing::tiny_vcf_store() + "}\nmodel: {variant: " + variant +
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
  const JobConfig job = gpu_job(GetParam().variant, out, GetParam().train);
  ASSERT_EQ(train_job(job, log, {.progress = false}), 0);
  const auto metrics = nlohmann::json::parse(core::read_file((out / "metrics.json").string()));
  EXPECT_TRUE(metrics.contains("aAUC"));
}

std::vector<VariantPrecision> variants_and_precisions() {
  std::vector<VariantPrecision> out;
  for (const char* v : {"single-stream", "single-stream+triplet", "two-stream",
                        "two-stream+triplet", "two-stream+triplet+compare", "tsccn", "resnet18",
                        "rs", "cb-rw", "smote", "ldam", "ldam-drw", "pc-net", "nts-net",
                        "sdl-net"}) {
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
  const JobConfig on_gpu = gpu_job("tsccn", out, "device: cuda");
  ASSERT_EQ(train_job(on_gpu, log, {.progress = false, .stop_after_steps = 1}), kExitInterrupted);
  ASSERT_TRUE(fs::exists(out / "checkpoint_last.pt"));
  const JobConfig on_cpu = gpu_job("tsccn", out, "device: cpu");
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

}  // namespace
}  // namespace fracsweep::trainer
