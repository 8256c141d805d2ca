// Every loss on inputs small enough to work out by hand; the arithmetic is in
// the comments. ln 2 = 0.693147, ln(1 + e) = 1.313262, -ln(3/4) = 0.287682,
// ln(1 + e^-2) = 0.126928.
#include "trainer/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace fracsweep::trainer {
namespace {

constexpr double kTol = 1e-5;

torch::Tensor longs(std::vector<int64_t> v) { return torch::tensor(v); }
torch::Tensor flags(std::vector<int64_t> v) { return torch::tensor(v).to(torch::kBool); }
double value(const torch::Tensor& t) { return t.item<double>(); }

bool all_finite(const torch::Tensor& t) { return torch::isfinite(t).all().item<bool>(); }

// --- discriminator, eq. 2 -------------------------------------------------

// Three vertebrae. b(y): 0 -> 0, 1 and 2 -> 1; D's class 1 means "different".
//   previous: (y_c, y_l) = (0, 0) target 0, logits (0, 0):     CE = ln 2      = 0.693147
//             (2, 1)      target 0, logits (ln 3, 0):           CE = -ln(3/4)  = 0.287682
//             (1, 0)      target 1, logits (1, 0):              CE = ln(1 + e) = 1.313262
//             mean 2.294091 / 3 = 0.764697
//   next:     (0, 1)      target 1, logits (0, 2):              CE = ln(1 + e^-2) = 0.126928
//             row 1 has no next vertebra; its label 0 and logits (5, -5) would add
//             CE = ln(1 + e^10) ~ 10 were it counted
//             (1, 2)      target 0, logits (0, 0):              CE = ln 2 = 0.693147
//             mean 0.820075 / 2 = 0.410038
//   L_D = 0.764697 + 0.410038 = 1.174735
struct DiscriminatorCase {
  torch::Tensor prev = torch::tensor({{0.f, 0.f}, {std::log(3.f), 0.f}, {1.f, 0.f}})
                           .requires_grad_();
  torch::Tensor next = torch::tensor({{0.f, 2.f}, {5.f, -5.f}, {0.f, 0.f}}).requires_grad_();
  torch::Tensor y_cur = longs({0, 2, 1});
  torch::Tensor y_prev = longs({0, 1, 0});
  torch::Tensor y_next = longs({1, 0, 2});
  torch::Tensor has_prev = flags({1, 1, 1});
  torch::Tensor has_next = flags({1, 0, 1});
};

TEST(LossesDiscriminator, MatchesHandComputedValueAndSkipsMissingNeighbours) {
  DiscriminatorCase c;
  const torch::Tensor loss = discriminator_loss(c.prev, c.next, c.y_cur, c.y_prev, c.y_next,
                                                c.has_prev, c.has_next);
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_NEAR(value(loss), 1.174735, kTol);
}

TEST(LossesDiscriminator, GradientIsSoftmaxMinusTargetOverValidPairs) {
  DiscriminatorCase c;
  discriminator_loss(c.prev, c.next, c.y_cur, c.y_prev, c.y_next, c.has_prev, c.has_next)
      .backward();
  // d CE / d logits = (softmax - one_hot) / pairs. Previous row 0: ((0.5 - 1) / 3, 0.5 / 3).
  const torch::Tensor gp = c.prev.grad();
  EXPECT_NEAR(value(gp[0][0]), -1.0 / 6, kTol);
  EXPECT_NEAR(value(gp[0][1]), 1.0 / 6, kTol);
  // Next row 2: logits (0, 0), target 0, two pairs: (-0.25, 0.25).
  const torch::Tensor gn = c.next.grad();
  EXPECT_NEAR(value(gn[2][0]), -0.25, kTol);
  EXPECT_NEAR(value(gn[2][1]), 0.25, kTol);
  // The missing next vertebra of row 1 contributes nothing.
  EXPECT_EQ(value(gn[1].abs().sum()), 0.0);
}

TEST(LossesDiscriminator, NoNeighbourAtAllGivesDifferentiableZero) {
  DiscriminatorCase c;
  const torch::Tensor loss = discriminator_loss(c.prev, c.next, c.y_cur, c.y_prev, c.y_next,
                                                flags({0, 0, 0}), flags({0, 0, 0}));
  EXPECT_EQ(value(loss), 0.0);
  loss.backward();
  ASSERT_TRUE(c.prev.grad().defined());
  EXPECT_TRUE(all_finite(c.prev.grad()));
  EXPECT_EQ(value(c.prev.grad().abs().sum()), 0.0);
}

TEST(LossesDiscriminator, SingleVertebraWithOnlyAPreviousNeighbour) {
  // (y_c, y_l) = (2, 0): target 1, logits (0, 0) -> ln 2; the next term has no pair.
  const torch::Tensor prev = torch::zeros({1, 2}).requires_grad_();
  const torch::Tensor next = torch::zeros({1, 2}).requires_grad_();
  const torch::Tensor loss = discriminator_loss(prev, next, longs({2}), longs({0}), longs({0}),
                                                flags({1}), flags({0}));
  EXPECT_NEAR(value(loss), 0.693147, kTol);
}

TEST(LossesDiscriminator, RejectsMismatchedShapes) {
  DiscriminatorCase c;
  EXPECT_THROW(discriminator_loss(c.prev, c.next, longs({0, 1}), c.y_prev, c.y_next,
                                  c.has_prev, c.has_next),
               core::InternalError);
}

// --- triplet, eq. 3 --------------------------------------------------------

// VCF samples after L2 normalisation: a = (1, 0) benign, b = (0, 2) -> (0, 1) benign,
// c = (-1, 0) malignant. Squared distances: |a-b|^2 = 2, |a-c|^2 = 4, |b-c|^2 = 2.
// Valid triplets (anchor, positive, negative): (a, b, c) and (b, a, c); c has no positive.
//   (a, b, c): max(0, 2 - 4 + 0.2) = 0
//   (b, a, c): max(0, 2 - 2 + 0.2) = 0.2
//   mean 0.1
// Row 3 is normal (mask off) and close to a: counted, it would add (a, b, d) with
// 2 - 0.01 + 0.2 and more.
struct TripletCase {
  torch::Tensor emb =
      torch::tensor({{1.f, 0.f}, {0.f, 2.f}, {-1.f, 0.f}, {1.f, 0.1f}}).requires_grad_();
  torch::Tensor labels = longs({1, 1, 2, 0});
  torch::Tensor vcf = flags({1, 1, 1, 0});
};

TEST(LossesTriplet, MeanOverAllValidTripletsOfTheVcfs) {
  TripletCase c;
  const torch::Tensor loss = triplet_loss(c.emb, c.labels, c.vcf);
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_NEAR(value(loss), 0.1, kTol);
}

TEST(LossesTriplet, MarginIsFaceNetsAlpha) {
  // Margin 1: (a, b, c) max(0, 2 - 4 + 1) = 0, (b, a, c) 2 - 2 + 1 = 1; mean 0.5.
  TripletCase c;
  EXPECT_NEAR(value(triplet_loss(c.emb, c.labels, c.vcf, 1.0)), 0.5, kTol);
  EXPECT_DOUBLE_EQ(LossOptions{}.triplet_margin, 0.2);
}

TEST(LossesTriplet, GradientReachesTheActiveTripletOnly) {
  TripletCase c;
  triplet_loss(c.emb, c.labels, c.vcf).backward();
  const torch::Tensor g = c.emb.grad();
  ASSERT_TRUE(all_finite(g));
  for (int i = 0; i < 3; ++i) EXPECT_GT(value(g[i].abs().sum()), 1e-4) << "row " << i;
  EXPECT_EQ(value(g[3].abs().sum()), 0.0);
}

TEST(LossesTriplet, NoValidTripletGivesDifferentiableZero) {
  TripletCase c;
  const std::vector<torch::Tensor> masks = {
      flags({0, 0, 0, 0}),  // no VCF at all
      flags({1, 1, 0, 0}),  // only benign: no negative
      flags({1, 0, 1, 0}),  // one of each: no positive
  };
  for (const torch::Tensor& mask : masks) {
    const torch::Tensor loss = triplet_loss(c.emb, c.labels, mask);
    EXPECT_EQ(value(loss), 0.0) << mask;
    c.emb.mutable_grad() = torch::Tensor();
    loss.backward();
    ASSERT_TRUE(c.emb.grad().defined());
    EXPECT_TRUE(all_finite(c.emb.grad()));
  }
  const torch::Tensor one = torch::ones({1, 2}).requires_grad_();
  EXPECT_EQ(value(triplet_loss(one, longs({1}), flags({1}))), 0.0);
}

// --- benign/malignant head -------------------------------------------------

TEST(LossesBenignMalignant, AveragesOverVcfsOnly) {
  // Row 0 is normal: logits (100, -100) would cost ~200 if counted.
  // Row 1 benign -> class 0, logits (0, 0): ln 2 = 0.693147.
  // Row 2 malignant -> class 1, logits (1, 0): ln(1 + e) = 1.313262. Mean 1.003205.
  const torch::Tensor logits =
      torch::tensor({{100.f, -100.f}, {0.f, 0.f}, {1.f, 0.f}}).requires_grad_();
  EXPECT_NEAR(value(benign_malignant_loss(logits, longs({0, 1, 2}))), 1.003205, kTol);
  const torch::Tensor none = benign_malignant_loss(logits, longs({0, 0, 0}));
  EXPECT_EQ(value(none), 0.0);
  none.backward();
  EXPECT_TRUE(all_finite(logits.grad()));
}

// --- weight loss, eq. 5 ----------------------------------------------------

// u_hat = 4, so the VCF bound is 1/4. One sample per branch:
//   y = 0, w = (1, 1),   u = 1   < 4     -> (1 - 4)^2     = 9
//   y = 0, w = (5, 1),   u = 5  >= 4     -> 0
//   y = 1, w = (1, 1),   u = 1   > 0.25  -> (1 - 0.25)^2  = 0.5625
//   y = 2, w = (0.1, 1), u = 0.1 <= 0.25 -> 0
//   mean 9.5625 / 4 = 2.390625
TEST(LossesWeight, EveryBranchOfEquationFive) {
  const torch::Tensor w =
      torch::tensor({{1.f, 1.f}, {5.f, 1.f}, {1.f, 1.f}, {0.1f, 1.f}}).requires_grad_();
  const torch::Tensor loss = weight_loss(w, longs({0, 0, 1, 2}));
  EXPECT_NEAR(value(loss), 2.390625, kTol);
  loss.backward();
  // d/dw_R (u - t)^2 / 4 = 2 (u - t) / w_C / 4;  d/dw_C = -2 (u - t) w_R / w_C^2 / 4.
  const torch::Tensor g = w.grad();
  EXPECT_NEAR(value(g[0][0]), -1.5, kTol);    // 2 (1 - 4) / 4
  EXPECT_NEAR(value(g[0][1]), 1.5, kTol);
  EXPECT_NEAR(value(g[2][0]), 0.375, kTol);   // 2 (1 - 0.25) / 4
  EXPECT_NEAR(value(g[2][1]), -0.375, kTol);
  EXPECT_EQ(value(g[1].abs().sum()), 0.0);
  EXPECT_EQ(value(g[3].abs().sum()), 0.0);
}

TEST(LossesWeight, VcfIsPulledDownTowardsOneOverUHat) {
  // A malignant vertebra with u = 2: (2 - 0.25)^2 = 3.0625, and the gradient lowers w_R.
  // The literal eq. 5 would give (2 - 4)^2 = 4 and raise it; see Note [Weight loss direction].
  const torch::Tensor w = torch::tensor({{2.f, 1.f}}).requires_grad_();
  const torch::Tensor loss = weight_loss(w, longs({2}));
  EXPECT_NEAR(value(loss), 3.0625, kTol);
  loss.backward();
  EXPECT_GT(value(w.grad()[0][0]), 0.0);
}

TEST(LossesWeight, UHatIsABoundAboveOne) {
  // u_hat = 2: y = 0 with u = 1 -> (1 - 2)^2 = 1.
  EXPECT_NEAR(value(weight_loss(torch::tensor({{1.f, 1.f}}), longs({0}), 2.0)), 1.0, kTol);
  EXPECT_THROW(weight_loss(torch::tensor({{1.f, 1.f}}), longs({0}), 1.0), core::ConfigError);
  EXPECT_EQ(value(weight_loss(torch::zeros({0, 2}), longs({}))), 0.0);
}

// --- class-balanced weights ------------------------------------------------

// beta = 0.999: beta^100 = e^(100 ln 0.999) = 0.904792, beta^10 = 0.990045, beta^1 = 0.999.
//   raw w = 0.001 / (1 - beta^n): 0.001 / 0.095208 = 0.0105033,
//                                 0.001 / 0.009955 = 0.1004508, 0.001 / 0.001 = 1
//   sum 1.1109542; scaled by 3 / sum: 0.0283630, 0.2712555, 2.7003814
TEST(LossesClassBalanced, EffectiveNumberWeightsSumToK) {
  const std::vector<int64_t> counts = {100, 10, 1};
  const torch::Tensor w = cb_weights(counts, 0.999);
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(w.dtype(), torch::kFloat32);
  EXPECT_NEAR(value(w[0]), 0.0283630, kTol);
  EXPECT_NEAR(value(w[1]), 0.2712555, kTol);
  EXPECT_NEAR(value(w[2]), 2.7003814, kTol);
  EXPECT_NEAR(value(w.sum()), 3.0, kTol);
}

TEST(LossesClassBalanced, BetaZeroIsUniform) {
  const std::vector<int64_t> counts = {100, 10, 1};
  const torch::Tensor w = cb_weights(counts, 0.0);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(value(w[k]), 1.0, kTol);
}

TEST(LossesClassBalanced, RejectsEmptyClassAndBadBeta) {
  const std::vector<int64_t> empty_class = {100, 0, 1};
  try {
    cb_weights(empty_class);
    FAIL() << "no ConfigError";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("class 1 has 0"), std::string::npos) << e.what();
  }
  const std::vector<int64_t> counts = {100, 10, 1};
  EXPECT_THROW(cb_weights(counts, 1.0), core::ConfigError);
  EXPECT_THROW(cb_weights(counts, -0.1), core::ConfigError);
  EXPECT_THROW(cb_weights(std::vector<int64_t>{}), core::ConfigError);
}

