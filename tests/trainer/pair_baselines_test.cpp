// SMOTE, PC-Net and SDL-Net on batches small enough to check by hand: where
// SMOTE puts its synthetic samples and with which randomness, the pair terms on
// known logits, and the SDL-Net model's outputs and gradients at width 4.
// ln 3 = 1.098612, ln 4 = 1.386294, ln(e^5 + 2) = 5.013386,
// ln(1 + e^-5) = 0.006715.
#include "trainer/models/pair_baselines.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/error.h"

namespace fracsweep::trainer {
namespace {

constexpr double kTol = 1e-5;

torch::Tensor longs(std::vector<int64_t> v) { return torch::tensor(v); }
double value(const torch::Tensor& t) { return t.item<double>(); }

// --- SMOTE ----------------------------------------------------------------

// Eight 2x2 images; row r is v_r * (1, 2, 3, 4). Class 0 (rows 0, 2, 4, 7) is
// the majority. Class 1 sits at v = 0, 1, 10 (rows 1, 3, 5), so with k = 1 the
// nearest neighbours are 1 -> 3, 3 -> 1, 5 -> 3. Row 6 is alone in class 2.
struct SmoteBatch {
  torch::Tensor images;
  torch::Tensor labels = longs({0, 1, 0, 1, 0, 1, 2, 0});
  torch::Tensor samples = longs({10, 11, 12, 13, 14, 15, 16, 17});
  SmoteBatch() {
    const std::vector<float> v = {3, 0, -2, 1, 7, 10, 5, 4};
    const torch::Tensor pattern = torch::tensor({1.f, 2.f, 3.f, 4.f}).reshape({1, 1, 2, 2});
    images = torch::tensor(v).reshape({8, 1, 1, 1}) * pattern;
  }
};

TEST(PairBaselines, SmoteReplacesMinoritySamplesByConvexCombinationsOfNearestSameClass) {
  const SmoteBatch b;
  const std::vector<int64_t> nearest = {-1, 3, -1, 1, -1, 3, -1, -1};
  int replaced = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto plan = smote_plan(b.images, b.labels, b.samples, 1, seed);
    const torch::Tensor out = apply_smote(b.images, plan);
    ASSERT_EQ(out.sizes(), b.images.sizes());
    for (int64_t r = 0; r < 8; ++r) {
      const auto& d = plan[static_cast<size_t>(r)];
      if (d.partner < 0) {
        EXPECT_TRUE(torch::equal(out[r], b.images[r])) << "row " << r;
        continue;
      }
      ++replaced;
      ASSERT_NE(nearest[static_cast<size_t>(r)], -1) << "row " << r << " must be kept";
      EXPECT_EQ(d.partner, nearest[static_cast<size_t>(r)]) << "row " << r;
      EXPECT_GE(d.lambda, 0.0);
      EXPECT_LT(d.lambda, 1.0);
      const torch::Tensor x = b.images[r], xn = b.images[d.partner];
      EXPECT_TRUE(torch::allclose(out[r], x + d.lambda * (xn - x), 0, 1e-6)) << "row " << r;
      // On the segment: every pixel is the same mix of the two rows.
      const double t = (value(out[r][0][1][1]) - value(x[0][1][1])) /
                       (value(xn[0][1][1]) - value(x[0][1][1]));
      EXPECT_NEAR(t, d.lambda, 1e-5);
    }
  }
  // Three eligible rows over 200 seeds, each replaced with probability 1/2.
  EXPECT_GT(replaced, 240);
  EXPECT_LT(replaced, 360);
}

TEST(PairBaselines, SmoteDrawsUniformlyAmongAtMostKNeighboursAndSkipsCopies) {
  SmoteBatch b;
  std::set<int64_t> partners_k5, partners_k1;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    // k = 5 but class 1 has only two other samples: both are drawn.
    const auto p5 = smote_plan(b.images, b.labels, b.samples, 5, seed);
    if (p5[1].partner >= 0) partners_k5.insert(p5[1].partner);
    // Row 3 another copy of row 1's store sample: row 1's nearest is then row 5.
    torch::Tensor copies = b.samples.clone();
    copies[3] = 11;
    const auto p1 = smote_plan(b.images, b.labels, copies, 1, seed);
    if (p1[1].partner >= 0) partners_k1.insert(p1[1].partner);
  }
  EXPECT_EQ(partners_k5, (std::set<int64_t>{3, 5}));
  EXPECT_EQ(partners_k1, (std::set<int64_t>{5}));
}

