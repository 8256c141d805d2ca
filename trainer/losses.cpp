// See losses.h.
#include "trainer/losses.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <sstream>
#include <utility>
#include <vector>

#include <torch/nn/functional/loss.h>
#include <torch/nn/functional/normalization.h>

namespace fracsweep::trainer {
namespace {

namespace F = torch::nn::functional;

// A shape mismatch means the caller wired the model to the loss wrongly: a bug
// in fracsweep, reported with the shape seen. -1 in `shape` matches any size.
void expect_shape(const char* fn, const char* arg, const torch::Tensor& t,
                  std::initializer_list<int64_t> shape) {
  std::ostringstream want;
  want << "[";
  bool ok = t.defined() && t.dim() == static_cast<int64_t>(shape.size());
  int64_t i = 0;
  for (const int64_t s : shape) {
    want << (i > 0 ? ", " : "") << (s < 0 ? std::string("*") : std::to_string(s));
    if (ok && s >= 0 && t.size(i) != s) ok = false;
    ++i;
  }
  want << "]";
  if (ok) return;
  std::ostringstream seen;
  if (t.defined()) {
    seen << t.sizes();
  } else {
    seen << "undefined";
  }
  throw core::InternalError(core::str_cat("internal error (a bug in fracsweep, please report it): ",
                                          fn, ": ", arg, " has shape ", seen.str(),
                                          ", expected ", want.str()));
}

// The loss of a batch with nothing to average over. Multiplying keeps it in
// the graph, so backward through a total that contains it still works.
torch::Tensor zero_like_loss(const torch::Tensor& t) { return t.sum() * 0; }

// The indices of the true entries of a 1-D mask, for index_select. Selecting
// rows (rather than multiplying by the mask) keeps whatever sits in the
// excluded rows, such as the label of a missing neighbour, out of the result.
torch::Tensor rows_where(const torch::Tensor& mask) { return mask.nonzero().flatten(); }

void check_counts(const char* fn, std::span<const int64_t> counts) {
  CHECK_OR_THROW(core::ConfigError, !counts.empty(), fn, ": no classes given");
  for (size_t k = 0; k < counts.size(); ++k) {
    CHECK_OR_THROW(core::ConfigError, counts[k] > 0, fn, ": class ", k, " has ", counts[k],
                   " training samples; every class needs at least one (check the split and "
                   "the data subset)");
  }
}

torch::Tensor cpu_floats(const std::vector<double>& values) {
  std::vector<float> f(values.begin(), values.end());
  return torch::tensor(f, torch::TensorOptions().dtype(torch::kFloat32));
}

// One term of eq. 2: D's logits for (current, neighbour) against whether the
// two differ in normal/VCF, over the pairs whose neighbour exists.
torch::Tensor discriminator_term(const torch::Tensor& logits, const torch::Tensor& y_cur,
                                 const torch::Tensor& y_neighbour,
                                 const torch::Tensor& has_neighbour) {
  const torch::Tensor rows = rows_where(has_neighbour);
  if (rows.numel() == 0) return zero_like_loss(logits);
  const torch::Tensor vcf_cur = y_cur.index_select(0, rows).ne(0);
  const torch::Tensor vcf_neighbour = y_neighbour.index_select(0, rows).ne(0);
  const torch::Tensor differ = vcf_cur.ne(vcf_neighbour).to(torch::kLong);
  return F::cross_entropy(logits.index_select(0, rows), differ);
}

}  // namespace

torch::Tensor discriminator_loss(const torch::Tensor& logits_prev,
                                 const torch::Tensor& logits_next, const torch::Tensor& y_cur,
                                 const torch::Tensor& y_prev, const torch::Tensor& y_next,
                                 const torch::Tensor& has_prev, const torch::Tensor& has_next) {
  constexpr const char* kFn = "discriminator_loss";
  expect_shape(kFn, "logits_prev", logits_prev, {-1, 2});
  const int64_t b = logits_prev.size(0);
  expect_shape(kFn, "logits_next", logits_next, {b, 2});
  expect_shape(kFn, "y_cur", y_cur, {b});
  expect_shape(kFn, "y_prev", y_prev, {b});
  expect_shape(kFn, "y_next", y_next, {b});
  expect_shape(kFn, "has_prev", has_prev, {b});
  expect_shape(kFn, "has_next", has_next, {b});
  return discriminator_term(logits_prev, y_cur, y_prev, has_prev) +
         discriminator_term(logits_next, y_cur, y_next, has_next);
}

torch::Tensor triplet_loss(const torch::Tensor& embeddings, const torch::Tensor& labels,
                           const torch::Tensor& vcf_mask, double margin) {
  constexpr const char* kFn = "triplet_loss";
  expect_shape(kFn, "embeddings", embeddings, {-1, -1});
  const int64_t b = embeddings.size(0);
  expect_shape(kFn, "labels", labels, {b});
  expect_shape(kFn, "vcf_mask", vcf_mask, {b});
  const torch::Tensor rows = rows_where(vcf_mask);
  const int64_t n = rows.numel();
  if (n == 0) return zero_like_loss(embeddings);
  const torch::Tensor e = F::normalize(embeddings.index_select(0, rows),
                                       F::NormalizeFuncOptions().p(2).dim(1));
  const torch::Tensor y = labels.index_select(0, rows);
  // Squared distances from differences rather than 2 - 2 a.b: exact zeros on
  // the diagonal, and no sqrt whose gradient is infinite at zero.
  const torch::Tensor d2 = (e.unsqueeze(1) - e.unsqueeze(0)).pow(2).sum(2);
  const torch::Tensor same = y.unsqueeze(1).eq(y.unsqueeze(0));
  const torch::Tensor self =
      torch::eye(n, torch::TensorOptions().dtype(torch::kBool).device(same.device()));
  const torch::Tensor positive = same.logical_and(self.logical_not());  // [anchor, positive]
  const torch::Tensor negative = same.logical_not();                    // [anchor, negative]
  const torch::Tensor valid = positive.unsqueeze(2).logical_and(negative.unsqueeze(1));
  const torch::Tensor hinge = torch::relu(d2.unsqueeze(2) - d2.unsqueeze(1) + margin);
  // Batch-all mean: triplets already satisfied count with 0, as in FaceNet's
  // objective. clamp_min(1) turns "no valid triplet" into 0 / 1 rather than 0 / 0.
  return (hinge * valid).sum() / valid.sum().clamp_min(1);
}

torch::Tensor benign_malignant_loss(const torch::Tensor& logits2, const torch::Tensor& labels) {
  constexpr const char* kFn = "benign_malignant_loss";
  expect_shape(kFn, "logits2", logits2, {-1, 2});
  expect_shape(kFn, "labels", labels, {logits2.size(0)});
  const torch::Tensor rows = rows_where(labels.ne(0));
  if (rows.numel() == 0) return zero_like_loss(logits2);
  // Benign (1) and malignant (2) become classes 0 and 1 of the binary head.
  return F::cross_entropy(logits2.index_select(0, rows), labels.index_select(0, rows) - 1);
}

// Note [Weight loss direction]
// Eq. 5 prints ||u - û||^2 for both of its cases: a normal vertebra with
// u < û, and a VCF with u > 1/û. Taken literally, the VCF case would pull
// u = w_R / w_C up towards û, that is towards the recognition stream, which
// contradicts the sentence before it (§III-C): for a normal vertebra f_R
// should matter more, "and vice versa" for a VCF. We read the VCF case as
// pulling u down to its bound 1/û:
//   y = 0       and u < û    ->  (u - û)^2
//   y in {1, 2} and u > 1/û  ->  (u - 1/û)^2
//   otherwise                ->  0
// so the loss is zero once u is past the bound on the side the text asks for.
torch::Tensor weight_loss(const torch::Tensor& w, const torch::Tensor& labels, double u_hat) {
  constexpr const char* kFn = "weight_loss";
  CHECK_OR_THROW(core::ConfigError, u_hat > 1.0, kFn, ": u_hat is ", u_hat,
                 " but must be greater than 1 (TSCCN eq. 5; the paper uses 4)");
  expect_shape(kFn, "w", w, {-1, 2});
  expect_shape(kFn, "labels", labels, {w.size(0)});
  if (w.size(0) == 0) return zero_like_loss(w);
  const torch::Tensor u = w.select(1, 0) / w.select(1, 1);
  const torch::Tensor normal = labels.eq(0).to(u.device());
  const torch::Tensor bound =
      torch::where(normal, torch::full_like(u, u_hat), torch::full_like(u, 1.0 / u_hat));
  const torch::Tensor active = normal.logical_and(u.lt(u_hat))
                                   .logical_or(normal.logical_not().logical_and(u.gt(1.0 / u_hat)));
  // where() rather than a product with the mask: an inactive sample's gradient
  // is then exactly zero even if its squared distance overflowed.
  return torch::where(active, (u - bound).pow(2), torch::zeros_like(u)).mean();
}

torch::Tensor cb_weights(std::span<const int64_t> counts, double beta) {
  check_counts("cb_weights", counts);
  CHECK_OR_THROW(core::ConfigError, beta >= 0.0 && beta < 1.0, "cb_weights: beta is ", beta,
                 " but must be in [0, 1) (Cui et al. use 0.9 to 0.9999)");
  std::vector<double> w(counts.size());
  double sum = 0;
  for (size_t k = 0; k < counts.size(); ++k) {
    w[k] = (1.0 - beta) / (1.0 - std::pow(beta, static_cast<double>(counts[k])));
    sum += w[k];
  }
  const double k_classes = static_cast<double>(counts.size());
  for (double& x : w) x *= k_classes / sum;
  return cpu_floats(w);
}

torch::Tensor ldam_margins(std::span<const int64_t> counts, double max_margin) {
  check_counts("ldam_margins", counts);
  CHECK_OR_THROW(core::ConfigError, max_margin > 0.0, "ldam_margins: max_margin is ", max_margin,
                 " but must be positive (Cao et al. use 0.5)");
  int64_t fewest = counts[0];
  for (const int64_t n : counts) fewest = std::min(fewest, n);
  // n^(-1/4) is largest for the rarest class, which gets max_margin exactly.
  std::vector<double> m(counts.size());
  for (size_t k = 0; k < counts.size(); ++k) {
    m[k] = max_margin * std::pow(static_cast<double>(fewest) / static_cast<double>(counts[k]),
                                 0.25);
  }
  return cpu_floats(m);
}

torch::Tensor ldam_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                        const torch::Tensor& margins, double scale,
                        const torch::Tensor& class_weights) {
  constexpr const char* kFn = "ldam_loss";
  expect_shape(kFn, "logits", logits, {-1, -1});
  const int64_t b = logits.size(0);
  const int64_t k = logits.size(1);
  expect_shape(kFn, "labels", labels, {b});
  expect_shape(kFn, "margins", margins, {k});
  if (class_weights.defined()) expect_shape(kFn, "class_weights", class_weights, {k});
  if (b == 0) return zero_like_loss(logits);
  const torch::Tensor m = margins.to(logits.device(), logits.scalar_type());
  const torch::Tensor shift = torch::one_hot(labels, k).to(logits.scalar_type()) * m.unsqueeze(0);
  auto options = F::CrossEntropyFuncOptions();
  if (class_weights.defined()) {
    options = options.weight(class_weights.to(logits.device(), logits.scalar_type()));
  }
  return F::cross_entropy((logits - shift) * scale, labels, options);
}

