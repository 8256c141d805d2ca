// The sweep file's `tracking:` section and `fracsweep run --mlflow`: what is
// accepted, and bad input refused in one line naming the file, key and value and
// how to fix it (exit 2 from the command).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "spec/tracking.h"
#include "sweeps/sweep.h"
#include "test_util.h"

namespace fracsweep::spec {
namespace {

using testing::TempDir;

TrackingSpec parse(const std::string& yaml) { return parse_tracking(YAML::Load(yaml), "s.yaml"); }

// The message parse() throws for `yaml`; a test failure (and "") when it parses.
std::string refusal(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << yaml;
  return "";
}

TEST(ParseTracking, DefaultsToTensorBoardAloneAndReadsMlflow) {
  EXPECT_TRUE(parse_tracking(YAML::Node(), "s.yaml").tensorboard);
  EXPECT_FALSE(parse_tracking(YAML::Node(), "s.yaml").mlflow);
  EXPECT_FALSE(parse("{tensorboard: false}").tensorboard);
  const TrackingSpec t = parse("{mlflow: {uri: 'http://127.0.0.1:5000/', experiment: table3}}");
  ASSERT_TRUE(t.mlflow);
  EXPECT_EQ(t.mlflow->uri, "http://127.0.0.1:5000");  // without the trailing '/'
  EXPECT_EQ(t.mlflow->experiment, "table3");
  EXPECT_EQ(parse("{mlflow: {uri: 'https://mlflow.example.org/team'}}").mlflow->uri,
            "https://mlflow.example.org/team");
}

TEST(ParseTracking, BadUrisAreRefusedWithTheKeyTheValueAndTheFix) {
  for (const std::string uri : {"ftp://127.0.0.1:5000", "127.0.0.1:5000", "http://", "http://h:0",
                                "http://h:65536", "http://h:50x0", "http://:5000", "http://a b:5000"}) {
    const std::string msg = refusal("{mlflow: {uri: '" + uri + "'}}");
    EXPECT_HAS(msg, "s.yaml: tracking.mlflow.uri: '" + uri + "'");
    EXPECT_HAS(msg, "give http://HOST:PORT");
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(ParseTracking, UnknownKeysAreRefusedWithTheNearestKnownOne) {
  std::string msg = refusal("{mlfow: {uri: 'http://h:5000'}}");
  EXPECT_HAS(msg, "s.yaml: unknown key 'tracking.mlfow' (did you mean 'mlflow'?)");
  msg = refusal("{mlflow: {uri: 'http://h:5000', experment: x}}");
  EXPECT_HAS(msg, "unknown key 'tracking.mlflow.experment' (did you mean 'experiment'?)");
  EXPECT_HAS(refusal("{mlflow: {experiment: x}}"), "tracking.mlflow.uri is missing");
  EXPECT_HAS(refusal("{tensorboard: maybe}"), "tracking.tensorboard");
  EXPECT_HAS(refusal("{mlflow: {uri: 'http://h:5000', experiment: ''}}"), "tracking.mlflow.experiment");
  EXPECT_HAS(refusal("[mlflow]"), "tracking: expected a mapping");
}

TEST(ParseTracking, TheExperimentDefaultsToTheSweepsName) {
  const std::string base =
      "name: tiny\noutput: out\npreset: tiny\n"
      "dataset: {phantom: {patients: 12, patch_size: 32, seed: 1}}\n"
      "protocol: {split: random, repeats: [0]}\nseeds: [1]\n"
      "variants: {curve: {model: {variant: curve}}}\n";
  EXPECT_EQ(sweeps::parse_sweep(base + "tracking: {mlflow: {uri: 'http://h:5000'}}\n", "s.yaml")
                .tracking.mlflow->experiment,
            "tiny");
  EXPECT_FALSE(sweeps::parse_sweep(base, "s.yaml").tracking.mlflow);
}

// The command's stderr lines that are not empty.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    if (end > at) out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

TEST(RunCommand, BadTrackingInputExitsWithTwoInOneLine) {
  TempDir dir;
  const std::string base = "name: tiny\noutput: " + (dir.path() / "out").string() +
                           "\npreset: tiny\n"
                           "dataset: {phantom: {patients: 12, patch_size: 32, seed: 1}}\n"
                           "protocol: {split: random, repeats: [0]}\nseeds: [1]\n"
                           "variants: {curve: {model: {variant: curve}}}\n";
  const std::string bad_uri = dir.write("bad_uri.yaml", base + "tracking: {mlflow: {uri: 'http://h:99999'}}\n");
  const std::string typo = dir.write("typo.yaml", base + "tracking: {mlflow: {url: 'http://h:5000'}}\n");
  const std::string good = dir.write("good.yaml", base);
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> says;
  };
  const std::vector<Case> cases = {
      {{"run", bad_uri}, {"bad_uri.yaml", "tracking.mlflow.uri", "'http://h:99999'", "give http://HOST:PORT"}},
      {{"plan", bad_uri}, {"bad_uri.yaml", "tracking.mlflow.uri", "99999", "give http://HOST:PORT"}},
      {{"run", typo}, {"typo.yaml", "unknown key 'tracking.mlflow.url'", "expected one of: uri, experiment"}},
      {{"run", good, "--mlflow", "localhost:5000"}, {"--mlflow", "'localhost:5000'", "give http://HOST:PORT"}},
  };
  for (const Case& c : cases) {
    const auto r = testing::run_fracsweep(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[1] << ": " << r.err;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
    for (const std::string& s : c.says) EXPECT_HAS(r.err, s);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out" / "curve")) << "a job ran";
}

}  // namespace
}  // namespace fracsweep::spec
