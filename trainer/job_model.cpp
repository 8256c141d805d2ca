// See job_model.h.
#include "trainer/job_model.h"

#include <torch/torch.h>

#include "trainer/models/aasn_job.h"
#include "core/error.h"
#include "trainer/models/nts_net.h"
#include "trainer/models/pair_baselines.h"
#include "trainer/models/resnet.h"
#include "trainer/models/tsccn.h"

namespace fracsweep::trainer {
namespace {

torch::Tensor zero_like_loss(const torch::Tensor& any) { return any.sum() * 0; }

// [B, 3, H, W] for models that take previous, current and next; a batch
// loaded without neighbours repeats the current view (the model ignores it).
torch::Tensor three_views(const torch::Tensor& images) {
  return images.size(1) == 3 ? images : images.expand({images.size(0), 3, images.size(2),
                                                       images.size(3)});
}


// ---------------------------------------------------------------- TSCCN family

class TsccnJobModel final : public JobModel {
 public:
  TsccnJobModel(const spec::JobConfig& job, TsccnOptions options)
      : options_(options), net_(options), job_(job) {
    if (!job.model.init_weights.empty()) net_->load_backbone_weights(job.model.init_weights);
  }
  torch::nn::Module& module() override { return *net_; }
  bool uses_neighbours() const override { return options_.compare_network; }

  LossTerms loss(const BatchTensors& b, int) override {
    const TsccnOutput out = net_->forward(three_views(b.images), b.has_prev, b.has_next);
    const torch::Tensor& y = b.labels;
    LossTerms t;
    t.ce = torch::nn::functional::cross_entropy(out.logits, y);
    t.d = out.disc_prev.defined()
              ? discriminator_loss(out.disc_prev, out.disc_next, y, b.prev_labels,
                                   b.next_labels, b.has_prev, b.has_next)
              : zero_like_loss(out.logits);
    t.ce2 = benign_malignant_loss(out.binary_logits, y);
    t.triplet = options_.triplet
                    ? triplet_loss(out.embedding, y, y.gt(0), job_.train.triplet_margin)
                    : zero_like_loss(out.logits);
    t.w = out.weights.defined() ? weight_loss(out.weights, y, job_.train.u_hat)
                                : zero_like_loss(out.logits);
    const auto& lw = job_.train.loss_weights;
    return tsccn_total(std::move(t), LossWeights{lw.ce, lw.d, lw.c, lw.w});
  }

  torch::Tensor probabilities(const BatchTensors& b) override {
    return torch::softmax(net_->forward(three_views(b.images), b.has_prev, b.has_next).logits, 1);
  }

 private:
  TsccnOptions options_;
  Tsccn net_;
  const spec::JobConfig& job_;
};

// ---------------------------------------------------------------- baselines

// ResNet-18 with a linear head, or for LDAM a cosine head (Cao et al. normalise
// features and class weights, so margins and the scale s act on cosines).
class ClassifierNetImpl : public torch::nn::Module {
 public:
  ClassifierNetImpl(const ResNetOptions& options, bool cosine)
      : backbone_(register_module("backbone", ResNet18(options))), cosine_(cosine) {
    const int64_t c = backbone_->out_channels(kResNetStages - 1);
    if (cosine) {
      weight_ = register_parameter("fc_weight", torch::empty({3, c}).uniform_(-1, 1));
    } else {
      fc_ = register_module("fc", torch::nn::Linear(c, 3));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor f = backbone_->forward(x).mean({2, 3});
    if (!cosine_) return fc_->forward(f);
    return torch::nn::functional::normalize(f, torch::nn::functional::NormalizeFuncOptions().dim(1))
        .matmul(torch::nn::functional::normalize(
                    weight_, torch::nn::functional::NormalizeFuncOptions().dim(1))
                    .t());
  }
  ResNet18Impl& backbone() { return *backbone_; }

 private:
  ResNet18 backbone_;
  bool cosine_;
  torch::nn::Linear fc_{nullptr};
  torch::Tensor weight_;
};
TORCH_MODULE(ClassifierNet);

class BaselineJobModel final : public JobModel {
 public:
  BaselineJobModel(const spec::JobConfig& job, const std::array<int64_t, 3>& counts)
      : job_(job),
        counts_(counts.begin(), counts.end()),
        ldam_(job.model.variant == "ldam" || job.model.variant == "ldam-drw"),
        net_(ResNetOptions{job.model.in_channels, job.model.width}, ldam_) {
    if (!job.model.init_weights.empty())
      load_torchvision_weights(net_->backbone(), job.model.init_weights);
    if (job.model.variant == "cb-rw") class_weights_ = cb_weights(counts_, job.train.cb_beta);
    if (ldam_) margins_ = ldam_margins(counts_);
  }
  torch::nn::Module& module() override { return *net_; }
  bool uses_neighbours() const override { return false; }
  void to(const torch::Device& device) override {
    net_->to(device);
    if (class_weights_.defined()) class_weights_ = class_weights_.to(device);
    if (margins_.defined()) margins_ = margins_.to(device);
  }

