#include "metrics/froc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "metrics/detections.h"
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

// Scores need not be probabilities: the same order, shifted below 0, gives the
// same curve as HandWorkedCurve, with its own values as thresholds.
TEST(AreaFroc, NegativeScoresGiveTheCurveOfTheirOrder) {
  HeatmapImage im{1, 5, {-0.3f, -0.05f, -0.1f, -0.8f, -0.4f}, {{0, 0}}};
  const AreaFrocCurve c = area_froc(std::span<const HeatmapImage>(&im, 1), 1.0);
  EXPECT_EQ(c.thresholds, (std::vector<double>{-0.1f, -0.3f, -0.4f, -0.8f}));
  const std::vector<double> fp = {0, 1.0 / 3, 1.0 / 3, 2.0 / 3, 1};
  ASSERT_EQ(c.fp.size(), fp.size());
  for (size_t i = 0; i < fp.size(); ++i) EXPECT_DOUBLE_EQ(c.fp[i], fp[i]) << i;
  EXPECT_EQ(c.recall, (std::vector<double>{0, 0, 1, 1, 1}));
}

TEST(AreaFroc, RejectsBadInput) {
  HeatmapImage im{2, 2, {0.1f, 0.2f, 0.3f}, {{0, 0}}};
  EXPECT_THROW(area_froc(std::span<const HeatmapImage>(&im, 1), 1.0), core::ConfigError);
  im.heatmap.push_back(0.4f);
  im.points = {{2, 0}};
  EXPECT_THROW(area_froc(std::span<const HeatmapImage>(&im, 1), 1.0), core::ConfigError);
  im.points.clear();
  EXPECT_THROW(area_froc(std::span<const HeatmapImage>(&im, 1), 1.0), core::ConfigError);
  im.points = {{0, 0}};
  for (const float bad : {std::nanf(""), HUGE_VALF, -HUGE_VALF}) {
    im.heatmap[3] = bad;
    EXPECT_THROW(area_froc(std::span<const HeatmapImage>(&im, 1), 1.0), core::ConfigError) << bad;
  }
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

// The fixtures of make_froc_monai.py: MONAI's own answers for scores that are
// not probabilities, read through the detections parser as the command reads them.
TEST(ClassicFroc, AgreesWithMonaiOnAnyFiniteScores) {
  const auto cases = cases_in("metrics/froc_monai");
  ASSERT_GE(cases.size(), 12u);
  for (const auto& path : cases) {
    const std::string name = path.filename().string();
    SCOPED_TRACE(name);
    const json doc = json::parse(core::read_file(path.string()));
    std::vector<LesionImage> images;
    for (const auto& im : doc.at("input").at("images")) {
      LesionImage l;
      l.height = im.at("height");
      l.width = im.at("width");
      for (const auto& row : im.at("mask"))
        for (const auto& v : row) l.mask.push_back(v.get<int>());
      images.push_back(std::move(l));
    }
    std::string csv;
    for (const auto& line : doc.at("input").at("detections_csv")) csv += line.get<std::string>() + "\n";
    attach_detections(parse_detections(csv, name), images, name, "masks");
    const ClassicFroc f = classic_froc(images);
    const json& ex = doc.at("expected");
    ASSERT_EQ(ex.at("num_images").get<size_t>(), images.size());
    EXPECT_EQ(f.lesions_missed, ex.at("lesions_missed").get<size_t>());
    EXPECT_EQ(f.eval_fps, ex.at("eval_fps").get<std::vector<double>>());
    expect_all_near(f.fps_per_image, ex.at("fps_per_image"), 1e-12, "fps_per_image");
    expect_all_near(f.sensitivity, ex.at("sensitivity"), 1e-12, "sensitivity");
    expect_all_near(f.sens_at, ex.at("sens_at"), 1e-12, "sens_at");
    EXPECT_NEAR(f.score, ex.at("froc_score").get<double>(), 1e-12);
  }
}

// The bug these fixtures came from: a lesion hit only by negative scores entered
// at 0, so it counted as found at thresholds above its best score. Lesion 1 is
// hit by -1 only, lesion 2 by 0.5; false positives score -0.5 and 0.25. The
// thresholds are the distinct scores but the smallest: -0.5, 0.25, 0.5.
TEST(ClassicFroc, RegressionLesionHitOnlyByNegativeScoresIsNotFoundAtZero) {
  LesionImage im{1, 4, {1, 0, 2, 0}, {{0, 0, -1.0}, {1, 0, -0.5}, {2, 0, 0.5}, {3, 0, 0.25}}};
  const ClassicFroc f = classic_froc(std::span<const LesionImage>(&im, 1));
  EXPECT_EQ(f.fps_per_image, (std::vector<double>{2, 1, 0, 0}));
  EXPECT_EQ(f.sensitivity, (std::vector<double>{0.5, 0.5, 0.5, 0}));
  EXPECT_EQ(f.lesions_missed, 0u);
}

// MONAI stores a lesion's score as float32: 0.1 becomes 0.10000000149..., above
// a false positive at 0.1, so the curve has two thresholds where float64 has one.
TEST(ClassicFroc, LesionScoresAreFloat32AsInMonai) {
  LesionImage im{1, 2, {1, 0}, {{0, 0, 0.1}, {1, 0, 0.1}}};
  const ClassicFroc f = classic_froc(std::span<const LesionImage>(&im, 1));
  EXPECT_EQ(f.fps_per_image, (std::vector<double>{0, 0}));  // threshold 0.10000000149
  EXPECT_EQ(f.sensitivity, (std::vector<double>{1, 0}));
}

TEST(ClassicFroc, RejectsScoresThatAreNotFinite) {
  for (const double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL}) {
    LesionImage im{2, 2, {0, 1, 0, 0}, {{1, 0, bad}}};
    EXPECT_THROW(classic_froc(std::span<const LesionImage>(&im, 1)), core::ConfigError) << bad;
  }
}