// --- LDAM and DRW ----------------------------------------------------------

// m_k = 0.5 (n_min / n_k)^(1/4): 0.5 * 0.01^0.25 = 0.5 * 0.316228 = 0.158114,
// 0.5 * 0.1^0.25 = 0.5 * 0.562341 = 0.281171, 0.5.
TEST(LossesLdam, MarginsFollowTheInverseFourthRoot) {
  const std::vector<int64_t> counts = {100, 10, 1};
  const torch::Tensor m = ldam_margins(counts);
  ASSERT_EQ(m.numel(), 3);
  EXPECT_NEAR(value(m[0]), 0.158114, kTol);
  EXPECT_NEAR(value(m[1]), 0.281171, kTol);
  EXPECT_NEAR(value(m[2]), 0.5, kTol);
  EXPECT_NEAR(value(ldam_margins(counts, 1.0)[1]), 0.562341, kTol);
  EXPECT_THROW(ldam_margins(std::vector<int64_t>{5, 0}), core::ConfigError);
  EXPECT_THROW(ldam_margins(counts, 0.0), core::ConfigError);
}

// Margins (0.158114, 0.281171, 0.5), scale 10.
//   row 0, label 2, logits (0.2, 0.1, 0.0) -> (0.2, 0.1, -0.5) * 10 = (2, 1, -5):
//     CE = ln(e^2 + e^1 + e^-5) + 5 = 7 + ln(1 + e^-1 + e^-7) = 7 + 0.313928 = 7.313928
//   row 1, label 0, logits (0.0, 0.3, 0.1) -> (-1.581139, 3, 1):
//     CE = 3 + ln(1 + e^-2 + e^-4.581139) + 1.581139 = 3 + 0.135910 + 1.581139 = 4.717049
//   mean 6.015488
struct LdamCase {
  std::vector<int64_t> counts = {100, 10, 1};
  torch::Tensor logits = torch::tensor({{0.2f, 0.1f, 0.0f}, {0.0f, 0.3f, 0.1f}}).requires_grad_();
  torch::Tensor labels = longs({2, 0});
};

