// `fracsweep variants`: the registry (spec/variants.h) as a table and as JSON, and the
// one-line error for a variant that is not in it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "core/fs.h"
#include "spec/variants.h"
#include "test_util.h"

namespace fracsweep {
namespace {

namespace fs = std::filesystem;
using testing::run_fracsweep;

TEST(VariantsCommand, JsonListsEveryBuiltInWithItsTaskInputsOutputsAndTables) {
  const auto r = run_fracsweep({"variants", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  std::set<std::string> listed;
  for (const auto& v : j.at("variants")) {
    listed.insert(v.at("name").get<std::string>());
    EXPECT_TRUE(v.at("task") == "vertebra" || v.at("task") == "pelvis") << v;
    EXPECT_TRUE(v.at("input").is_string() && v.at("output").is_string()) << v;
    EXPECT_TRUE(v.at("defaults").is_object()) << v;
    for (const auto& t : v.at("tables")) EXPECT_TRUE(t.contains("table") && t.contains("row"));
  }
  for (const spec::Variant& v : spec::VariantRegistry::built_in().variants())
    EXPECT_TRUE(listed.count(v.name)) << v.name;
  EXPECT_EQ(listed.size(), spec::VariantRegistry::built_in().variants().size());
  // Every model.variant the example sweeps name is listed (the sweep files, read as text),
  // a model exported from PyTorch (on a line with its model.package) with --sweep only.
  int named = 0;
  for (const auto& f : fs::directory_iterator(testing::fixture("../../examples/sweeps"))) {
    const std::string text = core::read_file(f.path().string());
    for (size_t at = text.find("variant: "); at != std::string::npos;
         at = text.find("variant: ", at + 1)) {
      const size_t from = at + 9, to = text.find_first_of("}, \n", from);
      const std::string name = text.substr(from, to - from);
      const bool exported = text.substr(to, text.find('\n', to) - to).find("package: ") !=
                            std::string::npos;
      EXPECT_EQ(listed.count(name), exported ? 0u : 1u) << f.path() << ": " << name;
      ++named;
    }
  }
  EXPECT_GT(named, 20);
  std::set<std::string> tables;
  for (const auto& t : j.at("tables")) tables.insert(t.at("id").get<std::string>());
  EXPECT_EQ(tables, (std::set<std::string>{"tsccn-1", "tsccn-2", "tsccn-3", "aasn-1", "aasn-2"}));
}

TEST(VariantsCommand, WithASweepTheModelsItExportsFromPyTorchJoinTheList) {
  testing::InCheckout in_checkout;  // the sweep names its model file from the checkout
  const auto r =
      run_fracsweep({"variants", "--format", "json", "--sweep", "examples/sweeps/own-model-tiny.yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const auto& variants = j.at("variants");
  EXPECT_EQ(variants.size(), spec::VariantRegistry::built_in().variants().size() + 1);
  const auto own = std::find_if(variants.begin(), variants.end(),
                                [](const nlohmann::json& v) { return v.at("name") == "own-cnn"; });
  ASSERT_NE(own, variants.end()) << r.out;
  EXPECT_EQ(own->at("source"), "examples/models/own_cnn.py");
  EXPECT_EQ(own->at("task"), "vertebra");
  // A sweep that cannot be read is the one-line error `plan` gives for it.
  const auto missing = run_fracsweep({"variants", "--sweep", "no-such-sweep.yaml"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_EQ(missing.exit_code, run_fracsweep({"plan", "no-such-sweep.yaml"}).exit_code);
  EXPECT_NE(missing.err.find("no-such-sweep.yaml"), std::string::npos) << missing.err;
}

TEST(VariantsCommand, MarkdownHasARowPerVariantAndBadFlagsAreUsageErrors) {
  const auto r = run_fracsweep({"variants"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| variant | task | input | output |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| aasn | pelvis | image+twin+warp | heatmap |"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("| tsccn | vertebra | patch+neighbours | class-scores |"),
            std::string::npos)
      << r.out;
  const auto bad = run_fracsweep({"variants", "--format", "xml"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--format 'xml'"), std::string::npos) << bad.err;
  const auto help = run_fracsweep({"--help"});
  EXPECT_NE(help.out.find("variants"), std::string::npos) << help.out;
}

TEST(VariantsCommand, AnUnknownVariantIsOneLineNamingTheKnownOnes) {
  testing::TempDir dir;
  const fs::path job = dir.path() / "job.yaml";
  core::write_file_atomic(job.string(),
                          "output: out\ndata: {store: s.h5}\nmodel: {variant: tscnn}\n");
  const auto r = run_fracsweep({"train", job.string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("model.variant: 'tscnn' is unknown (known: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(job.string()), std::string::npos) << r.err;
  for (const spec::Variant& v : spec::VariantRegistry::built_in().variants())
    EXPECT_NE(r.err.find(v.name), std::string::npos) << v.name;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;  // one line
}

}  // namespace
}  // namespace fracsweep
