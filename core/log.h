// A small leveled logger that writes prefixed lines to a stream (stderr by default).
//
// There is no global logger: the launcher builds one from the resolved
// configuration and hands it down by reference. Each line carries a context
// prefix such as "[job=lr_scan/7 rank=3/8 host=n042]" so interleaved output of
// many ranks stays readable. Library code never writes to stdout; stdout belongs
// to the command's result (a table, a JSON document).
#pragma once

#include <iosfwd>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace fracsweep::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

// Parses "debug", "info", "warn", "error" or "off"; nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view text);

// Thread-safe: lines from several threads never interleave.
class Logger {
 public:
  explicit Logger(LogLevel level = LogLevel::kInfo);
  Logger(LogLevel level, std::ostream& out);

  // The prefix is written in brackets before every line, e.g. "job=a/1 rank=0/2".
  void set_context(std::string context);
  LogLevel level() const { return level_; }
  bool enabled(LogLevel level) const { return level >= level_; }

  template <typename... Args>
  void debug(Args&&... args) { log(LogLevel::kDebug, std::forward<Args>(args)...); }
  template <typename... Args>
  void info(Args&&... args) { log(LogLevel::kInfo, std::forward<Args>(args)...); }
  template <typename... Args>
  void warn(Args&&... args) { log(LogLevel::kWarn, std::forward<Args>(args)...); }
  template <typename... Args>
  void error(Args&&... args) { log(LogLevel::kError, std::forward<Args>(args)...); }

  template <typename... Args>
  void log(LogLevel level, Args&&... args) {
    if (enabled(level)) write(level, str_cat(std::forward<Args>(args)...));
  }

 private:
  void write(LogLevel level, const std::string& message);

  LogLevel level_;
  std::ostream* out_;
  std::string context_;
  std::mutex mutex_;
};

}  // namespace fracsweep::core
