// A model exported from PyTorch and compiled by AOTInductor, trained from C++: the same
// losses over 20 steps and the same evaluation outputs as PyTorch eager training of the
// same module from the same initial weights (tests/fixtures/exported/make_fixture.py
// wrote both the package and eager's numbers).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>

#include "core/error.h"
#include "core/fs.h"
#include "spec/exported.h"
#include "test_util.h"
#include "trainer/models/exported.h"

namespace fracsweep::trainer {
namespace {

namespace fs = std::filesystem;
using fracsweep::testing::fixture;
using fracsweep::testing::TempDir;

nlohmann::json eager() {
  return nlohmann::json::parse(core::read_file(fixture("exported/tiny_cnn.json")));
}

// make_fixture.py's batches: image = sin(0.1 * flat index + 0.7 * step) in float64, then
// float32; label = (b + step) mod 3.
std::pair<torch::Tensor, torch::Tensor> batch(int64_t step, int64_t n, int64_t size) {
  const torch::Tensor x =
      torch::sin(0.1 * torch::arange(n * size * size, torch::kFloat64) + 0.7 * step)
          .to(torch::kFloat32)
          .view({n, 1, size, size});
  return {x, torch::remainder(torch::arange(n, torch::kInt64) + step, 3)};
}

double relative(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-12); }

TEST(ExportedModel, TrainsAsPyTorchEagerOverTwentySteps) {
  torch::set_num_threads(1);
  const nlohmann::json e = eager();
  const int64_t steps = e["steps"], n = e["batch"], size = e["size"];
  ExportedModel model(fixture("exported/tiny_cnn.pt2"), "cpu");
  EXPECT_EQ(model.manifest().task, spec::Task::kVertebra);
  std::vector<torch::Tensor> params = model.module().parameters();
  ASSERT_EQ(params.size(), 9u);  // conv (w, b), bn (w, b), conv2 (w), bn2 (w, b), fc (w, b)
  // The optimiser is LibTorch's own, over the module's parameters, as for a built-in model.
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(e["lr"].get<double>())
                                    .momentum(e["momentum"].get<double>()));
  for (int64_t s = 0; s < steps; ++s) {
    auto [x, y] = batch(s, n, size);
    sgd.zero_grad();
    torch::Tensor loss = model.train_step(x, y).loss;
    loss.backward();
    for (const auto& p : params) ASSERT_TRUE(p.grad().defined());
    sgd.step();
    EXPECT_LT(relative(loss.item<double>(), e["losses"][s].get<double>()), 1e-4) << "step " << s;
  }
  // BatchNorm's statistics were updated by every training step, in our tensors.
  const auto buffers = model.module().named_buffers();
  const torch::Tensor mean = buffers["bn.running_mean"];
  const auto want_mean = e["bn_running_mean"].get<std::vector<double>>();
  for (size_t c = 0; c < want_mean.size(); ++c)
    EXPECT_NEAR(mean[c].item<double>(), want_mean[c], 1e-4) << "channel " << c;
  EXPECT_EQ(buffers["bn.num_batches_tracked"].item<int64_t>(), steps);
  const torch::Tensor out = model.forward(batch(e["eval_step"], n, size).first).flatten();
  const auto want = e["eval_output"].get<std::vector<double>>();
  ASSERT_EQ(out.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(out[i].item<double>(), want[i], 1e-3 * (1 + std::abs(want[i]))) << "output " << i;
}

// make_fixture.py's pelvis batches: the image as above, the mask 1 where
// sin(0.37 * flat index + 1.3 * step) > 0.8.
std::pair<torch::Tensor, torch::Tensor> pelvis_batch(int64_t step, int64_t n, int64_t h,
                                                     int64_t w) {
  const torch::Tensor idx = torch::arange(n * h * w, torch::kFloat64);
  return {torch::sin(0.1 * idx + 0.7 * step).to(torch::kFloat32).view({n, 1, h, w}),
          torch::gt(torch::sin(0.37 * idx + 1.3 * step), 0.8).to(torch::kFloat32).view({n, 1, h, w})};
}

// A heatmap model for the pelvis task, with a float mask as its target and a loss of its
// own (examples/models/pelvis_heatmap.py).
TEST(ExportedModel, TrainsAPelvisHeatmapModelAsPyTorchEager) {
  torch::set_num_threads(1);
  const nlohmann::json e =
      nlohmann::json::parse(core::read_file(fixture("exported/pelvis_heatmap.json")));
  const int64_t steps = e["steps"], n = e["batch"], h = e["height"], w = e["width"];
  ExportedModel model(fixture("exported/pelvis_heatmap.pt2"), "cpu");
  EXPECT_EQ(model.manifest().task, spec::Task::kPelvis);
  EXPECT_EQ(model.manifest().output, spec::Output::kHeatmap);
  std::vector<torch::Tensor> params = model.module().parameters();
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(e["lr"].get<double>())
                                    .momentum(e["momentum"].get<double>()));
  for (int64_t s = 0; s < steps; ++s) {
    auto [x, mask] = pelvis_batch(s, n, h, w);
    sgd.zero_grad();
    torch::Tensor loss = model.train_step(x, mask).loss;
    loss.backward();
    sgd.step();
    EXPECT_LT(relative(loss.item<double>(), e["losses"][s].get<double>()), 1e-4) << "step " << s;
  }
  const torch::Tensor all = model.forward(pelvis_batch(e["eval_step"], n, h, w).first).flatten();
  const torch::Tensor out = all.slice(0, 0, all.numel(), e["eval_stride"].get<int64_t>());
  const auto want = e["eval_output"].get<std::vector<double>>();
  ASSERT_EQ(out.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(out[i].item<double>(), want[i], 1e-3 * (1 + std::abs(want[i]))) << "pixel " << i * 16;
}

// The step must follow the parameters it is given: a change made from C++ (here: the
// final layer zeroed) changes the package's output, as it would an eager module's.
TEST(ExportedModel, ReadsTheParametersTheCppSideOwns) {
  ExportedModel model(fixture("exported/tiny_cnn.pt2"), "cpu");
  const torch::Tensor x = batch(0, 4, 16).first;
  const torch::Tensor before = model.forward(x);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : model.module().named_parameters())
      if (item.key().rfind("fc.", 0) == 0) item.value().zero_();
  }
  const torch::Tensor after = model.forward(x);
  EXPECT_GT((before - after).abs().max().item<double>(), 1e-3);
  EXPECT_LT(after.abs().max().item<double>(), 1e-7);  // fc's weight and bias are zero
}

