#include "metrics/predictions.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/seed.h"
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

// See Note [Two paths per row] in predictions.cpp: rows in the plain form take
// the fast path, others the general one; both must read the same values.
TEST(ParsePredictions, PlainAndUnusualRowsReadTheSame) {
  const Predictions plain = parse_predictions(
      "id,patient,label,p0,p1,p2\n"
      "a,P1,0,0.7,0.2,0.1\n"
      "b,P1,2,1e-300,5e-324,0.9999999999999999\n"
      "c,P2,1,-0.0,1.7976931348623157e308,-3.5\n"
      "d,P3,0,0.25,0.5,0.25",
      "x.csv");
  const Predictions unusual = parse_predictions(
      "\xEF\xBB\xBFid,patient,label,p0,p1,p2\r\n"
      "\r\n"
      " a ,P1,0,0.7 ,\t0.2,0.1\r\n"
      "b,P1,0002,1e-300,5e-324,0.9999999999999999\n"
      "   \n"
      "c,P2,1,-0.0,1.7976931348623157e308,-3.5\r\r\n"
      "d,P3,0,0.25,0.5,0.25\r",
      "x.csv");
  for (const Predictions* p : {&plain, &unusual}) {
    EXPECT_EQ(p->ids, (std::vector<std::string>{"a", "b", "c", "d"}));
    EXPECT_EQ(p->patient_names, (std::vector<std::string>{"P1", "P2", "P3"}));
    EXPECT_EQ(p->patient, (std::vector<int32_t>{0, 0, 1, 2}));
    EXPECT_EQ(p->label, (std::vector<int32_t>{0, 2, 1, 0}));
    EXPECT_EQ(p->scores, (std::vector<double>{0.7, 0.2, 0.1, 1e-300, 5e-324,
                                              0.9999999999999999, -0.0,
                                              1.7976931348623157e308, -3.5, 0.25, 0.5, 0.25}));
    EXPECT_TRUE(std::signbit(p->row(2)[0]));
  }
}

// Errors after rows read by the fast path, and after skipped blank lines,
// name the file's own line numbers.
TEST(ParsePredictions, LineNumbersCountBlankLines) {
  EXPECT_HAS(error_of("id,patient,label,score\na,P,0,0.1\n\nb,P,1,0.2\n\n\nc,P,0,x\n"),
             "preds.csv:7:4: column 'score': 'x' is not a number");
  EXPECT_HAS(error_of("id,patient,label,score\na,P,0,0.1\n\nb,P,1,0.2\n \n\na,P,0,0.3\n"),
             "preds.csv:7:1: id 'a' already appeared on line 2");
  EXPECT_HAS(error_of("id,patient,label,score\n\nb,P,1,0.2\na,P,0,0.1\n\nb,P,0,0.3\n"),
             "preds.csv:6:1: id 'b' already appeared on line 3");
  EXPECT_HAS(error_of("id,patient,label,p0,p1\na,P,0,0.1,0.9\nb,P,1,0.2,0.8,0.0\n"),
             "preds.csv:3: expected 5 columns (2 score columns), found 6");
  EXPECT_HAS(error_of("id,patient,label,score\na,P,0,0.5\nb,P,7,0.5\n"),
             "preds.csv:3:3: column 'label': 7 is outside 0..1");
  EXPECT_HAS(error_of("id,patient,label,score\na,P,0,0.5\nb,P,99999999999,0.5\n"),
             "preds.csv:3:3: column 'label': '99999999999' is not an integer class label");
}

// Text beyond a double's range: pandas and Python's float() read 1e-400 as 0
// and 1e400 as infinity; the first is a score, the second has no rank.
TEST(ParsePredictions, UnderflowIsZeroOverflowIsRefused) {
  const Predictions p =
      parse_predictions("id,patient,label,score\na,P,0,1e-400\nb,P,1,-1e-400\n", "x");
  EXPECT_EQ(p.scores, (std::vector<double>{0.0, 0.0}));
  EXPECT_TRUE(std::signbit(p.scores[1]));
  EXPECT_HAS(error_of("id,patient,label,score\na,P,0,1e400\n"),
             "preds.csv:2:4: column 'score': '1e400' is not a finite number");
  EXPECT_HAS(error_of("id,patient,label,score\na,P,0,0x1p3\n"), "'0x1p3' is not a number");
  EXPECT_HAS(error_of("id,patient,label,score\na,P,0,+0.5\n"), "'+0.5' is not a number");
}

