// See pair_baselines.h.
#include "trainer/models/pair_baselines.h"

#include <algorithm>
#include <map>
#include <utility>

#include <torch/torch.h>

#include "core/error.h"
#include "core/seed.h"

namespace fracsweep::trainer {
namespace {

namespace F = torch::nn::functional;

torch::Tensor zero_like_loss(const torch::Tensor& any) { return any.sum() * 0; }


// The most frequent label; the lowest such label on ties, so the choice does
// not depend on the order of the batch.
int64_t majority_label(const std::vector<int64_t>& labels) {
  std::map<int64_t, int64_t> counts;
  for (int64_t y : labels) ++counts[y];
  int64_t best = -1, best_count = 0;
  for (const auto& [y, n] : counts)
    if (n > best_count) best = y, best_count = n;
  return best;
}

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace

// ---------------------------------------------------------------- SMOTE

uint64_t smote_seed(uint64_t train_seed, int epoch, int64_t first_sample, int64_t batch_size) {
  uint64_t h = core::mix64(train_seed);
  h = core::mix64(h ^ static_cast<uint64_t>(epoch));
  h = core::mix64(h ^ static_cast<uint64_t>(first_sample));
  return core::mix64(h ^ static_cast<uint64_t>(batch_size));
}

std::vector<SmoteDraw> smote_plan(const torch::Tensor& images, const torch::Tensor& labels,
                                  const torch::Tensor& samples, int k, uint64_t seed) {
  INTERNAL_ASSERT(k >= 1);
  INTERNAL_ASSERT(labels.dim() == 1 && samples.dim() == 1);
  const int64_t b = labels.size(0);
  INTERNAL_ASSERT(images.dim() >= 1 && images.size(0) == b && samples.size(0) == b);
  std::vector<SmoteDraw> plan(static_cast<size_t>(b));
  if (b == 0) return plan;
  const std::vector<int64_t> y = to_vector(labels), s = to_vector(samples);
  const int64_t majority = majority_label(y);

  // Distances in double with a fixed summation order: neighbour ranks, and so
  // the draws, must not depend on torch's thread count.
  const torch::Tensor flat = images.detach().reshape({b, -1}).to(torch::kCPU, torch::kDouble)
                                 .contiguous();
  const int64_t n = flat.size(1);
  const double* px = flat.data_ptr<double>();
  auto distance2 = [&](int64_t i, int64_t j) {
    double sum = 0;
    for (int64_t p = 0; p < n; ++p) {
      const double d = px[i * n + p] - px[j * n + p];
      sum += d * d;
    }
    return sum;
  };

  core::Rng rng(seed);
  for (int64_t i = 0; i < b; ++i) {
    if (y[i] == majority) continue;
    std::vector<std::pair<double, int64_t>> near;
    for (int64_t j = 0; j < b; ++j)
      if (j != i && y[j] == y[i] && s[j] != s[i]) near.emplace_back(distance2(i, j), j);
    if (near.empty()) continue;
    const size_t kept = std::min(near.size(), static_cast<size_t>(k));
    std::partial_sort(near.begin(), near.begin() + static_cast<std::ptrdiff_t>(kept), near.end());
    if (rng.uniform01() >= 0.5) continue;
    SmoteDraw& d = plan[static_cast<size_t>(i)];
    d.partner = near[static_cast<size_t>(rng.uniform_below(kept))].second;
    d.lambda = rng.uniform01();
  }
  return plan;
}

torch::Tensor apply_smote(const torch::Tensor& images, const std::vector<SmoteDraw>& plan) {
  const int64_t b = images.size(0);
  INTERNAL_ASSERT(static_cast<int64_t>(plan.size()) == b);
  std::vector<int64_t> partner(plan.size());
  std::vector<double> lambda(plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    // A kept row interpolates towards itself with lambda 0: x + 0 * (x - x) == x.
    partner[i] = plan[i].partner < 0 ? static_cast<int64_t>(i) : plan[i].partner;
    lambda[i] = plan[i].partner < 0 ? 0.0 : plan[i].lambda;
    INTERNAL_ASSERT(partner[i] < b);
  }
  std::vector<int64_t> shape(static_cast<size_t>(images.dim()), 1);
  shape[0] = b;
  const torch::Tensor lam =
      torch::tensor(lambda, torch::kDouble).to(images.options()).reshape(shape);
  const torch::Tensor idx = torch::tensor(partner, torch::kLong).to(images.device());
  return images + lam * (images.index_select(0, idx) - images);
}

// ---------------------------------------------------------------- networks

PooledClassifierImpl::PooledClassifierImpl(const ResNetOptions& options)
    : backbone_(register_module("backbone", ResNet18(options))),
      channels_(backbone_->out_channels(kResNetStages - 1)),
      fc_(register_module("fc", torch::nn::Linear(channels_, 3))) {}

torch::Tensor PooledClassifierImpl::features(const torch::Tensor& x) {
  return backbone_->forward(x).mean({2, 3});
}

torch::Tensor PooledClassifierImpl::head(const torch::Tensor& features) {
  return fc_->forward(features);
}

SdlNetImpl::SdlNetImpl(const ResNetOptions& options)
    : net_a_(register_module("net_a", PooledClassifier(options))),
      net_b_(register_module("net_b", PooledClassifier(options))) {
  const int64_t c = net_a_->feature_channels();
  const int64_t hidden = std::max<int64_t>(1, c / 2);
  synergic_ = register_module(
      "synergic", torch::nn::Sequential(torch::nn::Linear(2 * c, hidden), torch::nn::ReLU(),
                                        torch::nn::Linear(hidden, 2)));
}

SdlOutput SdlNetImpl::forward(const torch::Tensor& x) {
  const torch::Tensor fa = net_a_->features(x), fb = net_b_->features(x);
  const int64_t half = x.size(0) / 2;
  SdlOutput out;
  out.logits_a = net_a_->head(fa);
  out.logits_b = net_b_->head(fb);
  out.synergic =
      synergic_->forward(torch::cat({fa.narrow(0, 0, half), fb.narrow(0, half, half)}, 1));
  return out;
}

// ---------------------------------------------------------------- losses

LossTerms pc_net_terms(const torch::Tensor& logits, const torch::Tensor& labels, double weight) {
  INTERNAL_ASSERT(logits.dim() == 2 && labels.dim() == 1 && logits.size(0) == labels.size(0));
  const int64_t half = logits.size(0) / 2;
  LossTerms t;
  t.ce = F::cross_entropy(logits, labels);
  if (half == 0) {
    t.d = zero_like_loss(logits);
  } else {
    const torch::Tensor p = torch::softmax(logits, 1);
    t.d = pairwise_confusion_loss(p.narrow(0, 0, half), p.narrow(0, half, half),
                                  labels.narrow(0, 0, half), labels.narrow(0, half, half));
  }
  t.total = t.ce + t.d * weight;
  return t;
}

LossTerms sdl_net_terms(const SdlOutput& out, const torch::Tensor& labels, double weight) {
  const int64_t b = labels.size(0), half = b / 2;
  INTERNAL_ASSERT(labels.dim() == 1 && out.logits_a.size(0) == b && out.logits_b.size(0) == b);
  INTERNAL_ASSERT(out.synergic.dim() == 2 && out.synergic.size(0) == half);
  LossTerms t;
  t.ce = F::cross_entropy(out.logits_a, labels) + F::cross_entropy(out.logits_b, labels);
  if (half == 0) {
    t.d = zero_like_loss(out.synergic);
  } else {
    const torch::Tensor same =
        labels.narrow(0, 0, half).eq(labels.narrow(0, half, half)).to(torch::kLong);
    t.d = F::cross_entropy(out.synergic, same);
  }
  t.total = t.ce + t.d * weight;
  return t;
}

// ---------------------------------------------------------------- job models

namespace {

// What every pair baseline copies from the job.
struct PairJob {
  explicit PairJob(const spec::JobConfig& job)
      : backbone{job.model.in_channels, job.model.width},
        init_weights(job.model.init_weights),
        seed(job.train.seed),
        pc_weight(job.train.pc_weight),
        sdl_weight(job.train.sdl_weight),
        smote_k(job.train.smote_k) {}
  ResNetOptions backbone;
  std::string init_weights;
  uint64_t seed;
  double pc_weight, sdl_weight;
  int smote_k;
};

void maybe_load(ResNet18Impl& net, const PairJob& job) {
  if (!job.init_weights.empty()) load_torchvision_weights(net, job.init_weights);
}

// SMOTE and PC-Net: one classifier; they differ in the batch (SMOTE) or the
// loss (PC-Net's pair term).
class SingleNetJobModel final : public JobModel {
 public:
  SingleNetJobModel(const spec::JobConfig& job, bool smote)
      : job_(job), smote_(smote), net_(job_.backbone) {
    maybe_load(net_->backbone(), job_);
  }
  torch::nn::Module& module() override { return *net_; }
  bool uses_neighbours() const override { return false; }