torch::Tensor drw_weights(std::span<const int64_t> counts, int epoch, int drw_start_epoch,
                          double beta) {
  // Computed before the switch too, so a bad count fails at the first epoch
  // rather than at drw_start_epoch, deep into the run.
  const torch::Tensor balanced = cb_weights(counts, beta);
  return epoch < drw_start_epoch ? torch::ones_like(balanced) : balanced;
}

torch::Tensor pairwise_confusion_loss(const torch::Tensor& probs_a, const torch::Tensor& probs_b,
                                      const torch::Tensor& labels_a,
                                      const torch::Tensor& labels_b) {
  constexpr const char* kFn = "pairwise_confusion_loss";
  expect_shape(kFn, "probs_a", probs_a, {-1, -1});
  const int64_t b = probs_a.size(0);
  expect_shape(kFn, "probs_b", probs_b, {b, probs_a.size(1)});
  expect_shape(kFn, "labels_a", labels_a, {b});
  expect_shape(kFn, "labels_b", labels_b, {b});
  const torch::Tensor rows = rows_where(labels_a.ne(labels_b));
  if (rows.numel() == 0) return zero_like_loss(probs_a) + zero_like_loss(probs_b);
  const torch::Tensor diff = probs_a.index_select(0, rows) - probs_b.index_select(0, rows);
  return diff.pow(2).sum(1).mean();
}

