// DenseNet-121's layout against torchvision's: names, a TorchScript export of
// torchvision's own model loaded by name, and its outputs
// (tests/fixtures/trainer/make_densenet_fixture.py writes both).
#include "trainer/models/densenet.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_util.h"

namespace fracsweep::trainer {
namespace {

DenseNetOptions tiny(int num_classes = 10) {
  DenseNetOptions o;
  o.growth_rate = 2;
  o.init_features = 4;
  o.num_classes = num_classes;
  return o;
}

// The formula of make_densenet_fixture.py's test_input.
torch::Tensor test_input(int b, int c, int h, int w) {
  auto x = torch::empty({b, c, h, w}, torch::kFloat64);
  auto a = x.accessor<double, 4>();
  for (int i0 = 0; i0 < b; ++i0)
    for (int i1 = 0; i1 < c; ++i1)
      for (int i = 0; i < h; ++i)
        for (int j = 0; j < w; ++j)
          a[i0][i1][i][j] = std::sin(0.1 * i + 0.2 * j + i1) * std::cos(0.05 * ((i * j) % 17) + i0);
  return x.to(torch::kFloat32);
}

TEST(DenseNet, HasTorchvisionsNamesAndDenseNet121sWidths) {
  DenseNet net(DenseNetOptions::densenet121(), 0);
  const auto params = net->named_parameters();
  EXPECT_TRUE(params.contains("features.conv0.weight"));
  EXPECT_TRUE(params.contains("features.denseblock3.denselayer24.conv2.weight"));
  EXPECT_TRUE(params.contains("features.transition2.conv.weight"));
  EXPECT_TRUE(params.contains("features.norm5.bias"));
  EXPECT_FALSE(params.contains("classifier.weight"));  // no classes: no classifier
  EXPECT_TRUE(net->named_buffers().contains("features.denseblock1.denselayer6.norm1.running_var"));
  EXPECT_EQ(net->channels_after_block(1), 256);
  EXPECT_EQ(net->channels_after_block(2), 512);
  EXPECT_EQ(net->channels_after_block(3), 1024);
  EXPECT_EQ(net->channels_after_block(4), 1024);
  size_t count = 0;
  for (const auto& p : net->parameters()) count += static_cast<size_t>(p.numel());
  EXPECT_EQ(count, 6953856u) << "torchvision's densenet121 without its classifier";
}

TEST(DenseNet, LoadsTorchvisionsExportAndComputesWhatItComputes) {
  std::ifstream in(testing::fixture("trainer/densenet_tiny.json"));
  const auto expected = nlohmann::json::parse(in);
  DenseNet net(tiny(), 0);
  load_torchvision_weights(*net, testing::fixture("trainer/densenet_tiny.pt"));
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = test_input(2, 3, 64, 64);
  const auto block3 = net->features_to(3, x).to(torch::kFloat64);
  EXPECT_EQ(block3.sizes().vec(), expected["block3_shape"].get<std::vector<int64_t>>());
  EXPECT_NEAR(block3.sum().item<double>(), expected["block3_sum"].get<double>(), 1e-3);
  EXPECT_NEAR(block3.abs().sum().item<double>(), expected["block3_abs_sum"].get<double>(), 1e-3);
  const auto first = expected["block3_first"].get<std::vector<double>>();
  const auto flat = block3.flatten();
  for (size_t k = 0; k < first.size(); ++k)
    EXPECT_NEAR(flat[static_cast<int64_t>(k)].item<double>(), first[k], 1e-5) << k;
  const auto logits = net->forward(x);
  const auto want = expected["logits"].get<std::vector<std::vector<double>>>();
  for (int b = 0; b < 2; ++b)
    for (int k = 0; k < 10; ++k) EXPECT_NEAR(logits[b][k].item<double>(), want[b][k], 1e-5);
}

TEST(DenseNet, AnEncoderStopsAfterBlockThreeAndLoadsItsPartOfTheExport) {
  std::ifstream in(testing::fixture("trainer/densenet_tiny.json"));
  const auto expected = nlohmann::json::parse(in);
  DenseNetOptions o = tiny(0);
  o.blocks = 3;
  DenseNet encoder(o, 0);
  const auto params = encoder->named_parameters();
  EXPECT_TRUE(params.contains("features.denseblock3.denselayer1.conv1.weight"));
  EXPECT_FALSE(params.contains("features.transition3.conv.weight"));
  EXPECT_FALSE(params.contains("features.denseblock4.denselayer1.conv1.weight"));
  EXPECT_FALSE(params.contains("features.norm5.weight"));
  load_torchvision_weights(*encoder, testing::fixture("trainer/densenet_tiny.pt"));
  encoder->eval();
  torch::NoGradGuard no_grad;
  const auto block3 = encoder->features_to(3, test_input(2, 3, 64, 64)).to(torch::kFloat64);
  EXPECT_NEAR(block3.sum().item<double>(), expected["block3_sum"].get<double>(), 1e-3);
  o.num_classes = 10;
  EXPECT_THROW(DenseNet(o, 0), core::ConfigError);  // an encoder has no classifier
  o.num_classes = 0;
  EXPECT_THROW(DenseNet(o, 3), core::ConfigError);  // nor a transition 3 to fuse in
}

TEST(DenseNet, GreyInputAndFusedTransitionKeepThePretrainedResponse) {
  DenseNet rgb(tiny(0), 0);
  DenseNetOptions grey_options = tiny(0);
  grey_options.in_channels = 1;
  DenseNet grey(grey_options, 3);  // conv0 summed over RGB; transition 3 fused
  load_torchvision_weights(*rgb, testing::fixture("trainer/densenet_tiny.pt"));
  load_torchvision_weights(*grey, testing::fixture("trainer/densenet_tiny.pt"));
  EXPECT_EQ(grey->transition(3)->conv()->weight.size(1), 2 * rgb->transition(3)->conv()->weight.size(1));
  rgb->eval();
  grey->eval();
  torch::NoGradGuard no_grad;
  const auto x = test_input(1, 1, 64, 64);
  const auto a = rgb->features_to(3, x.expand({-1, 3, -1, -1}));
  const auto b = grey->features_to(3, x);
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5));
  // Two identical branches through the fused transition: the pretrained transition.
  auto& t = grey->transition(3);
  const auto fused = t->post(torch::cat({t->pre(b), t->pre(b)}, 1));
  EXPECT_TRUE(torch::allclose(fused, rgb->transition(3)->forward(a), 1e-4, 1e-5));
}

TEST(DenseNet, LoadingRefusesAnotherArchitectureNamingTheTensor) {
  DenseNetOptions wider = tiny();
  wider.growth_rate = 3;
  DenseNet net(wider, 0);
  try {
    load_torchvision_weights(*net, testing::fixture("trainer/densenet_tiny.pt"));
    FAIL() << "loaded weights of another width";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "has shape");
  }
  DenseNet resnet_file(tiny(), 0);
  EXPECT_THROW(load_torchvision_weights(*resnet_file, testing::fixture("trainer/resnet18_w2.pt")),
               core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::trainer
