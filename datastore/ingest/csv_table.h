// The comma-separated tables ingest reads (manifests, box lists): a header row
// naming the columns, then one row per record. No quoting, so a field cannot
// hold a comma; blanks around fields, CRLF and a UTF-8 byte-order mark are
// accepted, empty lines and lines starting with '#' skipped.
#pragma once

#include <string>
#include <vector>

namespace fracsweep::datastore::ingest {

class CsvTable {
 public:
  // Throws core::ConfigError naming the file when it cannot be read, lacks one
  // of `required` columns, repeats a column, or has a row with a different
  // number of fields than the header (naming the line).
  static CsvTable read(const std::string& path, const std::vector<std::string>& required);

  const std::string& path() const { return path_; }
  size_t rows() const { return rows_.size(); }
  bool has(const std::string& column) const;
  // The field of `column` in row `row`; "" for an optional column that is absent.
  const std::string& get(size_t row, const std::string& column) const;
  // "FILE line N", for messages about a row.
  std::string where(size_t row) const;

  // A field as a number: throws core::ConfigError naming the file, the line, the
  // column and the value when it is not one (or not finite, or not an integer).
  double number(size_t row, const std::string& column) const;
  int integer(size_t row, const std::string& column) const;

 private:
  std::string path_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<size_t> lines_;
};

// `path` read relative to the folder of `base` (a manifest) unless absolute.
std::string relative_to(const std::string& base, const std::string& path);

}  // namespace fracsweep::datastore::ingest
