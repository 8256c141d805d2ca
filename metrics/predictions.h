// Per-sample predictions: the CSV format every job writes and `fracsweep metrics` reads.
//
//   id,patient,label,p0,p1,...,pK-1     K-class probabilities (K >= 2)
//   id,patient,label,score              one score of a binary problem
//
// One header line, then one row per sample; comma-separated, no quoting.
// Numbers are what std::from_chars reads (no leading '+', no hex), finite;
// text below a double's range (1e-400) reads as 0, as pandas reads it.
// Reading validates everything and throws core::ConfigError with
// "FILE:LINE:COLUMN: what was wrong" on the first bad field, core::IoError
// when the file cannot be read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fracsweep::metrics {

enum class PredictionKind { kBinary, kMulticlass };

struct Predictions {
  PredictionKind kind = PredictionKind::kMulticlass;
  int num_classes = 0;                     // K; 2 for binary
  std::vector<std::string> ids;            // one per row, unique; empty if not kept (below)
  std::vector<std::string> patient_names;  // distinct, in order of first appearance
  std::vector<int32_t> patient;            // per row: index into patient_names
  std::vector<int32_t> label;              // per row: 0..K-1
  std::vector<double> scores;              // row-major, score_columns() per row

  size_t size() const { return label.size(); }
  int score_columns() const { return kind == PredictionKind::kBinary ? 1 : num_classes; }
  std::span<const double> row(size_t i) const {
    const size_t k = static_cast<size_t>(score_columns());
    return {scores.data() + i * k, k};
  }
};

struct ReadOptions {
  // Keep each row's id in Predictions::ids. Ids are checked for uniqueness
  // either way; a caller that only scores the file (`fracsweep metrics`) can
  // leave them out, saving a string per row (64 MB for 2,000,000 rows).
  bool keep_ids = true;
};

// Parses CSV text; `source` names it in error messages (usually the path).
Predictions parse_predictions(std::string_view text, const std::string& source,
                              const ReadOptions& options = {});

// Reads and parses a file (a regular file is mapped, not copied).
Predictions read_predictions(const std::string& path, const ReadOptions& options = {});

// Writes with full round-trip precision, atomically (temporary file + rename).
void write_predictions(const Predictions& predictions, const std::string& path);

}  // namespace fracsweep::metrics