TEST(PairBaselines, SmoteIsDeterministicForSeedEpochAndBatch) {
  const SmoteBatch b;
  const uint64_t seed = smote_seed(1, 3, 10, 8);
  EXPECT_EQ(seed, smote_seed(1, 3, 10, 8));
  EXPECT_NE(seed, smote_seed(2, 3, 10, 8));
  EXPECT_NE(seed, smote_seed(1, 4, 10, 8));
  EXPECT_NE(seed, smote_seed(1, 3, 11, 8));
  EXPECT_NE(seed, smote_seed(1, 3, 10, 9));
  const auto a = smote_plan(b.images, b.labels, b.samples, 2, seed);
  const auto c = smote_plan(b.images, b.labels, b.samples, 2, seed);
  ASSERT_EQ(a.size(), c.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].partner, c[i].partner);
    EXPECT_EQ(a[i].lambda, c[i].lambda);
  }
  EXPECT_TRUE(torch::equal(apply_smote(b.images, a), apply_smote(b.images, c)));
  bool differs = false;
  for (int epoch = 4; epoch < 12 && !differs; ++epoch) {
    const auto o = smote_plan(b.images, b.labels, b.samples, 2, smote_seed(1, epoch, 10, 8));
    for (size_t i = 0; i < o.size(); ++i)
      differs |= o[i].partner != a[i].partner || o[i].lambda != a[i].lambda;
  }
  EXPECT_TRUE(differs) << "the epoch does not change the draws";
}

// --- job models at width 4 -------------------------------------------------

spec::JobConfig tiny_config(const std::string& variant) {
  spec::JobConfig j;
  j.model.variant = variant;
  j.model.width = 4;
  return j;
}

BatchTensors random_batch(std::vector<int64_t> labels) {
  const auto b = static_cast<int64_t>(labels.size());
  BatchTensors t;
  t.images = torch::rand({b, 1, 32, 32});
  t.labels = longs(labels);
  t.samples = torch::arange(100, 100 + b, torch::kLong);
  return t;
}

TEST(PairBaselines, SmoteModelLossIsReproducibleAndDependsOnTheEpoch) {
  torch::manual_seed(1);
  const spec::JobConfig j = tiny_config("smote");
  auto model = make_job_model(j, {10, 5, 5});
  EXPECT_FALSE(model->uses_neighbours());
  const BatchTensors b = random_batch({0, 1, 1, 1, 2, 2, 2, 0});
  const LossTerms l0 = model->loss(b, 0);
  EXPECT_EQ(value(l0.total), value(model->loss(b, 0).total));
  EXPECT_EQ(value(l0.d), 0.0);
  EXPECT_EQ(value(l0.total), value(l0.ce));
  bool differs = false;
  for (int epoch = 1; epoch < 6 && !differs; ++epoch)
    differs = value(model->loss(b, epoch).total) != value(l0.total);
  EXPECT_TRUE(differs) << "the SMOTE batch does not change with the epoch";
  EXPECT_EQ(model->probabilities(b).sizes(), (std::vector<int64_t>{8, 3}));
}

// --- PC-Net ------------------------------------------------------------------

