#include "datastore/synth_pelvis.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/fs.h"
#include "datastore/h5.h"
#include "datastore/patch_store.h"
#include "datastore/pelvis_store.h"
#include "datastore/split.h"
#include "reseal.h"
#include "test_util.h"

namespace fracsweep::datastore {
namespace {

PelvisSynthOptions small(uint64_t seed, int threads) {
  PelvisSynthOptions o;
  o.phantom.images = 20;
  o.phantom.fractured = 7;
  o.phantom.height = 64;
  o.phantom.width = 128;
  o.phantom.seed = seed;
  o.threads = threads;
  return o;
}

std::string open_error(const std::string& path) { return testing::store_open_error(path); }

TEST(SynthPelvis, StoreHoldsWhatTheGeneratorMade) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "p.h5").string();
  const auto o = small(4, 3);
  const auto summary = write_pelvis_phantom_store(path, o);
  const PatchStore store = PatchStore::open(path);
  ASSERT_EQ(store.info().task, Task::kPelvis);
  ASSERT_NE(store.pelvis(), nullptr);
  EXPECT_EQ(summary.images, 20);
  EXPECT_EQ(summary.fractured, 7);
  EXPECT_EQ(store.size(), 20u);
  EXPECT_EQ(store.index().num_patients(), 20u);
  EXPECT_NEAR(store.pelvis()->mask_radius, 20.0 * 128 / 200, 1e-9);
  const auto labels = pelvis_labels(o.phantom);
  for (int i = 0; i < 20; ++i) {
    const PelvisPhantom expected = synth_pelvis_image(o.phantom, i, labels[i]);
    const PelvisView got = read_pelvis_view(store, static_cast<size_t>(i));
    EXPECT_EQ(store.index().patient_ids[i], expected.id);
    EXPECT_EQ(store.index().label[i], expected.label);
    EXPECT_EQ(store.index().patient_label[i], expected.label);
    EXPECT_EQ(got.image, expected.view.image) << i;
    EXPECT_EQ(got.flipped, expected.view.flipped) << i;
    EXPECT_EQ(got.warp.xy, expected.view.warp.xy) << i;
    ASSERT_EQ(got.points.size(), expected.view.points.size()) << i;
    for (size_t k = 0; k < got.points.size(); ++k)
      EXPECT_NEAR(got.points[k].x, expected.view.points[k].x, 1e-4);
    for (int k = 0; k < kPelvisLandmarks; ++k) {
      EXPECT_NEAR(got.landmarks[k].y, expected.view.landmarks[k].y, 1e-4);
      EXPECT_NEAR(got.landmarks_flipped[k].x, expected.view.landmarks_flipped[k].x, 1e-4);
    }
    EXPECT_NEAR(got.axis.direction.y, expected.view.axis.direction.y, 1e-6);
    for (int k = 0; k < 6; ++k) EXPECT_EQ(got.flip.m[k], expected.view.flip.m[k]);
  }
}

TEST(SynthPelvis, SameOptionsSameBytesWhateverTheThreads) {
  testing::TempDir dir;
  const auto a = (dir.path() / "a.h5").string(), b = (dir.path() / "b.h5").string(),
             c = (dir.path() / "c.h5").string();
  write_pelvis_phantom_store(a, small(9, 1));
  write_pelvis_phantom_store(b, small(9, 4));
  write_pelvis_phantom_store(c, small(10, 2));
  EXPECT_EQ(core::read_file(a), core::read_file(b));
  EXPECT_NE(core::read_file(a), core::read_file(c));
}

TEST(SynthPelvis, FiveFoldSplitsArePatientGrouped701020) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "p.h5").string();
  auto o = small(2, 2);
  o.phantom.images = 200;
  o.phantom.fractured = 64;
  o.phantom.height = 32;
  o.phantom.width = 64;
  write_pelvis_phantom_store(path, o);
  const PatchStore store = PatchStore::open(path);
  const auto& ix = store.index();
  std::vector<int> in_test(ix.num_patients(), 0);
  for (int f = 0; f < 5; ++f) {
    const Split s = kfold_split(ix.patient_label, 5, f, 0.1, 7);
    // 70/10/20, give or take the rounding of each stratum.
    EXPECT_NEAR(static_cast<double>(s.train.size()), 140, 1) << f;
    EXPECT_NEAR(static_cast<double>(s.val.size()), 20, 1) << f;
    EXPECT_EQ(s.test.size(), 40u) << f;
    std::vector<int32_t> all = s.train;
    all.insert(all.end(), s.val.begin(), s.val.end());
    all.insert(all.end(), s.test.begin(), s.test.end());
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a patient in two parts";
    EXPECT_EQ(all.size(), ix.num_patients());
    int fractured = 0;
    for (int32_t p : s.test) {
      ++in_test[static_cast<size_t>(p)];
      fractured += ix.patient_label[static_cast<size_t>(p)];
    }
    EXPECT_NEAR(fractured, 64 * 0.2, 1.0) << "stratified by fracture";
  }
  for (int n : in_test) EXPECT_EQ(n, 1) << "each patient is tested in exactly one fold";
}

