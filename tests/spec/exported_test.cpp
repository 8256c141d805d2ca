// An exported package's manifest, read without LibTorch, and the checks that refuse a
// package before any job starts: one line each, naming the file, the key, the value
// and what to do.
#include <gtest/gtest.h>

#include "core/error.h"
#include "spec/exported.h"
#include "test_util.h"

namespace fracsweep::spec {
namespace {

using fracsweep::testing::fixture;

ExportedTarget cpu_vertebra(int size = 16) {
  ExportedTarget t;
  t.task = Task::kVertebra;
  t.libtorch = "2.11";
  t.device = "cpu";
  t.views = 1;
  t.height = t.width = size;
  return t;
}

// The message check_exported throws for the package, or "" when it accepts it.
std::string refusal(const std::string& package, const ExportedTarget& target) {
  try {
    check_exported(read_exported_manifest(fixture(package)), target, "sweep.yaml");
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ExportedManifest, ReadsThePackagesManifest) {
  const ExportedManifest m = read_exported_manifest(fixture("exported/tiny_cnn.pt2"));
  EXPECT_EQ(m.name, "tiny_cnn");
  EXPECT_EQ(m.task, Task::kVertebra);
  EXPECT_EQ(m.input, Input::kPatch);
  EXPECT_EQ(m.output, Output::kClassScores);
  EXPECT_EQ(m.image.shape, (std::vector<int64_t>{-1, 1, 16, 16}));
  EXPECT_EQ(m.target.shape, (std::vector<int64_t>{-1}));
  EXPECT_EQ(m.target.dtype, "int64");
  EXPECT_EQ(m.eval_output.shape, (std::vector<int64_t>{-1, 3}));
  ASSERT_EQ(m.parameters.size(), 9u);
  EXPECT_EQ(m.parameters[0].name, "conv.weight");
  EXPECT_EQ(m.parameters[0].shape, (std::vector<int64_t>{4, 1, 3, 3}));
  EXPECT_EQ(m.device, "cpu");
  EXPECT_EQ(m.hash.size(), 64u);
  EXPECT_EQ(refusal("exported/tiny_cnn.pt2", cpu_vertebra()), "");
}

TEST(ExportedManifest, AVariantDescribedByItsManifest) {
  const Variant v =
      exported_variant(read_exported_manifest(fixture("exported/tiny_cnn.pt2")), "own-cnn");
  EXPECT_EQ(v.name, "own-cnn");
  EXPECT_EQ(v.task, Task::kVertebra);
  EXPECT_EQ(v.headline, task_info(Task::kVertebra).headline);
  EXPECT_EQ(v.source, fixture("exported/tiny_cnn.pt2"));
  EXPECT_NE(VariantRegistry::built_in().with(v).find("own-cnn"), nullptr);
}

TEST(ExportedManifest, RefusesAPackageForAnotherTask) {
  const std::string e = refusal("exported/bad/pelvis_task.pt2", cpu_vertebra());
  EXPECT_HAS(e, "pelvis_task.pt2: manifest task is 'pelvis' but the job trains the vertebra");
  EXPECT_HAS(e, "--task vertebra");
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST(ExportedManifest, RefusesAnotherLibTorch) {
  const std::string e = refusal("exported/bad/old_libtorch.pt2", cpu_vertebra());
  EXPECT_HAS(e, "manifest libtorch is '2.9.1+cpu' but this fracsweep runs LibTorch 2.11");
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST(ExportedManifest, RefusesAnotherDevice) {
  const std::string e = refusal("exported/bad/cuda_device.pt2", cpu_vertebra());
  EXPECT_HAS(e, "manifest device is 'cuda' but the job trains on the cpu");
  EXPECT_HAS(e, "--device cpu");
}

TEST(ExportedManifest, RefusesAFileThatIsNoPackage) {
  try {
    read_exported_manifest(fixture("exported/bad/not_a_package.pt2"));
    FAIL() << "read";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "not_a_package.pt2: is not a fracsweep package");
    EXPECT_HAS(std::string(e.what()), "fracsweep export MODEL.py");
  }
  // A zip archive without a manifest is no package either.
  try {
    read_exported_manifest(fixture("exported/bad/missing.pt2"));
    FAIL() << "read";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "missing.pt2: cannot be read");
  }
}

TEST(ExportedManifest, RefusesInputShapesThatDisagreeWithTheStore) {
  const std::string e = refusal("exported/tiny_cnn.pt2", cpu_vertebra(32));
  EXPECT_HAS(e, "manifest inputs[0].shape [B, 1, 16, 16] disagrees with the store's samples "
                "[B, 1, 32, 32]; export the model with --size 32");
  ExportedTarget neighbours = cpu_vertebra();
  neighbours.views = 3;
  EXPECT_HAS(refusal("exported/tiny_cnn.pt2", neighbours), "--size 16 --neighbours");
}

}  // namespace
}  // namespace fracsweep::spec