TEST(LossesLdam, SubtractsTheTrueClassMarginBeforeScaling) {
  LdamCase c;
  const torch::Tensor loss = ldam_loss(c.logits, c.labels, ldam_margins(c.counts), 10.0);
  EXPECT_NEAR(value(loss), 6.015488, kTol);
  loss.backward();
  EXPECT_TRUE(all_finite(c.logits.grad()));
  EXPECT_GT(value(c.logits.grad().abs().sum()), 0.0);
}

TEST(LossesLdam, DefaultScaleIsThirty) {
  // The same rows times 30: (6, 3, -15) -> 21.048587; (-4.743416, 9, 3) -> 13.745893.
  LdamCase c;
  EXPECT_NEAR(value(ldam_loss(c.logits, c.labels, ldam_margins(c.counts))), 17.397240, 1e-4);
}

TEST(LossesLdam, ClassWeightsGiveTheWeightedMean) {
  // CB weights at 0.999 (above): w_2 = 2.7003814, w_0 = 0.0283630.
  // (2.7003814 * 7.313928 + 0.0283630 * 4.717049) / (2.7003814 + 0.0283630) = 7.286936
  LdamCase c;
  const torch::Tensor loss =
      ldam_loss(c.logits, c.labels, ldam_margins(c.counts), 10.0, cb_weights(c.counts, 0.999));
  EXPECT_NEAR(value(loss), 7.286936, 1e-4);
}

