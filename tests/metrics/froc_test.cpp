#include "metrics/froc.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

using nlohmann::json;

std::vector<std::filesystem::path> cases_in(const std::string& folder) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(testing::fixture(folder)))
    if (e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

void expect_all_near(const std::vector<double>& got, const json& expected, double tol,
                     const char* what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i].get<double>(), tol) << what << "[" << i << "]";
}

TEST(AreaFroc, AgreesWithPerThresholdReference) {
  const auto cases = cases_in("metrics/froc_area");
  ASSERT_GE(cases.size(), 5u);
  for (const auto& path : cases) {
    SCOPED_TRACE(path.filename().string());
    const json doc = json::parse(core::read_file(path.string()));
    const json& in = doc.at("input");
    std::vector<HeatmapImage> images;
    for (const auto& im : in.at("images")) {
      HeatmapImage h;
      h.height = im.at("height");
      h.width = im.at("width");
      for (const auto& v : im.at("heatmap")) h.heatmap.push_back(static_cast<float>(v.get<double>()));
      for (const auto& p : im.at("points")) h.points.push_back({p[0].get<int>(), p[1].get<int>()});
      images.push_back(std::move(h));
    }
    const AreaFrocCurve curve = area_froc(images, in.at("radius").get<double>());
    const json& ex = doc.at("expected");
    expect_all_near(curve.thresholds, ex.at("thresholds"), 1e-12, "thresholds");
    expect_all_near(curve.fp, ex.at("fp"), 1e-12, "fp");
    expect_all_near(curve.recall, ex.at("recall"), 1e-12, "recall");
    EXPECT_NEAR(curve.recall_at(0.01), ex.at("recall_at_fp_1pct").get<double>(), 1e-9);
    EXPECT_NEAR(curve.recall_at(0.10), ex.at("recall_at_fp_10pct").get<double>(), 1e-9);
  }
}

// One 1x5 image, a point at x=0 with radius 1: pixels 0 and 1 are ambiguous,
// pixels 2..4 negative with values 0.9, 0.2, 0.6; the point's value is 0.7.
TEST(AreaFroc, HandWorkedCurve) {
  HeatmapImage im{1, 5, {0.7f, 0.95f, 0.9f, 0.2f, 0.6f}, {{0, 0}}};
  const AreaFrocCurve c = area_froc(std::span<const HeatmapImage>(&im, 1), 1.0);
  const std::vector<double> thresholds = {0.9f, 0.7f, 0.6f, 0.2f};
  EXPECT_EQ(c.thresholds, thresholds);
  const std::vector<double> fp = {0, 1.0 / 3, 1.0 / 3, 2.0 / 3, 1};
  ASSERT_EQ(c.fp.size(), fp.size());
  for (size_t i = 0; i < fp.size(); ++i) EXPECT_DOUBLE_EQ(c.fp[i], fp[i]) << i;
  EXPECT_EQ(c.recall, (std::vector<double>{0, 0, 1, 1, 1}));
  // Two points share fp = 1/3; the last (recall 1) is taken.
  EXPECT_DOUBLE_EQ(c.recall_at(1.0 / 3), 1.0);
  EXPECT_DOUBLE_EQ(c.recall_at(1.0 / 6), 0.0);  // between (0, 0) and (1/3, 0)
  EXPECT_DOUBLE_EQ(c.recall_at(0.5), 1.0);
}

TEST(AreaFroc, RejectsBadInput) {
  HeatmapImage im{2, 2, {0.1f, 0.2f, 0.3f}, {{0, 0}}};
  EXPECT_THROW(area_froc(std::span<const HeatmapImage>(&im, 1), 1.0), core::ConfigError);
  im.heatmap.push_back(0.4f);
  im.points = {{2, 0}};
  EXPECT_THROW(area_froc(std::span<const HeatmapImage>(&im, 1), 1.0), core::ConfigError);
  im.points.clear();
  EXPECT_THROW(area_froc(std::span<const HeatmapImage>(&im, 1), 1.0), core::ConfigError);
}

TEST(ClassicFroc, AgreesWithMonaiAlgorithm) {
  const auto cases = cases_in("metrics/froc_classic");
  ASSERT_GE(cases.size(), 5u);
  for (const auto& path : cases) {
    SCOPED_TRACE(path.filename().string());
    const json doc = json::parse(core::read_file(path.string()));
    std::vector<LesionImage> images;
    for (const auto& im : doc.at("input").at("images")) {
      LesionImage l;
      l.height = im.at("height");
      l.width = im.at("width");
      l.mask = im.at("mask").get<std::vector<int>>();
      for (const auto& d : im.at("detections"))
        l.detections.push_back({d[0].get<int>(), d[1].get<int>(), d[2].get<double>()});
      images.push_back(std::move(l));
    }
    const ClassicFroc f = classic_froc(images);
    const json& ex = doc.at("expected");
    expect_all_near(f.fps_per_image, ex.at("fps_per_image"), 1e-12, "fps_per_image");
    expect_all_near(f.sensitivity, ex.at("sensitivity"), 1e-12, "sensitivity");
    expect_all_near(f.sens_at, ex.at("sens_at"), 1e-12, "sens_at");
    EXPECT_NEAR(f.score, ex.at("froc_score").get<double>(), 1e-12);
  }
}

TEST(ClassicFroc, RejectsDetectionsOutsideTheImage) {
  LesionImage im{2, 2, {0, 1, 0, 0}, {{5, 0, 0.5}}};
  EXPECT_THROW(classic_froc(std::span<const LesionImage>(&im, 1)), core::ConfigError);
}

TEST(Interp, MatchesNumpySemantics) {
  const std::vector<double> xp = {0, 1, 1, 3}, fp = {0, 0.2, 0.6, 1.0};
  EXPECT_DOUBLE_EQ(interp(-1, xp, fp), 0);    // left of the range: first value
  EXPECT_DOUBLE_EQ(interp(5, xp, fp), 1.0);   // right: last value
  EXPECT_DOUBLE_EQ(interp(1, xp, fp), 0.6);   // duplicated x: the last of the run
  EXPECT_DOUBLE_EQ(interp(0.5, xp, fp), 0.1);
  EXPECT_DOUBLE_EQ(interp(2, xp, fp), 0.8);
  EXPECT_DOUBLE_EQ(interp(3, xp, fp), 1.0);
}

}  // namespace
}  // namespace fracsweep::metrics
