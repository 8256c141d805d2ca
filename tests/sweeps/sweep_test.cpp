#include "sweeps/sweep.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/error.h"
#include "sweeps/names.h"
#include "test_util.h"

namespace fracsweep::sweeps {
namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_sweep(yaml, "s.yaml");
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return "";
}

constexpr const char* kTable3 = R"(
name: t3
output: runs/t3
preset: tiny
dataset: {store: vcf.h5}
protocol: {split: random, repeats: [0, 1]}
seeds: [1, 2]
variants:
  tsccn: {model: {variant: tsccn}}
  two-stream: {model: {variant: two-stream}, train: {lr: 0.002}}
train: {epochs: 2}
)";

TEST(Sweep, ExpandsVariantsPartsAndSeeds) {
  const Sweep s = parse_sweep(kTable3, "s.yaml");
  ASSERT_EQ(s.jobs.size(), 2u * 2 * 2);
  EXPECT_EQ(s.jobs[0].name, "tsccn/repeat0/seed1");
  EXPECT_EQ(s.jobs[3].name, "tsccn/repeat1/seed2");
  EXPECT_EQ(s.jobs[4].name, "two-stream/repeat0/seed1");
  const auto& j = s.jobs[5].config;
  EXPECT_EQ(j.model.variant, "two-stream");
  EXPECT_DOUBLE_EQ(j.train.lr, 0.002);   // the variant's value over the preset's
  EXPECT_EQ(j.train.epochs, 2);          // the base section over the preset's
  EXPECT_EQ(j.model.width, 4);           // the preset's
  EXPECT_EQ(j.train.seed, 2u);
  EXPECT_EQ(j.data.repeat, 0);
  EXPECT_EQ(j.data.store, "vcf.h5");
  EXPECT_EQ(j.output, "runs/t3/two-stream/repeat0/seed2");
  std::set<std::string> ids;
  for (const auto& job : s.jobs) ids.insert(job.id);
  EXPECT_EQ(ids.size(), s.jobs.size());
}

TEST(Sweep, IdsDependOnSettingsNotOnTheOutputFolder) {
  const Sweep a = parse_sweep(kTable3, "s.yaml");
  std::string moved = kTable3;
  moved.replace(moved.find("output: runs/t3"), 15, "output: elsewhere/t3");
  const Sweep b = parse_sweep(moved, "s.yaml");
  for (size_t i = 0; i < a.jobs.size(); ++i) EXPECT_EQ(a.jobs[i].id, b.jobs[i].id);
  std::string other = kTable3;
  other.replace(other.find("epochs: 2"), 9, "epochs: 3");
  EXPECT_NE(parse_sweep(other, "s.yaml").jobs[0].id, a.jobs[0].id);
}

TEST(Sweep, IdsOfExampleJobsStayTheSameAcrossVersions) {
  // A finished sweep must stay finished when fracsweep is upgraded: its ledger names jobs by
  // id. These are ids that runs of the example wrote; a change to the resolved config (a new
  // setting written for every job, say) would change them and orphan every earlier run.
  const Sweep s = load_sweep(testing::fixture("../../examples/sweeps/tsccn-table3-tiny.yaml"));
  std::map<std::string, std::string> ids;
  for (const SweepJob& j : s.jobs) ids[j.name] = j.id;
  EXPECT_EQ(ids["single-stream/repeat0/seed1"], "3911088f13710385");
  EXPECT_EQ(ids["single-stream/repeat1/seed1"], "c83e46cdb4c55daf");
  EXPECT_EQ(ids["single-stream+triplet/repeat0/seed1"], "daf6948637276214");
  // The ids fracsweep 0.1 wrote (it hashed the phantom's path), which a run carries over.
  std::map<std::string, std::string> former;
  for (const SweepJob& j : s.jobs) former[j.name] = j.former_id;
  EXPECT_EQ(former["single-stream/repeat0/seed1"], "e8f7ef5d4dbe4151");
  EXPECT_EQ(former["single-stream/repeat1/seed1"], "fe4a9ae58a26f444");
  EXPECT_EQ(former["single-stream+triplet/repeat0/seed1"], "6106b1b93e4b66e9");
}

