#include "metrics/delong.h"

#include <gtest/gtest.h>

#include <charconv>
#include <filesystem>
#include <limits>
#include <sstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "metrics/ranking.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

struct PairedScores {
  std::vector<double> a, b;
  std::vector<uint8_t> y;
};

// std::from_chars reads subnormals (5e-324) and -0.0 as written; std::stod
// would throw on the former.
double parse_double(const std::string& f) {
  double v = 0;
  const auto r = std::from_chars(f.data(), f.data() + f.size(), v);
  if (r.ec != std::errc() || r.ptr != f.data() + f.size())
    throw std::runtime_error("bad number in fixture: '" + f + "'");
  return v;
}

PairedScores read_paired(const std::string& path) {
  const std::string text = core::read_file(path);
  PairedScores out;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header label,score_a,score_b
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream row(line);
    std::string f;
    std::getline(row, f, ',');
    out.y.push_back(static_cast<uint8_t>(std::stoi(f)));
    std::getline(row, f, ',');
    out.a.push_back(parse_double(f));
    std::getline(row, f, ',');
    out.b.push_back(parse_double(f));
  }
  return out;
}

// A fixture number, or "inf", "-inf", "nan" for what JSON cannot hold.
double number(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  const std::string s = v.get<std::string>();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  throw std::runtime_error("bad number in fixture: '" + s + "'");
}

// The fixtures' reference is the direct O(m n) placement computation, an
// algorithm independent of the midrank one under test.
TEST(Delong, AgreesWithDirectPlacementReference) {
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::fixture("metrics/delong"))) {
    if (entry.path().extension() != ".csv") continue;
    SCOPED_TRACE(entry.path().filename().string());
    const PairedScores s = read_paired(entry.path().string());
    std::filesystem::path json_path = entry.path();
    json_path.replace_extension(".json");
    const auto expected = nlohmann::json::parse(core::read_file(json_path.string()));
    const DelongResult r = delong_test(s.a, s.b, s.y);
    EXPECT_NEAR(r.auc_a, expected.at("auc_a").get<double>(), 1e-12);
    EXPECT_NEAR(r.auc_b, expected.at("auc_b").get<double>(), 1e-12);
    EXPECT_NEAR(r.var_a, expected.at("var_a").get<double>(), 1e-12);
    EXPECT_NEAR(r.var_b, expected.at("var_b").get<double>(), 1e-12);
    EXPECT_NEAR(r.cov_ab, expected.at("cov_ab").get<double>(), 1e-12);
    EXPECT_NEAR(r.z, expected.at("z").get<double>(), 1e-7 * std::max(1.0, std::fabs(r.z)));
    EXPECT_NEAR(r.p, expected.at("p").get<double>(), 1e-9);
    // The AUCs must also be the ones the ranking code reports.
    EXPECT_NEAR(r.auc_a, ranking_metrics(s.a, s.y).auc, 1e-12);
    ++cases;
  }
  EXPECT_GE(cases, 5);
}

