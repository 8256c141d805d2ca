// NTS-Net: anchors, non-maximum suppression, part crops, the ranking loss by hand, and the
// model's shapes and gradients.
#include "trainer/models/nts_net.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "trainer/job_model.h"

namespace fracsweep::trainer {
namespace {

double value(const torch::Tensor& t) { return t.item<double>(); }

TEST(NtsNet, AnchorsFollowTheNavigatorsFlatteningOrder) {
  const std::vector<Box> a = nts_anchors({{{2, 3}, {1, 2}, {1, 1}}});
  ASSERT_EQ(a.size(), 6u * 6 + 6u * 2 + 9u * 1);
  // Scale 1, kind 0 (side 48/448 * 2^(1/3), ratio 2/3), row 0, column 0: centre (1/4, 1/6).
  const double side = 48.0 / 448 * std::pow(2.0, 1.0 / 3);
  const double h = side / std::sqrt(2.0 / 3), w = side * std::sqrt(2.0 / 3);
  EXPECT_NEAR(a[0][0], 0.25 - h / 2, 1e-6);
  EXPECT_NEAR(a[0][1], 1.0 / 6 - w / 2, 1e-6);
  EXPECT_NEAR(a[0][2], 0.25 + h / 2, 1e-6);
  EXPECT_NEAR(a[0][3], 1.0 / 6 + w / 2, 1e-6);
  // Next is column 1 of the same kind: same rows, shifted right by a third.
  EXPECT_NEAR(a[1][1] - a[0][1], 1.0 / 3, 1e-6);
  EXPECT_NEAR(a[1][0], a[0][0], 1e-7);
  // The last anchor: scale 3, kind 8 (side 192/448 * 2^(2/3), ratio 3/2), centred.
  const Box& last = a.back();
  EXPECT_NEAR((last[0] + last[2]) / 2, 0.5, 1e-6);
  EXPECT_NEAR(last[3] - last[1], 192.0 / 448 * std::pow(2.0, 2.0 / 3) * std::sqrt(1.5), 1e-6);
}

TEST(NtsNet, IouAndNonMaximumSuppression) {
  const Box a{0, 0, 1, 1}, b{0, 0, 1, 0.5f}, c{0, 0.5f, 1, 1}, d{0, 0, 0.9f, 1};
  EXPECT_NEAR(box_iou(a, b), 0.5, 1e-6);
  EXPECT_NEAR(box_iou(b, c), 0.0, 1e-6);
  EXPECT_NEAR(box_iou(a, d), 0.9, 1e-6);
  // d (best) suppresses a (IoU 0.9) and overlaps b and c by 0.5 > 0.25: one survivor, then the
  // suppressed fill up, best first.
  EXPECT_EQ(nms_top({0.5f, 0.2f, 0.1f, 0.9f}, {a, b, c, d}, 2, 0.25),
            (std::vector<int64_t>{3, 0}));
  // With a looser threshold, b and c survive d.
  EXPECT_EQ(nms_top({0.5f, 0.2f, 0.1f, 0.9f}, {a, b, c, d}, 3, 0.6),
            (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(nms_top({0.5f, 0.2f}, {a, b}, 5, 0.25).size(), 2u);
}

TEST(NtsNet, CropOfAQuadrantIsThatQuadrantExactly) {
  const torch::Tensor image = torch::arange(64, torch::kFloat32).view({1, 1, 8, 8});
  const torch::Tensor whole = crop_parts(image, {{Box{0, 0, 1, 1}}}, 8);
  EXPECT_TRUE(torch::allclose(whole, image, 1e-5, 1e-5));
  const torch::Tensor quad = crop_parts(image, {{Box{0.5f, 0, 1, 0.5f}}}, 4);  // bottom left
  EXPECT_TRUE(torch::allclose(quad, image.narrow(2, 4, 4).narrow(3, 0, 4), 1e-5, 1e-5));
  // Two images, two boxes each: image-major order; outside the image is zero.
  const torch::Tensor two = torch::cat({image, image + 100});
  const torch::Tensor parts =
      crop_parts(two, {{Box{0, 0, 1, 1}, Box{2, 2, 3, 3}}, {Box{0, 0, 1, 1}, Box{0, 0, 1, 1}}}, 8);
  ASSERT_EQ(parts.sizes(), (std::vector<int64_t>{4, 1, 8, 8}));
  EXPECT_EQ(value(parts[1].abs().sum()), 0.0);
  EXPECT_TRUE(torch::allclose(parts[2], image[0] + 100, 1e-5, 1e-4));
}

TEST(NtsNet, RankLossByHand) {
  // One image, two proposals: proposal 1 is less confident (higher CE), so proposal 0 must
  // outscore it by the margin: max(0, 1 - s0 + s1).
  const torch::Tensor ce = torch::tensor({{0.1f, 0.5f}});
  EXPECT_NEAR(value(nts_rank_loss(torch::tensor({{1.f, 0.f}}), ce)), 0.0, 1e-6);
  EXPECT_NEAR(value(nts_rank_loss(torch::tensor({{0.f, 0.5f}}), ce)), 1.5, 1e-6);
  // Two images: summed, then divided by 2. The second has three proposals ordered by CE
  // 0.2 < 0.3 < 0.9 with scores 0, 0, 0: three pairs, each max(0, 1) = 1.
  const torch::Tensor scores = torch::tensor({{0.f, 0.5f, 9.f}, {0.f, 0.f, 0.f}});
  const torch::Tensor ces = torch::tensor({{0.1f, 0.5f, 0.5f}, {0.3f, 0.2f, 0.9f}});
  // Image 0: pairs (0 better than 1): 1.5; (0 better than 2): max(0, 1 - 0 + 9) = 10;
  // 1 and 2 tie (no pair).
  EXPECT_NEAR(value(nts_rank_loss(scores, ces)), (1.5 + 10 + 3) / 2, 1e-5);
  // Equal confidences give no pair at all.
  EXPECT_NEAR(value(nts_rank_loss(scores, torch::ones({2, 3}))), 0.0, 1e-6);
}

TEST(NtsNet, ShapesGradientsAndPrediction) {
  torch::manual_seed(5);
  spec::JobConfig job;
  job.model.variant = "nts-net";
  job.model.width = 4;
  auto model = make_job_model(job, {10, 5, 5});
  EXPECT_FALSE(model->uses_neighbours());
  EXPECT_EQ(paper_sampler("nts-net"), "oversample");
  auto* net = dynamic_cast<NtsNetImpl*>(&model->module());
  ASSERT_NE(net, nullptr);
  BatchTensors b;
  b.images = torch::rand({3, 3, 64, 64});  // with neighbours: only the current view is used
  b.labels = torch::tensor({0, 1, 2}, torch::kInt64);
  b.samples = torch::arange(3, torch::kInt64);
  const NtsOutput out = net->forward(current_view(b.images));
  EXPECT_EQ(out.raw_logits.sizes(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(out.concat_logits.sizes(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(out.part_logits.sizes(), (std::vector<int64_t>{18, 3}));  // M = 6 per image
  EXPECT_EQ(out.part_scores.sizes(), (std::vector<int64_t>{3, 6}));

  const LossTerms t = model->loss(b, 0);
  EXPECT_NEAR(value(t.total), value(t.ce) + value(t.ce2) + value(t.d), 1e-4);
  model->module().zero_grad();
  t.total.backward();
  const auto params = model->module().named_parameters();
  for (const char* name : {"backbone.conv1.weight", "backbone.layer4.1.conv2.weight",
                           "down1.weight", "down2.weight", "fc.weight", "part_fc.weight",
                           "concat_fc.weight"}) {
    ASSERT_TRUE(params.contains(name)) << name;
    const torch::Tensor g = params[name].grad();
    ASSERT_TRUE(g.defined()) << name;
    EXPECT_GT(value(g.abs().sum()), 0.0) << name;
  }
  // The navigator learns through the scores of the anchors it picked.
  double tidy = 0;
  for (const char* name : {"tidy1.weight", "tidy2.weight", "tidy3.weight"})
    if (params[name].grad().defined()) tidy += value(params[name].grad().abs().sum());
  EXPECT_GT(tidy, 0.0);

  model->module().eval();
  const torch::Tensor probs = model->probabilities(b);
  EXPECT_TRUE(torch::allclose(probs, torch::softmax(net->forward(current_view(b.images))
                                                        .concat_logits, 1)));
  EXPECT_TRUE(torch::allclose(probs.sum(1), torch::ones({3})));
}

TEST(NtsNet, BadPartCountsAreRefused) {
  NtsOptions o;
  o.backbone.width = 4;
  o.parts = 7;
  EXPECT_THROW(NtsNet{o}, core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::trainer