// A phantom the sweep writes into its own folder is named by its parameters in
// the id, not by its path: the same sweep in another folder has the same ids.
TEST(Sweep, IdsOfAPhantomSweepDoNotDependOnItsFolder) {
  const std::string base =
      "name: p\noutput: OUT\npreset: tiny\ndataset: {phantom: {patients: 12, seed: SEED}}\n"
      "variants: {tsccn: {model: {variant: tsccn}}}\n";
  const auto sweep_of = [&](const std::string& out, const std::string& seed) {
    std::string y = base;
    y.replace(y.find("OUT"), 3, out);
    y.replace(y.find("SEED"), 4, seed);
    return parse_sweep(y, "s.yaml");
  };
  const Sweep a = sweep_of("runs/a", "1"), b = sweep_of("/elsewhere/b", "1");
  ASSERT_EQ(a.jobs.size(), 1u);
  EXPECT_EQ(a.jobs[0].id, b.jobs[0].id);
  EXPECT_NE(a.jobs[0].former_id, b.jobs[0].former_id);  // 0.1 hashed the path
  EXPECT_NE(sweep_of("runs/a", "2").jobs[0].id, a.jobs[0].id);  // another phantom
  EXPECT_TRUE(parse_sweep(kTable3, "s.yaml").jobs[0].former_id.empty());  // a store: unchanged
}

TEST(Sweep, KfoldGridAndRandomAxes) {
  const Sweep s = parse_sweep(R"(
output: o
dataset: {phantom: {patients: 20, patch_size: 32}}
protocol: {split: kfold, folds: 5, run_folds: [2], val_share: 0.1}
variants: {resnet: {model: {variant: resnet18}}}
axes:
  grid: {train.lr: [1e-4, 3e-4], model.width: [8, 16]}
  random: {count: 3, seed: 7, params: {train.weight_decay: {dist: loguniform, low: 1e-6, high: 1e-3}}}
)", "s.yaml");
  ASSERT_EQ(s.jobs.size(), 2u * 2 * 3);
  EXPECT_TRUE(s.synthesise);
  EXPECT_EQ(s.store, "o/phantom.h5");
  EXPECT_EQ(s.jobs[0].config.data.fold, 2);
  EXPECT_EQ(s.jobs[0].config.data.split, "kfold");
  EXPECT_EQ(s.jobs[0].name.rfind("resnet/fold2/seed1/lr=1e-4/width=8/weight_decay=", 0), 0u)
      << s.jobs[0].name;
  // The same draws for every grid point; the names carry the drawn value.
  for (size_t k = 0; k < 3; ++k) {
    const double wd = s.jobs[k].config.train.weight_decay;
    EXPECT_GE(wd, 1e-6);
    EXPECT_LE(wd, 1e-3);
    EXPECT_DOUBLE_EQ(s.jobs[3 + k].config.train.weight_decay, wd);
  }
  EXPECT_EQ(s.jobs[3].config.model.width, 16);
  EXPECT_DOUBLE_EQ(s.jobs[6].config.train.lr, 3e-4);
}

// A variant's name and an axis point become folders of the sweep's output.
std::string with_variant(const std::string& quoted_name, const std::string& axes = "") {
  return "output: o\ndataset: {store: s.h5}\nvariants: {" + quoted_name +
         ": {model: {variant: tsccn}}}\n" + axes;
}

TEST(Sweep, NamesThatBecomeFoldersAreRefusedWhenUnsafe) {
  const std::string too_long(kMaxNameBytes + 1, 'a');
  const std::pair<std::string, std::string> bad[] = {
      {"\"..\"", "its parent"},
      {"\".\"", "the folder itself"},
      {"\"a/../../etc\"", "holds '/'"},
      {"\"/abs\"", "holds '/'"},
      {"\"tab\\there\"", "control character 0x09"},
      {"\"bell\\a\"", "control character 0x07"},
      {"\"del\\x7f\"", "control character 0x7f"},
      {"\" lead\"", "starts or ends with a space"},
      {"\"\"", "is empty"},
      {"\"bad\xff\"", "not valid UTF-8"},  // a raw byte (YAML's \xff would be U+00FF)
      {too_long, "201 bytes long"}};
  for (const auto& [name, why] : bad) {
    const std::string e = error_of(with_variant(name));
    EXPECT_HAS(e, why);
    EXPECT_HAS(e, "variants: the name");
  }
  // An axis value lands in the job's name too.
  EXPECT_HAS(error_of(with_variant("ok", "axes: {grid: {train.sampler: [\"x/../../y\"]}}\n")),
             "axes: the point 'sampler=x/../../y' holds '/'");
  // Names that only case tells apart share a folder on a case-insensitive file system.
  EXPECT_HAS(error_of("output: o\ndataset: {store: s.h5}\nvariants:\n  TSCCN: {model: {variant: "
                      "tsccn}}\n  tsccn: {model: {variant: tsccn}, train: {lr: 0.1}}\n"),
             "differ only in case");
  // Everything else a file name can hold is kept: LaTeX's specials, spaces inside, accents.
  const Sweep odd = parse_sweep(with_variant("\"a_%&#$~^\\\\{} é-β\""), "s.yaml");
  EXPECT_EQ(odd.jobs[0].variant, "a_%&#$~^\\{} é-β");
  EXPECT_EQ(odd.jobs[0].config.output, "o/a_%&#$~^\\{} é-β/repeat0/seed1");
}