  LossTerms loss(const BatchTensors& b, int epoch) override {
    torch::Tensor x = current_view(b.images);
    if (!smote_) {
      return pc_net_terms(net_->forward(model_input(x, job_.backbone.in_channels)), b.labels,
                          job_.pc_weight);
    }
    // SMOTE is data-level: the synthetic batch, then plain cross-entropy.
    const int64_t n = b.labels.size(0);
    const int64_t first = n > 0 ? b.samples[0].item<int64_t>() : 0;
    x = apply_smote(x, smote_plan(x, b.labels, b.samples, job_.smote_k,
                                  smote_seed(job_.seed, epoch, first, n)));
    LossTerms t;
    t.ce = F::cross_entropy(net_->forward(model_input(x, job_.backbone.in_channels)), b.labels);
    t.d = zero_like_loss(t.ce);
    t.total = t.ce;
    return t;
  }

  torch::Tensor probabilities(const BatchTensors& b) override {
    return torch::softmax(
        net_->forward(model_input(current_view(b.images), job_.backbone.in_channels)), 1);
  }

 private:
  PairJob job_;
  bool smote_;
  PooledClassifier net_;
};

class SdlJobModel final : public JobModel {
 public:
  explicit SdlJobModel(const spec::JobConfig& job) : job_(job), net_(job_.backbone) {
    maybe_load(net_->net_a()->backbone(), job_);
    maybe_load(net_->net_b()->backbone(), job_);
  }
  torch::nn::Module& module() override { return *net_; }
  bool uses_neighbours() const override { return false; }

