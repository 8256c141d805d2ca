// The Table I baselines that work on more than one sample at a time: SMOTE
// (Chawla et al. 2002) synthesises minority samples between a sample and a
// same-class neighbour; PC-Net (Dubey et al. 2018) and SDL-Net (Zhang et al.
// 2019) learn from pairs of samples. make_job_model (job_model.h) builds them
// through make_pair_baseline; the pieces are public so tests can check each.
//
// Pairs: a batch of B samples is read as two halves, sample i is paired with
// sample i + B/2 for i < B/2, and with B odd the last sample is in no pair. The
// over-sampled batches (Table I caption) are shuffled, so the pairs are random.
//
// Loss terms in the training log: `ce` is the classification loss (for SDL-Net
// the sum of its two networks' cross-entropies), `d` is the pair term
// unweighted (PC-Net's confusion, SDL-Net's synergic cross-entropy; zero for
// SMOTE), and `total` = ce + weight * d. So for these variants the log's `d`
// column means "the pair term", not TSCCN's discriminator loss. The other terms
// are left undefined (not logged).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "spec/job_config.h"
#include "trainer/job_model.h"
#include "trainer/losses.h"
#include "trainer/models/resnet.h"

namespace fracsweep::trainer {

// ---------------------------------------------------------------- SMOTE

// What SMOTE does to one sample of a batch: kept (partner < 0), or replaced by
// x + lambda * (x_partner - x), with partner the batch row of a neighbour.
struct SmoteDraw {
  int64_t partner = -1;
  double lambda = 0;  // in [0, 1)
};

// The seed of one batch's SMOTE draws: mix64 over (train seed, epoch, the store
// index of the batch's first sample, batch size). The same batch of the same
// epoch gets the same draws however often the job is interrupted.
uint64_t smote_seed(uint64_t train_seed, int epoch, int64_t first_sample, int64_t batch_size);

// SMOTE adapted to images. Chawla et al. interpolate in the feature space of
// the whole training set; we interpolate within the (already over-sampled)
// batch, so the data path (store, sampler, loader, augmentation) stays the one
// every variant uses and no feature table of the training set is kept.
//
// images [B, ...] (any float type), labels and samples (store indices) int64
// [B]. The batch's majority class is its most frequent label (the lowest such
// label on ties); its samples are kept. Every other sample has as neighbours
// the up to k batch samples of its class nearest in Euclidean pixel distance
// (ties by batch row), other copies of the same store sample excluded; one
// without neighbours is kept. With probability 1/2 the sample is replaced, by
// interpolating towards a neighbour drawn uniformly, lambda ~ U(0, 1). All
// draws come from core::Rng(seed), in batch order. Throws
// core::InternalError on mismatched shapes or k < 1.
std::vector<SmoteDraw> smote_plan(const torch::Tensor& images, const torch::Tensor& labels,
                                  const torch::Tensor& samples, int k, uint64_t seed);

// The batch with the plan applied; every synthetic sample is computed from the
// original rows, and kept rows are bit-identical copies. plan.size() must be B.
torch::Tensor apply_smote(const torch::Tensor& images, const std::vector<SmoteDraw>& plan);

// ---------------------------------------------------------------- networks

// A ResNet-18 backbone, global average pooling and a linear three-class head
// (submodules "backbone" and "fc", as the single-network baselines name them).
// Initialises from torch's global generator, like ResNet18Impl.
class PooledClassifierImpl : public torch::nn::Module {
 public:
  explicit PooledClassifierImpl(const ResNetOptions& options);
  // Pooled features [B, feature_channels()].
  torch::Tensor features(const torch::Tensor& x);
  // Logits [B, 3] of pooled features.
  torch::Tensor head(const torch::Tensor& features);
  torch::Tensor forward(const torch::Tensor& x) { return head(features(x)); }
  int64_t feature_channels() const { return channels_; }
  ResNet18Impl& backbone() { return *backbone_; }

 private:
  ResNet18 backbone_;
  int64_t channels_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(PooledClassifier);

struct SdlOutput {
  torch::Tensor logits_a;  // [B, 3], network A on every sample
  torch::Tensor logits_b;  // [B, 3], network B on every sample
  torch::Tensor synergic;  // [B/2, 2], pair i: class 1 means "same class"
};

// SDL-Net: two classifiers "net_a" and "net_b" of the same architecture,
// initialised one after the other (so differently), and the synergic network
// "synergic" on [A's features of x_i, B's features of x_{i+B/2}]:
// Linear(2C, C/2) -> ReLU -> Linear(C/2, 2), C the pooled feature size
// (Zhang et al.: 2 x 2048 -> 1024 -> 2 on ResNet-50). Zhang et al. feed each
// network its own stream of images; here both classify the whole batch, so
// each sees as many samples as a single-network baseline, and the pairs
// cross the networks as the synergic network requires.
class SdlNetImpl : public torch::nn::Module {
 public:
  explicit SdlNetImpl(const ResNetOptions& options);
  SdlOutput forward(const torch::Tensor& x);
  PooledClassifier& net_a() { return net_a_; }
  PooledClassifier& net_b() { return net_b_; }

 private:
  PooledClassifier net_a_, net_b_;
  torch::nn::Sequential synergic_;
};
TORCH_MODULE(SdlNet);

// ---------------------------------------------------------------- losses

// PC-Net: ce = cross-entropy over all B samples; d = pairwise_confusion_loss of
// the softmax of the pairs (zero without a pair or without a pair of
// different labels); total = ce + weight * d. logits [B, 3], labels [B].
LossTerms pc_net_terms(const torch::Tensor& logits, const torch::Tensor& labels, double weight);

// SDL-Net: ce = CE(logits_a) + CE(logits_b) over all samples; d = the synergic
// cross-entropy against "pair i shares its class" (class 1), zero without a
// pair; total = ce + weight * d.
LossTerms sdl_net_terms(const SdlOutput& out, const torch::Tensor& labels, double weight);

// ---------------------------------------------------------------- job models

// Whether make_pair_baseline builds `variant` ("smote", "pc-net", "sdl-net").
bool is_pair_baseline(const std::string& variant);

// The job's model for a pair baseline; the caller seeds torch first. The model
// copies what it needs from `job`. Takes neither neighbours nor class counts;
// probabilities() are the softmax of the classifier (SDL-Net: the mean of
// A's and B's softmax). Throws core::ConfigError for another variant, and
// core::IoError / core::ConfigError from loading model.init_weights (loaded
// into every backbone).
std::unique_ptr<JobModel> make_pair_baseline(const spec::JobConfig& job);

}  // namespace fracsweep::trainer
