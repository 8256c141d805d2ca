// `fracsweep synth pelvis`, `inspect` of a pelvis store, and the two FROC forms
// of `fracsweep metrics`, through the binary, on files made the way a user
// would make them (plain HDF5 calls, as h5py writes them; a CSV by hand).
#include <gtest/gtest.h>
#include <hdf5.h>
#include <hdf5_hl.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "datastore/h5.h"
#include "test_util.h"

namespace fracsweep {
namespace {

using nlohmann::json;

json fixture(const std::string& name) {
  std::ifstream in(testing::fixture("metrics/" + name));
  EXPECT_TRUE(in) << name;
  return json::parse(in);
}

TEST(PelvisCommand, SynthWritesAStoreInspectValidatesWithFoldsAndAPreview) {
  testing::TempDir dir;
  const std::string out = (dir.path() / "pelvis.h5").string();
  const std::string png = (dir.path() / "sheet.png").string();
  const std::vector<std::string> flags = {"--images", "30", "--height", "64", "--width", "128",
                                          "--seed", "5"};
  std::vector<std::string> args = {"synth", "pelvis", out};
  args.insert(args.end(), flags.begin(), flags.end());
  const auto r = testing::run_fracsweep(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.out, "30 images of 64x128 (10 with fractures");  // 759/2359 of 30
  EXPECT_HAS(r.err, "synth pelvis: 30/30 images (100%)");

  const auto i = testing::run_fracsweep({"inspect", out, "--preview", png});
  ASSERT_EQ(i.exit_code, 0) << i.err;
  EXPECT_HAS(i.out, "valid fracsweep patch store, schema 2, task pelvis");
  EXPECT_HAS(i.out, "30 images of 64x128 uint8");
  EXPECT_HAS(i.out, "1 fracture        10");
  EXPECT_HAS(i.out, "warp: I -> I_f grid of 8x16 cells at stride 8");
  EXPECT_HAS(i.out, "5-fold CV, patient-grouped");
  EXPECT_HAS(i.out, "fold 4  train");
  EXPECT_HAS(i.out, "landmark carried by the grid lands");
  EXPECT_EQ(core::read_file(png).substr(1, 3), "PNG");

  // A second later: a time recorded anywhere in the file would show.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const std::string again = (dir.path() / "again.h5").string();
  args = {"synth", "pelvis", again, "-q", "--threads", "1"};
  args.insert(args.end(), flags.begin(), flags.end());
  ASSERT_EQ(testing::run_fracsweep(args).exit_code, 0);
  EXPECT_EQ(core::read_file(out), core::read_file(again)) << "same flags, same bytes";
}

TEST(PelvisCommand, BadSynthFlagsExitWithTwo) {
  testing::TempDir dir;
  const auto r = testing::run_fracsweep(
      {"synth", "pelvis", (dir.path() / "x.h5").string(), "--height", "100"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "height = 100 must be a multiple of 32");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.h5"));
}

// A heatmap file as h5py would write it: contiguous float32, int64 points and schema.
std::string write_heatmaps_by_hand(const std::filesystem::path& dir, const json& input) {
  const std::string path = (dir / "heatmaps.h5").string();
  const auto& images = input["images"];
  const hsize_t n = images.size(), h = images[0]["height"], w = images[0]["width"];
  std::vector<float> pixels;
  std::vector<long long> points;
  for (size_t i = 0; i < n; ++i) {
    for (double v : images[i]["heatmap"]) pixels.push_back(static_cast<float>(v));
    for (const auto& p : images[i]["points"])
      points.insert(points.end(), {static_cast<long long>(i), p[0].get<long long>(), p[1].get<long long>()});
  }
  datastore::H5File f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  const hsize_t dims[3] = {n, h, w}, pdims[2] = {points.size() / 3, 3};
  H5LTmake_dataset(f.get(), "heatmaps", 3, dims, H5T_NATIVE_FLOAT, pixels.data());
  H5LTmake_dataset(f.get(), "points", 2, pdims, H5T_NATIVE_LLONG, points.data());
  const long long schema = 1;
  const double radius = input["radius"];
  H5LTset_attribute_long_long(f.get(), "/", "schema", &schema, 1);
  H5LTset_attribute_double(f.get(), "/", "radius", &radius, 1);
  return path;
}

TEST(PelvisCommand, AreaFrocOfAHandMadeHeatmapFileMatchesTheNumpyOracle) {
  // The oracle's other cases mix image sizes, which a heatmap file cannot.
  for (const std::string name : {"froc_area_one_size"}) {
    testing::TempDir dir;
    const json c = fixture("froc_area/" + name + ".json");
    // Heatmap values are float32 on file; the FROC depends only on their order and ties,
    // which rounding these values to float32 keeps.
    const std::string path = write_heatmaps_by_hand(dir.path(), c["input"]);
    const auto r = testing::run_fracsweep({"metrics", path, "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    const json got = json::parse(r.out);
    const json& e = c["expected"];
    EXPECT_EQ(got["kind"], "area_froc");
    EXPECT_NEAR(got["recall_at_fp_0.01"].get<double>(), e["recall_at_fp_1pct"].get<double>(), 1e-12) << name;
    EXPECT_NEAR(got["recall_at_fp_0.1"].get<double>(), e["recall_at_fp_10pct"].get<double>(), 1e-12) << name;
    ASSERT_EQ(got["curve"]["fp"].size(), e["fp"].size()) << name;
    for (size_t k = 0; k < e["fp"].size(); ++k) {
      EXPECT_NEAR(got["curve"]["fp"][k].get<double>(), e["fp"][k].get<double>(), 1e-12);
      EXPECT_NEAR(got["curve"]["recall"][k].get<double>(), e["recall"][k].get<double>(), 1e-12);
    }
    const auto table = testing::run_fracsweep({"metrics", path});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_HAS(table.out, "recall at FP  1%");
  }
}

TEST(PelvisCommand, RadiusFlagOverridesTheFilesRadius) {
  testing::TempDir dir;
  const json c = fixture("froc_area/froc_area_one_size.json");
  json input = c["input"];
  ASSERT_EQ(input["radius"].get<double>(), 3.5);
  input["radius"] = 0.0;
  const std::string path = write_heatmaps_by_hand(dir.path(), input);
  const auto at_zero = testing::run_fracsweep({"metrics", path, "--format", "json"});
  const auto r = testing::run_fracsweep({"metrics", path, "--format", "json", "--radius", "3.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(at_zero.exit_code, 0) << at_zero.err;
  EXPECT_NEAR(json::parse(r.out)["recall_at_fp_0.1"].get<double>(),
              c["expected"]["recall_at_fp_10pct"].get<double>(), 1e-12);
  EXPECT_NE(json::parse(at_zero.out)["curve"]["fp"], json::parse(r.out)["curve"]["fp"]);
}

// A lesion-mask file (uint16, as h5py would store np.uint16) and a detections CSV.
std::pair<std::string, std::string> write_classic_by_hand(const std::filesystem::path& dir,
                                                          const json& input) {
  const std::string masks = (dir / "masks.h5").string(), csv = (dir / "detections.csv").string();
  const auto& images = input["images"];
  const hsize_t n = images.size(), h = images[0]["height"], w = images[0]["width"];
  std::vector<uint16_t> labels;
  std::string text = "image,x,y,prob\n";
  for (size_t i = 0; i < n; ++i) {
    for (int v : images[i]["mask"]) labels.push_back(static_cast<uint16_t>(v));
    for (const auto& d : images[i]["detections"])
      text += std::to_string(i) + "," + std::to_string(d[0].get<int>()) + "," +
              std::to_string(d[1].get<int>()) + "," + json(d[2].get<double>()).dump() + "\n";
  }
  datastore::H5File f(H5Fcreate(masks.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  const hsize_t dims[3] = {n, h, w};
  H5LTmake_dataset(f.get(), "masks", 3, dims, H5T_NATIVE_UINT16, labels.data());
  core::write_file_atomic(csv, text);
  return {masks, csv};
}

TEST(PelvisCommand, ClassicFrocOfHandMadeFilesMatchesTheNumpyOracle) {
  for (const std::string name : {"froc_classic_one_size"}) {
    testing::TempDir dir;
    const json c = fixture("froc_classic/" + name + ".json");
    const auto [masks, csv] = write_classic_by_hand(dir.path(), c["input"]);
    const auto r = testing::run_fracsweep({"metrics", csv, "--lesions", masks, "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    const json got = json::parse(r.out);
    const json& e = c["expected"];
    EXPECT_EQ(got["kind"], "classic_froc");
    EXPECT_NEAR(got["score"].get<double>(), e["froc_score"].get<double>(), 1e-12) << name;
    ASSERT_EQ(got["sensitivity_at"].size(), e["sens_at"].size());
    for (size_t k = 0; k < e["sens_at"].size(); ++k)
      EXPECT_NEAR(got["sensitivity_at"][k].get<double>(), e["sens_at"][k].get<double>(), 1e-12);
    ASSERT_EQ(got["curve"]["fps_per_image"].size(), e["fps_per_image"].size()) << name;
    for (size_t k = 0; k < e["fps_per_image"].size(); ++k) {
      EXPECT_NEAR(got["curve"]["fps_per_image"][k].get<double>(), e["fps_per_image"][k].get<double>(), 1e-12);
      EXPECT_NEAR(got["curve"]["sensitivity"][k].get<double>(), e["sensitivity"][k].get<double>(), 1e-12);
    }
    const auto table = testing::run_fracsweep({"metrics", csv, "--lesions", masks});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_HAS(table.out, "FROC score (their mean)");
  }
}

TEST(PelvisCommand, BadFrocFilesGiveOneLineAndExitTwo) {
  testing::TempDir dir;
  const json c = fixture("froc_classic/froc_classic_one_size.json");
  const auto [masks, csv] = write_classic_by_hand(dir.path(), c["input"]);
  const auto expect_bad = [](const std::vector<std::string>& args, const std::string& needle) {
    const auto r = testing::run_fracsweep(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_HAS(r.err, needle);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  const std::string bad_csv = (dir.path() / "bad.csv").string();
  core::write_file_atomic(bad_csv, "image,x,y,prob\n0,1,1,0.5\n9,1,1,0.5\n");
  expect_bad({"metrics", bad_csv, "--lesions", masks}, "detection 2 names image 9 but");
  core::write_file_atomic(bad_csv, "image,x,y,prob\n0,1,1,high\n");
  expect_bad({"metrics", bad_csv, "--lesions", masks}, bad_csv + ":2: column 'prob' holds 'high'");
  core::write_file_atomic(bad_csv, "img,x,y,p\n");
  expect_bad({"metrics", bad_csv, "--lesions", masks}, "expected 'image,x,y,prob'");
  core::write_file_atomic(bad_csv, "image,x,y,prob\n0,999,1,0.5\n");
  expect_bad({"metrics", bad_csv, "--lesions", masks}, "lies outside its");
  expect_bad({"metrics", csv}, "score them against lesion masks with --lesions");
  expect_bad({"metrics", csv, "--lesions", csv}, "not an HDF5 file");

  const json a = fixture("froc_area/froc_area_one_size.json");
  const std::string heatmaps = write_heatmaps_by_hand(dir.path(), a["input"]);
  {
    datastore::H5File f(H5Fopen(heatmaps.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    H5Adelete(f.get(), "radius");
  }
  expect_bad({"metrics", heatmaps}, "attribute 'radius' is missing");
  expect_bad({"metrics", masks}, "not a heatmap file");
  expect_bad({"metrics", heatmaps, "--radius=-1"}, "--radius -1 must be finite and >= 0");
}

// AASN's Table 2 through the launcher and the report: a pelvis phantom the sweep
// writes on its first run, two rows on two ranks, then the table.
TEST(PelvisCommand, ATable2SweepRunsOnTwoRanksAndTheReportPrintsTable2) {
  testing::TempDir dir;
  const std::string runs = (dir.path() / "runs").string();
  const std::string sweep = dir.write(
      "t2.yaml",
      "name: t2\noutput: " + runs + "\npreset: tiny\n"
      "dataset: {pelvis_phantom: {images: 40, height: 64, width: 128, seed: 2}}\n"
      "protocol: {split: kfold, folds: 5, run_folds: [0], val_share: 0.1}\n"
      "variants:\n  vanilla: {model: {variant: aasn-vanilla}}\n  aasn: {model: {variant: aasn}}\n"
      "model: {width: 2}\ntrain: {epochs: 1, batch_size: 8}\n");
  const auto r = testing::run_fracsweep_mpi(2, {"run", sweep});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.out, "2 job(s) finished in this run, 0 failed");
  EXPECT_HAS(r.out, "| variant | finished | SE % | SP % | AUC % | AP % |");
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "runs" / "aasn" / "fold0" / "seed1" /
                                      "heatmaps_test.h5"));
  const auto report = testing::run_fracsweep({"report", runs});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_HAS(report.out, "Table 2. Ablation study");
  EXPECT_HAS(report.out, "Recall@FP=1% (%) | Recall@FP=10% (%)");
  EXPECT_HAS(report.out, "| aasn | ✓ | ✓ | ✓ | 1/1 |");
}

}  // namespace
}  // namespace fracsweep
