// The ResNet-18 backbone: torchvision's names, shapes and initialisation, and loading
// torchvision weights from TorchScript files (tests/fixtures/trainer/make_resnet_fixture.py
// writes the fixture; other files are saved from C++ here).
#include "trainer/models/resnet.h"

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "test_util.h"

namespace fracsweep::trainer {
namespace {

const std::vector<std::string> kTorchvisionParameters = {
    "conv1.weight",
    "bn1.weight",
    "bn1.bias",
    "layer1.0.conv1.weight",
    "layer1.0.bn1.weight",
    "layer1.0.bn1.bias",
    "layer1.0.conv2.weight",
    "layer1.0.bn2.weight",
    "layer1.0.bn2.bias",
    "layer1.1.conv1.weight",
    "layer1.1.bn1.weight",
    "layer1.1.bn1.bias",
    "layer1.1.conv2.weight",
    "layer1.1.bn2.weight",
    "layer1.1.bn2.bias",
    "layer2.0.conv1.weight",
    "layer2.0.bn1.weight",
    "layer2.0.bn1.bias",
    "layer2.0.conv2.weight",
    "layer2.0.bn2.weight",
    "layer2.0.bn2.bias",
    "layer2.0.downsample.0.weight",
    "layer2.0.downsample.1.weight",
    "layer2.0.downsample.1.bias",
    "layer2.1.conv1.weight",
    "layer2.1.bn1.weight",
    "layer2.1.bn1.bias",
    "layer2.1.conv2.weight",
    "layer2.1.bn2.weight",
    "layer2.1.bn2.bias",
    "layer3.0.conv1.weight",
    "layer3.0.bn1.weight",
    "layer3.0.bn1.bias",
    "layer3.0.conv2.weight",
    "layer3.0.bn2.weight",
    "layer3.0.bn2.bias",
    "layer3.0.downsample.0.weight",
    "layer3.0.downsample.1.weight",
    "layer3.0.downsample.1.bias",
    "layer3.1.conv1.weight",
    "layer3.1.bn1.weight",
    "layer3.1.bn1.bias",
    "layer3.1.conv2.weight",
    "layer3.1.bn2.weight",
    "layer3.1.bn2.bias",
    "layer4.0.conv1.weight",
    "layer4.0.bn1.weight",
    "layer4.0.bn1.bias",
    "layer4.0.conv2.weight",
    "layer4.0.bn2.weight",
    "layer4.0.bn2.bias",
    "layer4.0.downsample.0.weight",
    "layer4.0.downsample.1.weight",
    "layer4.0.downsample.1.bias",
    "layer4.1.conv1.weight",
    "layer4.1.bn1.weight",
    "layer4.1.bn1.bias",
    "layer4.1.conv2.weight",
    "layer4.1.bn2.weight",
    "layer4.1.bn2.bias",
};

// Every BatchNorm: the stem's, two per block, one per downsample.
const std::vector<std::string> kTorchvisionBuffers = {
    "bn1.running_mean",
    "bn1.running_var",
    "bn1.num_batches_tracked",
    "layer1.0.bn1.running_mean",
    "layer1.0.bn1.running_var",
    "layer1.0.bn1.num_batches_tracked",
    "layer1.0.bn2.running_mean",
    "layer1.0.bn2.running_var",
    "layer1.0.bn2.num_batches_tracked",
    "layer1.1.bn1.running_mean",
    "layer1.1.bn1.running_var",
    "layer1.1.bn1.num_batches_tracked",
    "layer1.1.bn2.running_mean",
    "layer1.1.bn2.running_var",
    "layer1.1.bn2.num_batches_tracked",
    "layer2.0.bn1.running_mean",
    "layer2.0.bn1.running_var",
    "layer2.0.bn1.num_batches_tracked",
    "layer2.0.bn2.running_mean",
    "layer2.0.bn2.running_var",
    "layer2.0.bn2.num_batches_tracked",
    "layer2.0.downsample.1.running_mean",
    "layer2.0.downsample.1.running_var",
    "layer2.0.downsample.1.num_batches_tracked",
    "layer2.1.bn1.running_mean",
    "layer2.1.bn1.running_var",
    "layer2.1.bn1.num_batches_tracked",
    "layer2.1.bn2.running_mean",
    "layer2.1.bn2.running_var",
    "layer2.1.bn2.num_batches_tracked",
    "layer3.0.bn1.running_mean",
    "layer3.0.bn1.running_var",
    "layer3.0.bn1.num_batches_tracked",
    "layer3.0.bn2.running_mean",
    "layer3.0.bn2.running_var",
    "layer3.0.bn2.num_batches_tracked",
    "layer3.0.downsample.1.running_mean",
    "layer3.0.downsample.1.running_var",
    "layer3.0.downsample.1.num_batches_tracked",
    "layer3.1.bn1.running_mean",
    "layer3.1.bn1.running_var",
    "layer3.1.bn1.num_batches_tracked",
    "layer3.1.bn2.running_mean",
    "layer3.1.bn2.running_var",
    "layer3.1.bn2.num_batches_tracked",
    "layer4.0.bn1.running_mean",
    "layer4.0.bn1.running_var",
    "layer4.0.bn1.num_batches_tracked",
    "layer4.0.bn2.running_mean",
    "layer4.0.bn2.running_var",
    "layer4.0.bn2.num_batches_tracked",
    "layer4.0.downsample.1.running_mean",
    "layer4.0.downsample.1.running_var",
    "layer4.0.downsample.1.num_batches_tracked",
    "layer4.1.bn1.running_mean",
    "layer4.1.bn1.running_var",
    "layer4.1.bn1.num_batches_tracked",
    "layer4.1.bn2.running_mean",
    "layer4.1.bn2.running_var",
    "layer4.1.bn2.num_batches_tracked",
};

std::vector<std::string> keys(const torch::OrderedDict<std::string, torch::Tensor>& dict) {
  std::vector<std::string> out;
  for (const auto& item : dict) out.push_back(item.key());
  return out;
}

// The message of the E that f throws; a test failure if it throws none.
template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

// A TorchScript module with `module`'s submodule, parameter and buffer names and copies of
// its tensors, the way torch.jit.script would save the torchvision model.
torch::jit::Module mirror(const torch::nn::Module& module,
                          const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
  torch::jit::Module out("__torch__.Mirror", cu, /*shouldMangle=*/true);
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    out.register_parameter(p.key(), p.value().detach().clone(), /*is_buffer=*/false);
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) {
    out.register_buffer(b.key(), b.value().detach().clone());
  }
  for (const auto& c : module.named_children())
    out.register_module(c.key(), mirror(*c.value(), cu));
  return out;
}

std::string fixture_path() { return testing::fixture("trainer/resnet18_w2.pt"); }

ResNetOptions fixture_options(int in_channels) {
  ResNetOptions o;
  o.in_channels = in_channels;
  o.width = 2;
  return o;
}

TEST(ResNet18, ParameterAndBufferNamesAreTorchvisions) {
  torch::manual_seed(1);
  ResNet18 net(ResNetOptions{1, 4});
  EXPECT_EQ(keys(net->named_parameters()), kTorchvisionParameters);
  EXPECT_EQ(keys(net->named_buffers()), kTorchvisionBuffers);
}

TEST(ResNet18, ParameterCountAtFullWidthIsTorchvisionsWithoutFc) {
  torch::manual_seed(1);
  const auto count = [](const ResNet18& net) {
    int64_t n = 0;
    for (const auto& p : net->parameters()) n += p.numel();
    return n;
  };
  // torchvision.models.resnet18(): 11,689,512 parameters, of which fc has 512 * 1000 + 1000.
  EXPECT_EQ(count(ResNet18(ResNetOptions{3, 64})), 11689512 - 513000);
  // A gray conv1 has one input channel instead of three.
  EXPECT_EQ(count(ResNet18(ResNetOptions{1, 64})), 11689512 - 513000 - 2 * 64 * 7 * 7);
}

TEST(ResNet18, StagesHaveTorchvisionStridesAndChannels) {
  torch::manual_seed(2);
  ResNet18 net(ResNetOptions{1, 4});
  net->eval();
  const torch::Tensor image = torch::randn({2, 1, 64, 64});
  const std::vector<std::vector<int64_t>> expected = {
      {2, 4, 16, 16}, {2, 4, 16, 16}, {2, 8, 8, 8}, {2, 16, 4, 4}, {2, 32, 2, 2}};
  torch::Tensor x = image;
  for (int stage = 0; stage < kResNetStages; ++stage) {
    x = net->forward_stages(x, stage, stage + 1);
    EXPECT_EQ(x.sizes().vec(), expected[stage]) << "stage " << stage;
    EXPECT_EQ(net->out_channels(stage), expected[stage][1]) << "stage " << stage;
  }
  EXPECT_TRUE(torch::equal(x, net->forward(image)));
  const torch::Tensor split = net->forward_stages(net->forward_stages(image, 0, 2), 2, 5);
  EXPECT_TRUE(torch::equal(split, x));
  EXPECT_TRUE(torch::equal(net->forward_stages(image, 3, 3), image));
}

TEST(ResNet18, InitialisationIsTorchvisions) {
  torch::manual_seed(3);
  ResNet18 net(ResNetOptions{3, 64});
  const auto params = net->named_parameters();
  // Kaiming normal, fan_out, relu: std = sqrt(2 / (out_channels * k * k)).
  const torch::Tensor w = params["layer4.1.conv2.weight"];
  const double expected_std = std::sqrt(2.0 / (512 * 3 * 3));
  EXPECT_NEAR(w.std().item<double>(), expected_std, 0.02 * expected_std);
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.01 * expected_std);
  const torch::Tensor stem = params["conv1.weight"];
  EXPECT_NEAR(stem.std().item<double>(), std::sqrt(2.0 / (64 * 7 * 7)), 0.05 * 0.0252);
  EXPECT_TRUE(torch::equal(params["layer2.0.downsample.1.weight"], torch::ones({128})));
  EXPECT_TRUE(torch::equal(params["layer2.0.downsample.1.bias"], torch::zeros({128})));
}

