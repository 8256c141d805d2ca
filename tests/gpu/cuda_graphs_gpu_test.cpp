// CUDA graphs on a GPU (trainer/cuda_graphs.h): AASN trained with its steps captured and
// replayed gives the parameters eager training gives (fp32, 1e-5), the epoch's smaller last
// batch included; and at the fidelity sweep's size (128x256, width 4, batch 8), where a step
// is bound by launching kernels, a replayed step is at least 3x faster than an eager one.
// Skipped, saying why, where no GPU is visible.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <sstream>

#include <ATen/Context.h>
#include <torch/torch.h>

#include "core/log.h"
#include "spec/job_config.h"
#include "trainer/cuda_graphs.h"
#include "trainer/job_model.h"
#include "trainer/torch_compat.h"

namespace fracsweep::trainer {
namespace {

#define SKIP_WITHOUT_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "needs CUDA: no GPU visible"

spec::JobConfig aasn_job(const std::string& variant) {
  return spec::parse_job_config("output: o\ndata: {store: s.h5}\npreset: tiny\nmodel: {variant: " +
                                    variant + ", width: 4}\ntrain: {device: cuda, cuda_graphs: on}\n",
                                "cuda_graphs_gpu_test");
}

BatchTensors pelvis_batch(int64_t n, int64_t h, int64_t w, int seed) {
  torch::manual_seed(seed);
  const torch::Device cuda(torch::kCUDA);
  BatchTensors b;
  b.images = (torch::rand({n, 2, h, w}) * 2 - 1).to(cuda);
  b.grids = ((torch::rand({n, h / 8, w / 8, 2}) * 2 - 1) * 0.95).to(cuda);
  b.masks = (torch::rand({n, 1, h, w}) > 0.95).to(torch::kFloat32).to(cuda);
  b.masks_hat = b.masks.clone();
  b.labels = torch::randint(0, 2, {n}, torch::kLong).to(cuda);
  b.samples = torch::arange(n, torch::kLong).to(cuda);
  return b;
}

std::unique_ptr<JobModel> model_of(const spec::JobConfig& job) {
  torch::manual_seed(3);
  auto m = make_job_model(job, {50, 50, 0});
  m->to(torch::Device(torch::kCUDA));
  m->module().train();
  return m;
}

TEST(CudaGraphsGpu, AasnTrainsTheSameWithGraphsOnAndOff) {
  SKIP_WITHOUT_CUDA();
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);
  for (const char* variant : {"aasn", "aasn-vanilla"}) {
    const spec::JobConfig job = aasn_job(variant);
    auto eager = model_of(job), graphed = model_of(job);
    auto pe = eager->module().parameters(), pg = graphed->module().parameters();
    torch::optim::Adam adam_e(pe, torch::optim::AdamOptions(1e-3));
    torch::optim::Adam adam_g(pg, torch::optim::AdamOptions(1e-3));
    std::ostringstream sink;
    core::Logger log(core::LogLevel::kInfo, sink);
    GraphedStep step(*graphed, adam_g, pg, /*update_in_graph=*/true, /*allow_fallback=*/false,
                     log, variant);
    const std::vector<int64_t> sizes = {4, 4, 4, 4, 4, 4, 3};  // a smaller last batch
    for (size_t k = 0; k < sizes.size(); ++k) {
      const BatchTensors b = pelvis_batch(sizes[k], 64, 128, static_cast<int>(k));
      zero_gradients(pe);
      const LossTerms te = eager->loss(b, 0);
      te.total.backward();
      adam_e.step();
      const LossTerms tg = step.forward_backward(b, 0);
      step.update();
      EXPECT_NEAR(te.total.item<double>(), tg.total.item<double>(), 1e-5)
          << variant << " step " << k;
    }
    EXPECT_EQ(step.replays(), 4) << variant << ": 2 warm-up steps, 4 replays, 1 eager";
    double worst = 0;
    for (size_t k = 0; k < pe.size(); ++k)
      worst = std::max(worst, (pe[k] - pg[k]).abs().max().item<double>());
    const auto be = eager->module().buffers(), bg = graphed->module().buffers();
    for (size_t k = 0; k < be.size(); ++k)
      if (be[k].is_floating_point())
        worst = std::max(worst, (be[k] - bg[k]).abs().max().item<double>());
    EXPECT_LT(worst, 1e-5) << variant << ": parameters and buffers differ by " << worst;
  }
}

double seconds_per_step(const std::function<void()>& step, int steps) {
  torch::cuda::synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < steps; ++k) step();
  torch::cuda::synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
}

TEST(CudaGraphsGpu, AasnAtFidelitySizeIsAtLeastThreeTimesFasterWithGraphs) {
  SKIP_WITHOUT_CUDA();
  const spec::JobConfig job = aasn_job("aasn");
  const BatchTensors b = pelvis_batch(8, 128, 256, 1);
  auto eager = model_of(job), graphed = model_of(job);
  auto pe = eager->module().parameters();
  torch::optim::Adam adam_e(pe, torch::optim::AdamOptions(1e-5));
  torch::optim::Adam adam_g(graphed->module().parameters(), torch::optim::AdamOptions(1e-5));
  CapturableAdam fused_e(adam_e, pe);  // the same update both ways: the graph is the difference
  std::ostringstream sink;
  core::Logger log(core::LogLevel::kInfo, sink);
  GraphedStep step(*graphed, adam_g, graphed->module().parameters(), true, false, log, "aasn");
  const auto eager_step = [&] {
    zero_gradients(pe);
    eager->loss(b, 0).total.backward();
    fused_e.step();
  };
  const auto graphed_step = [&] {
    step.forward_backward(b, 0);
    step.update();
  };
  seconds_per_step(eager_step, 5);
  seconds_per_step(graphed_step, 5);  // warm-up and capture
  const double e = seconds_per_step(eager_step, 40), g = seconds_per_step(graphed_step, 40);
  std::printf("AASN 128x256 batch 8 width 4: eager %.2f ms/step, graphed %.2f ms/step: %.2fx\n",
              e * 1e3, g * 1e3, e / g);
  EXPECT_GE(e / g, 3.0) << "eager " << e << " s/step, graphed " << g << " s/step";
}

}  // namespace
}  // namespace fracsweep::trainer