// Five samples; pairs (0, 2) and (1, 3); row 4 is unpaired.
//   CE: row 0 (0, ln 2, 0), label 0: softmax (1/4, 1/2, 1/4), CE = ln 4;
//       row 1 (ln 2, 0, 0), label 1: softmax (1/2, 1/4, 1/4), CE = ln 4;
//       rows 2 and 3 (0, 0, 0): ln 3 each; row 4 (5, 0, 0), label 1: ln(e^5 + 2).
//       mean (2 * 1.386294 + 2 * 1.098612 + 5.013386) / 5 = 1.996640
//   pair (0, 2): labels 0, 0, no confusion term.
//   pair (1, 3): labels 1, 2: |(1/2, 1/4, 1/4) - (1/3, 1/3, 1/3)|^2
//                = 1/36 + 1/144 + 1/144 = 1/24 = 0.041667
//   Other pairings give other values: (0, 1), (2, 3) gives 1/16; (0, 1), (1, 2)
//   gives 1/12.
TEST(PairBaselines, PcNetLossIsCrossEntropyPlusWeightedConfusionOfHalves) {
  const float ln2 = std::log(2.f);
  const torch::Tensor logits = torch::tensor({{0.f, ln2, 0.f}, {ln2, 0.f, 0.f}, {0.f, 0.f, 0.f},
                                              {0.f, 0.f, 0.f}, {5.f, 0.f, 0.f}})
                                   .requires_grad_();
  const LossTerms t = pc_net_terms(logits, longs({0, 1, 0, 2, 1}), 10.0);
  EXPECT_NEAR(value(t.ce), 1.996640, kTol);
  EXPECT_NEAR(value(t.d), 1.0 / 24, kTol);
  EXPECT_NEAR(value(t.total), 1.996640 + 10.0 / 24, kTol);
  t.total.backward();
  EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>());
}

TEST(PairBaselines, PcNetPairTermIsZeroExactlyWhenEveryPairSharesItsClass) {
  torch::manual_seed(2);
  auto model = make_job_model(tiny_config("pc-net"), {10, 5, 5});
  BatchTensors b = random_batch({0, 1, 2, 0, 1, 2});
  const LossTerms same = model->loss(b, 0);
  EXPECT_EQ(value(same.d), 0.0);
  EXPECT_GT(value(same.ce), 0.0);
  EXPECT_EQ(value(same.total), value(same.ce));
  b.labels = longs({0, 1, 2, 1, 2, 0});
  const LossTerms differ = model->loss(b, 0);
  EXPECT_GT(value(differ.d), 0.0);
  EXPECT_NEAR(value(differ.total), value(differ.ce) + 10 * value(differ.d), kTol);
}

// --- SDL-Net -----------------------------------------------------------------

// Labels (0, 1, 0, 2): pair (0, 2) shares its class (target 1), pair (1, 3)
// does not (target 0). Zero logits for A and B: CE_A = CE_B = ln 3.
//   synergic logits (0, 5) and (5, 0): ln(1 + e^-5) each, mean 0.006715
//   swapped: 5 + ln(1 + e^-5) = 5.006715
TEST(PairBaselines, SdlNetTermsPredictWhetherPairsShareTheirClass) {
  SdlOutput out;
  out.logits_a = torch::zeros({4, 3});
  out.logits_b = torch::zeros({4, 3});
  out.synergic = torch::tensor({{0.f, 5.f}, {5.f, 0.f}});
  const torch::Tensor y = longs({0, 1, 0, 2});
  const LossTerms right = sdl_net_terms(out, y, 2.0);
  EXPECT_NEAR(value(right.ce), 2 * 1.098612, kTol);
  EXPECT_NEAR(value(right.d), 0.006715, kTol);
  EXPECT_NEAR(value(right.total), 2 * 1.098612 + 2 * 0.006715, kTol);
  out.synergic = torch::tensor({{5.f, 0.f}, {0.f, 5.f}});
  EXPECT_NEAR(value(sdl_net_terms(out, y, 2.0).d), 5.006715, kTol);
}