TEST(ResNet18, TruncatedBuildsOnlyItsStages) {
  torch::manual_seed(4);
  ResNet18 net(ResNetOptions{1, 4}, /*num_stages=*/2);
  for (const std::string& name : keys(net->named_parameters())) {
    EXPECT_TRUE(name.rfind("conv1", 0) == 0 || name.rfind("bn1", 0) == 0 ||
                name.rfind("layer1.", 0) == 0)
        << name;
  }
  EXPECT_EQ(net->named_parameters().size(), 15u);
  EXPECT_EQ(net->forward(torch::zeros({1, 1, 32, 32})).sizes().vec(),
            (std::vector<int64_t>{1, 4, 8, 8}));
  EXPECT_THROW(net->forward_stages(torch::zeros({1, 4, 8, 8}), 2, 3), core::ConfigError);
}

TEST(ResNet18, RejectsBadOptionsAndStageRanges) {
  EXPECT_THROW(ResNet18(ResNetOptions{2, 4}), core::ConfigError);
  EXPECT_THROW(ResNet18(ResNetOptions{1, 0}), core::ConfigError);
  EXPECT_THROW(ResNet18(ResNetOptions{1, 4}, 0), core::ConfigError);
  EXPECT_THROW(ResNet18(ResNetOptions{1, 4}, 6), core::ConfigError);
  ResNet18 net(ResNetOptions{1, 4});
  EXPECT_THROW(net->forward_stages(torch::zeros({1, 1, 32, 32}), 3, 2), core::ConfigError);
  EXPECT_THROW(net->forward_stages(torch::zeros({1, 1, 32, 32}), -1, 2), core::ConfigError);
  EXPECT_THROW(net->out_channels(5), core::ConfigError);
}