TEST(SynthPelvis, PreviewIsAPng) {
  testing::TempDir dir;
  auto o = small(1, 2);
  o.preview_path = (dir.path() / "preview.png").string();
  write_pelvis_phantom_store((dir.path() / "p.h5").string(), o);
  const std::string png = core::read_file(o.preview_path);
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

// Damages a written store with raw HDF5 calls.
template <typename F>
std::string damaged(const testing::TempDir& dir, F damage) {
  const std::string path = (dir.path() / "d.h5").string();
  write_pelvis_phantom_store(path, small(5, 1));
  H5File f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  EXPECT_TRUE(f.valid());
  damage(f.get());
  testing::reseal_checksums(f.get());
  return path;
}

void overwrite_floats(hid_t f, const char* name, std::vector<float> values) {
  H5Dataset ds(H5Dopen2(f, name, H5P_DEFAULT));
  H5Dataspace space(H5Dget_space(ds.get()));
  const hsize_t count[2] = {1, values.size()};
  const hsize_t start[2] = {0, 0};
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  H5Dataspace mem(H5Screate_simple(2, count, nullptr));
  H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, mem.get(), space.get(), H5P_DEFAULT, values.data());
}

TEST(PelvisStore, DamageIsNamed) {
  testing::TempDir dir;
  {
    const auto path = damaged(dir, [](hid_t f) { H5Ldelete(f, "/warp", H5P_DEFAULT); });
    EXPECT_HAS(open_error(path), path + ": dataset '/warp' is missing");
  }
  {
    const auto path = damaged(dir, [](hid_t f) { H5Ldelete(f, "/landmarks_flipped", H5P_DEFAULT); });
    EXPECT_HAS(open_error(path), "dataset '/landmarks_flipped' is missing");
  }
  {
    const auto path = damaged(dir, [](hid_t f) { overwrite_floats(f, "/points", {500, 10}); });
    EXPECT_HAS(open_error(path), "dataset '/points': point 0 of image");
    EXPECT_HAS(open_error(path), "lies outside the 128x64 image");
  }
  {
    const auto path = damaged(dir, [](hid_t f) { overwrite_floats(f, "/axis", {std::nanf(""), 0}); });
    EXPECT_HAS(open_error(path), "/axis holds a non-finite value at flat index 0");
  }
  {
    const auto path = damaged(dir, [](hid_t f) {
      H5Dataset ds(H5Dopen2(f, "/samples/label", H5P_DEFAULT));
      std::vector<int32_t> labels(20, 0);  // every image claims no fracture
      H5Dwrite(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data());
    });
    EXPECT_HAS(open_error(path), "has label 0 but");
  }
  {
    const auto path = damaged(dir, [](hid_t f) {
      H5Attribute a(H5Aopen(f, "warp_stride", H5P_DEFAULT));
      const int64_t v = 7;
      H5Awrite(a.get(), H5T_NATIVE_INT64, &v);
    });
    EXPECT_HAS(open_error(path), "root attribute 'warp_stride' is 7; it must divide the image size");
  }
}

TEST(PelvisStore, VertebraStoreHasNoPelvisParts) {
  testing::TempDir dir;
  VcfSynthOptions o;
  o.phantom.benign_patients = 1;
  o.phantom.malignant_patients = 1;
  o.phantom.patch_size = 16;
  const auto path = (dir.path() / "v.h5").string();
  write_vcf_phantom_store(path, o);
  const PatchStore store = PatchStore::open(path);
  EXPECT_EQ(store.pelvis(), nullptr);
  std::vector<uint8_t> out(store.image_bytes());
  EXPECT_THROW(store.read_flipped(0, out), core::ConfigError);
  EXPECT_THROW(read_pelvis_view(store, 0), core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::datastore
