// See clock.h.
#include "core/clock.h"

#include <cstdio>
#include <ctime>

namespace fracsweep::core {

std::string utc_iso8601(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto millis = duration_cast<milliseconds>(t - secs).count();
  const std::time_t tt = system_clock::to_time_t(secs);
  std::tm utc{};
  gmtime_r(&tt, &utc);
  char out[48];
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return out;
}

std::string utc_now_iso8601() { return utc_iso8601(std::chrono::system_clock::now()); }

std::optional<double> parse_utc_iso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.f+](Z|+00:00)
  const auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const auto at = [&](size_t pos, char c) { return pos < s.size() && s[pos] == c; };
  const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2);
  const auto h = digits(11, 2), mi = digits(14, 2), se = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || !at(4, '-') || !at(7, '-') || !at(10, 'T') ||
      !at(13, ':') || !at(16, ':') || *h > 23 || *mi > 59 || *se > 60) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day date{year{*y}, month{static_cast<unsigned>(*mo)},
                            day{static_cast<unsigned>(*d)}};
  if (!date.ok()) return std::nullopt;
  size_t pos = 19;
  double fraction = 0, scale = 0.1;
  if (at(pos, '.')) {
    ++pos;
    const size_t first = pos;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, scale /= 10) {
      fraction += (s[pos] - '0') * scale;
    }
    if (pos == first) return std::nullopt;
  }
  const std::string_view zone = s.substr(pos);
  if (zone != "Z" && zone != "+00:00") return std::nullopt;
  const double days = static_cast<double>(sys_days{date}.time_since_epoch().count());
  return days * 86400 + *h * 3600 + *mi * 60 + *se + fraction;
}

}  // namespace fracsweep::core