// beta = 0.9999: raw 0.0001 / (1 - 0.9999^n) = 0.0100496, 0.1000450, 1; sum 1.1100946;
// scaled by 3 / sum: 0.0271587, 0.2703689, 2.7024724.
TEST(LossesDrw, SwitchesToClassBalancedWeightsAtTheStartEpoch) {
  const std::vector<int64_t> counts = {100, 10, 1};
  const torch::Tensor before = drw_weights(counts, 9, 10);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(value(before[k]), 1.0);
  const torch::Tensor at = drw_weights(counts, 10, 10);
  EXPECT_NEAR(value(at[0]), 0.0271587, kTol);
  EXPECT_NEAR(value(at[1]), 0.2703689, kTol);
  EXPECT_NEAR(value(at[2]), 2.7024724, kTol);
  EXPECT_NEAR(value(drw_weights(counts, 50, 10)[2]), 2.7024724, kTol);
  // A class without samples is reported from the first epoch, not only at the switch.
  EXPECT_THROW(drw_weights(std::vector<int64_t>{3, 0, 1}, 0, 10), core::ConfigError);
}

// --- PC-Net ----------------------------------------------------------------

// Pairs: labels (0, 1) differ: (0.9, 0.1) - (0.2, 0.8) = (0.7, -0.7) -> 0.98
//        labels (2, 2) same:   (1, 0) vs (0, 1) would give 2, left out
//        labels (1, 0) differ: (0.5, 0.5) - (0.6, 0.4) -> 0.01 + 0.01 = 0.02
//        mean (0.98 + 0.02) / 2 = 0.5
TEST(LossesPairwiseConfusion, MeanSquaredDistanceOverPairsOfDifferentClasses) {
  const torch::Tensor a = torch::tensor({{0.9f, 0.1f}, {1.f, 0.f}, {0.5f, 0.5f}}).requires_grad_();
  const torch::Tensor b = torch::tensor({{0.2f, 0.8f}, {0.f, 1.f}, {0.6f, 0.4f}}).requires_grad_();
  const torch::Tensor loss = pairwise_confusion_loss(a, b, longs({0, 2, 1}), longs({1, 2, 0}));
  EXPECT_NEAR(value(loss), 0.5, kTol);
  loss.backward();
  // d/dp_a = 2 (p_a - p_b) / 2 pairs: row 0 -> (0.7, -0.7); row 1 is left out.
  EXPECT_NEAR(value(a.grad()[0][0]), 0.7, kTol);
  EXPECT_NEAR(value(b.grad()[0][0]), -0.7, kTol);
  EXPECT_EQ(value(a.grad()[1].abs().sum()), 0.0);
}

