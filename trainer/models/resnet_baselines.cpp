// See resnet_baselines.h.
#include "trainer/models/resnet_baselines.h"

#include <torch/torch.h>

#include "core/error.h"
#include "trainer/losses.h"
#include "trainer/models/resnet.h"

namespace fracsweep::trainer {
namespace {

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

}  // namespace

bool is_resnet_baseline(const std::string& v) {
  return v == "resnet18" || v == "rs" || v == "cb-rw" || v == "ldam" || v == "ldam-drw";
}

std::unique_ptr<JobModel> make_resnet_baseline(const spec::JobConfig& job,
                                               const std::array<int64_t, 3>& class_counts) {
  CHECK_OR_THROW(core::ConfigError, is_resnet_baseline(job.model.variant), "'",
                 job.model.variant, "' is not a ResNet-18 baseline");
  return std::make_unique<BaselineJobModel>(job, class_counts);
}

}  // namespace fracsweep::trainer
