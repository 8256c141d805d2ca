// See predictions.h. The parser works on the whole file in memory, one pass
// over its bytes, numbers read with std::from_chars (locale-free; libstdc++'s
// is the fast_float algorithm) where they lie; see Note [Two paths per row].
#include "metrics/predictions.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/fs.h"
#include "metrics/csv_lines.h"
#include "metrics/mapped_file.h"

namespace fracsweep::metrics {
namespace {

using core::ConfigError;
using csv::LineReader;
using csv::split_fields;
using csv::trim;

constexpr std::string_view kHeaderHelp =
    "expected a header 'id,patient,label,score' (binary) or "
    "'id,patient,label,p0,p1,...,pK-1' (K >= 2 classes)";

struct Layout {
  PredictionKind kind;
  int num_classes;
  std::vector<std::string> columns;
};

Layout parse_header(const std::vector<std::string_view>& fields, const std::string& where) {
  std::string seen;
  for (size_t i = 0; i < fields.size(); ++i) seen += (i ? "," : "") + std::string(fields[i]);
  const char* base[] = {"id", "patient", "label"};
  for (size_t i = 0; i < 3; ++i) {
    CHECK_OR_THROW(ConfigError, i < fields.size() && fields[i] == base[i], where, ":",
                   i + 1, ": header column ", i + 1, " must be '", base[i], "'; ",
                   kHeaderHelp, "; found '", seen, "'");
  }
  Layout layout;
  layout.columns.assign(fields.begin(), fields.end());
  CHECK_OR_THROW(ConfigError, fields.size() > 3, where, ": header has no score columns; ",
                 kHeaderHelp, "; found '", seen, "'");
  if (fields.size() == 4 && fields[3] == "score") {
    layout.kind = PredictionKind::kBinary;
    layout.num_classes = 2;
    return layout;
  }
  layout.kind = PredictionKind::kMulticlass;
  layout.num_classes = static_cast<int>(fields.size() - 3);
  for (size_t i = 3; i < fields.size(); ++i) {
    const std::string expected = "p" + std::to_string(i - 3);
    CHECK_OR_THROW(ConfigError, fields[i] == expected, where, ":", i + 1,
                   ": header column ", i + 1, " must be '", expected, "'; ",
                   kHeaderHelp, "; found '", seen, "'");
  }
  CHECK_OR_THROW(ConfigError, layout.num_classes >= 2, where, ":4: a single probability ",
                 "column 'p0' is not a K-class prediction; name it 'score' for a binary ",
                 "problem or add 'p1'");
  return layout;
}

// A 64-bit hash of an id, eight bytes at a time (ids are short: one or two
// words). Only compared within one process, never stored.
uint64_t id_hash(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  for (size_t k = 0; i < s.size(); ++i, ++k)
    tail |= static_cast<uint64_t>(static_cast<unsigned char>(s[i])) << (8 * k);
  h = (h ^ tail) * 0xC4CEB9FE1A85EC53ULL;
  h ^= h >> 32;
  h *= 0xFF51AFD7ED558CCDULL;
  return h ^ (h >> 29);
}

// File line of each row, from the lines skipped between rows (blank lines):
// no per-row bookkeeping, since only error messages need it.
class RowLines {
 public:
  explicit RowLines(size_t first_row_line) : first_(first_row_line) {}
  // A blank line was skipped just before row `row`.
  void skip_before(size_t row) { skips_.push_back(row); }
  size_t line_of(size_t row) const {
    const auto skipped = std::upper_bound(skips_.begin(), skips_.end(), row) - skips_.begin();
    return first_ + row + static_cast<size_t>(skipped);
  }

