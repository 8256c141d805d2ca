#include "metrics/delong.h"

#include <gtest/gtest.h>

#include <filesystem>
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
    out.a.push_back(std::stod(f));
    std::getline(row, f, ',');
    out.b.push_back(std::stod(f));
  }
  return out;
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