TEST(LossesPairwiseConfusion, NoPairOfDifferentClassesGivesZero) {
  const torch::Tensor a = torch::tensor({{0.9f, 0.1f}}).requires_grad_();
  const torch::Tensor b = torch::tensor({{0.2f, 0.8f}}).requires_grad_();
  const torch::Tensor loss = pairwise_confusion_loss(a, b, longs({1}), longs({1}));
  EXPECT_EQ(value(loss), 0.0);
  loss.backward();
  EXPECT_TRUE(all_finite(a.grad()));
  EXPECT_TRUE(all_finite(b.grad()));
}

// --- total and the finiteness check ----------------------------------------

LossTerms scalar_terms(float ce, float d, float ce2, float triplet, float w) {
  LossTerms t;
  t.ce = torch::tensor(ce).requires_grad_();
  t.d = torch::tensor(d).requires_grad_();
  t.ce2 = torch::tensor(ce2).requires_grad_();
  t.triplet = torch::tensor(triplet).requires_grad_();
  t.w = torch::tensor(w).requires_grad_();
  return t;
}

TEST(LossesTotal, PaperWeightsAreOneFifthOneOne) {
  // 1 * 1 + 0.2 * 2 + 1 * (3 + 4) + 1 * 5 = 13.4
  const LossTerms t = tsccn_total(scalar_terms(1, 2, 3, 4, 5));
  EXPECT_NEAR(value(t.total), 13.4, kTol);
  EXPECT_NEAR(value(t.d), 2.0, kTol);  // the terms themselves stay unweighted, for the log
  t.total.backward();
  EXPECT_NEAR(value(t.d.grad()), 0.2, kTol);
  EXPECT_NEAR(value(t.triplet.grad()), 1.0, kTol);
}