// Many rows, so the duplicate check's table and read-ahead are exercised: the
// first repeat in file order is named, with its first copy.
TEST(ParsePredictions, DuplicateFoundAmongManyRows) {
  std::string text = "id,patient,label,score\n";
  for (int i = 0; i < 50000; ++i) text += "s" + std::to_string(i) + ",P,0,0.5\n";
  text += "s123,P,1,0.5\ns7,P,1,0.5\n";
  EXPECT_HAS(error_of(text), "preds.csv:50002:1: id 's123' already appeared on line 125");
}

// The outcome of parsing: the values read, or the error's message.
struct Outcome {
  std::string error;
  Predictions p;
};

Outcome outcome_of(const std::string& text, const ReadOptions& options = {}) {
  Outcome o;
  try {
    o.p = parse_predictions(text, "f.csv", options);
  } catch (const core::ConfigError& e) {
    o.error = e.what();
  }
  return o;
}

void expect_same(const Outcome& a, const Outcome& b, bool compare_ids) {
  ASSERT_EQ(a.error, b.error);
  if (!a.error.empty()) return;
  if (compare_ids) {
    EXPECT_EQ(a.p.ids, b.p.ids);
  }
  EXPECT_EQ(a.p.patient_names, b.p.patient_names);
  EXPECT_EQ(a.p.patient, b.p.patient);
  EXPECT_EQ(a.p.label, b.p.label);
  ASSERT_EQ(a.p.scores.size(), b.p.scores.size());
  for (size_t i = 0; i < a.p.scores.size(); ++i) {
    EXPECT_EQ(a.p.scores[i], b.p.scores[i]) << i;
    EXPECT_EQ(std::signbit(a.p.scores[i]), std::signbit(b.p.scores[i])) << i;
  }
}

// See Note [Two paths per row]. A blank before every line end changes no value
// (fields are trimmed) but sends every row to the general path; the files of
// mixed good and bad fields below must then read the same, or fail with the
// same message. Also: leaving ids out changes nothing else.
TEST(ParsePredictions, FastPathAgreesWithTheGeneralPath) {
  const std::vector<std::string> ids = {"a", "b", "s1", "s2", "", " c", "x\"y", "a b"};
  const std::vector<std::string> patients = {"P1", "P2", "P1", "", "P 3"};
  const std::vector<std::string> labels = {"0", "1", "2", "-1", "01", "7", "1.0", "", " 1",
                                           "99999999999"};
  const std::vector<std::string> scores = {
      "0.5", "-0.0", "0", "1e-400", "-1e-400", "1e400", "nan", "inf", "0x1p3", "+1", ".5",
      "5.", "1e5", " 0.1", "", "abc", "5e-324", "1.7976931348623157e308", "0.30000000000000004",
      "1e", "-", "2.5e-3"};
  const std::vector<std::string> ends = {"\n", "\n", "\n", "\r\n", "\r\r\n", "\n\n"};
  core::Rng rng(20240701);
  const auto pick = [&](const std::vector<std::string>& v) {
    return v[rng.uniform_below(v.size())];
  };
  int read = 0, refused = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const int k = rng.uniform_below(4) == 0 ? 1 : 3;  // 1: binary
    std::string text = k == 1 ? "id,patient,label,score" : "id,patient,label,p0,p1,p2";
    text += pick(ends);
    const int rows = 1 + static_cast<int>(rng.uniform_below(6));
    // Mostly good rows, so that errors come late, after rows of both paths.
    for (int r = 0; r < rows; ++r) {
      const bool good = rng.uniform_below(4) != 0;
      text += good ? "r" + std::to_string(r) : pick(ids);
      text += "," + (good ? "P" + std::to_string(rng.uniform_below(3)) : pick(patients));
      text += "," + (good ? std::to_string(rng.uniform_below(2)) : pick(labels));
      const int columns = good ? k : k + static_cast<int>(rng.uniform_below(3)) - 1;
      for (int c = 0; c < columns; ++c)
        text += "," + (good && rng.uniform_below(3) ? "0." + std::to_string(rng.uniform_below(1000))
                                                     : pick(scores));
      text += r + 1 == rows && rng.uniform_below(3) == 0 ? "" : pick(ends);
    }
    std::string spaced;
    for (char ch : text) {
      if (ch == '\n') spaced += ' ';
      spaced += ch;
    }
    spaced += ' ';
    SCOPED_TRACE(text);
    const Outcome plain = outcome_of(text);
    expect_same(plain, outcome_of(spaced), true);
    expect_same(plain, outcome_of(text, {.keep_ids = false}), false);
    (plain.error.empty() ? read : refused) += 1;
  }
  // Both kinds of outcome are well represented.
  EXPECT_GT(read, 300);
  EXPECT_GT(refused, 300);
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