 private:
  size_t first_;
  std::vector<size_t> skips_;  // ascending row indices, one per skipped line
};

constexpr uint64_t kTop = 0xFFFFFFFF00000000ULL;  // a slot's hash bits
constexpr uint64_t kLow = 0x00000000FFFFFFFFULL;  // a slot's index + 1; 0: empty

// Each run of rows with one patient name (rows of a patient are usually
// adjacent), numbered by the name's first appearance: the distinct names go to
// `names` and each row's number to `patient`. Through an open-addressing table
// sized for the runs, whose slots hold a name's hash top and index + 1; each
// slot is fetched ahead of its use, as the table outgrows the caches.
struct PatientRun {
  size_t first_row;
  std::string_view name;
};

void number_patients(const std::vector<PatientRun>& runs, size_t rows,
                     std::vector<std::string>& names, std::vector<int32_t>& patient) {
  INTERNAL_ASSERT(runs.size() < INT32_MAX);
  const size_t mask = std::bit_ceil(2 * runs.size() + 1) - 1;
  std::vector<uint64_t> slots(mask + 1, 0);
  std::vector<uint64_t> hashes(runs.size());
  for (size_t k = 0; k < runs.size(); ++k) hashes[k] = id_hash(runs[k].name);
  patient.resize(rows);
  names.reserve(runs.size());  // at most one name per run: no regrowth
  constexpr size_t kAhead = 32;
  for (size_t k = 0; k < runs.size(); ++k) {
    if (k + kAhead < runs.size()) __builtin_prefetch(&slots[hashes[k + kAhead] & mask], 1);
    const uint64_t h = hashes[k];
    size_t s = h & mask;
    int32_t index = -1;
    for (; slots[s] != 0; s = (s + 1) & mask) {
      if ((slots[s] & kTop) != (h & kTop)) continue;
      const size_t j = (slots[s] & kLow) - 1;
      if (names[j] == runs[k].name) {
        index = static_cast<int32_t>(j);
        break;
      }
    }
    if (index < 0) {
      index = static_cast<int32_t>(names.size());
      slots[s] = (h & kTop) | (names.size() + 1);
      names.emplace_back(runs[k].name);
    }
    const size_t end = k + 1 < runs.size() ? runs[k + 1].first_row : rows;
    std::fill(patient.begin() + static_cast<ptrdiff_t>(runs[k].first_row),
              patient.begin() + static_cast<ptrdiff_t>(end), index);
  }
}

// The first repeated id, in file order, from the ids' 64-bit hashes through an
// open-addressing table of rows: one pass, no node per id and no sort. A slot
// holds the hash's top and the row + 1, so a probe reads one slot; the table
// is far larger than the caches, so each slot is fetched ahead of its use.
// Rows with equal hashes have their ids compared by `id_of(row)`.
template <typename IdOf>
void check_unique_ids(const std::vector<uint64_t>& hashes, const IdOf& id_of,
                      const RowLines& lines, const std::string& source) {
  INTERNAL_ASSERT(hashes.size() < UINT32_MAX);
  const size_t capacity = std::bit_ceil(2 * hashes.size() + 1);
  const size_t mask = capacity - 1;
  std::vector<uint64_t> slots(capacity, 0);
  constexpr size_t kAhead = 32;
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (i + kAhead < hashes.size()) __builtin_prefetch(&slots[hashes[i + kAhead] & mask], 1);
    const uint64_t h = hashes[i];
    size_t s = h & mask;
    for (; slots[s] != 0; s = (s + 1) & mask) {
      if ((slots[s] & kTop) != (h & kTop)) continue;
      const size_t r = (slots[s] & kLow) - 1;
      if (hashes[r] != h) continue;
      const std::string id = id_of(i);
      CHECK_OR_THROW(ConfigError, id_of(r) != id, source, ":", lines.line_of(i), ":1: id '", id,
                     "' already appeared on line ", lines.line_of(r), "; ids must be unique");
    }
    slots[s] = (h & kTop) | (i + 1);
  }
}

// The id of the row on file line `line` of `body`, whose first line is
// `first_line`: found again by counting lines, for the rare rows whose ids'
// hashes are equal (a repeated id, nearly always).
std::string id_on_line(std::string_view body, size_t first_line, size_t line) {
  LineReader lines(body);
  std::string_view text;
  for (size_t n = first_line; n <= line; ++n) {
    const bool more = lines.next(text);
    INTERNAL_ASSERT(more);
  }
  std::vector<std::string_view> fields;
  split_fields(text, fields);
  return std::string(fields.at(0));
}

// Reads the rows after the header into a Predictions, in one pass over the
// text. See Note [Two paths per row].
//
// Note [Two paths per row]: a row is first read by a fast path that accepts
// only the plain form every writer here produces: no blanks, no quotes, no
// empty field, a label of digits, numbers that std::from_chars reads whole,
// "\n" or "\r\n" after the last. Anything else (a blank line, " 0.3 ", a bad
// value) sends the line, from its start, to the general path, which splits
// it into trimmed fields and checks each with the message a user sees. The
// fast path appends nothing until the row is complete (its scores are taken
// back), so the general path sees the row as if the fast one had not run:
// every file is accepted or refused, with the same message, as by the
// general path alone.
class RowReader {
 public:
  RowReader(const Layout& layout, const std::string& source, size_t first_row_line,
            std::string_view text, bool keep_ids, Predictions& out)
      : layout_(layout), source_(source), out_(out), lines_(first_row_line),
        num_columns_(layout.columns.size()), keep_ids_(keep_ids),
        quoted_(text.find('"') != std::string_view::npos) {
    const size_t estimate = estimate_rows(text);
    if (keep_ids_) out_.ids.reserve(estimate);
    id_hashes_.reserve(estimate);
    out_.label.reserve(estimate);
    out_.scores.reserve(estimate * (num_columns_ - 3));
  }