// The fixture's probe_output is what python torch computes for probe_input with these
// weights; getting it back means every tensor landed in its place, running stats included.
TEST(ResNet18Weights, ReproducesThePythonOutputOfTheFixture) {
  torch::manual_seed(5);
  ResNet18 net(fixture_options(3));
  load_torchvision_weights(*net, fixture_path(), "backbone.");
  net->eval();
  torch::jit::Module file = torch::jit::load(fixture_path());
  const torch::Tensor input = file.attr("probe_input").toTensor();
  const torch::Tensor expected = file.attr("probe_output").toTensor();
  torch::NoGradGuard no_grad;
  const torch::Tensor got = net->forward(input);
  ASSERT_EQ(got.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(got, expected, /*rtol=*/1e-4, /*atol=*/1e-5))
      << (got - expected).abs().max().item<float>();
  EXPECT_EQ(net->named_buffers()["layer3.1.bn2.num_batches_tracked"].item<int64_t>(), 7);
}

TEST(ResNet18Weights, GrayConv1RespondsLikeTheRgbOneToARepeatedImage) {
  ResNet18 rgb(fixture_options(3));
  ResNet18 gray(fixture_options(1));
  load_torchvision_weights(*rgb, fixture_path(), "backbone.");
  load_torchvision_weights(*gray, fixture_path(), "backbone.");
  rgb->eval();
  gray->eval();
  torch::manual_seed(6);
  const torch::Tensor image = torch::randn({2, 1, 32, 32});
  torch::NoGradGuard no_grad;
  const torch::Tensor a = gray->forward(image);
  const torch::Tensor b = rgb->forward(image.expand({-1, 3, -1, -1}));
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5)) << (a - b).abs().max().item<float>();
}