// Checkpoints load into the module's tensors by name; moved to a new storage (to(),
// a load that replaces them), the model binds the new ones before its next step.
TEST(ExportedModel, FollowsTensorsReplacedAfterLoading) {
  ExportedModel model(fixture("exported/tiny_cnn.pt2"), "cpu");
  const torch::Tensor x = batch(3, 4, 16).first;
  const torch::Tensor before = model.forward(x);
  torch::Tensor bias = model.module().named_parameters()["fc.bias"];
  const torch::Tensor old_bias = bias.detach().clone();
  bias.set_data(torch::full({3}, 5.0));  // a new storage, as a load may give
  const torch::Tensor after = model.forward(x);
  // The logits move by exactly the bias's change, column by column.
  EXPECT_TRUE(torch::allclose(after - before, (5.0 - old_bias).expand_as(after), 1e-5, 1e-5))
      << after - before;
}

// Pretrained weights by name: the state dict eager's 20 steps ended with (torch.save), loaded
// into the package's fresh model, gives eager's evaluation outputs without training.
TEST(ExportedModel, LoadsAPyTorchStateDictByName) {
  const nlohmann::json e = eager();
  ExportedModel model(fixture("exported/tiny_cnn.pt2"), "cpu");
  const torch::Tensor x = batch(e["eval_step"], e["batch"], e["size"]).first;
  const torch::Tensor fresh = model.forward(x).flatten();
  model.load_state_dict(fixture("exported/tiny_cnn_trained.pt"));
  const torch::Tensor out = model.forward(x).flatten();
  const auto want = e["eval_output"].get<std::vector<double>>();
  ASSERT_EQ(out.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(out[i].item<double>(), want[i], 1e-5 * (1 + std::abs(want[i]))) << "output " << i;
  EXPECT_FALSE(torch::allclose(fresh, out, 1e-3, 1e-3));  // the weights did change
  EXPECT_EQ(model.module().named_buffers()["bn.num_batches_tracked"].item<int64_t>(),
            e["steps"].get<int64_t>());
}

TEST(ExportedModel, AStateDictOfAnotherModelIsRefusedNamingWhatDiffers) {
  ExportedModel model(fixture("exported/tiny_cnn.pt2"), "cpu");
  const std::string partial = fixture("exported/tiny_cnn_partial.pt");
  try {
    model.load_state_dict(partial);
    FAIL() << "a state dict without bn.running_var was taken";
  } catch (const core::ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find(partial), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("has no 'bn.running_var'"), std::string::npos)
        << err.what();
  }
  // The OrderedDict that state_dict() returns, saved as it is: the fix is named.
  try {
    model.load_state_dict(fixture("exported/tiny_cnn_ordered.pt"));
    FAIL() << "LibTorch read an OrderedDict";
  } catch (const core::ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find("torch.save(dict(model.state_dict()), PATH)"),
              std::string::npos) << err.what();
  }
  // A file that is no state dict.
  EXPECT_THROW(model.load_state_dict(fixture("exported/tiny_cnn.json")), core::ConfigError);
}