  void read_all(std::string_view text, size_t first_line) {
    const char* p = text.data();
    const char* const end = text.data() + text.size();
    size_t line = first_line;
    while (p < end) {
      const char* const start = p;
      if (fast_row(p, end)) {
        ++line;
        continue;
      }
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', end - start));
      std::string_view text_line(start, (nl ? nl : end) - start);
      if (!text_line.empty() && text_line.back() == '\r') text_line.remove_suffix(1);
      general_row(text_line, line);
      ++line;
      p = nl ? nl + 1 : end;
    }
  }

  const RowLines& lines() const { return lines_; }
  const std::vector<uint64_t>& id_hashes() const { return id_hashes_; }

  // Rows to reserve room for, so that the vectors do not regrow (a copy of
  // each, and fresh pages) on big files: the text's size over the mean length
  // of its first lines, with a margin. Room reserved and never used costs
  // address space only.
  static size_t estimate_rows(std::string_view text) {
    const std::string_view sample = text.substr(0, 1 << 16);
    const size_t lines = static_cast<size_t>(std::count(sample.begin(), sample.end(), '\n')) + 1;
    const double bytes_per_line =
        std::max(1.0, static_cast<double>(sample.size()) / static_cast<double>(lines));
    return static_cast<size_t>(1.1 * static_cast<double>(text.size()) / bytes_per_line) + 1024;
  }
  const std::vector<PatientRun>& patient_runs() const { return patient_runs_; }

 private:
  // A text field up to its comma; false on anything the general path must judge.
  static bool text_field(const char*& p, const char* end, std::string_view& field) {
    const char* const s = p;
    for (; p < end; ++p) {
      const char c = *p;
      if (c == ',') {
        if (p == s) return false;
        field = {s, static_cast<size_t>(p - s)};
        ++p;
        return true;
      }
      if (c == '\n' || c == '\r' || c == '"' || c == ' ' || c == '\t') return false;
    }
    return false;
  }

