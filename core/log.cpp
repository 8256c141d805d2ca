// Formatting of log lines: "2026-11-22T10:04:05Z WARN [job=a/1 rank=0/2] message".
#include "core/log.h"

#include <chrono>
#include <ctime>
#include <iostream>

namespace fracsweep::core {
namespace {

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarn: return "WARN";
    case LogLevel::kError: return "ERROR";
    case LogLevel::kOff: return "OFF";
  }
  return "?";
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  if (text == "off") return LogLevel::kOff;
  return std::nullopt;
}

Logger::Logger(LogLevel level) : Logger(level, std::cerr) {}

Logger::Logger(LogLevel level, std::ostream& out) : level_(level), out_(&out) {}

void Logger::set_context(std::string context) {
  std::lock_guard<std::mutex> lock(mutex_);
  context_ = std::move(context);
}

void Logger::write(LogLevel level, const std::string& message) {
  const std::time_t now =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);

  std::lock_guard<std::mutex> lock(mutex_);
  *out_ << stamp << ' ' << level_name(level) << ' ';
  if (!context_.empty()) *out_ << '[' << context_ << "] ";
  *out_ << message << '\n';
  out_->flush();
}

}  // namespace fracsweep::core
