// The training losses of TSCCN and of the baselines it is compared with.
//
// TSCCN (§III): the discriminator loss of the compare network (eq. 2), the
// triplet term of the classification stream (eq. 3), the weight loss of the
// weight control module (eq. 5) and the weighted total (eq. 6). Baselines
// (§IV-C): class-balanced re-weighting (CB-RW), LDAM with and without deferred
// re-weighting (DRW), and the pairwise confusion term of PC-Net.
//
// Every loss is a pure function of its tensors and returns a scalar that
// autograd can differentiate. A loss with nothing to average over (no valid
// pair, triplet or sample in the batch) returns a zero that is still part of
// the graph, never a NaN, so the total can always be backpropagated. Shape
// mismatches are bugs in the caller and throw core::InternalError; bad
// configuration (a class without samples, beta out of range) throws
// core::ConfigError.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include <torch/types.h>

#include "core/error.h"

namespace fracsweep::trainer {

struct LossOptions {
  // FaceNet's alpha (ref [36]) on L2-normalised embeddings, where squared
  // distances lie in [0, 4]: larger separates the VCF subtypes more but leaves
  // more triplets active for longer.
  double triplet_margin = 0.2;
  // TSCCN's bound on u = w_R / w_C (eq. 5, §III-C: 4). Larger asks one stream
  // to dominate the fused feature more strongly.
  double u_hat = 4.0;
  // CB-RW's beta (Cui et al.; the value used for the baseline). Nearer 1 moves
  // the weights from uniform towards inverse class frequency.
  double cb_beta = 0.999;
  // LDAM's largest margin, given to the rarest class (Cao et al.: 0.5).
  double ldam_max_margin = 0.5;
  // LDAM's logit scale s (Cao et al.: 30): margins are set on normalised-size
  // logits, so the scale restores a usable softmax temperature.
  double ldam_scale = 30.0;
  // The beta of the class-balanced weights that DRW switches on (Cao et al.:
  // 0.9999).
  double drw_beta = 0.9999;
};

// TSCCN eq. 6 with L_C = L_CE2 + L_triplet (eq. 3). The paper's weights are
// 1 : 0.2 : 1 : 1 (§IV-B).
struct LossWeights {
  double ce = 1.0;  // the three-class cross-entropy L_CE
  double d = 0.2;   // lambda_1, the discriminator loss L_D
  double c = 1.0;   // lambda_2, the classification stream L_CE2 + L_triplet
  double w = 1.0;   // lambda_3, the weight loss L_W
};

// The terms of one step's loss, each a scalar tensor, so the training log can
// report them one by one. `total` is filled by tsccn_total. Other models put
// their own terms in these slots and name them (JobModel::term_names).
inline constexpr int kLossTerms = 6;  // ce, d, ce2, triplet, w, total
struct LossTerms {
  torch::Tensor ce;       // three-class cross-entropy
  torch::Tensor d;        // discriminator loss, eq. 2
  torch::Tensor ce2;      // benign/malignant cross-entropy over the VCFs
  torch::Tensor triplet;  // triplet loss over the VCFs
  torch::Tensor w;        // weight loss, eq. 5
  torch::Tensor total;    // eq. 6
};

// Thrown by check_finite when a loss term is NaN or infinite. The message
// names the term and lists every term's value; the training loop catches it to
// add the epoch and step.
class NonFiniteLossError : public core::Error {
 public:
  NonFiniteLossError(std::string term, double value, const std::string& what)
      : core::Error(what), term_(std::move(term)), value_(value) {}
  const std::string& term() const { return term_; }
  double value() const { return value_; }