// delong_edge/: tied, degenerate and extreme scores against the direct
// placement reference (generate.py, delong_reference_edge), where the
// difference's variance may be exactly 0: the reference's z is then numpy's
// division, diff / 0 = +-inf with p = 0 (taken as is), or 0 / 0 = NaN, which
// delong_z_and_p documents as z = 0, p = 1. Fewer than 2 samples of a class
// have no sample variance: refused.
TEST(Delong, DegenerateAndExtremeCasesAgreeWithReference) {
  int cases = 0, degenerate = 0, refused = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing::fixture("metrics/delong_edge"))) {
    if (entry.path().extension() != ".csv") continue;
    SCOPED_TRACE(entry.path().filename().string());
    const PairedScores s = read_paired(entry.path().string());
    std::filesystem::path json_path = entry.path();
    json_path.replace_extension(".json");
    const auto expected = nlohmann::json::parse(core::read_file(json_path.string()));
    ++cases;
    if (expected.contains("refused")) {
      try {
        delong_test(s.a, s.b, s.y);
        ADD_FAILURE() << "expected a refusal: " << expected.at("refused");
      } catch (const core::ConfigError& e) {
        EXPECT_HAS(std::string(e.what()), expected.at("refused").get<std::string>());
      }
      ++refused;
      continue;
    }
    const DelongResult r = delong_test(s.a, s.b, s.y);
    EXPECT_NEAR(r.auc_a, number(expected.at("auc_a")), 1e-12);
    EXPECT_NEAR(r.auc_b, number(expected.at("auc_b")), 1e-12);
    EXPECT_NEAR(r.var_a, number(expected.at("var_a")), 1e-12);
    EXPECT_NEAR(r.var_b, number(expected.at("var_b")), 1e-12);
    EXPECT_NEAR(r.cov_ab, number(expected.at("cov_ab")), 1e-12);
    EXPECT_NEAR(r.auc_a, ranking_metrics(s.a, s.y).auc, 1e-12);
    EXPECT_NEAR(r.auc_b, ranking_metrics(s.b, s.y).auc, 1e-12);
    const double z = number(expected.at("z")), p = number(expected.at("p"));
    if (std::isnan(z)) {
      EXPECT_EQ(r.z, 0);
      EXPECT_EQ(r.p, 1);
      ++degenerate;
    } else if (std::isinf(z)) {
      EXPECT_EQ(r.z, z);
      EXPECT_EQ(r.p, 0);
      EXPECT_EQ(p, 0);
      ++degenerate;
    } else {
      EXPECT_NEAR(r.z, z, 1e-7 * std::max(1.0, std::fabs(z)));
      EXPECT_NEAR(r.p, p, 1e-9);
    }
  }
  EXPECT_GE(cases, 10);
  EXPECT_GE(degenerate, 4);
  EXPECT_GE(refused, 2);
}

// Regression: a difference without variance (AUC 1 against all scores tied)
// was reported as z = 0, p = 1, "no difference"; the division gives infinity.
TEST(Delong, DifferenceWithoutVarianceIsInfinitelySignificant) {
  const std::vector<double> perfect = {0.1, 0.9, 0.2, 0.8, 0.9, 0.1};
  const std::vector<double> tied(6, 0.5);
  const std::vector<uint8_t> y = {0, 1, 0, 1, 1, 0};
  DelongResult r = delong_test(perfect, tied, y);
  EXPECT_EQ(r.auc_a, 1.0);
  EXPECT_EQ(r.auc_b, 0.5);
  EXPECT_EQ(r.z, std::numeric_limits<double>::infinity());
  EXPECT_EQ(r.p, 0);
  r = delong_test(tied, perfect, y);
  EXPECT_EQ(r.z, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(r.p, 0);
}

TEST(Delong, RejectsNonFiniteScores) {
  const std::vector<double> a = {0.1, 0.9, 0.2, 0.8};
  const std::vector<double> b = {0.1, std::numeric_limits<double>::quiet_NaN(), 0.2, 0.8};
  const std::vector<uint8_t> y = {0, 1, 0, 1};
  try {
    delong_test(a, b, y);
    FAIL() << "expected a ConfigError";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "sample 1 has scores 0.9 and nan");
  }
}

TEST(Delong, IdenticalScoresAreNotDifferent) {
  const std::vector<double> s = {0.1, 0.7, 0.3, 0.9, 0.2, 0.8};
  const std::vector<uint8_t> y = {0, 1, 0, 1, 1, 0};
  const DelongResult r = delong_test(s, s, y);
  EXPECT_DOUBLE_EQ(r.auc_a, r.auc_b);
  EXPECT_EQ(r.z, 0.0);
  EXPECT_EQ(r.p, 1.0);
}

TEST(Delong, RejectsMismatchedOrTooSmallInput) {
  const std::vector<double> a = {0.1, 0.2, 0.3}, b = {0.1, 0.2};
  EXPECT_THROW(delong_test(a, b, std::vector<uint8_t>{0, 1, 1}), core::ConfigError);
  EXPECT_THROW(delong_test(a, a, std::vector<uint8_t>{0, 1, 1}), core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::metrics
