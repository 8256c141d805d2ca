// `fracsweep synth vcf` then `fracsweep inspect`, through the binary.
#include <gtest/gtest.h>

#include "core/fs.h"
#include "test_util.h"

namespace fracsweep {
namespace {

TEST(SynthCommand, WritesAStoreInspectAcceptsAndAPreview) {
  testing::TempDir dir;
  const std::string out = (dir.path() / "vcf.h5").string();
  const std::string png = (dir.path() / "sheet.png").string();
  const auto r = testing::run_fracsweep({"synth", "vcf", out, "--patients", "7", "--patch-size",
                                         "32", "--seed", "5", "--compression", "1", "--preview",
                                         png});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.out, "7 patients (4 benign, 3 malignant)");
  EXPECT_HAS(r.err, "synth vcf: 7/7 patients (100%)");
  const std::string sheet = core::read_file(png);
  ASSERT_GT(sheet.size(), 8u);
  EXPECT_EQ(sheet.substr(1, 3), "PNG");

  const auto i = testing::run_fracsweep({"inspect", out});
  ASSERT_EQ(i.exit_code, 0) << i.err;
  EXPECT_HAS(i.out, "valid fracsweep patch store, schema 2, task vcf");
  EXPECT_HAS(i.out, "patches of 32x32 uint8, compression deflate-1");
  EXPECT_HAS(i.out, "seed=5");

  // Same flags, same bytes.
  const std::string again = (dir.path() / "again.h5").string();
  ASSERT_EQ(testing::run_fracsweep({"synth", "vcf", again, "--patients", "7", "--patch-size", "32",
                                    "--seed", "5", "--compression", "1", "-q", "--threads", "1"})
                .exit_code,
            0);
  EXPECT_EQ(core::read_file(out), core::read_file(again));
}

TEST(SynthCommand, BadInputExitsWithTwoAndSaysWhy) {
  testing::TempDir dir;
  const std::string out = (dir.path() / "x.h5").string();
  auto r = testing::run_fracsweep({"synth", "vcf", out, "--difficulty", "1.5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "difficulty");
  r = testing::run_fracsweep({"synth", "vcf", out, "--patients", "5", "--benign", "3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "either --patients or --benign/--malignant");
  r = testing::run_fracsweep({"synth", "ct", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "unknown kind 'ct'");
  r = testing::run_fracsweep({"synth", "vcf", (dir.path() / "no" / "x.h5").string(), "--patients", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_HAS(r.err, "cannot create");
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace fracsweep
