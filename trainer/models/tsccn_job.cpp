// See tsccn_job.h.
#include "trainer/models/tsccn_job.h"

#include <torch/torch.h>

#include "core/error.h"
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

}  // namespace

bool is_tsccn_variant(const std::string& v) {
  for (const auto& name : tsccn_variant_names())
    if (name == v) return true;
  return false;
}


std::unique_ptr<JobModel> make_tsccn_job_model(const spec::JobConfig& job) {
  const std::string& v = job.model.variant;
  CHECK_OR_THROW(core::ConfigError, is_tsccn_variant(v), "'", v, "' is not a TSCCN variant");
  TsccnOptions o = tsccn_variant(v);
  o.backbone = ResNetOptions{job.model.in_channels, job.model.width};
  o.split_stage = job.model.split_stage;
  o.share_branches = job.model.share_branches;
  return std::make_unique<TsccnJobModel>(job, o);
}

}  // namespace fracsweep::trainer