LossTerms tsccn_total(LossTerms terms, const LossWeights& weights) {
  const std::pair<const char*, const torch::Tensor*> named[] = {
      {"ce", &terms.ce}, {"d", &terms.d}, {"ce2", &terms.ce2},
      {"triplet", &terms.triplet}, {"w", &terms.w}};
  for (const auto& [name, t] : named) {
    CHECK_OR_THROW(core::InternalError, t->defined() && t->numel() == 1,
                   "internal error (a bug in fracsweep, please report it): tsccn_total: term '",
                   name, "' is ", (t->defined() ? "not a scalar" : "undefined"));
  }
  terms.total = terms.ce * weights.ce + terms.d * weights.d +
                (terms.ce2 + terms.triplet) * weights.c + terms.w * weights.w;
  return terms;
}

void check_finite(const LossTerms& terms) {
  const std::pair<const char*, const torch::Tensor*> named[] = {
      {"ce", &terms.ce}, {"d", &terms.d},         {"ce2", &terms.ce2},
      {"triplet", &terms.triplet}, {"w", &terms.w}, {"total", &terms.total}};
  std::ostringstream all;
  const char* bad = nullptr;
  double bad_value = 0;
  for (const auto& [name, t] : named) {
    if (!t->defined()) continue;
    INTERNAL_ASSERT(t->numel() == 1);
    const double v = t->detach().item<double>();
    all << (all.tellp() > 0 ? " " : "") << name << "=" << v;
    if (bad == nullptr && !std::isfinite(v)) {
      bad = name;
      bad_value = v;
    }
  }
  if (bad == nullptr) return;
  throw NonFiniteLossError(
      bad, bad_value,
      core::str_cat("loss term '", bad, "' is ", bad_value, " (", all.str(), ")"));
}

}  // namespace fracsweep::trainer