// A pelvis phantom's landmark error: named in the jobs' ids only where it is not the
// default, so the jobs of a sweep written before the option keep their ids.
TEST(Sweep, APelvisPhantomsLandmarkErrorChangesTheJobsOnlyWhereItIsNotTheDefault) {
  const auto with = [](const std::string& extra) {
    return parse_sweep("output: o\ndataset: {pelvis_phantom: {images: 40, height: 64, width: 128" +
                           extra + "}}\nvariants: {v: {model: {variant: aasn-vanilla}}}\n",
                       "s.yaml");
  };
  const Sweep plain = with(""), stated = with(", landmark_error_mm: 0.8"),
              exact = with(", landmark_error_mm: 0");
  EXPECT_EQ(plain.pelvis_phantom.landmark_error_mm, 0.8);
  EXPECT_EQ(exact.pelvis_phantom.landmark_error_mm, 0.0);
  ASSERT_EQ(plain.jobs.size(), 1u);
  EXPECT_EQ(stated.jobs[0].id, plain.jobs[0].id);
  EXPECT_NE(exact.jobs[0].id, plain.jobs[0].id);
  EXPECT_HAS(error_of("output: o\ndataset: {pelvis_phantom: {landmark_error_mm: -1}}\n"
                      "variants: {v: {model: {variant: aasn}}}\n"),
             "s.yaml: dataset.pelvis_phantom: landmark error = -1 mm must be in [0, 20]");
  EXPECT_HAS(error_of("output: o\ndataset: {pelvis_phantom: {difficulty: 2}}\n"
                      "variants: {v: {model: {variant: aasn}}}\n"),
             "s.yaml: dataset.pelvis_phantom: difficulty = 2 must be in [0, 1]");
}

TEST(Sweep, ErrorsNameTheKeyAndTheNearestOne) {
  EXPECT_HAS(error_of("output: o\ndataset: {store: s}\nvariants: {a: {}}\nseed: [1]\n"),
             "s.yaml: unknown key 'seed' (did you mean 'seeds'?)");
  EXPECT_HAS(error_of("output: o\ndataset: {store: s}\nprotocol: {repeat: [1]}\nvariants: {a: {}}\n"),
             "unknown key 'protocol.repeat' (did you mean 'repeats'?)");
  EXPECT_HAS(error_of("output: o\ndataset: {store: s}\nvariants: {a: {modle: {}}}\n"),
             "unknown key 'variants.a.modle' (did you mean 'model'?)");
  EXPECT_HAS(error_of("output: o\ndataset: {store: s}\nvariants: {a: {train: {epoch: 3}}}\n"),
             "s.yaml: job a/repeat0/seed1: unknown key 'train.epoch' (did you mean 'epochs'?)");
  EXPECT_HAS(error_of("output: o\ndataset: {store: s, phantom: {}}\nvariants: {a: {}}\n"),
             "exactly one of store, phantom and pelvis_phantom");
  EXPECT_HAS(error_of("output: o\ndataset: {store: s}\nvariants: {a: {}}\naxes: {grid: {lr: [1]}}\n"),
             "must be <section>.<key>");
  EXPECT_HAS(error_of("output: o\ndataset: {store: s}\nvariants: {a: {}, b: {}}\n"),
             "have the same settings");
}

// dataset.phantom is checked when the file is read, as the generator checks it, with
// the file and the key; it used to surface on rank 0 writing the phantom, with neither.
TEST(Sweep, ABadVertebraPhantomIsRefusedWhenTheSweepIsRead) {
  const auto phantom = [](const std::string& spec) {
    return "output: o\ndataset: {phantom: {" + spec + "}}\nvariants: {v: {model: {variant: tsccn}}}\n";
  };
  EXPECT_HAS(error_of(phantom("patch_size: 8")),
             "s.yaml: dataset.phantom: vcf phantom: patch_size must be in [16, 2048], got 8");
  EXPECT_HAS(error_of(phantom("slices: 9")),
             "s.yaml: dataset.phantom: vcf phantom: slices must be in [1, 7], got 9");
  EXPECT_HAS(error_of(phantom("difficulty: 1.5")),
             "s.yaml: dataset.phantom: vcf phantom: difficulty must be in [0, 1], got 1.5");
  EXPECT_HAS(error_of(phantom("patients: 0")),
             "s.yaml: dataset.phantom.patients: 0 must be at least 1");
  EXPECT_HAS(error_of(phantom("patients: -3")),
             "s.yaml: dataset.phantom.patients: -3 must be at least 1");
  // The generator's options, the patients split 136:103 as in the paper.
  const Sweep s = parse_sweep(phantom("patients: 40, patch_size: 32, slices: 2, seed: 7"), "s.yaml");
  const datastore::VcfPhantomOptions o = s.phantom.options();
  EXPECT_EQ(o.benign_patients, 23);  // round(40 * 136 / 239) = round(22.76)
  EXPECT_EQ(o.malignant_patients, 17);
  EXPECT_EQ(o.patch_size, 32);
  EXPECT_EQ(o.slices, 2);
  EXPECT_EQ(o.seed, 7u);
}