TEST(ResNet18Weights, TruncatedNetSkipsTheStagesItLacks) {
  ResNet18 branch(fixture_options(1), /*num_stages=*/2);
  load_torchvision_weights(*branch, fixture_path(), "backbone.");
  ResNet18 full(fixture_options(1));
  load_torchvision_weights(*full, fixture_path(), "backbone.");
  EXPECT_TRUE(torch::equal(branch->named_parameters()["layer1.1.conv2.weight"],
                           full->named_parameters()["layer1.1.conv2.weight"]));
}

TEST(ResNet18Weights, ErrorsNameTheFileAndTheTensor) {
  const std::string path = fixture_path();
  ResNet18 wide(ResNetOptions{3, 4});
  const torch::Tensor before = wide->named_parameters()["conv1.weight"].clone();
  std::string message =
      error_of<core::ConfigError>([&] { load_torchvision_weights(*wide, path, "backbone."); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("'backbone.conv1.weight' has shape [2, 3, 7, 7]"), std::string::npos)
      << message;
  // Nothing is copied when anything is wrong, not even the tensors that did fit.
  EXPECT_TRUE(torch::equal(wide->named_parameters()["conv1.weight"], before));

  ResNet18 net(fixture_options(3));
  message = error_of<core::ConfigError>([&] { load_torchvision_weights(*net, path, ""); });
  EXPECT_NE(message.find("no tensor 'conv1.weight'"), std::string::npos) << message;
  message = error_of<core::ConfigError>([&] { load_torchvision_weights(*net, path, "model."); });
  EXPECT_NE(message.find("is the prefix right?"), std::string::npos) << message;
  message = error_of<core::IoError>(
      [&] { load_torchvision_weights(*net, path + ".missing", "backbone."); });
  EXPECT_NE(message.find(path + ".missing"), std::string::npos) << message;
}

TEST(ResNet18Weights, RoundTripsAModuleSavedFromCpp) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "saved.pt").string();
  torch::manual_seed(7);
  ResNet18 source(ResNetOptions{1, 4});
  {
    // Some training so that running statistics differ from their initial values.
    source->train();
    source->forward(torch::randn({4, 1, 32, 32}));
  }
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module root("__torch__.Root", cu, /*shouldMangle=*/true);
  root.register_module("model", mirror(*source, cu));
  root.save(path);

  torch::manual_seed(8);
  ResNet18 target(ResNetOptions{1, 4});
  load_torchvision_weights(*target, path, "model.");
  const auto theirs = source->named_parameters();
  for (const auto& p : target->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), theirs[p.key()])) << p.key();
  }
  const auto their_buffers = source->named_buffers();
  for (const auto& b : target->named_buffers()) {
    EXPECT_TRUE(torch::equal(b.value(), their_buffers[b.key()])) << b.key();
  }
  source->eval();
  target->eval();
  const torch::Tensor image = torch::randn({2, 1, 32, 32});
  EXPECT_TRUE(torch::equal(source->forward(image), target->forward(image)));
}

// A file with more than ResNet-18 holds (say, a ResNet-34's extra blocks) must not load
// silently into the tensors that happen to match.
TEST(ResNet18Weights, RejectsTensorsThatResNet18DoesNotHave) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "deeper.pt").string();
  torch::manual_seed(9);
  ResNet18 source(ResNetOptions{1, 4});
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module root = mirror(*source, cu);
  torch::jit::Module extra("__torch__.Extra", cu, /*shouldMangle=*/true);
  extra.register_parameter("weight", torch::zeros({4, 4, 3, 3}), /*is_buffer=*/false);
  root.attr("layer1").toModule().register_module("2", extra);
  torch::jit::Module fc("__torch__.Fc", cu, /*shouldMangle=*/true);
  fc.register_parameter("weight", torch::zeros({10, 32}), /*is_buffer=*/false);
  root.register_module("fc", fc);
  root.save(path);

  ResNet18 target(ResNetOptions{1, 4});
  const std::string message =
      error_of<core::ConfigError>([&] { load_torchvision_weights(*target, path, ""); });
  EXPECT_NE(message.find("'layer1.2.weight'"), std::string::npos) << message;
  EXPECT_EQ(message.find("fc.weight"), std::string::npos) << message;
}

}  // namespace
}  // namespace fracsweep::trainer
