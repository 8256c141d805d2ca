// The fracsweep binary end to end: help texts, exit codes and error lines.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <filesystem>

#include "core/fs.h"
#include "core/process.h"
#include "datastore/patch_store.h"
#include "test_util.h"

#include <torch/version.h>

namespace fracsweep {
namespace {

using testing::run_fracsweep;

TEST(Cli, HelpListsEveryCommand) {
  const auto r = run_fracsweep({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("metrics"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("version"), std::string::npos) << r.out;
  const auto m = run_fracsweep({"metrics", "--help"});
  EXPECT_EQ(m.exit_code, 0);
  EXPECT_NE(m.out.find("--format"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("--threshold"), std::string::npos) << m.out;
}

TEST(Cli, UnknownCommandAndFlagAreUsageErrors) {
  const auto r = run_fracsweep({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << r.err;
  const auto f = run_fracsweep({"metrics", "x.csv", "--colour"});
  EXPECT_EQ(f.exit_code, 2);
  EXPECT_NE(f.err.find("colour"), std::string::npos) << f.err;
  const auto fmt = run_fracsweep({"metrics", "x.csv", "--format", "xml"});
  EXPECT_EQ(fmt.exit_code, 2);
  EXPECT_NE(fmt.err.find("--format 'xml' is not one of: table, json"), std::string::npos) << fmt.err;
}

TEST(Cli, BadCsvGivesOneLineWithFileLineAndColumn) {
  testing::TempDir dir;
  const std::string path = dir.write("bad.csv", "id,patient,label,p0,p1\na,P,0,0.2,0.8\nb,P,1,x,0.5\n");
  const auto r = run_fracsweep({"metrics", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find(path + ":3:4: column 'p0': 'x' is not a number"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Cli, MissingFileIsAFailureNamingIt) {
  const auto r = run_fracsweep({"metrics", "/nonexistent/p.csv"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/nonexistent/p.csv"), std::string::npos) << r.err;
}

TEST(Cli, JsonHasExactlyTheOracleKeysAndValues) {
  const std::string csv = testing::fixture("metrics/cases/mc3_rounded2_800.csv");
  const auto r = run_fracsweep({"metrics", csv, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = nlohmann::ordered_json::parse(r.out);
  const auto expected = nlohmann::ordered_json::parse(core::read_file(
      testing::fixture("metrics/expected/mc3_rounded2_800.json")));
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [key, value] : expected.items()) {
    ASSERT_TRUE(got.contains(key)) << key;
    EXPECT_NEAR(got[key].get<double>(), value.get<double>(), 1e-9) << key;
  }
}

TEST(Cli, TablePrintsPercentagesWithTwoDecimals) {
  testing::TempDir dir;
  // AUC 0.75 and AP 0.8333... from scikit-learn's documented example.
  const std::string path = dir.write("b.csv", "id,patient,label,score\na,P,0,0.1\nb,P,0,0.4\nc,Q,1,0.35\nd,Q,1,0.8\n");
  const auto r = run_fracsweep({"metrics", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("75.00"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("83.33"), std::string::npos) << r.out;
}

TEST(Cli, InspectPrintsCountsPerClassAndSplit) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "s.h5").string();
  {
    datastore::VcfStoreWriter w(path, 4, 4, 1, "cli test");
    std::vector<uint8_t> px(16, 100);
    for (int p = 0; p < 10; ++p) {
      std::vector<datastore::VcfPatchRecord> r(3);
      for (int k = 0; k < 3; ++k) r[k] = {px, k == 1 ? 1 + p % 2 : 0, 0, k, k - 1, k < 2 ? k + 1 : -1};
      w.add_patient("P" + std::to_string(p), 1 + p % 2, r);
    }
    w.commit();
  }
  const auto r = run_fracsweep({"inspect", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("30 patches of 4x4 uint8, compression deflate-1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 normal             20"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10 patients (5 benign, 5 malignant"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TSCCN 3:1:1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mean  100.0  std   0.0"), std::string::npos) << r.out;

  const std::string bad = dir.write("bad.h5", "not hdf5");
  const auto b = run_fracsweep({"inspect", bad});
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_NE(b.err.find(bad + ": not an HDF5 file"), std::string::npos) << b.err;
}

TEST(Cli, VersionNamesLibTorchAndTheNcclBackendState) {
  const auto r = run_fracsweep({"version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("nccl:"), std::string::npos) << r.out;
  const std::string libtorch = "libtorch: " + std::to_string(TORCH_VERSION_MAJOR) + "." +
                               std::to_string(TORCH_VERSION_MINOR) + "\n";
  EXPECT_NE(r.out.find(libtorch), std::string::npos) << r.out;
}

// The commands that do not train start at once because fracsweep links
// neither LibTorch nor MPI; fracsweep-train, beside it, links both. Nor does
// it link ITK or GDCM, which only fracsweep-ingest loads.
TEST(Cli, TheCommandLoadsNeitherLibTorchNorMpiAndItsTrainingHalfDoes) {
  const std::string light = testing::fracsweep_binary();
  const std::filesystem::path bin = std::filesystem::path(light).parent_path();
  const std::string heavy = (bin / "fracsweep-train").string();
  const core::ProcessResult l = core::run_process({"ldd", light});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  for (const char* lib : {"libtorch", "libc10", "libmpi", "libcudart", "libnccl"})
    EXPECT_EQ(l.out.find(lib), std::string::npos) << lib << " in\n" << l.out;
  const core::ProcessResult h = core::run_process({"ldd", heavy});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  for (const char* lib : {"libtorch", "libc10", "libmpi"}) EXPECT_HAS(h.out, lib);
  // ITK's own libraries are libITK*, its bundled ones libitk*, GDCM's libgdcm*.
  const auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const char* lib : {"libitk", "libgdcm"})
    EXPECT_EQ(lower(l.out).find(lib), std::string::npos) << lib << " in\n" << l.out;
  const core::ProcessResult i = core::run_process({"ldd", (bin / "fracsweep-ingest").string()});
  ASSERT_EQ(i.exit_code, 0) << i.err;
  EXPECT_HAS(i.out, "libITKCommon");
  EXPECT_HAS(i.out, "libgdcm");
  for (const char* lib : {"libtorch", "libmpi"})
    EXPECT_EQ(i.out.find(lib), std::string::npos) << lib << " in\n" << i.out;
}

TEST(Cli, ATrainingCommandWithoutFracsweepTrainBesideItSaysWhereItLooked) {
  testing::TempDir dir;
  const std::filesystem::path alone = dir.path() / "bin" / "fracsweep";
  std::filesystem::create_directories(alone.parent_path());
  std::filesystem::copy_file(testing::fracsweep_binary(), alone);
  const core::ProcessResult r = core::run_process({alone.string(), "train", "job.yaml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_HAS(r.err, "fracsweep train: error: the training commands are in fracsweep-train");
  EXPECT_HAS(r.err, (dir.path() / "bin" / "fracsweep-train").string());
  EXPECT_HAS(r.err, (dir.path() / "libexec" / "fracsweep" / "fracsweep-train").string());
  // The light commands need nothing beside them.
  EXPECT_EQ(core::run_process({alone.string(), "version"}).exit_code, 0);
}

// As a GPU machine's pack has it: fracsweep-train beside fracsweep, no fracsweep-ingest.
TEST(Cli, WithoutFracsweepIngestOnlyIngestFailsAndSaysWhereItLooked) {
  testing::TempDir dir;
  const std::filesystem::path bin = dir.path() / "bin";
  std::filesystem::create_directories(bin);
  const std::filesystem::path built = std::filesystem::path(testing::fracsweep_binary()).parent_path();
  std::filesystem::copy_file(testing::fracsweep_binary(), bin / "fracsweep");
  std::filesystem::create_symlink(built / "fracsweep-train", bin / "fracsweep-train");
  const std::string fracsweep = (bin / "fracsweep").string();
  const core::ProcessResult i = core::run_process({fracsweep, "ingest", "vcf", "m.csv", "o.h5"});
  EXPECT_EQ(i.exit_code, 1);
  EXPECT_HAS(i.err, "fracsweep ingest: error: the ingest command is in fracsweep-ingest");
  EXPECT_HAS(i.err, (bin / "fracsweep-ingest").string());
  EXPECT_HAS(i.err, (dir.path() / "libexec" / "fracsweep" / "fracsweep-ingest").string());
  const core::ProcessResult help = core::run_process({fracsweep, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_HAS(help.out, "ingest");
  const core::ProcessResult b = core::run_process({fracsweep, "bench", "startup", "--repeats", "1"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_HAS(b.out, "| fracsweep version |");
  EXPECT_HAS(b.out, "| fracsweep-train --help |");
  EXPECT_EQ(b.out.find("ingest"), std::string::npos) << b.out;
  EXPECT_HAS(b.err, "not timed: the ingest command is in fracsweep-ingest");
}

// An installed layout: fracsweep in bin/, the executables it hands over to in
// libexec/fracsweep/.
TEST(Cli, IngestIsFoundInLibexec) {
  testing::TempDir dir;
  const std::filesystem::path bin = dir.path() / "bin", libexec = dir.path() / "libexec" / "fracsweep";
  std::filesystem::create_directories(bin);
  std::filesystem::create_directories(libexec);
  const std::filesystem::path built = std::filesystem::path(testing::fracsweep_binary()).parent_path();
  std::filesystem::copy_file(testing::fracsweep_binary(), bin / "fracsweep");
  std::filesystem::create_symlink(built / "fracsweep-ingest", libexec / "fracsweep-ingest");
  const core::ProcessResult r = core::run_process({(bin / "fracsweep").string(), "ingest", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.out, "usage: fracsweep ingest <kind>");
}

TEST(Cli, BenchStartupTimesTheLightCommandsAgainstTheTrainingExecutable) {
  const auto r = run_fracsweep({"bench", "startup", "--repeats", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* row : {"| fracsweep version |", "| fracsweep plan s.yaml |",
                          "| fracsweep metrics p.csv |", "| fracsweep ingest --help |",
                          "| fracsweep-ingest --help |", "| fracsweep-train --help |"})
    EXPECT_HAS(r.out, row);
}

TEST(Cli, BenchMetricsScoresAFileInPhases) {
  const auto r = run_fracsweep(
      {"bench", "metrics", testing::fixture("metrics/cases/bin_large_3000.csv"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j.at("rows").get<int>(), 0);
  for (const char* k : {"read_s", "parse_s", "metrics_s"}) EXPECT_GE(j.at(k).get<double>(), 0) << k;
}

}  // namespace
}  // namespace fracsweep