std::string parse_error(const std::string& text) {
  try {
    (void)parse_detections(text, "dets.csv");
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Detections, NonFiniteScoresAreRefusedWithRowAndValue) {
  for (const std::string bad : {"nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e999"}) {
    const std::string msg = parse_error("image,x,y,prob\n0,1,1,0.5\n0,2,3," + bad + "\n");
    EXPECT_HAS(msg, "dets.csv:3: column 'prob' holds " + bad + "; it must be a finite number");
    EXPECT_HAS(msg, "rescore or drop this detection");
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_HAS(parse_error("image,x,y,prob\n0,nan,1,0.5\n"), "dets.csv:2: column 'x' holds nan");
}

TEST(Detections, ScoresOfAnySignAndSizeAreRead) {
  const auto d = parse_detections("image,x,y,prob\n0,1,1,-7.25\n0,1,1,1e-400\n0,1,1,3e300\n"
                                  "0,1,1,-0.0\n", "dets.csv");
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].detection.prob, -7.25);
  EXPECT_EQ(d[1].detection.prob, 0.0);  // underflows to 0, as float() and numpy read it
  EXPECT_EQ(d[2].detection.prob, 3e300);
  EXPECT_EQ(d[3].detection.prob, 0.0);
}

// MONAI truncates coordinates (`.astype(int)`): x in [c, c + 1) is column c.
TEST(Detections, CoordinatesAreTruncatedAsMonaiDoes) {
  const auto d = parse_detections("image,x,y,prob\n0,3.99,2.5,0.5\n1,0,0.0,0.5\n", "dets.csv");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].detection.x, 3);
  EXPECT_EQ(d[0].detection.y, 2);
  EXPECT_EQ(d[1].image, 1);
  EXPECT_EQ(d[1].detection.x, 0);
  EXPECT_HAS(parse_error("image,x,y,prob\n0,-0.25,2,0.5\n"),
             "dets.csv:2: column 'x' is -0.25; a pixel coordinate is >= 0");
}

TEST(Detections, AttachNamesTheDetectionAndTheImage) {
  std::vector<LesionImage> images(2, LesionImage{2, 3, {0, 1, 0, 0, 0, 0}, {}});
  const auto d = parse_detections("image,x,y,prob\n1,2.9,1.9,0.5\n0,3,0,0.5\n", "dets.csv");
  try {
    attach_detections(d, images, "dets.csv", "masks.h5");
    FAIL() << "no error";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "dets.csv: detection 2 at (3, 0) lies outside its 3x2 image");
  }
  ASSERT_EQ(images[1].detections.size(), 1u);
  EXPECT_EQ(images[1].detections[0].x, 2);
  const auto far = parse_detections("image,x,y,prob\n2,0,0,0.5\n", "dets.csv");
  EXPECT_THROW(attach_detections(far, images, "dets.csv", "masks.h5"), core::ConfigError);
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