// A batch size that gives a rank of a job's data-parallel group batches of one, or that
// its ranks do not divide, is refused when the sweep is read, for every job (here only
// one point of an axis and one variant are wrong); it used to fail each job as it started.
TEST(Sweep, ABatchSizeTheRanksPerJobCannotSplitIsRefusedForEveryJob) {
  const std::string sweep =
      "output: o\ndataset: {store: s.h5}\nranks_per_job: 4\n"
      "variants:\n  a: {model: {variant: tsccn}}\n  b: {model: {variant: resnet18}, train: "
      "{batch_size: BATCH_B}}\naxes: {grid: {train.lr: [0.001, 0.01]}}\ntrain: {batch_size: 16}\n";
  const auto with_b = [&](const std::string& b) {
    std::string text = sweep;
    text.replace(text.find("BATCH_B"), 7, b);
    return text;
  };
  EXPECT_EQ(parse_sweep(with_b("8"), "s.yaml").jobs.size(), 4u);
  EXPECT_HAS(error_of(with_b("6")),
             "s.yaml: job b/repeat0/seed1/lr=0.001: train.batch_size 6 over ranks_per_job 4 (a "
             "data-parallel group of 4 rank(s)) gives each rank batches of one sample");
  EXPECT_HAS(error_of(with_b("10")),
             "s.yaml: job b/repeat0/seed1/lr=0.001: train.batch_size 10 cannot be split evenly "
             "over ranks_per_job 4");
  // An axis of batch sizes: the one point that does not split is named.
  std::string axis = with_b("8");
  axis.replace(axis.find("train.lr: [0.001, 0.01]"), 23, "train.batch_size: [8, 12, 18]");
  EXPECT_HAS(error_of(axis), "job a/repeat0/seed1/batch_size=18: train.batch_size 18 cannot be split");

  // The command line's --ranks-per-job replaces the file's, and is what is checked.
  const Sweep two = parse_sweep(with_b("6"), "s.yaml", 2);
  EXPECT_EQ(two.ranks_per_job, 2);
  try {
    parse_sweep(with_b("8"), "s.yaml", 8);
    ADD_FAILURE() << "batch 8 over 8 ranks was accepted";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()),
               "job b/repeat0/seed1/lr=0.001: train.batch_size 8 over --ranks-per-job 8");
  }
  try {
    parse_sweep(with_b("8"), "s.yaml", -1);
    ADD_FAILURE() << "--ranks-per-job -1 was accepted";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "s.yaml: --ranks-per-job -1 must be >= 1");
  }
  // A batch of one on a single rank fails too; a learning curve trains nothing.
  EXPECT_HAS(error_of("output: o\ndataset: {store: s.h5}\nvariants: {a: {}}\ntrain: {batch_size: 1}\n"),
             "train.batch_size 1 over ranks_per_job 1");
  EXPECT_EQ(parse_sweep("output: o\ndataset: {store: s.h5}\nranks_per_job: 4\n"
                        "variants: {c: {model: {variant: curve}}}\ntrain: {batch_size: 1}\n",
                        "s.yaml").jobs.size(), 1u);
}

// A search's batch sizes are checked at each choice (or each end of a range).
TEST(Sweep, ASearchedBatchSizeTheRanksCannotSplitIsRefused) {
  const std::string sweep =
      "output: o\ndataset: {store: s.h5}\nranks_per_job: 2\n"
      "variants: {a: {model: {variant: tsccn}}}\ntrain: {batch_size: 16}\n"
      "search: {metric: aAUC, mode: max, trials: 2, space: {train.batch_size: {dist: choice, "
      "values: VALUES}}}\n";
  const auto with = [&](const std::string& values) {
    std::string text = sweep;
    text.replace(text.find("VALUES"), 6, values);
    return text;
  };
  EXPECT_EQ(parse_sweep(with("[8, 16]"), "s.yaml").jobs.size(), 2u);
  EXPECT_HAS(error_of(with("[8, 9]")),
             "s.yaml: job a/repeat0/seed1/trial0: search.space.train.batch_size = 9: "
             "train.batch_size 9 cannot be split evenly over ranks_per_job 2");
}

}  // namespace
}  // namespace fracsweep::sweeps
