// See csv_table.h.
#include "datastore/ingest/csv_table.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/fs.h"
#include "metrics/csv_lines.h"

namespace fracsweep::datastore::ingest {

CsvTable CsvTable::read(const std::string& path, const std::vector<std::string>& required) {
  CsvTable t;
  t.path_ = path;
  const std::string text = core::read_file(path);
  metrics::csv::LineReader lines(text);
  std::string_view line;
  std::vector<std::string_view> fields;
  bool have_header = false;
  while (lines.next(line)) {
    const std::string_view trimmed = metrics::csv::trim(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    metrics::csv::split_fields(line, fields);
    if (!have_header) {
      for (auto f : fields) {
        std::string name(f);
        CHECK_OR_THROW(core::ConfigError,
                       std::find(t.header_.begin(), t.header_.end(), name) == t.header_.end(),
                       path, " line ", lines.line_number(), ": column '", name, "' appears twice");
        t.header_.push_back(std::move(name));
      }
      have_header = true;
      continue;
    }
    CHECK_OR_THROW(core::ConfigError, fields.size() == t.header_.size(), path, " line ",
                   lines.line_number(), ": ", fields.size(), " fields where the header has ",
                   t.header_.size(), " (a comma inside a field is not supported)");
    t.rows_.emplace_back(fields.begin(), fields.end());
    t.lines_.push_back(lines.line_number());
  }
  CHECK_OR_THROW(core::ConfigError, have_header, path, ": empty; the first line must name the columns");
  for (const auto& column : required)
    CHECK_OR_THROW(core::ConfigError, t.has(column), path, ": no column '", column,
                   "' in the header (it has: ", [&] {
                     std::string s;
                     for (const auto& h : t.header_) s += (s.empty() ? "" : ", ") + h;
                     return s;
                   }(), ")");
  return t;
}

bool CsvTable::has(const std::string& column) const {
  return std::find(header_.begin(), header_.end(), column) != header_.end();
}

const std::string& CsvTable::get(size_t row, const std::string& column) const {
  static const std::string kEmpty;
  const auto it = std::find(header_.begin(), header_.end(), column);
  if (it == header_.end()) return kEmpty;
  return rows_.at(row)[static_cast<size_t>(it - header_.begin())];
}

std::string CsvTable::where(size_t row) const {
  return core::str_cat(path_, " line ", lines_.at(row));
}

double CsvTable::number(size_t row, const std::string& column) const {
  const std::string& s = get(row, column);
  double value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  CHECK_OR_THROW(core::ConfigError, ec == std::errc() && end == s.data() + s.size() && std::isfinite(value),
                 where(row), ": column '", column, "' = '", s, "' is not a number");
  return value;
}

int CsvTable::integer(size_t row, const std::string& column) const {
  const std::string& s = get(row, column);
  int value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  CHECK_OR_THROW(core::ConfigError, ec == std::errc() && end == s.data() + s.size(), where(row),
                 ": column '", column, "' = '", s, "' is not an integer");
  return value;
}

std::string relative_to(const std::string& base, const std::string& path) {
  const std::filesystem::path p(path);
  if (p.is_absolute() || path.empty()) return path;
  return (std::filesystem::path(base).parent_path() / p).lexically_normal().string();
}

}  // namespace fracsweep::datastore::ingest