  LossTerms loss(const BatchTensors& b, int) override {
    return sdl_net_terms(net_->forward(input(b)), b.labels, job_.sdl_weight);
  }

  torch::Tensor probabilities(const BatchTensors& b) override {
    const SdlOutput out = net_->forward(input(b));
    return (torch::softmax(out.logits_a, 1) + torch::softmax(out.logits_b, 1)) * 0.5;
  }

 private:
  torch::Tensor input(const BatchTensors& b) const {
    return model_input(current_view(b.images), job_.backbone.in_channels);
  }

  PairJob job_;
  SdlNet net_;
};

}  // namespace

bool is_pair_baseline(const std::string& variant) {
  return variant == "smote" || variant == "pc-net" || variant == "sdl-net";
}

std::unique_ptr<JobModel> make_pair_baseline(const spec::JobConfig& job) {
  const std::string& v = job.model.variant;
  if (v == "smote") return std::make_unique<SingleNetJobModel>(job, true);
  if (v == "pc-net") return std::make_unique<SingleNetJobModel>(job, false);
  if (v == "sdl-net") return std::make_unique<SdlJobModel>(job);
  throw core::ConfigError(core::str_cat("model.variant '", v,
                                        "' is not a pair baseline (smote, pc-net, sdl-net)"));
}

}  // namespace fracsweep::trainer