  LossTerms loss(const BatchTensors& b, int epoch) override {
    const torch::Tensor logits = net_->forward(input(b.images));
    LossTerms t;
    if (ldam_) {
      torch::Tensor weights;
      if (job_.model.variant == "ldam-drw") {
        const int start = job_.train.drw_epoch > 0 ? job_.train.drw_epoch
                                                   : (job_.train.epochs * 4) / 5;
        weights = drw_weights(counts_, epoch, start);
        if (weights.defined()) weights = weights.to(logits.device());
      }
      t.ce = ldam_loss(logits, b.labels, margins_, LossOptions{}.ldam_scale, weights);
    } else {
      auto o = torch::nn::functional::CrossEntropyFuncOptions();
      if (class_weights_.defined()) o.weight(class_weights_);
      t.ce = torch::nn::functional::cross_entropy(logits, b.labels, o);
    }
    t.total = t.ce;
    return t;
  }

  torch::Tensor probabilities(const BatchTensors& b) override {
    const torch::Tensor logits = net_->forward(input(b.images));
    return torch::softmax(ldam_ ? logits * LossOptions{}.ldam_scale : logits, 1);
  }

 private:
  torch::Tensor input(const torch::Tensor& images) const {
    torch::Tensor x = current_view(images);
    return job_.model.in_channels == 3 ? x.expand({x.size(0), 3, x.size(2), x.size(3)}) : x;
  }

  const spec::JobConfig& job_;
  std::vector<int64_t> counts_;
  bool ldam_;
  ClassifierNet net_;
  torch::Tensor class_weights_, margins_;
};

bool is_tsccn_variant(const std::string& v) {
  for (const auto& name : tsccn_variant_names())
    if (name == v) return true;
  return false;
}

}  // namespace

std::string paper_sampler(const std::string& variant) {
  // RS is ResNet-18 trained on re-sampled data: the paper's Table I RS row
  // (85.56 / 92.85 / 96.33) is Table II's over-sampled ResNet "full" row, so RS
  // over-samples like TSCCN rather than drawing classes uniformly ("balanced").
  if (variant == "rs") return "oversample";
  if (spec::is_pelvis_variant(variant)) return "shuffle";  // AASN §4.1 names no re-sampling
  if (variant == "resnet18" || variant == "cb-rw" || variant == "ldam" || variant == "ldam-drw")
    return "shuffle";
  // TSCCN and its ablations, PC-Net, NTS-Net, SDL-Net; and SMOTE, whose synthetic
  // minority samples are made inside over-sampled batches (pair_baselines.h).
  return "oversample";
}

std::unique_ptr<JobModel> make_job_model(const spec::JobConfig& job,
                                         const std::array<int64_t, 3>& class_counts) {
  const std::string& v = job.model.variant;
  if (is_tsccn_variant(v)) {
    TsccnOptions o = tsccn_variant(v);
    o.backbone = ResNetOptions{job.model.in_channels, job.model.width};
    o.split_stage = job.model.split_stage;
    o.share_branches = job.model.share_branches;
    return std::make_unique<TsccnJobModel>(job, o);
  }
  if (v == "resnet18" || v == "rs" || v == "cb-rw" || v == "ldam" || v == "ldam-drw")
    return std::make_unique<BaselineJobModel>(job, class_counts);
  if (is_pair_baseline(v)) return make_pair_baseline(job);
  if (v == "nts-net") return make_nts_net(job);
  if (spec::is_pelvis_variant(v)) return make_aasn_job_model(job);
  throw core::ConfigError(core::str_cat(
      "model.variant '", v, "' cannot be trained by this build; available: the TSCCN variants, "
      "resnet18, rs, cb-rw, smote, ldam, ldam-drw, pc-net, nts-net, sdl-net, and AASN's rows"));
}

}  // namespace fracsweep::trainer
