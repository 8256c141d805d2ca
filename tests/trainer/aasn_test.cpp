// AASN: its losses against hand-computed values, feature alignment by the
// stored warp, every Table 2 row's and symmetry baseline's shapes, gradients
// and device placement, and what sets each baseline apart.
#include "trainer/models/aasn.h"
#include "trainer/models/aasn_job.h"
#include "trainer/models/image_label_baselines.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "datastore/phantom_pelvis.h"
#include "strict_device.h"
#include "test_util.h"

namespace fracsweep::trainer {
namespace {

const char* const kRows[] = {"vanilla", "ff",  "ff-fa",      "ff-cl", "ff-fa-cl-noproj",
                             "aasn",    "liu-distance", "deepsymnet", "cbn"};

AasnOptions tiny(const std::string& row) {
  AasnOptions o;
  o.backbone.growth_rate = 2;
  o.backbone.init_features = 4;
  o.switches = AasnSwitches::of_row(row);
  return o;
}

TEST(AasnLosses, BinaryCrossEntropyByHand) {
  const auto logits = torch::tensor({0.0f, 2.0f}).view({1, 1, 1, 2});
  const auto mask = torch::tensor({1.0f, 0.0f}).view({1, 1, 1, 2});
  const double expected = (std::log(2.0) + std::log(1 + std::exp(2.0))) / 2;
  EXPECT_NEAR(heatmap_bce(logits, mask).item<double>(), expected, 1e-6);
}

TEST(AasnLosses, ContrastiveMarginLossByHand) {
  // Two pixels of two channels: d = 0.5 off the fracture (pulled: d^2 = 0.25),
  // d = 0.1 on it (pushed to m = 0.5: (0.5 - 0.1)^2 = 0.16).
  const auto a = torch::zeros({1, 2, 1, 2});
  const auto b = torch::tensor({0.3f, 0.1f, 0.4f, 0.0f}).view({1, 2, 1, 2});
  const auto on = torch::tensor({0.0f, 1.0f}).view({1, 1, 1, 2});
  EXPECT_NEAR(contrastive_margin_loss(a, b, on, 0.5).item<double>(), (0.25 + 0.16) / 2, 1e-6);
  // A full-resolution mask is max-pooled: one marked pixel marks its cell.
  auto fine = torch::zeros({1, 1, 4, 8});
  fine[0][0][3][5] = 1;
  EXPECT_NEAR(contrastive_margin_loss(a, b, fine, 0.5).item<double>(), (0.25 + 0.16) / 2, 1e-6);
  // Far apart on the fracture costs nothing.
  EXPECT_NEAR(contrastive_margin_loss(a, b * 10, torch::ones({1, 1, 1, 2}), 0.5).item<double>(), 0,
              1e-9);
}

TEST(AasnBaselines, LogSumExpPoolingByHand) {
  // (1/r) log(mean exp(r x)) of {0, 1} at r = 10, and its limits: the mean as r -> 0,
  // the maximum as r grows.
  const auto maps = torch::tensor({0.0f, 1.0f}).view({1, 1, 1, 2});
  const double expected = (std::log(1 + std::exp(10.0)) - std::log(2.0)) / 10;
  EXPECT_NEAR(lse_pool(maps, 10)[0].item<double>(), expected, 1e-6);
  EXPECT_NEAR(lse_pool(maps, 1e-4)[0].item<double>(), 0.5, 1e-4);
  EXPECT_NEAR(lse_pool(maps * 100, 10)[0].item<double>(), 100 - std::log(2.0) / 10, 1e-3);
}

TEST(AasnAlignment, AMirrorGridMirrorsAFeatureMap) {
  const auto x = torch::randn({1, 3, 4, 8});
  // Pixel centres of the map itself, mirrored left to right.
  auto grid = torch::empty({1, 4, 8, 2});
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 8; ++c) {
      grid[0][r][c][0] = -((2 * c + 1) / 8.0 - 1);
      grid[0][r][c][1] = (2 * r + 1) / 4.0 - 1;
    }
  EXPECT_TRUE(torch::allclose(align_to(x, grid), torch::flip(x, {3}), 1e-5, 1e-6));
  // A coarser grid is resized first; away from the border (where interpolation
  // clamps to the outer cells) the mirror is exact too.
  const auto coarse = grid.index({torch::indexing::Slice(), torch::indexing::Slice(0, 4, 2),
                                  torch::indexing::Slice(0, 8, 2)});
  const auto shifted = (coarse + grid.index({torch::indexing::Slice(), torch::indexing::Slice(1, 4, 2),
                                             torch::indexing::Slice(1, 8, 2)})) / 2;  // cell centres
  const auto inner = torch::indexing::Slice(1, -1);
  EXPECT_TRUE(torch::allclose(align_to(x, shifted).index({torch::indexing::Slice(), torch::indexing::Slice(), inner, inner}),
                              torch::flip(x, {3}).index({torch::indexing::Slice(), torch::indexing::Slice(), inner, inner}),
                              1e-5, 1e-6));
}

TEST(AasnAlignment, TheStoredWarpAlignsLikeTheStoresOwnWarp) {
  datastore::PelvisPhantomOptions o;
  o.images = 8;
  o.fractured = 0;
  o.height = 128;
  o.width = 256;
  const auto tensor = [](const std::vector<uint8_t>& v, int h, int w) {
    return torch::tensor(std::vector<float>(v.begin(), v.end())).view({1, 1, h, w});
  };
  double aligned_diff = 0, unaligned_diff = 0;
  for (int i = 0; i < o.images; ++i) {
    const auto v = datastore::synth_pelvis_image(o, i, 0).view;
    const auto twin = tensor(v.flipped, v.height, v.width);
    const auto grid = torch::tensor(v.warp.xy).view({1, v.warp.rows, v.warp.cols, 2});
    const auto aligned = align_to(twin, grid);
    // The model's alignment is the store's own warp (warp_image), to rounding.
    const auto want = tensor(datastore::warp_image(v.flipped, v.warp, v.height, v.width), v.height, v.width);
    EXPECT_LT((aligned - want).abs().max().item<double>(), 0.51) << i;
    // Away from the border (where the warp may reach outside I_f), the aligned
    // twin is closer to the image than the twin as cut.
    const auto inner_h = torch::indexing::Slice(v.height / 8, v.height - v.height / 8);
    const auto inner_w = torch::indexing::Slice(v.width / 8, v.width - v.width / 8);
    const auto image = tensor(v.image, v.height, v.width);
    const auto all = torch::indexing::Slice();
    aligned_diff += (aligned - image).index({all, all, inner_h, inner_w}).abs().mean().item<double>();
    unaligned_diff += (twin - image).index({all, all, inner_h, inner_w}).abs().mean().item<double>();
  }
  EXPECT_LT(aligned_diff, 0.9 * unaligned_diff) << "mean |twin - image|, aligned against as cut";
}

struct Batch {
  torch::Tensor image, twin, grid, mask;
};

Batch batch(const torch::Device& device) {
  torch::manual_seed(3);
  Batch b;
  b.image = torch::rand({2, 1, 64, 64});
  b.twin = torch::rand({2, 1, 64, 64});
  b.grid = (torch::rand({2, 8, 8, 2}) * 2 - 1) * 0.9;
  b.mask = (torch::rand({2, 1, 64, 64}) > 0.9).to(torch::kFloat32);
  b.image = b.image.to(device);
  b.twin = b.twin.to(device);
  b.grid = b.grid.to(device);
  b.mask = b.mask.to(device);
  return b;
}

torch::Tensor total_loss(const AasnOutput& out, const Batch& b, const AasnOptions& o) {
  auto loss = heatmap_bce(out.logits, b.mask);
  if (out.embedding.defined())
    loss = loss + o.lambda * contrastive_margin_loss(out.embedding, out.embedding_twin, b.mask, o.margin);
  return loss;
}

TEST(Aasn, EveryRowHasItsShapesAndGradients) {
  for (const std::string row : kRows) {
    torch::manual_seed(1);
    const AasnOptions o = tiny(row);
    Aasn model(o);
    const Batch b = batch(torch::kCPU);
    const AasnOutput out = model->forward(b.image, b.twin, b.grid);
    EXPECT_EQ(out.logits.sizes(), torch::IntArrayRef({2, 1, 64, 64})) << row;
    EXPECT_EQ(out.embedding.defined(), o.switches.contrastive) << row;
    const int64_t c3 = model->backbone()->channels_after_block(3);
    const Fusion fusion = o.switches.fusion;
    if (o.switches.distance_readout) {  // nothing decodes: no transition 3, block 4 or head
      EXPECT_FALSE(model->named_parameters().contains("head.weight")) << row;
      EXPECT_FALSE(model->named_parameters().contains(
          "backbone.features.denseblock4.denselayer1.conv1.weight"))
          << row;
    } else {
      EXPECT_EQ(model->backbone()->transition(3)->conv()->weight.size(1),
                fusion == Fusion::kConcat || fusion == Fusion::kGatedConcat ? 2 * c3 : c3)
          << row;
    }
    EXPECT_EQ(model->named_parameters().contains("gate.weight"), fusion == Fusion::kGatedConcat)
        << row;
    EXPECT_EQ(model->named_parameters().contains("project_conv.weight"),
              o.switches.contrastive && o.switches.projection)
        << row;
    if (out.embedding.defined()) {
      EXPECT_EQ(out.embedding.size(1), o.switches.projection ? c3 / 2 : c3) << row;
    }
    const auto loss = total_loss(out, b, o);
    EXPECT_TRUE(std::isfinite(loss.item<double>())) << row;
    loss.backward();
    const auto g = model->backbone()->named_parameters()["features.conv0.weight"].grad();
    ASSERT_TRUE(g.defined()) << row;
    EXPECT_GT(g.abs().sum().item<double>(), 0) << row;
    const auto scores = image_scores(out.logits);
    EXPECT_EQ(scores.sizes(), torch::IntArrayRef({2}));
    EXPECT_NEAR(scores[0].item<double>(), torch::sigmoid(out.logits[0].max()).item<double>(), 1e-6);
  }
  EXPECT_THROW(AasnSwitches::of_row("ff-fa-cl"), core::ConfigError);
}

// The identity warp: every cell samples itself.
torch::Tensor identity_grid(int64_t b, int64_t h, int64_t w) {
  const auto theta = torch::tensor({1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f}).view({1, 2, 3}).expand({b, 2, 3});
  return torch::nn::functional::affine_grid(theta, {b, 1, h, w}, false);
}

TEST(AasnBaselines, DeepSymNetSeesOnlyWhatDiffersFromTheTwin) {
  // With the image as its own twin, |F - F'_f| is zero whatever the image, so
  // every image gets the same heatmap; FF's concatenation does not.
  torch::manual_seed(1);
  Aasn deepsym(tiny("deepsymnet")), ff(tiny("ff"));
  deepsym->eval();
  ff->eval();
  const auto images = torch::rand({2, 1, 64, 64});
  const auto grid = identity_grid(2, 64, 64);
  const auto a = deepsym->forward(images, images, grid).logits;
  EXPECT_TRUE(torch::allclose(a[0], a[1], 1e-5, 1e-6));
  const auto b = ff->forward(images, images, grid).logits;
  EXPECT_FALSE(torch::allclose(b[0], b[1], 1e-3, 1e-3));
}

TEST(AasnBaselines, CbnWithItsGateOpenIsConcatenation) {
  // The same seed builds the same backbone and head (the gate comes last); a
  // gate held open (sigmoid(30) ~ 1) passes the twin's features as FF does,
  // and one held shut passes nothing of them.
  torch::manual_seed(2);
  Aasn cbn(tiny("cbn"));
  torch::manual_seed(2);
  Aasn ff(tiny("ff"));
  cbn->eval();
  ff->eval();
  const Batch b = batch(torch::kCPU);
  auto gate = cbn->named_parameters();
  torch::NoGradGuard no_grad;
  gate["gate.weight"].zero_();
  gate["gate.bias"].fill_(30);
  const auto open = cbn->forward(b.image, b.twin, b.grid).logits;
  EXPECT_TRUE(torch::allclose(open, ff->forward(b.image, b.twin, b.grid).logits, 1e-4, 1e-5));
  gate["gate.bias"].fill_(-30);
  const auto shut = cbn->forward(b.image, b.twin, b.grid).logits;
  const auto other_twin = cbn->forward(b.image, torch::rand_like(b.twin), b.grid).logits;
  EXPECT_TRUE(torch::allclose(shut, other_twin, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(open, shut, 1e-3, 1e-3));
}

TEST(AasnBaselines, LiusHeatmapIsTheLearnedDistance) {
  torch::manual_seed(3);
  const AasnOptions o = tiny("liu-distance");
  Aasn liu(o);
  liu->eval();
  const Batch b = batch(torch::kCPU);
  const auto out = liu->forward(b.image, b.twin, b.grid);
  // p = d / (d + m) at every cell; the image's corner pixel is its corner cell's.
  const auto d = (out.embedding - out.embedding_twin).pow(2).sum(1).sqrt();
  const auto p = torch::sigmoid(out.logits);
  for (int i = 0; i < 2; ++i) {
    const double di = d[i][0][0].item<double>();
    EXPECT_NEAR(p[i][0][0][0].item<double>(), di / (di + o.margin), 1e-5) << i;
  }
  // An image that is its own twin has no asymmetry: every pixel near 0.
  const auto same = liu->forward(b.image, b.image, identity_grid(2, 64, 64));
  EXPECT_LT(image_scores(same.logits).max().item<double>(), 1e-3);
  EXPECT_GT(image_scores(out.logits).min().item<double>(), 0.01);
}

TEST(AasnBaselines, TheSecondStageSeesTheWindowAroundTheFirstStagesPeak) {
  const auto image = torch::arange(2 * 64 * 64, torch::kFloat32).view({2, 1, 64, 64});
  auto maps = torch::zeros({2, 1, 4, 4});
  maps[0][0][1][2] = 5;  // cell centre (24, 40): the window is rows 8..39, columns 24..55
  maps[1][0][0][0] = 5;  // a corner: the window moves inside, rows and columns 0..31
  const auto crop = crop_at_peak(image, maps);
  using torch::indexing::Slice;
  ASSERT_EQ(crop.sizes(), torch::IntArrayRef({2, 1, 32, 32}));
  EXPECT_TRUE(torch::allclose(crop[0], image[0].index({Slice(), Slice(8, 40), Slice(24, 56)}), 0, 1e-2));
  EXPECT_TRUE(torch::allclose(crop[1], image[1].index({Slice(), Slice(0, 32), Slice(0, 32)}), 0, 1e-2));
  EXPECT_THROW(crop_at_peak(image, torch::zeros({2, 4, 4})), core::ConfigError);
}

// Every tensor a row makes follows the model's device: on the strict test
// device (tests/trainer/strict_device.h) a CPU tensor in the step is refused.
TEST(Aasn, EveryRowTrainsAStepOnTheStrictDevice) {
  for (const std::string row : kRows) {
    torch::manual_seed(1);
    const AasnOptions o = tiny(row);
    Aasn model(o);
    model->to(testing::strict_device());
    const Batch b = batch(testing::strict_device());
    const AasnOutput out = model->forward(b.image, b.twin, b.grid);
    EXPECT_EQ(out.logits.device(), testing::strict_device()) << row;
    const auto loss = total_loss(out, b, o);
    EXPECT_NO_THROW(loss.backward()) << row;
  }
}

}  // namespace
}  // namespace fracsweep::trainer
