#include "metrics/predictions.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

// Parses `text` and returns the error message, failing the test if none.
std::string error_of(const std::string& text) {
  try {
    parse_predictions(text, "preds.csv");
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

TEST(ParsePredictions, MulticlassFile) {
  const Predictions p = parse_predictions(
      "id,patient,label,p0,p1,p2\n"
      "a,P1,0,0.7,0.2,0.1\r\n"
      "b,P1,2,0.1,0.2,0.7\n"
      "\n"
      "c,P2,1, 0.3 ,0.5,0.2\n",
      "x.csv");
  EXPECT_EQ(p.kind, PredictionKind::kMulticlass);
  EXPECT_EQ(p.num_classes, 3);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p.ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(p.patient_names, (std::vector<std::string>{"P1", "P2"}));
  EXPECT_EQ(p.patient, (std::vector<int32_t>{0, 0, 1}));
  EXPECT_EQ(p.label, (std::vector<int32_t>{0, 2, 1}));
  EXPECT_DOUBLE_EQ(p.row(2)[0], 0.3);
  EXPECT_DOUBLE_EQ(p.row(1)[2], 0.7);
}

TEST(ParsePredictions, BinaryFile) {
  const Predictions p = parse_predictions("id,patient,label,score\na,P,1,0.9\nb,P,0,-3e-2\n", "x");
  EXPECT_EQ(p.kind, PredictionKind::kBinary);
  EXPECT_EQ(p.num_classes, 2);
  EXPECT_DOUBLE_EQ(p.scores[1], -0.03);
}

TEST(ParsePredictions, EmptyFile) {
  const std::string m = error_of("");
  EXPECT_HAS(m, "preds.csv: file is empty");
  EXPECT_HAS(error_of("\n\n"), "file is empty");
}

TEST(ParsePredictions, MissingHeader) {
  // A data row where the header should be.
  const std::string m = error_of("a,P1,0,0.7,0.3\n");
  EXPECT_HAS(m, "preds.csv:1:1:");
  EXPECT_HAS(m, "header column 1 must be 'id'");
}

TEST(ParsePredictions, MissingColumns) {
  EXPECT_HAS(error_of("id,label,p0,p1\na,0,0.1,0.9\n"), "preds.csv:1:2: header column 2 must be 'patient'");
  EXPECT_HAS(error_of("id,patient,label\na,P,0\n"), "header has no score columns");
  EXPECT_HAS(error_of("id,patient,label,p0,p2\n"), "preds.csv:1:5: header column 5 must be 'p1'");
  EXPECT_HAS(error_of("id,patient,label,p0\n"), "single probability column 'p0'");
  // A row with fewer fields than the header.
  const std::string m = error_of("id,patient,label,p0,p1\na,P,0,0.1,0.9\nb,P,1,0.2\n");
  EXPECT_HAS(m, "preds.csv:3: expected 5 columns");
  EXPECT_HAS(m, "found 4");
}

TEST(ParsePredictions, NonNumericScore) {
  const std::string m = error_of("id,patient,label,p0,p1\na,P,0,0.1,abc\n");
  EXPECT_HAS(m, "preds.csv:2:5: column 'p1': 'abc' is not a number");
  EXPECT_HAS(error_of("id,patient,label,score\na,P,0,0.5x\n"), "preds.csv:2:4: column 'score': '0.5x'");
  EXPECT_HAS(error_of("id,patient,label,score\na,P,0,\n"), "preds.csv:2:4: column 'score': '' is not a number");
}

TEST(ParsePredictions, NanOrInfiniteScore) {
  EXPECT_HAS(error_of("id,patient,label,p0,p1\na,P,0,nan,0.5\n"),
             "preds.csv:2:4: column 'p0': 'nan' is not a finite number");
  EXPECT_HAS(error_of("id,patient,label,score\na,P,0,inf\n"), "'inf' is not a finite number");
}

TEST(ParsePredictions, LabelOutsideClasses) {
  EXPECT_HAS(error_of("id,patient,label,p0,p1,p2\na,P,3,0.1,0.2,0.7\n"),
             "preds.csv:2:3: column 'label': 3 is outside 0..2");
  EXPECT_HAS(error_of("id,patient,label,p0,p1\na,P,-1,0.1,0.9\n"), "-1 is outside 0..1");
  EXPECT_HAS(error_of("id,patient,label,score\na,P,2,0.1\n"), "2 is outside 0..1 (a binary file");
  EXPECT_HAS(error_of("id,patient,label,score\na,P,1.0,0.1\n"), "'1.0' is not an integer class label");
}

TEST(ParsePredictions, HeaderWithoutRows) {
  EXPECT_HAS(error_of("id,patient,label,score\n"), "preds.csv: has a header but no rows");
}

TEST(ParsePredictions, DuplicateIdAndEmptyFields) {
  EXPECT_HAS(error_of("id,patient,label,score\na,P,0,0.1\na,Q,1,0.2\n"),
             "preds.csv:3:1: id 'a' already appeared on line 2");
  // The first repeat in the file is named, with the first copy.
  EXPECT_HAS(error_of("id,patient,label,score\nb,P,0,0.1\na,P,1,0.2\nc,P,0,0.3\na,P,0,0.4\n"
                      "b,P,1,0.5\na,P,1,0.6\n"),
             "preds.csv:5:1: id 'a' already appeared on line 3");
  EXPECT_HAS(error_of("id,patient,label,score\na,,0,0.1\n"), "preds.csv:2:2: column 'patient' is empty");
  EXPECT_HAS(error_of("id,patient,label,score\n\"a\",P,0,0.1\n"), "quoted fields are not supported");
}

TEST(ReadPredictions, MissingFileNamesThePath) {
  try {
    read_predictions("/nonexistent/preds.csv");
    FAIL();
  } catch (const core::IoError& e) {
    EXPECT_HAS(std::string(e.what()), "/nonexistent/preds.csv");
  }
}

TEST(WritePredictions, RoundTripsEveryDoubleExactly) {
  const std::string text =
      "id,patient,label,p0,p1,p2\n"
      "s0,P0,0,0.1,0.30000000000000004,0.5999999999999999\n"
      "s1,P1,2,1e-300,2.2250738585072014e-308,0.9999999999999999\n";
  const Predictions p = parse_predictions(text, "in");
  testing::TempDir dir;
  const std::string path = (dir.path() / "out.csv").string();
  write_predictions(p, path);
  const Predictions q = read_predictions(path);
  EXPECT_EQ(q.scores, p.scores);
  EXPECT_EQ(q.ids, p.ids);
  EXPECT_EQ(q.label, p.label);
  EXPECT_EQ(q.patient_names, p.patient_names);
}

}  // namespace
}  // namespace fracsweep::metrics