TEST(PairBaselines, SdlNetShapesGradientsAndMeanOfTwoSoftmaxes) {
  torch::manual_seed(3);
  auto model = make_job_model(tiny_config("sdl-net"), {10, 5, 5});
  auto* net = dynamic_cast<SdlNetImpl*>(&model->module());
  ASSERT_NE(net, nullptr);
  const BatchTensors b = random_batch({0, 1, 2, 1, 0});  // odd: row 4 unpaired
  const SdlOutput out = net->forward(b.images);
  EXPECT_EQ(out.logits_a.sizes(), (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(out.logits_b.sizes(), (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(out.synergic.sizes(), (std::vector<int64_t>{2, 2}));
  // Different initialisation.
  EXPECT_FALSE(torch::equal(net->net_a()->backbone().named_parameters()["conv1.weight"],
                            net->net_b()->backbone().named_parameters()["conv1.weight"]));

  // The synergic term alone reaches both networks and every synergic weight.
  const LossTerms t = model->loss(b, 0);
  EXPECT_GT(value(t.d), 0.0);
  EXPECT_NEAR(value(t.total), value(t.ce) + value(t.d), kTol);
  model->module().zero_grad();
  t.d.backward();
  const auto params = model->module().named_parameters();
  for (const char* name : {"net_a.backbone.conv1.weight", "net_b.backbone.conv1.weight"}) {
    ASSERT_TRUE(params.contains(name)) << name;
    const torch::Tensor g = params[name].grad();
    ASSERT_TRUE(g.defined()) << name;
    EXPECT_GT(value(g.abs().sum()), 0.0) << name;
  }
  int synergic = 0;
  for (const auto& p : params) {
    if (p.key().rfind("synergic.", 0) != 0) continue;
    ++synergic;
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(value(p.value().grad().abs().sum()), 0.0) << p.key();
  }
  EXPECT_EQ(synergic, 4);  // two Linear layers, weight and bias

  // The classification terms reach both heads.
  model->module().zero_grad();
  model->loss(b, 0).ce.backward();
  for (const char* name : {"net_a.fc.weight", "net_b.fc.weight"})
    EXPECT_GT(value(params[name].grad().abs().sum()), 0.0) << name;

  model->module().eval();
  const torch::Tensor probs = model->probabilities(b);
  EXPECT_EQ(probs.sizes(), (std::vector<int64_t>{5, 3}));
  const torch::Tensor expected = (torch::softmax(net->net_a()->forward(b.images), 1) +
                                  torch::softmax(net->net_b()->forward(b.images), 1)) /
                                 2;
  EXPECT_TRUE(torch::allclose(probs, expected, 1e-6, 1e-7));
  EXPECT_FALSE(torch::allclose(probs, torch::softmax(net->net_a()->forward(b.images), 1)));
  EXPECT_TRUE(torch::allclose(probs.sum(1), torch::ones({5})));
}

// --- wiring ----------------------------------------------------------------

TEST(PairBaselines, AreBuiltAndOverSampled) {
  for (const char* v : {"smote", "pc-net", "sdl-net"}) {
    EXPECT_TRUE(is_pair_baseline(v)) << v;
    EXPECT_EQ(paper_sampler(v), "oversample") << v;
    torch::manual_seed(4);
    EXPECT_NE(make_job_model(tiny_config(v), {10, 5, 5}), nullptr) << v;
  }
  EXPECT_EQ(paper_sampler("resnet18"), "shuffle");
  EXPECT_FALSE(is_pair_baseline("resnet18"));
  // RS is Table II's over-sampled ResNet-18: the same network and sampler.
  EXPECT_EQ(paper_sampler("rs"), "oversample");
  EXPECT_EQ(paper_sampler("rs"), paper_sampler("tsccn"));
  torch::manual_seed(4);
  const auto rs = make_job_model(tiny_config("rs"), {10, 5, 5});
  torch::manual_seed(4);
  const auto resnet = make_job_model(tiny_config("resnet18"), {10, 5, 5});
  const auto a = rs->module().parameters(), b = resnet->module().parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
  EXPECT_THROW(make_pair_baseline(tiny_config("resnet18")), core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::trainer