 private:
  std::string term_;
  double value_;
};

// TSCCN eq. 2. logits_prev/logits_next [B, 2] are D(f_c, f_l) and D(f_c, f_n);
// y_cur/y_prev/y_next [B] are the int64 three-class labels (0 normal, 1 benign,
// 2 malignant) and has_prev/has_next [B] bool say whether the neighbour exists.
// Each term is the mean cross-entropy against |b(y_c) - b(y_neighbour)|, with
// b(y) = 0 for normal and 1 for a VCF (class 1 of D means "different"), over
// the pairs whose neighbour exists; a term without such a pair is zero. The
// labels of missing neighbours are never read.
torch::Tensor discriminator_loss(const torch::Tensor& logits_prev,
                                 const torch::Tensor& logits_next, const torch::Tensor& y_cur,
                                 const torch::Tensor& y_prev, const torch::Tensor& y_next,
                                 const torch::Tensor& has_prev, const torch::Tensor& has_next);

// The triplet term of eq. 3 (FaceNet, ref [36]), batch-all. embeddings [B, D]
// are L2-normalised here, so callers pass raw features; among the samples with vcf_mask [B] set, every triplet of
// distinct anchor and positive of the same label and a negative of another
// label counts, and the loss is the mean over all of them of
// max(0, |a - p|^2 - |a - n|^2 + margin). Zero when there is no such triplet.
torch::Tensor triplet_loss(const torch::Tensor& embeddings, const torch::Tensor& labels,
                           const torch::Tensor& vcf_mask,
                           double margin = LossOptions{}.triplet_margin);

// L_CE2 of eq. 3: the benign (label 1) versus malignant (label 2) cross-entropy
// of logits2 [B, 2], averaged over the VCF samples only (§III-B: the stream
// loss is computed only for VCFs). Zero when the batch has no VCF.
torch::Tensor benign_malignant_loss(const torch::Tensor& logits2, const torch::Tensor& labels);

// TSCCN eq. 5 with u = w_R / w_C; w [B, 2] holds (w_R, w_C) per sample. See
// Note [Weight loss direction]. Mean over the batch.
torch::Tensor weight_loss(const torch::Tensor& w, const torch::Tensor& labels,
                          double u_hat = LossOptions{}.u_hat);

// Class-balanced weights (Cui et al. 2019, "effective number of samples"):
// w_k = (1 - beta) / (1 - beta^n_k), scaled to sum to K. counts[k] is the
// number of training samples of class k. float32 [K] on the CPU. Throws
// core::ConfigError when counts is empty, a class has no samples, or beta is
// outside [0, 1).
torch::Tensor cb_weights(std::span<const int64_t> counts, double beta = LossOptions{}.cb_beta);

// LDAM margins (Cao et al. 2019): m_k proportional to n_k^(-1/4), scaled so
// the rarest class gets max_margin. float32 [K] on the CPU. Throws
// core::ConfigError as cb_weights does, and for max_margin <= 0.
torch::Tensor ldam_margins(std::span<const int64_t> counts,
                           double max_margin = LossOptions{}.ldam_max_margin);

// The LDAM loss: the true class's logit is lowered by its margin, then
// cross_entropy(scale * logits', labels) with optional class weights [K] (an
// undefined tensor means unweighted). Weighted, the mean is divided by the sum
// of the samples' weights, as torch's cross_entropy does. Cao et al. feed it
// cosine logits (a normalised last layer) in [-1, 1]; the default scale 30 is
// chosen for those and makes the softmax very sharp on unnormalised logits.
torch::Tensor ldam_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                        const torch::Tensor& margins, double scale = LossOptions{}.ldam_scale,
                        const torch::Tensor& class_weights = {});

// Deferred re-weighting (Cao et al. 2019): all ones for epochs (counted from
// 0) before drw_start_epoch, cb_weights(counts, beta) from it on.
torch::Tensor drw_weights(std::span<const int64_t> counts, int epoch, int drw_start_epoch,
                          double beta = LossOptions{}.drw_beta);

// PC-Net's Euclidean confusion (Dubey et al. 2018): probs_a/probs_b [B, K] are
// the softmax outputs of the two halves of a pair batch and labels_a/labels_b
// [B] their labels; the loss is the mean of |p_a - p_b|^2 over the pairs whose
// labels differ, zero when there is none.
torch::Tensor pairwise_confusion_loss(const torch::Tensor& probs_a, const torch::Tensor& probs_b,
                                      const torch::Tensor& labels_a,
                                      const torch::Tensor& labels_b);

// Returns `terms` with total = ce + d*L_D + c*(L_CE2 + L_triplet) + w*L_W
// (eq. 3 and 6). Every term must be defined.
LossTerms tsccn_total(LossTerms terms, const LossWeights& weights = {});

// Throws NonFiniteLossError naming the first term (ce, d, ce2, triplet, w,
// total, in that order) that is NaN or infinite. Undefined terms are skipped.
// Reads the values, so on a GPU it waits for the step's kernels.
void check_finite(const LossTerms& terms);

}  // namespace fracsweep::trainer
