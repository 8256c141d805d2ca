#include "spec/job_config.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_util.h"

namespace fracsweep::spec {
namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_job_config(yaml, "job.yaml");
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return "";
}

constexpr const char* kMinimal = "output: runs/a/fold0\ndata: {store: vcf.h5}\n";

TEST(JobConfig, PaperPresetIsTheDefault) {
  const JobConfig j = parse_job_config(kMinimal, "job.yaml");
  EXPECT_EQ(j.name, "fold0");
  EXPECT_EQ(j.model.variant, "tsccn");
  EXPECT_EQ(j.model.width, 64);
  EXPECT_EQ(j.train.epochs, 100);
  EXPECT_EQ(j.train.batch_size, 64);
  EXPECT_DOUBLE_EQ(j.train.lr, 1e-4);
  EXPECT_EQ(j.train.sampler, "auto");
  EXPECT_DOUBLE_EQ(j.train.loss_weights.d, 0.2);
  EXPECT_DOUBLE_EQ(j.train.u_hat, 4);
}

TEST(JobConfig, TinyPresetThenOverrides) {
  const JobConfig j = parse_job_config(
      "preset: tiny\noutput: o\ndata: {store: s.h5, split: kfold, fold: 3}\n"
      "model: {variant: ldam-drw}\ntrain: {epochs: 7, loss_weights: {d: 0.5}}\n",
      "job.yaml");
  EXPECT_EQ(j.model.width, 4);
  EXPECT_EQ(j.train.threads, 1);
  EXPECT_EQ(j.train.epochs, 7);
  EXPECT_EQ(j.data.split, "kfold");
  EXPECT_EQ(j.data.fold, 3);
  EXPECT_DOUBLE_EQ(j.train.loss_weights.d, 0.5);
  EXPECT_DOUBLE_EQ(j.train.loss_weights.c, 1);
}