// ---------------------------------------------------------------- a seed's initial weights

// Whether every parameter and buffer of `a` equals `b`'s of the same name.
bool same_weights(torch::nn::Module& a, torch::nn::Module& b) {
  auto theirs = b.named_parameters();
  for (const auto& p : a.named_parameters())
    if (!torch::equal(p.value(), theirs[p.key()])) return false;
  auto their_buffers = b.named_buffers();
  for (const auto& t : a.named_buffers())
    if (!torch::equal(t.value(), their_buffers[t.key()])) return false;
  return true;
}

// The tiny package's model with `weights` (a state dict), or its own.
std::unique_ptr<ExportedModel> tiny_model(const std::string& weights = "") {
  auto model = std::make_unique<ExportedModel>(fixture("exported/tiny_cnn.pt2"), "cpu");
  if (!weights.empty()) model->load_state_dict(weights);
  return model;
}

// A job of `seed` training a copy of the tiny package in `dir`.
spec::JobConfig job_of_seed(const TempDir& dir, uint64_t seed) {
  spec::JobConfig job;
  job.output = dir.path().string();
  job.model.variant = "own";
  job.model.package = (dir.path() / "own.pt2").string();
  job.train.device = "cpu";
  job.train.seed = seed;
  fs::copy_file(fixture("exported/tiny_cnn.pt2"), job.model.package,
                fs::copy_options::overwrite_existing);
  return job;
}

TEST(ExportedSeeds, AJobStartsFromItsSeedsWeightsBesideThePackage) {
  TempDir dir;
  spec::JobConfig job = job_of_seed(dir, 2);
  fs::copy_file(fixture("exported/tiny_cnn_seed2.pt"), spec::seed_weights_path(job.model.package, 2));
  EXPECT_EQ(spec::seed_weights_path(job.model.package, 2), (dir.path() / "own.seed-2.pt").string());
  // As PyTorch builds the model after torch.manual_seed(2) (make_fixture.py seeds).
  const auto seeded = tiny_model(fixture("exported/tiny_cnn_seed2.pt")), packaged = tiny_model();
  ASSERT_FALSE(same_weights(seeded->module(), packaged->module()));  // not the package's

  EXPECT_TRUE(same_weights(make_exported_job_model(job)->module(), seeded->module()));
  // A seed without a file of its own starts from the package's weights.
  job.train.seed = 3;
  EXPECT_EQ(spec::exported_initial_weights(job), "");
  EXPECT_TRUE(same_weights(make_exported_job_model(job)->module(), packaged->module()));
  // model.init_weights comes before the seed's file.
  job.train.seed = 2;
  job.model.init_weights = fixture("exported/tiny_cnn_trained.pt");
  EXPECT_TRUE(same_weights(make_exported_job_model(job)->module(),
                           tiny_model(job.model.init_weights)->module()));
}

// `fracsweep export --initial-weights` (the project's Python, which `fracsweep run` calls
// for a model file's seeds): seed 1's weights are the package's own (it was exported with
// --seed 1), seed 2's those PyTorch builds after torch.manual_seed(2).
TEST(ExportedSeeds, TheExporterWritesEachSeedsWeightsAsPyTorchBuildsThem) {
  TempDir dir;
  const std::string package = (dir.path() / "tiny_cnn.pt2").string();
  const auto r = testing::run_fracsweep({"export", fixture("exported/tiny_cnn.py"), "--task",
                                         "vertebra", "--initial-weights", "1,2", "--out", package});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(fs::exists(package));  // nothing compiled
  EXPECT_TRUE(same_weights(tiny_model(spec::seed_weights_path(package, 1))->module(),
                           tiny_model()->module()));
  EXPECT_TRUE(same_weights(tiny_model(spec::seed_weights_path(package, 2))->module(),
                           tiny_model(fixture("exported/tiny_cnn_seed2.pt"))->module()));
  // Seeds that are not numbers: one line, exit 2.
  const auto bad = testing::run_fracsweep({"export", fixture("exported/tiny_cnn.py"), "--task",
                                           "vertebra", "--initial-weights", "one", "--out", package});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--initial-weights 'one'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace fracsweep::trainer
