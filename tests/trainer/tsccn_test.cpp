// TSCCN: the ablation variants of Table III, output shapes, gradient flow, branch sharing,
// option checks and determinism, on tiny ResNets (width 4, 32 x 32 patches).
#include "trainer/models/tsccn.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "test_util.h"

namespace fracsweep::trainer {
namespace {

constexpr int64_t kBatch = 2;
constexpr int64_t kSize = 32;

TsccnOptions tiny(const std::string& variant) {
  TsccnOptions o = tsccn_variant(variant);
  o.backbone.width = 4;
  o.embedding_dim = 16;
  return o;
}

struct Batch {
  torch::Tensor images = torch::randn({kBatch, 3, kSize, kSize});
  torch::Tensor has_prev = torch::tensor({true, false});
  torch::Tensor has_next = torch::tensor({true, true});
};

TsccnOutput run(Tsccn& model, const Batch& batch) {
  return model->forward(batch.images, batch.has_prev, batch.has_next);
}

int64_t parameter_count(const Tsccn& model) {
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  return n;
}

bool has_parameter_prefix(const Tsccn& model, const std::string& prefix) {
  for (const auto& p : model->named_parameters()) {
    if (p.key().rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// Every option set the tests sweep: the six rows, plus unshared branches, RGB input, other
// splits and the compare network in a single stream.
std::vector<std::pair<std::string, TsccnOptions>> configurations() {
  std::vector<std::pair<std::string, TsccnOptions>> out;
  for (const std::string& name : tsccn_variant_names()) out.emplace_back(name, tiny(name));
  TsccnOptions unshared = tiny("tsccn");
  unshared.share_branches = false;
  out.emplace_back("tsccn, unshared branches", unshared);
  TsccnOptions rgb = tiny("tsccn");
  rgb.backbone.in_channels = 3;
  out.emplace_back("tsccn, rgb backbone", rgb);
  for (int split : {1, 4, 5}) {
    TsccnOptions o = tiny("tsccn");
    o.split_stage = split;
    o.share_branches = split != 4;
    out.emplace_back("tsccn, split " + std::to_string(split), o);
  }
  TsccnOptions single = tiny("single-stream");
  single.compare_network = true;
  single.discriminator = true;
  single.share_branches = false;
  out.emplace_back("single-stream, compare, unshared", single);
  return out;
}

TEST(TsccnVariants, NamesAreTheRowsOfTableThree) {
  EXPECT_EQ(
      tsccn_variant_names(),
      (std::vector<std::string>{"single-stream", "single-stream+triplet", "two-stream",
                                "two-stream+triplet", "two-stream+triplet+compare", "tsccn"}));
  try {
    tsccn_variant("three-stream");
    FAIL() << "expected ConfigError";
  } catch (const core::ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'three-stream'"), std::string::npos) << message;
    EXPECT_NE(message.find("two-stream+triplet+compare, tsccn"), std::string::npos) << message;
  }
}

TEST(TsccnVariants, SwitchesFollowTheAblation) {
  const TsccnOptions single = tsccn_variant("single-stream");
  EXPECT_EQ(single.streams, 1);
  EXPECT_FALSE(single.triplet);
  EXPECT_FALSE(single.compare_network);
  EXPECT_FALSE(single.weight_control);
  EXPECT_TRUE(tsccn_variant("single-stream+triplet").triplet);
  const TsccnOptions two = tsccn_variant("two-stream");
  EXPECT_EQ(two.streams, 2);
  EXPECT_FALSE(two.triplet);
  EXPECT_FALSE(two.compare_network);
  EXPECT_FALSE(two.discriminator);
  const TsccnOptions compare = tsccn_variant("two-stream+triplet+compare");
  EXPECT_TRUE(compare.triplet);
  EXPECT_TRUE(compare.compare_network);
  EXPECT_TRUE(compare.discriminator);
  EXPECT_FALSE(compare.weight_control);
  const TsccnOptions full = tsccn_variant("tsccn");
  EXPECT_TRUE(full.triplet && full.compare_network && full.discriminator && full.weight_control);
  EXPECT_EQ(full.streams, 2);

  TsccnOutputFields none;
  TsccnOutputFields disc = none;
  disc.disc = true;
  TsccnOutputFields all = disc;
  all.weights = true;
  EXPECT_EQ(tsccn_output_fields(tsccn_variant("single-stream")), none);
  EXPECT_EQ(tsccn_output_fields(tsccn_variant("two-stream")), none);
  EXPECT_EQ(tsccn_output_fields(tsccn_variant("two-stream+triplet")), none);
  EXPECT_EQ(tsccn_output_fields(tsccn_variant("two-stream+triplet+compare")), disc);
  EXPECT_EQ(tsccn_output_fields(tsccn_variant("tsccn")), all);
}

TEST(Tsccn, OutputShapesOfEveryConfiguration) {
  for (const auto& [name, options] : configurations()) {
    SCOPED_TRACE(name);
    torch::manual_seed(1);
    Tsccn model(options);
    const TsccnOutput out = run(model, Batch{});
    const TsccnOutputFields fields = tsccn_output_fields(options);
    ASSERT_TRUE(out.logits.defined());
    EXPECT_EQ(out.logits.sizes().vec(), (std::vector<int64_t>{kBatch, 3}));
    ASSERT_TRUE(out.binary_logits.defined());
    EXPECT_EQ(out.binary_logits.sizes().vec(), (std::vector<int64_t>{kBatch, 2}));
    ASSERT_TRUE(out.embedding.defined());
    EXPECT_EQ(out.embedding.sizes().vec(), (std::vector<int64_t>{kBatch, 16}));
    ASSERT_EQ(out.disc_prev.defined(), fields.disc);
    ASSERT_EQ(out.disc_next.defined(), fields.disc);
    if (fields.disc) {
      EXPECT_EQ(out.disc_prev.sizes().vec(), (std::vector<int64_t>{kBatch, 2}));
      EXPECT_EQ(out.disc_next.sizes().vec(), (std::vector<int64_t>{kBatch, 2}));
    }
    ASSERT_EQ(out.weights.defined(), fields.weights);
    if (fields.weights) {
      EXPECT_EQ(out.weights.sizes().vec(), (std::vector<int64_t>{kBatch, 2}));
      EXPECT_TRUE((out.weights > 0).all().item<bool>() && (out.weights < 1).all().item<bool>());
    }
  }
}

// Weighted by random numbers, not summed: a plain sum sends the same gradient to every
// sample, and BatchNorm's scale then receives sum(x_hat) = 0 wherever maps are 1 x 1.
TEST(Tsccn, GradientsReachEveryParameter) {
  for (const auto& [name, options] : configurations()) {
    SCOPED_TRACE(name);
    torch::manual_seed(2);
    Tsccn model(options);
    const TsccnOutput out = run(model, Batch{});
    torch::Tensor loss = torch::zeros({});
    for (const torch::Tensor& t : {out.logits, out.binary_logits, out.embedding, out.disc_prev,
                                   out.disc_next, out.weights}) {
      if (t.defined()) loss = loss + (t * torch::randn_like(t)).sum();
    }
    loss.backward();
    for (const auto& p : model->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
    }
    EXPECT_EQ(has_parameter_prefix(model, "branch_prev."),
              !options.share_branches && options.compare_network);
  }
}

TEST(Tsccn, ParameterNamesNameTheStreams) {
  Tsccn two(tiny("tsccn"));
  EXPECT_TRUE(has_parameter_prefix(two, "recognition.layer4.1.bn2.weight"));
  EXPECT_TRUE(has_parameter_prefix(two, "classification.layer2.0.downsample.0.weight"));
  EXPECT_TRUE(has_parameter_prefix(two, "weight_control."));
  EXPECT_TRUE(has_parameter_prefix(two, "discriminator."));
  EXPECT_FALSE(has_parameter_prefix(two, "encoder."));
  Tsccn single(tiny("single-stream"));
  EXPECT_TRUE(has_parameter_prefix(single, "encoder.conv1.weight"));
  EXPECT_FALSE(has_parameter_prefix(single, "classification."));
  EXPECT_FALSE(has_parameter_prefix(single, "discriminator."));
  EXPECT_FALSE(has_parameter_prefix(Tsccn(tiny("two-stream")), "discriminator."));
}

TEST(Tsccn, UnsharedBranchesAddTwoCopiesOfTheEarlyStages) {
  TsccnOptions shared = tiny("tsccn");
  TsccnOptions unshared = shared;
  unshared.share_branches = false;
  // Stages [0, 2) at width 4, gray: conv1 7*7*1*4 + bn1 2*4, then layer1's two blocks of
  // two 3*3*4*4 convolutions and two BatchNorms each.
  const int64_t early = 7 * 7 * 4 + 2 * 4 + 2 * (2 * 3 * 3 * 4 * 4 + 2 * 2 * 4);
  EXPECT_EQ(early, 812);
  EXPECT_EQ(parameter_count(Tsccn(unshared)) - parameter_count(Tsccn(shared)), 2 * early);

  // Without the compare network there are no branches to share.
  TsccnOptions plain = tiny("two-stream");
  TsccnOptions plain_unshared = plain;
  plain_unshared.share_branches = false;
  EXPECT_EQ(parameter_count(Tsccn(plain)), parameter_count(Tsccn(plain_unshared)));
}

TEST(Tsccn, RejectsInvalidOptions) {
  const auto rejects = [](auto change) {
    TsccnOptions o = tiny("tsccn");
    change(o);
    EXPECT_THROW(validate(o), core::ConfigError);
    EXPECT_THROW(Tsccn{o}, core::ConfigError);
  };
  rejects([](TsccnOptions& o) { o.split_stage = 0; });
  rejects([](TsccnOptions& o) { o.split_stage = 6; });
  rejects([](TsccnOptions& o) { o.streams = 3; });
  rejects([](TsccnOptions& o) { o.embedding_dim = 0; });
  rejects([](TsccnOptions& o) { o.compare_network = false; });  // discriminator left on
  rejects([](TsccnOptions& o) { o.streams = 1; });              // weight control left on
  rejects([](TsccnOptions& o) { o.backbone.in_channels = 2; });
  TsccnOptions ok = tiny("tsccn");
  ok.split_stage = 5;
  EXPECT_NO_THROW(validate(ok));
}

TEST(Tsccn, RejectsMisshapenBatches) {
  Tsccn model(tiny("tsccn"));
  const Batch batch;
  EXPECT_THROW(model->forward(batch.images.slice(1, 0, 1), batch.has_prev, batch.has_next),
               core::ConfigError);
  EXPECT_THROW(model->forward(batch.images, torch::tensor({true}), batch.has_next),
               core::ConfigError);
  EXPECT_THROW(model->forward(batch.images, batch.has_prev, torch::ones({kBatch})),
               core::ConfigError);
  EXPECT_NO_THROW(model->forward(batch.images, torch::Tensor(), torch::Tensor()));
}

TEST(Tsccn, NeighboursMatterOnlyWithTheCompareNetwork) {
  torch::manual_seed(3);
  const Batch batch;
  torch::Tensor moved = batch.images.clone();
  moved.select(1, 0).add_(1.0);
  moved.select(1, 2).mul_(-1.0);
  for (const std::string name : {"two-stream+triplet", "tsccn"}) {
    SCOPED_TRACE(name);
    Tsccn model(tiny(name));
    model->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor a = model->forward(batch.images, batch.has_prev, batch.has_next).logits;
    const torch::Tensor b = model->forward(moved, batch.has_prev, batch.has_next).logits;
    EXPECT_EQ(torch::equal(a, b), !tsccn_variant(name).compare_network);
    if (!tsccn_variant(name).compare_network) {
      // The current view alone is accepted too.
      const torch::Tensor c =
          model->forward(batch.images.slice(1, 1, 2), batch.has_prev, batch.has_next).logits;
      EXPECT_TRUE(torch::equal(a, c));
    }
  }
}

TEST(Tsccn, SameSeedSameModelAndOutputs) {
  const auto outputs = [](uint64_t seed) {
    torch::manual_seed(seed);
    Tsccn model(tiny("tsccn"));
    const Batch batch;  // drawn after the model, from the same generator
    return run(model, batch);
  };
  const TsccnOutput a = outputs(11);
  const TsccnOutput b = outputs(11);
  const TsccnOutput c = outputs(12);
  EXPECT_TRUE(torch::equal(a.logits, b.logits));
  EXPECT_TRUE(torch::equal(a.embedding, b.embedding));
  EXPECT_TRUE(torch::equal(a.disc_prev, b.disc_prev));
  EXPECT_TRUE(torch::equal(a.weights, b.weights));
  EXPECT_FALSE(torch::equal(a.logits, c.logits));
}

// The unshared branches are truncated ResNets: the loader must fill them and skip the rest.
TEST(Tsccn, LoadsBackboneWeightsIntoEveryResNet) {
  TsccnOptions o = tiny("tsccn");
  o.backbone.width = 2;
  o.share_branches = false;
  torch::manual_seed(4);
  Tsccn model(o);
  model->load_backbone_weights(testing::fixture("trainer/resnet18_w2.pt"), "backbone.");
  const auto params = model->named_parameters();
  for (const std::string name : {"layer1.0.conv1.weight", "conv1.weight"}) {
    const torch::Tensor reference = params["recognition." + name];
    EXPECT_TRUE(torch::equal(params["classification." + name], reference)) << name;
    EXPECT_TRUE(torch::equal(params["branch_prev." + name], reference)) << name;
    EXPECT_TRUE(torch::equal(params["branch_next." + name], reference)) << name;
  }
  EXPECT_TRUE(torch::equal(params["recognition.layer4.1.bn2.bias"],
                           params["classification.layer4.1.bn2.bias"]));
}

}  // namespace
}  // namespace fracsweep::trainer