  bool fast_row(const char*& p, const char* end) {
    const char* q = p;
    std::string_view id, patient;
    if (!text_field(q, end, id) || !text_field(q, end, patient)) return false;
    if (q == end || static_cast<unsigned>(*q - '0') > 9) return false;
    int32_t label = 0;
    for (int digits = 0; q < end && static_cast<unsigned>(*q - '0') <= 9; ++q, ++digits) {
      if (digits == 9) return false;  // leave large numbers to the general path
      label = label * 10 + (*q - '0');
    }
    if (q == end || *q != ',' || label >= layout_.num_classes) return false;
    ++q;
    const size_t mark = out_.scores.size();
    for (size_t c = 3; c < num_columns_; ++c) {
      double value;
      const auto r = std::from_chars(q, end, value);
      bool ok = r.ec == std::errc() && r.ptr != q && std::isfinite(value);
      q = r.ptr;
      if (ok && c + 1 < num_columns_) {
        ok = q != end && *q == ',';
        ++q;
      } else if (ok) {  // the line's end: "\n", "\r\n" or the end of the text
        if (q == end) {
        } else if (*q == '\n') {
          ++q;
        } else if (*q == '\r' && (q + 1 == end || q[1] == '\n')) {
          q += q + 1 == end ? 1 : 2;
        } else {
          ok = false;
        }
      }
      if (!ok) {
        out_.scores.resize(mark);
        return false;
      }
      out_.scores.push_back(value);
    }
    add_row(id, patient, label);
    p = q;
    return true;
  }

  // One line with every check and its message; skips a blank line.
  void general_row(std::string_view line, size_t n) {
    if (trim(line).empty()) {
      lines_.skip_before(out_.label.size());
      return;
    }
    split_fields(line, fields_);
    CHECK_OR_THROW(ConfigError, fields_.size() == num_columns_, source_, ":", n, ": expected ",
                   num_columns_, " columns (", num_columns_ - 3, " score columns), found ",
                   fields_.size());
    for (size_t c = 0; quoted_ && c < num_columns_; ++c) {
      CHECK_OR_THROW(ConfigError, fields_[c].find('"') == std::string_view::npos, source_,
                     ":", n, ":", c + 1, ": column '", layout_.columns[c],
                     "': quoted fields are not supported");
    }
    CHECK_OR_THROW(ConfigError, !fields_[0].empty(), source_, ":", n,
                   ":1: column 'id' is empty");
    CHECK_OR_THROW(ConfigError, !fields_[1].empty(), source_, ":", n,
                   ":2: column 'patient' is empty");

    int32_t label = 0;
    const std::string_view lf = fields_[2];
    const auto lr = std::from_chars(lf.data(), lf.data() + lf.size(), label);
    CHECK_OR_THROW(ConfigError, lr.ec == std::errc() && lr.ptr == lf.data() + lf.size(),
                   source_, ":", n, ":3: column 'label': '", lf,
                   "' is not an integer class label");
    CHECK_OR_THROW(ConfigError, label >= 0 && label < layout_.num_classes, source_, ":", n,
                   ":3: column 'label': ", label, " is outside 0..", layout_.num_classes - 1,
                   layout_.kind == PredictionKind::kBinary
                       ? " (a binary file with a 'score' column has labels 0 and 1)"
                       : " (the header has that many probability columns)");
    for (size_t c = 3; c < num_columns_; ++c) out_.scores.push_back(number(c, n));
    add_row(fields_[0], fields_[1], label);
  }

