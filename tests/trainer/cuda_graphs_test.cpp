// trainer/cuda_graphs.h on the CPU: which jobs capture (auto, on, off per device, precision
// and model) and the refusals, the static batch buffers (copy-in, the smaller last batch),
// the capturable Adam against torch::optim::Adam, and the eager paths of GraphedStep (the
// warm-up, the last batch, a capture that fails). The captured steps themselves need a GPU:
// tests/gpu/cuda_graphs_gpu_test.cpp.
#include "trainer/cuda_graphs.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "spec/job_config.h"
#include "trainer/job_model.h"

namespace fracsweep::trainer {
namespace {

const torch::Device kCpu(torch::kCPU);
const torch::Device kGpu(torch::kCUDA, 0);  // a value only: nothing here touches a GPU

std::string refusal(const std::string& setting, const torch::Device& device,
                    const std::string& precision, const std::string& variant) {
  try {
    decide_cuda_graphs(setting, device, precision, variant, "job.yaml");
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(CudaGraphsDecision, OffNeverCaptures) {
  for (const auto& device : {kCpu, kGpu}) {
    const GraphDecision d = decide_cuda_graphs("off", device, "fp32", "aasn", "job.yaml");
    EXPECT_FALSE(d.capture);
    EXPECT_NE(d.why.find("off"), std::string::npos) << d.why;
  }
}

TEST(CudaGraphsDecision, AutoCapturesALaunchBoundModelOnAGpuOnly) {
  const GraphDecision gpu = decide_cuda_graphs("auto", kGpu, "fp32", "aasn", "job.yaml");
  EXPECT_TRUE(gpu.capture) << gpu.why;
  const GraphDecision cpu = decide_cuda_graphs("auto", kCpu, "fp32", "aasn", "job.yaml");
  EXPECT_FALSE(cpu.capture);
  EXPECT_NE(cpu.why.find("cpu"), std::string::npos) << cpu.why;
}

TEST(CudaGraphsDecision, AutoSaysWhyAModelWithHostSyncsIsNotCaptured) {
  for (const char* v : {"tsccn", "single-stream", "nts-net", "ldam-drw", "curve"}) {
    const GraphDecision d = decide_cuda_graphs("auto", kGpu, "fp32", v, "job.yaml");
    EXPECT_FALSE(d.capture) << v;
    EXPECT_NE(d.why.find(v), std::string::npos) << d.why;
    ASSERT_TRUE(capture_blocker(v).has_value()) << v;
    EXPECT_NE(d.why.find(*capture_blocker(v)), std::string::npos) << d.why;
  }
  EXPECT_NE(capture_blocker("tsccn")->find("nonzero"), std::string::npos);
  // What is not known to be capturable is not captured.
  EXPECT_FALSE(decide_cuda_graphs("auto", kGpu, "fp32", "a-model-from-elsewhere", "j").capture);
}

TEST(CudaGraphsDecision, AutoDoesNotCaptureBf16) {
  const GraphDecision d = decide_cuda_graphs("auto", kGpu, "bf16", "aasn", "job.yaml");
  EXPECT_FALSE(d.capture);
  EXPECT_NE(d.why.find("bf16"), std::string::npos) << d.why;
}

TEST(CudaGraphsDecision, OnIsRefusedWhereACaptureCannotWorkNamingKeyReasonAndFix) {
  const std::string cpu = refusal("on", kCpu, "fp32", "aasn");
  EXPECT_NE(cpu.find("job.yaml"), std::string::npos) << cpu;
  EXPECT_NE(cpu.find("train.cuda_graphs"), std::string::npos) << cpu;
  EXPECT_NE(cpu.find("cpu"), std::string::npos) << cpu;
  EXPECT_NE(cpu.find("auto"), std::string::npos) << cpu;  // the fix
  EXPECT_NE(refusal("on", kGpu, "fp32", "tsccn").find("nonzero"), std::string::npos);
  EXPECT_NE(refusal("on", kGpu, "bf16", "aasn").find("bf16"), std::string::npos);
  EXPECT_EQ(refusal("on", kGpu, "fp32", "aasn"), "");
  EXPECT_EQ(refusal("auto", kCpu, "fp32", "tsccn"), "");
}

// ---------------------------------------------------------------- the job file

std::string job_text(const std::string& train) {
  return "output: out\ndata: {store: s.h5}\nmodel: {variant: aasn}\ntrain: {" + train + "}\n";
}

std::string parse_error(const std::string& train) {
  try {
    spec::parse_job_config(job_text(train), "job.yaml");
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(CudaGraphsSpec, ParsedWithAutoAsTheDefault) {
  EXPECT_EQ(spec::parse_job_config(job_text(""), "job.yaml").train.cuda_graphs, "auto");
  EXPECT_EQ(spec::parse_job_config(job_text("cuda_graphs: off"), "job.yaml").train.cuda_graphs,
            "off");
  EXPECT_EQ(spec::parse_job_config(job_text("cuda_graphs: on, device: cuda"), "job.yaml")
                .train.cuda_graphs,
            "on");
}

TEST(CudaGraphsSpec, AnUnknownValueIsRefusedWhenTheFileIsRead) {
  const std::string e = parse_error("cuda_graphs: sometimes");
  EXPECT_NE(e.find("job.yaml"), std::string::npos) << e;
  EXPECT_NE(e.find("train.cuda_graphs"), std::string::npos) << e;
  EXPECT_NE(e.find("sometimes"), std::string::npos) << e;
  EXPECT_NE(e.find("auto, on, off"), std::string::npos) << e;
}

TEST(CudaGraphsSpec, OnWithTheCpuOrBf16IsRefusedWhenTheFileIsRead) {
  const std::string cpu = parse_error("cuda_graphs: on, device: cpu");
  EXPECT_NE(cpu.find("train.cuda_graphs"), std::string::npos) << cpu;
  EXPECT_NE(cpu.find("cpu"), std::string::npos) << cpu;
  EXPECT_NE(parse_error("cuda_graphs: on, device: cuda, precision: bf16").find("bf16"),
            std::string::npos);
  EXPECT_EQ(parse_error("cuda_graphs: auto, device: cpu"), "");
}

TEST(CudaGraphsSpec, NotPartOfTheResolvedJob) {
  // A graph replays the same kernels: the job's id and folder do not depend on it.
  const auto a = spec::parse_job_config(job_text("cuda_graphs: off"), "job.yaml");
  const auto b = spec::parse_job_config(job_text(""), "job.yaml");
  EXPECT_EQ(spec::to_yaml(a), spec::to_yaml(b));
}

// ---------------------------------------------------------------- static buffers

BatchTensors batch_of(int64_t n, float value) {
  BatchTensors b;
  b.images = torch::full({n, 3, 4, 4}, value);
  b.labels = torch::arange(n, torch::kLong);
  b.samples = torch::arange(n, torch::kLong) + 100;
  b.has_prev = torch::ones({n}, torch::kBool);
  return b;
}

TEST(StaticBatch, CopyInRefillsTheSameMemory) {
  StaticBatch s(batch_of(4, 1.0f));
  const void* images = s.tensors().images.data_ptr();
  const void* labels = s.tensors().labels.data_ptr();
  BatchTensors next = batch_of(4, 7.0f);
  next.labels = torch::tensor({3, 2, 1, 0}, torch::kLong);
  ASSERT_TRUE(s.fits(next));
  s.copy_in(next);
  EXPECT_EQ(s.tensors().images.data_ptr(), images);
  EXPECT_EQ(s.tensors().labels.data_ptr(), labels);
  EXPECT_TRUE(torch::equal(s.tensors().images, next.images));
  EXPECT_TRUE(torch::equal(s.tensors().labels, next.labels));
  EXPECT_FALSE(s.tensors().grids.defined());
}

TEST(StaticBatch, AnotherShapeOrFieldDoesNotFit) {
  StaticBatch s(batch_of(4, 1.0f));
  EXPECT_FALSE(s.fits(batch_of(3, 1.0f)));  // the epoch's smaller last batch
  BatchTensors more = batch_of(4, 1.0f);
  more.grids = torch::zeros({4, 2, 2, 2});
  EXPECT_FALSE(s.fits(more));
  BatchTensors other_type = batch_of(4, 1.0f);
  other_type.images = other_type.images.to(torch::kDouble);
  EXPECT_FALSE(s.fits(other_type));
}

TEST(StaticBatch, HoldsItsOwnCopyOfTheFirstBatch) {
  BatchTensors first = batch_of(2, 1.0f);
  StaticBatch s(first);
  first.images.fill_(5.0f);
  EXPECT_EQ(s.tensors().images.max().item<float>(), 1.0f);
}

// ---------------------------------------------------------------- CapturableAdam

std::vector<torch::Tensor> make_params(uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({5, 3}).requires_grad_(), torch::randn({7}).requires_grad_(),
          torch::randn({2, 2, 3}).requires_grad_()};
}

void set_grads(std::vector<torch::Tensor>& params, int step) {
  torch::manual_seed(1000 + step);
  for (auto& p : params) p.mutable_grad() = torch::randn_like(p);
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> out;
  for (const auto& p : ps) out.push_back(p.detach().clone().requires_grad_());
  return out;
}

// Steps [first, last) of both sides on the same gradients: `reference` steps `a`, `other`
// (torch::optim::Adam or CapturableAdam) steps `b`.
template <typename Other>
void step_both(torch::optim::Adam& reference, Other& other, std::vector<torch::Tensor>& a,
               std::vector<torch::Tensor>& b, int first, int last) {
  for (int step = first; step < last; ++step) {
    set_grads(a, step);
    set_grads(b, step);
    reference.step();
    other.step();
  }
}

double max_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double worst = 0;
  for (size_t k = 0; k < a.size(); ++k)
    worst = std::max(worst, (a[k] - b[k]).abs().max().item<double>());
  return worst;
}

TEST(CapturableAdam, EqualsTorchOptimAdamWithWeightDecay) {
  std::vector<torch::Tensor> a = make_params(3), b = copies(a);
  const auto options = torch::optim::AdamOptions(1e-2).weight_decay(0.1).eps(1e-6);
  torch::optim::Adam reference(a, options);
  torch::optim::Adam holder(b, options);
  CapturableAdam fused(holder, b);
  for (int step = 0; step < 4; ++step) {
    step_both(reference, fused, a, b, step, step + 1);
    EXPECT_LT(max_difference(a, b), 1e-6) << "step " << step;
  }
  // The holder's state is what a checkpoint saves: the same as the reference's.
  for (size_t k = 0; k < a.size(); ++k) {
    auto& ra = static_cast<torch::optim::AdamParamState&>(
        *reference.state().at(a[k].unsafeGetTensorImpl()));
    auto& rb = static_cast<torch::optim::AdamParamState&>(
        *holder.state().at(b[k].unsafeGetTensorImpl()));
    EXPECT_EQ(ra.step(), 4);
    EXPECT_EQ(rb.step(), 4);
    EXPECT_TRUE(torch::allclose(ra.exp_avg(), rb.exp_avg(), 1e-6, 1e-7));
    EXPECT_TRUE(torch::allclose(ra.exp_avg_sq(), rb.exp_avg_sq(), 1e-6, 1e-7));
  }
}

TEST(CapturableAdam, GoesOnFromTheStateTorchOptimAdamLeft) {
  // A job resumed from a checkpoint: two steps by torch::optim::Adam, then the fused one.
  std::vector<torch::Tensor> a = make_params(5), b = copies(a);
  torch::optim::Adam reference(a, torch::optim::AdamOptions(1e-3));
  torch::optim::Adam holder(b, torch::optim::AdamOptions(1e-3));
  step_both(reference, holder, a, b, 0, 2);
  CapturableAdam fused(holder, b);
  step_both(reference, fused, a, b, 2, 4);
  EXPECT_LT(max_difference(a, b), 1e-6);
}

TEST(CapturableAdam, DeviceStepAloneLeavesTheHostCountForTheCaller) {
  std::vector<torch::Tensor> b = make_params(7);
  torch::optim::Adam holder(b, torch::optim::AdamOptions(1e-3));
  CapturableAdam fused(holder, b);
  set_grads(b, 0);
  fused.device_step();  // as a graph's capture records it
  auto& s = static_cast<torch::optim::AdamParamState&>(
      *holder.state().at(b[0].unsafeGetTensorImpl()));
  EXPECT_EQ(s.step(), 0);
  fused.count_host_step();  // after its replay
  EXPECT_EQ(s.step(), 1);
}

TEST(CapturableAdam, AmsgradIsRefused) {
  std::vector<torch::Tensor> b = make_params(9);
  torch::optim::Adam holder(b, torch::optim::AdamOptions(1e-3).amsgrad(true));
  EXPECT_THROW(CapturableAdam(holder, b), core::ConfigError);
}

// ---------------------------------------------------------------- GraphedStep, eagerly

class LinearJobModel final : public JobModel {
 public:
  LinearJobModel() : net_(torch::nn::LinearOptions(3 * 4 * 4, 3)) {}
  torch::nn::Module& module() override { return *net_; }
  bool uses_neighbours() const override { return true; }
  LossTerms loss(const BatchTensors& b, int) override {
    LossTerms t;
    t.ce = torch::nn::functional::cross_entropy(net_->forward(b.images.flatten(1)),
                                                b.labels.remainder(3));
    t.total = t.ce;
    return t;
  }
  torch::Tensor probabilities(const BatchTensors& b) override {
    return torch::softmax(net_->forward(b.images.flatten(1)), 1);
  }

 private:
  torch::nn::Linear net_;
};

BatchTensors random_batch(int64_t n, int step) {
  torch::manual_seed(500 + step);
  BatchTensors b;
  b.images = torch::randn({n, 3, 4, 4});
  b.labels = torch::randint(0, 3, {n}, torch::kLong);
  return b;
}

struct EagerRun {
  double difference = 0;  // the largest parameter difference
  bool capturing = false;
  int replays = 0;
};

// Trains batches of `sizes` with GraphedStep and with plain backward + Adam.
EagerRun eager_run(const std::vector<int64_t>& sizes, bool allow_fallback) {
  torch::manual_seed(11);
  LinearJobModel a;
  torch::manual_seed(11);
  LinearJobModel b;
  torch::optim::Adam adam_a(a.module().parameters(), torch::optim::AdamOptions(1e-2));
  torch::optim::Adam adam_b(b.module().parameters(), torch::optim::AdamOptions(1e-2));
  std::ostringstream sink;
  core::Logger log(core::LogLevel::kInfo, sink);
  auto keep = std::make_unique<GraphedStep>(b, adam_b, b.module().parameters(), true,
                                            allow_fallback, log, "job");
  for (size_t k = 0; k < sizes.size(); ++k) {
    const BatchTensors batch = random_batch(sizes[k], static_cast<int>(k));
    adam_a.zero_grad();
    a.loss(batch, 0).total.backward();
    adam_a.step();
    const LossTerms t = keep->forward_backward(batch, 0);
    EXPECT_TRUE(t.total.defined());
    keep->update();
  }
  return {max_difference(a.module().parameters(), b.module().parameters()), keep->capturing(),
          keep->replays()};
}

TEST(GraphedStep, WarmUpAndASmallerLastBatchRunEagerlyAsPlainTraining) {
  // Two full batches of warm-up, then the epoch's smaller last batch: nothing captured, and
  // the same parameters as backward + torch::optim::Adam.
  EXPECT_LT(eager_run({8, 8, 5}, false).difference, 1e-6);
}

TEST(GraphedStep, OnRefusesAFailedCapture) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU captures: see the GPU tests";
  // The third full batch is captured; on the CPU the capture fails, and `on` says so.
  EXPECT_THROW(eager_run({8, 8, 8}, false), core::ConfigError);
}

TEST(GraphedStep, AutoFallsBackToEagerStepsAfterAFailedCapture) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU captures: see the GPU tests";
  const EagerRun run = eager_run({8, 8, 8, 8, 3}, true);
  EXPECT_LT(run.difference, 1e-6);
  EXPECT_FALSE(run.capturing);
  EXPECT_EQ(run.replays, 0);
}

}  // namespace
}  // namespace fracsweep::trainer
