// heatmaps_test.h5: written, read back, and refused when it is not what it says.
#include "datastore/heatmaps.h"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <hdf5_hl.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace fracsweep::datastore {
namespace {

HeatmapSet sample_set() {
  HeatmapSet set;
  set.radius = 2.5;
  for (int i = 0; i < 3; ++i) {
    metrics::HeatmapImage im;
    im.height = 4;
    im.width = 5;
    for (int p = 0; p < 20; ++p) im.heatmap.push_back(0.01f * static_cast<float>(p * (i + 1)));
    if (i != 1) im.points = {{1, 2}, {4, 3}};
    set.images.push_back(im);
  }
  return set;
}

TEST(Heatmaps, RoundTrip) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "h.h5").string();
  const HeatmapSet set = sample_set();
  write_heatmaps(path, set);
  const HeatmapSet back = read_heatmaps(path);
  EXPECT_EQ(back.radius, 2.5);
  ASSERT_EQ(back.images.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.images[i].height, 4);
    EXPECT_EQ(back.images[i].width, 5);
    EXPECT_EQ(back.images[i].heatmap, set.images[i].heatmap);
    ASSERT_EQ(back.images[i].points.size(), set.images[i].points.size());
    for (size_t k = 0; k < set.images[i].points.size(); ++k) {
      EXPECT_EQ(back.images[i].points[k].x, set.images[i].points[k].x);
      EXPECT_EQ(back.images[i].points[k].y, set.images[i].points[k].y);
    }
  }
}

TEST(Heatmaps, TheSameSetGivesTheSameBytesASecondLater) {
  testing::TempDir dir;
  const std::string first = (dir.path() / "a.h5").string(), second = (dir.path() / "b.h5").string();
  write_heatmaps(first, sample_set());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a recorded time would show
  write_heatmaps(second, sample_set());
  EXPECT_EQ(core::read_file(first), core::read_file(second));
}

TEST(Heatmaps, MixedSizesAreRefusedOnWrite) {
  testing::TempDir dir;
  HeatmapSet set = sample_set();
  set.images[2].width = 6;
  set.images[2].heatmap.resize(24);
  EXPECT_THROW(write_heatmaps((dir.path() / "h.h5").string(), set), core::ConfigError);
}

TEST(Heatmaps, BadFilesAreRefusedWithTheirPath) {
  testing::TempDir dir;
  const std::string text = dir.write("not.h5", "hello");
  try {
    read_heatmaps(text);
    FAIL() << "read a text file";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "not.h5: not an HDF5 file");
  }
  // A point outside its image.
  const std::string path = (dir.path() / "h.h5").string();
  HeatmapSet set = sample_set();
  set.images[0].points.push_back({5, 0});
  write_heatmaps(path, set);
  try {
    read_heatmaps(path);
    FAIL() << "read a point outside its image";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "lies outside its 5x4 image");
  }
  // Another schema.
  write_heatmaps(path, sample_set());
  {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const int other = 7;
    H5LTset_attribute_int(f, "/", "schema", &other, 1);
    H5Fclose(f);
  }
  EXPECT_THROW(read_heatmaps(path), core::ConfigError);
  EXPECT_THROW(read_heatmaps((dir.path() / "missing.h5").string()), core::IoError);
}

TEST(Heatmaps, ValuesThatAreNotFiniteAreRefusedWithTheirPlace) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "h.h5").string();
  for (const float bad : {std::nanf(""), HUGE_VALF, -HUGE_VALF}) {
    HeatmapSet set = sample_set();
    set.images[2].heatmap[1 * 5 + 3] = bad;  // image 2, x = 3, y = 1
    write_heatmaps(path, set);
    try {
      read_heatmaps(path);
      FAIL() << "read a heatmap holding " << bad;
    } catch (const core::ConfigError& e) {
      const std::string msg = e.what();
      EXPECT_HAS(msg, path + ": heatmap 2 holds ");
      EXPECT_HAS(msg, " at (x=3, y=1); heatmap values must be finite numbers");
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
  // Scores below 0 (logits) are scores like any other.
  HeatmapSet set = sample_set();
  for (float& v : set.images[0].heatmap) v -= 3.0f;
  write_heatmaps(path, set);
  EXPECT_EQ(read_heatmaps(path).images[0].heatmap, set.images[0].heatmap);
}

}  // namespace
}  // namespace fracsweep::datastore
