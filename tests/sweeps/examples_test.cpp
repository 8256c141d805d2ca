// Every sweep file in examples/sweeps loads, expands to the jobs its table needs, and keeps the
// paper's settings at paper scale.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "sweeps/sweep.h"
#include "test_util.h"

namespace fracsweep::sweeps {
namespace {

namespace fs = std::filesystem;

// tests/fixtures/../../examples/sweeps, in the source tree.
fs::path examples_dir() {
  return fs::path(testing::fixture("../../examples/sweeps"));
}

std::set<std::string> variants_of(const Sweep& s) {
  std::set<std::string> out;
  for (const SweepJob& j : s.jobs) out.insert(j.variant);
  return out;
}

TEST(ExampleSweeps, EveryFileLoadsWithItsJobCount) {
  // variants x repeats x seeds x axis points.
  const std::map<std::string, size_t> expected = {
      {"tsccn-table1", 10 * 5 * 1},     {"tsccn-table1-tiny", 10 * 2 * 1},
      {"tsccn-table2", 2 * 5 * 1 * 3},  {"tsccn-table2-tiny", 2 * 2 * 1 * 3},
      {"tsccn-table3", 6 * 5 * 1},      {"tsccn-table3-tiny", 6 * 2 * 1},
      {"aasn-table1", 7 * 5 * 1},       {"aasn-table1-tiny", 7 * 2 * 1},
      {"aasn-table2", 6 * 5 * 1},       {"aasn-table2-tiny", 6 * 2 * 1},
      {"tsccn-search-tiny", 8 * 3 * 1},  // trials x folds x seeds
      {"tsccn-fidelity-d050", 6 * 5 * 1}, {"tsccn-fidelity-d075", 6 * 5 * 1},
      {"tsccn-fidelity-followup", 5 * 5 * 1}, {"aasn-fidelity", 6 * 5 * 1},
      {"aasn-fidelity-d0", 6 * 5 * 1}, {"aasn-fidelity-d0-gpu", 3 * 5 * 1},
      {"aasn-fidelity-d0-exact", 3 * 5 * 1},
      {"own-model-tiny", 4 * 2 * 1},  // an exported model beside TSCCN and two ablations
  };
  // own-model-tiny names its model file relative to the checkout, as `output:` is.
  testing::InCheckout in_checkout;
  std::set<std::string> seen;
  for (const auto& entry : fs::directory_iterator(examples_dir())) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string stem = entry.path().stem().string();
    SCOPED_TRACE(entry.path().string());
    const Sweep s = load_sweep(entry.path().string());
    EXPECT_EQ(s.name, stem);
    EXPECT_EQ(s.output, "runs/" + stem);
    const auto it = expected.find(stem);
    ASSERT_NE(it, expected.end()) << "add the job count of the new example " << stem;
    EXPECT_EQ(s.jobs.size(), it->second);
    if (s.search) {
      // One group of two ranks on `mpirun -np 2`: results arrive in one order, so a killed
      // search resumes with the decisions of an uninterrupted one.
      EXPECT_EQ(s.ranks_per_job, 2);
      std::set<std::string> keys;
      for (const SearchParam& p : s.search->space) keys.insert(p.key);
      EXPECT_EQ(keys, (std::set<std::string>{"train.lr", "train.triplet_margin",
                                             "train.loss_weights.d", "train.loss_weights.c"}));
      EXPECT_TRUE(s.search->asha);
      EXPECT_TRUE(s.search->tpe);
      for (const SweepJob& j : s.jobs) EXPECT_EQ(j.config.data.folds, 3) << j.name;
      seen.insert(stem);
      continue;
    }
    EXPECT_EQ(s.ranks_per_job, 1);
    const bool fidelity = stem.starts_with("aasn-fidelity");
    const bool tiny = stem.ends_with("-tiny") || fidelity;  // CPU size
    if (stem.starts_with("aasn-")) {
      // AASN: 5-fold CV (70/10/20) on a pelvis phantom the sweep writes.
      EXPECT_TRUE(s.pelvis);
      for (const SweepJob& j : s.jobs) {
        EXPECT_EQ(j.config.data.split, "kfold") << j.name;
        EXPECT_EQ(j.config.data.folds, 5) << j.name;
        EXPECT_EQ(j.config.data.val_share, 0.1) << j.name;
        EXPECT_EQ(spec::VariantRegistry::built_in().at(j.config.model.variant).task,
                  spec::Task::kPelvis)
            << j.name;
        EXPECT_EQ(j.config.train.aasn_margin, 0.5) << j.name;
        EXPECT_EQ(j.config.train.aasn_lambda, 0.5) << j.name;
        EXPECT_EQ(j.config.model.width, tiny ? 4 : 32) << j.name;  // DenseNet-121 at paper scale
        EXPECT_EQ(j.config.train.lr, tiny ? 1e-3 : 1e-5) << j.name;
      }
      // The fidelity study's phantom: fracture lines a pixel or two wide (FIDELITY.md).
      // The second run has four times the images, at difficulty 0, so that vanilla learns.
      // Its GPU twin is three of its rows trained for 30 epochs instead of 12.
      const bool second = stem.starts_with("aasn-fidelity-d0");
      const bool on_gpu = stem == "aasn-fidelity-d0-gpu";
      EXPECT_EQ(s.pelvis_phantom.images, fidelity ? (second ? 960 : 240) : (tiny ? 100 : 2359));
      if (fidelity) {
        EXPECT_EQ(s.pelvis_phantom.width, 256);
        EXPECT_EQ(s.pelvis_phantom.difficulty, second ? 0.0 : 0.5);
        EXPECT_EQ(s.pelvis_phantom.seed, 1u);
        // The run that asks whether the twin's misalignment holds the twin rows back.
        EXPECT_EQ(s.pelvis_phantom.landmark_error_mm, stem == "aasn-fidelity-d0-exact" ? 0.0 : 0.8);
        for (const SweepJob& j : s.jobs) {
          EXPECT_EQ(j.config.train.epochs, on_gpu ? 30 : (second ? 12 : 8)) << j.name;
          EXPECT_EQ(j.config.train.batch_size, 8) << j.name;
          EXPECT_EQ(j.config.train.device, on_gpu ? "cuda" : "auto") << j.name;
        }
      }
      seen.insert(stem);
      continue;
    }
    if (stem.rfind("tsccn-fidelity-", 0) == 0) {
      // The fidelity study (FIDELITY.md): Table III's six rows, 5 splits, CPU size; its
      // follow-up at 0.75 with twice the epochs, and TSCCN without eq. 5's supervision.
      const bool followup = stem == "tsccn-fidelity-followup";
      EXPECT_EQ(s.phantom.patients, 120);
      EXPECT_EQ(s.phantom.difficulty, stem == "tsccn-fidelity-d050" ? 0.5 : 0.75);
      for (const SweepJob& j : s.jobs) {
        EXPECT_EQ(j.config.preset, "tiny");
        EXPECT_EQ(j.config.data.split, "random");
        EXPECT_EQ(j.config.train.epochs, followup ? 16 : 8) << j.name;
        const bool unsupervised = j.name.rfind("tsccn-unsupervised-weights/", 0) == 0;
        EXPECT_EQ(j.config.train.loss_weights.w, unsupervised ? 0.0 : 1.0) << j.name;
      }
      seen.insert(stem);
      continue;
    }
    EXPECT_EQ(s.phantom.patients, tiny ? 40 : 239);
    EXPECT_EQ(s.phantom.patch_size, tiny ? 64 : 224);
    for (const SweepJob& j : s.jobs) {
      EXPECT_EQ(j.config.preset, tiny ? "tiny" : "paper");
      EXPECT_EQ(j.config.data.split, "random");
      EXPECT_EQ(j.config.train.epochs, tiny ? 2 : 100) << j.name;
      EXPECT_EQ(j.config.model.width, tiny ? 4 : 64) << j.name;
    }
    seen.insert(stem);
  }
  EXPECT_EQ(seen.size(), expected.size());
}

TEST(ExampleSweeps, TablesHaveThePapersRows) {
  const Sweep t1 = load_sweep((examples_dir() / "tsccn-table1-tiny.yaml").string());
  EXPECT_EQ(variants_of(t1),
            (std::set<std::string>{"resnet18", "rs", "cb-rw", "smote", "ldam", "ldam-drw",
                                   "pc-net", "nts-net", "sdl-net", "tsccn"}));
  const Sweep t2 = load_sweep((examples_dir() / "tsccn-table2.yaml").string());
  EXPECT_EQ(variants_of(t2), (std::set<std::string>{"resnet18", "tsccn"}));
  std::multiset<double> subsets;
  for (const SweepJob& j : t2.jobs) {
    subsets.insert(j.config.data.subset);
    // Table II: the same over-sampling for both models.
    if (j.variant == "resnet18") {
      EXPECT_EQ(j.config.train.sampler, "oversample");
    }
  }
  EXPECT_EQ(subsets.count(0.25), 10u);
  EXPECT_EQ(subsets.count(0.5), 10u);
  EXPECT_EQ(subsets.count(1.0), 10u);
  EXPECT_EQ(t2.jobs[0].name, "resnet18/repeat0/seed1/subset=0.25");
  const Sweep t3 = load_sweep((examples_dir() / "tsccn-table3.yaml").string());
  EXPECT_EQ(variants_of(t3).size(), 6u);
  EXPECT_EQ(t3.jobs.back().config.data.repeat, 4);
  // AASN's Table 1: six baselines and AASN, each by the model of its name.
  for (const char* file : {"aasn-table1.yaml", "aasn-table1-tiny.yaml"}) {
    const Sweep a1 = load_sweep((examples_dir() / file).string());
    EXPECT_EQ(variants_of(a1), (std::set<std::string>{"chexnet", "lse-pooling", "two-stage",
                                                      "liu-distance", "deepsymnet", "cbn", "aasn"}))
        << file;
    for (const SweepJob& j : a1.jobs) EXPECT_EQ(j.config.model.variant, j.variant) << file;
  }
}

}  // namespace
}  // namespace fracsweep::sweeps