  // Column c of the general path's row on line n.
  double number(size_t c, size_t n) const {
    const std::string_view f = fields_[c];
    double value = 0;
    const auto r = std::from_chars(f.data(), f.data() + f.size(), value);
    const bool whole = !f.empty() && r.ptr == f.data() + f.size();
    CHECK_OR_THROW(ConfigError,
                   whole && (r.ec == std::errc() || r.ec == std::errc::result_out_of_range),
                   source_, ":", n, ":", c + 1, ": column '", layout_.columns[c], "': '", f,
                   "' is not a number");
    if (r.ec == std::errc::result_out_of_range) {
      // from_chars stores nothing for text beyond a double's range; strtod
      // (this program keeps the "C" locale) gives what pandas and Python's
      // float() give: 0 for 1e-400, infinity (refused below) for 1e400.
      value = std::strtod(std::string(f).c_str(), nullptr);
    }
    CHECK_OR_THROW(ConfigError, std::isfinite(value), source_, ":", n, ":", c + 1,
                   ": column '", layout_.columns[c], "': '", f,
                   "' is not a finite number (NaN and infinity have no rank)");
    return value;
  }

  void add_row(std::string_view id, std::string_view patient, int32_t label) {
    // Rows of one patient are usually adjacent: one run for them.
    if (patient_runs_.empty() || patient != patient_runs_.back().name)
      patient_runs_.push_back({out_.label.size(), patient});
    id_hashes_.push_back(id_hash(id));
    if (keep_ids_) out_.ids.emplace_back(id);
    out_.label.push_back(label);
  }

  const Layout& layout_;
  const std::string& source_;
  Predictions& out_;
  RowLines lines_;
  const size_t num_columns_;
  const bool keep_ids_;
  const bool quoted_;  // any '"' in the text: fields are searched for quotes
  std::vector<std::string_view> fields_;
  std::vector<uint64_t> id_hashes_;  // per row, for the uniqueness check
  std::vector<PatientRun> patient_runs_;
};

}  // namespace

Predictions parse_predictions(std::string_view text, const std::string& source,
                              const ReadOptions& options) {
  LineReader lines(text);
  std::string_view line;
  std::vector<std::string_view> fields;

  bool have_header = false;
  while (lines.next(line)) {
    if (!trim(line).empty()) {
      have_header = true;
      break;
    }
  }
  CHECK_OR_THROW(ConfigError, have_header, source, ": file is empty; ", kHeaderHelp);
  split_fields(line, fields);
  const Layout layout = parse_header(fields, source + ":" + std::to_string(lines.line_number()));

  Predictions out;
  out.kind = layout.kind;
  out.num_classes = layout.num_classes;
  const std::string_view body = lines.rest();
  const size_t first_line = lines.line_number() + 1;
  RowReader reader(layout, source, first_line, body, options.keep_ids, out);
  reader.read_all(body, first_line);
  CHECK_OR_THROW(ConfigError, !out.label.empty(), source,
                 ": has a header but no rows of predictions");
  number_patients(reader.patient_runs(), out.label.size(), out.patient_names, out.patient);
  const auto id_of = [&](size_t row) {
    return options.keep_ids ? out.ids[row]
                            : id_on_line(body, first_line, reader.lines().line_of(row));
  };
  check_unique_ids(reader.id_hashes(), id_of, reader.lines(), source);
  return out;
}

Predictions read_predictions(const std::string& path, const ReadOptions& options) {
  const FileText text = FileText::load(path);
  return parse_predictions(text.view(), path, options);
}

void write_predictions(const Predictions& p, const std::string& path) {
  std::string text = "id,patient,label";
  if (p.kind == PredictionKind::kBinary) {
    text += ",score";
  } else {
    for (int k = 0; k < p.num_classes; ++k) text += ",p" + std::to_string(k);
  }
  text += '\n';
  char buf[32];
  for (size_t i = 0; i < p.size(); ++i) {
    text += p.ids[i];
    text += ',';
    text += p.patient_names[static_cast<size_t>(p.patient[i])];
    text += ',';
    text += std::to_string(p.label[i]);
    for (double v : p.row(i)) {
      // Shortest representation that reads back to the same double.
      const auto r = std::to_chars(buf, buf + sizeof buf, v);
      text += ',';
      text.append(buf, r.ptr);
    }
    text += '\n';
  }
  core::write_file_atomic(path, text);
}

}  // namespace fracsweep::metrics
