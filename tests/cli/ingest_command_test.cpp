// `fracsweep ingest` end to end: DICOM series and PNGs written here, ingested
// by the command, inspected, and a tiny sweep run on the result.
#include <gtest/gtest.h>

#include <filesystem>
#include <charconv>

#include "core/error.h"
#include "core/fs.h"
#include "datastore/ingest/medical_image.h"
#include "datastore/patch_store.h"
#include "datastore/phantom_pelvis.h"
#include "datastore/phantom_vcf.h"
#include "datastore/png.h"
#include "test_util.h"

namespace fracsweep {
namespace {

namespace fs = std::filesystem;
namespace ig = datastore::ingest;
using testing::run_fracsweep;
using testing::TempDir;

// The shortest text that reads back as the same double (fmt is not used here:
// this executable also sees LibTorch's headers, which carry another fmt).
std::string exact(double x) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, end);
}

// Patient `index` of a phantom as a sagittal DICOM series (one slice, levels
// stacked head to feet) and its box list; returns the manifest row.
std::string write_vcf_case(const TempDir& dir, const datastore::VcfPhantomOptions& ph, int index) {
  const datastore::PhantomPatient p = datastore::synth_vcf_patient(ph, index);
  const int s = ph.patch_size, levels = static_cast<int>(p.patches.size());
  ig::Geometry g;
  g.size = {s, levels * s, 1};
  g.spacing = {60.0 / s, 60.0 / s, 4};
  g.direction = {0, 0, -1, 1, 0, 0, 0, -1, 0};
  std::vector<float> v(static_cast<size_t>(s) * levels * s);
  std::string boxes = "slice,level,x0,y0,x1,y1,label\n";
  for (const auto& vp : p.patches) {
    std::copy(vp.pixels.begin(), vp.pixels.end(), v.begin() + static_cast<long>(vp.level) * s * s);
    boxes += core::str_cat("0,", vp.level, ",-0.5,", exact(vp.level * s - 0.5), ",", exact(s - 0.5),
                           ",", exact((vp.level + 1) * s - 0.5), ",", vp.label, "\n");
  }
  ig::write_dicom_series((dir.path() / p.id).string(), g, v, core::str_cat("1.2.826.0.1.3680043.9.", index + 1));
  dir.write(p.id + ".csv", boxes);
  return core::str_cat(p.id, ",", p.label, ",", p.id, ",", p.id, ".csv\n");
}

TEST(IngestCommand, DicomSeriesBecomeAStoreThatASweepRunsOn) {
  TempDir dir;
  datastore::VcfPhantomOptions ph;
  ph.benign_patients = 7;
  ph.malignant_patients = 5;
  ph.patch_size = 32;
  ph.slices = 1;
  std::string manifest = "patient,label,image,boxes\n";
  for (int i = 0; i < 12; ++i) manifest += write_vcf_case(dir, ph, i);
  dir.write("manifest.csv", manifest);
  const std::string store = (dir.path() / "vcf.h5").string();

  auto r = run_fracsweep({"ingest", "vcf", (dir.path() / "manifest.csv").string(), store,
                          "--slices", "1", "--patch-size", "32", "--margin-mm", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.out, "12 patients");
  EXPECT_HAS(r.err, "12/12 patients");
  const auto opened = datastore::PatchStore::open(store);
  EXPECT_EQ(opened.index().num_patients(), 12u);
  EXPECT_HAS(opened.info().source, "fracsweep ingest vcf");

  dir.write("sweep.yaml", "name: real\noutput: " + (dir.path() / "out").string() +
                              "\npreset: tiny\ndataset: {store: " + store +
                              "}\nprotocol: {split: random, repeats: [0]}\nseeds: [1]\n"
                              "variants:\n  tsccn: {model: {variant: tsccn}}\n"
                              "train: {epochs: 1, threads: 1, loader_workers: 1}\n");
  r = run_fracsweep({"run", (dir.path() / "sweep.yaml").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.path() / "out" / "tsccn" / "repeat0" / "seed1" / "metrics.json"))
      << r.err;
}

TEST(IngestCommand, ABadCaseStopsWithExit2UnlessSkipped) {
  TempDir dir;
  datastore::VcfPhantomOptions ph;
  ph.benign_patients = 2;
  ph.malignant_patients = 0;
  ph.patch_size = 16;
  ph.slices = 1;
  std::string manifest = "patient,label,image,boxes\n" + write_vcf_case(dir, ph, 0) + write_vcf_case(dir, ph, 1);
  manifest += "P0009,1,no_such_folder,P0000.csv\n";
  dir.write("manifest.csv", manifest);
  const std::string store = (dir.path() / "vcf.h5").string();
  const std::vector<std::string> args = {"ingest", "vcf", (dir.path() / "manifest.csv").string(), store,
                                         "--slices", "1", "--patch-size", "16"};
  auto r = run_fracsweep(args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "P0009");
  EXPECT_HAS(r.err, "no such file or folder");
  EXPECT_FALSE(fs::exists(store));
  auto skip = args;
  skip.push_back("--skip-bad");
  r = run_fracsweep(skip);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.err, "skipped P0009");
  EXPECT_HAS(r.out, "2 patients");
  EXPECT_HAS(r.out, "1 skipped");
}

TEST(IngestCommand, PelvisRadiographsBecomeAPelvisStore) {
  TempDir dir;
  datastore::PelvisPhantomOptions ph;
  ph.images = 6;  // inspect's five-fold split needs five patients
  ph.fractured = 2;
  ph.height = 64;
  ph.width = 128;
  const auto labels = datastore::pelvis_labels(ph);
  std::string manifest = "patient,image,landmarks,points\n";
  for (int i = 0; i < ph.images; ++i) {
    const auto p = datastore::synth_pelvis_image(ph, i, labels[static_cast<size_t>(i)]);
    datastore::write_png_gray((dir.path() / (p.id + ".png")).string(), 128, 64, p.view.image);
    std::string lm, pts;
    for (const auto& q : p.view.landmarks) lm += exact(q.x) + " " + exact(q.y) + " ";
    for (const auto& q : p.view.points) pts += exact(q.x) + " " + exact(q.y) + ";";
    manifest += core::str_cat(p.id, ",", p.id, ".png,", lm, ",", pts, "\n");
  }
  dir.write("manifest.csv", manifest);
  const std::string store = (dir.path() / "pelvis.h5").string();
  auto r = run_fracsweep({"ingest", "pelvis", (dir.path() / "manifest.csv").string(), store,
                          "--height", "64", "--width", "128"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.out, "6 patients, 6 images");
  r = run_fracsweep({"inspect", store});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.out, "pelvis");
}

}  // namespace
}  // namespace fracsweep