TEST(LossesTotal, CustomWeights) {
  // 2 * 1 + 1 * 2 + 0.5 * (3 + 4) + 0 * 5 = 7.5
  LossWeights w;
  w.ce = 2;
  w.d = 1;
  w.c = 0.5;
  w.w = 0;
  EXPECT_NEAR(value(tsccn_total(scalar_terms(1, 2, 3, 4, 5), w).total), 7.5, kTol);
  LossTerms missing = scalar_terms(1, 2, 3, 4, 5);
  missing.triplet = torch::Tensor();
  EXPECT_THROW(tsccn_total(missing), core::InternalError);
}

TEST(LossesTotal, CheckFiniteNamesTheTerm) {
  EXPECT_NO_THROW(check_finite(tsccn_total(scalar_terms(1, 2, 3, 4, 5))));
  const LossTerms bad = tsccn_total(scalar_terms(1, 2, 3, std::nanf(""), 5));
  try {
    check_finite(bad);
    FAIL() << "no NonFiniteLossError";
  } catch (const NonFiniteLossError& e) {
    EXPECT_EQ(e.term(), "triplet");
    EXPECT_TRUE(std::isnan(e.value()));
    const std::string what = e.what();
    EXPECT_NE(what.find("'triplet'"), std::string::npos) << what;
    EXPECT_NE(what.find("ce2=3"), std::string::npos) << what;  // the other values, for context
  }
  // The first bad component is named, not the total it spoils.
  const float inf = std::numeric_limits<float>::infinity();
  const LossTerms inf_w = tsccn_total(scalar_terms(1, 2, 3, 4, inf));
  EXPECT_THROW(
      {
        try {
          check_finite(inf_w);
        } catch (const core::Error& e) {
          EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
          throw;
        }
      },
      NonFiniteLossError);
}

TEST(LossesTotal, BatchWithoutVcfsStillBackpropagates) {
  // Only normal vertebrae: the VCF terms are zeros that stay in the graph.
  const torch::Tensor logits2 = torch::randn({2, 2}).requires_grad_();
  const torch::Tensor emb = torch::randn({2, 4}).requires_grad_();
  const torch::Tensor w = torch::tensor({{1.f, 1.f}, {2.f, 1.f}}).requires_grad_();
  const torch::Tensor labels = longs({0, 0});
  LossTerms t;
  t.ce = torch::tensor(0.5f).requires_grad_();
  t.d = torch::tensor(0.f);
  t.ce2 = benign_malignant_loss(logits2, labels);
  t.triplet = triplet_loss(emb, labels, labels.ne(0));
  t.w = weight_loss(w, labels);  // (1 - 4)^2 and (2 - 4)^2: mean 6.5
  t = tsccn_total(t);
  EXPECT_NO_THROW(check_finite(t));
  EXPECT_NEAR(value(t.total), 0.5 + 6.5, kTol);
  t.total.backward();
  EXPECT_TRUE(all_finite(logits2.grad()));
  EXPECT_TRUE(all_finite(emb.grad()));
  EXPECT_EQ(value(emb.grad().abs().sum()), 0.0);
  EXPECT_GT(value(w.grad().abs().sum()), 0.0);
}

}  // namespace
}  // namespace fracsweep::trainer