TEST(JobConfig, AasnRowsTakeThePapersSettingsAndRefuseGeometricAugmentation) {
  const auto j = parse_job_config("output: o\ndata: {store: p.h5}\nmodel: {variant: aasn-ff-fa}\n", "t");
  EXPECT_EQ(j.model.width, 32);  // DenseNet-121's growth rate
  EXPECT_EQ(j.model.in_channels, 3);
  EXPECT_EQ(j.train.lr, 1e-5);
  EXPECT_EQ(j.train.sampler, "shuffle");
  EXPECT_EQ(j.train.rotation + j.train.hflip + j.train.vflip, 0);
  EXPECT_EQ(j.train.selection_metric, "AUC");
  EXPECT_EQ(j.train.aasn_margin, 0.5);
  EXPECT_EQ(j.train.aasn_lambda, 0.5);
  // The job's own keys override the defaults; bad ones are refused.
  const auto k = parse_job_config(
      "output: o\ndata: {store: p.h5}\nmodel: {variant: aasn, width: 8}\ntrain: {lr: 1e-4}\n", "t");
  EXPECT_EQ(k.model.width, 8);
  EXPECT_EQ(k.train.lr, 1e-4);
  const auto error = [](const std::string& yaml) {
    try {
      parse_job_config(yaml, "t");
    } catch (const core::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_HAS(error("output: o\ndata: {store: p.h5}\nmodel: {variant: aasn}\ntrain: {hflip: 0.5}\n"),
             "rotations and flips would break");
  EXPECT_HAS(error("output: o\ndata: {store: p.h5}\nmodel: {variant: aasn}\n"
                   "train: {selection_metric: aAUC}\n"),
             "not an image-level metric of AASN");
  // A vertebra job's resolved YAML does not carry AASN's keys (its id stays what it was).
  const auto v = parse_job_config("output: o\ndata: {store: v.h5}\n", "t");
  EXPECT_EQ(to_yaml(v).find("aasn"), std::string::npos);
}

TEST(JobConfig, SettingsAddedLaterAreWrittenOnlyWhenSet) {
  // Left at their defaults, later settings stay out of the resolved config, so the ids and
  // config.yaml of jobs run before them do not change.
  JobConfig j = parse_job_config("preset: tiny\noutput: o\ndata: {store: s.h5}\n", "job.yaml");
  EXPECT_EQ(to_yaml(j).find("nts_"), std::string::npos) << to_yaml(j);
  j = parse_job_config(
      "preset: tiny\noutput: o\ndata: {store: s.h5}\nmodel: {variant: nts-net}\n"
      "train: {nts_parts: 2, nts_part_scale: 0.25}\n",
      "job.yaml");
  const std::string text = to_yaml(j);
  EXPECT_NE(text.find("nts_parts: 2"), std::string::npos) << text;
  EXPECT_NE(text.find("nts_part_scale: 0.25"), std::string::npos) << text;
  EXPECT_EQ(text.find("nts_proposals"), std::string::npos) << text;
  const JobConfig back = parse_job_config(text, "resolved");
  EXPECT_EQ(back.train.nts_parts, 2);
  EXPECT_EQ(back.train.nts_proposals, 6);
  EXPECT_EQ(to_yaml(back), text);
}

TEST(JobConfig, ResolvedYamlRoundTrips) {
  JobConfig j = parse_job_config(
      "preset: tiny\noutput: o\ndata: {store: s.h5, subset: 0.25}\ntrain: {lr: 0.00031, seed: 9}\n",
      "job.yaml");
  const std::string text = to_yaml(j);
  const JobConfig back = parse_job_config(text, "resolved");
  EXPECT_EQ(to_yaml(back), text);
  EXPECT_DOUBLE_EQ(back.train.lr, 0.00031);
  EXPECT_EQ(back.train.seed, 9u);
  EXPECT_DOUBLE_EQ(back.data.subset, 0.25);
  EXPECT_EQ(back.model.width, 4);
}

TEST(JobConfig, ErrorsNameTheFileAndTheKey) {
  EXPECT_HAS(error_of("output: o\ndata: {store: s.h5}\ntrain: {epoch: 3}\n"),
             "job.yaml: unknown key 'train.epoch' (did you mean 'epochs'?)");
  EXPECT_HAS(error_of("output: o\ndata: {store: s.h5}\ntrain: {lr: fast}\n"),
             "job.yaml: train.lr: expected a number, got 'fast'");
  EXPECT_HAS(error_of("output: o\ndata: {store: s.h5}\nmodel: {variant: vgg}\n"),
             "model.variant: 'vgg' is unknown");
  EXPECT_HAS(error_of("data: {store: s.h5}\n"), "output: the job's folder is required");
  EXPECT_HAS(error_of("output: o\n"), "data.store");
  EXPECT_HAS(error_of("output: o\ndata: {store: s.h5, split: kfold, fold: 5}\n"),
             "data.fold: 5 is outside 0..4");
  EXPECT_HAS(error_of("output: o\ndata: {store: s.h5}\ntrain: {u_hat: 1}\n"), "train.u_hat");
  EXPECT_HAS(error_of("output: o\ndata: {store: s.h5}\nextra: 1\n"), "unknown key 'extra'");
  EXPECT_HAS(error_of("preset: huge\noutput: o\ndata: {store: s.h5}\n"), "preset 'huge'");
  EXPECT_HAS(error_of("output: o\ndata: [1, 2\n"), "job.yaml:");
  EXPECT_HAS(error_of("output: o\ndata: {store: s.h5}\ntrain: {loss_weights: {x: 1}}\n"),
             "unknown key 'train.loss_weights.x'");
}

// A stray carriage return inside a path (found by the job_yaml fuzzer) would be dropped by
// the job's own config.yaml, so that the job read back is not the job that ran.
// A batch is split over a job's data-parallel ranks: every rank needs two samples or
// more (batch norm) and the same share.
TEST(JobConfig, ABatchSizeItsGroupCannotSplitIsRefusedWithTheSizesThatFit) {
  JobConfig j = parse_job_config(kMinimal, "job.yaml");
  const auto error_of_group = [&](int batch, int ranks) {
    j.train.batch_size = batch;
    try {
      validate_group(j, ranks, "ranks_per_job " + std::to_string(ranks), "s.yaml: job a");
    } catch (const core::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // Accepted exactly where batch / ranks >= 2 and ranks divides batch.
  for (int ranks = 1; ranks <= 8; ++ranks)
    for (int batch = 1; batch <= 40; ++batch)
      EXPECT_EQ(error_of_group(batch, ranks).empty(), batch >= 2 * ranks && batch % ranks == 0)
          << "batch " << batch << ", ranks " << ranks;
  EXPECT_EQ(error_of_group(6, 4),
            "s.yaml: job a: train.batch_size 6 over ranks_per_job 4 (a data-parallel group of 4 "
            "rank(s)) gives each rank batches of one sample, which batch norm cannot train on; "
            "use a train.batch_size of at least 8 or fewer ranks per job");
  EXPECT_EQ(error_of_group(10, 4),
            "s.yaml: job a: train.batch_size 10 cannot be split evenly over ranks_per_job 4 (a "
            "data-parallel group of 4 ranks); use a multiple of 4 (e.g. 8 or 12) or a "
            "ranks_per_job that divides 10");
  EXPECT_HAS(error_of_group(1, 1), "train.batch_size 1 over ranks_per_job 1");
  j.model.variant = "curve";  // trains nothing
  EXPECT_EQ(error_of_group(1, 4), "");
}

TEST(JobConfig, AControlCharacterInAPathIsRefusedBeforeItReachesTheResolvedConfig) {
  EXPECT_HAS(error_of("output: out/p\r\r\r\ndata: {store: s.h5}\n"),
             "job.yaml: output holds the control character 0x0d at offset 5");
  EXPECT_HAS(error_of("output: o\ndata: {store: \"s\\t.h5\"}\n"),
             "data.store holds the control character 0x09 at offset 1");
  const JobConfig ok = parse_job_config("output: out/p\r\ndata: {store: s.h5}\r\n", "crlf.yaml");
  EXPECT_EQ(ok.output, "out/p");  // a file saved with CRLF line ends is fine
}

}  // namespace
}  // namespace fracsweep::spec
