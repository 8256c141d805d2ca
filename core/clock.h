// UTC timestamps as ISO 8601, the form of every time fracsweep writes
// (ledger records, progress snapshots, SLURM submissions).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace fracsweep::core {

// "2026-11-22T10:04:05.123Z": UTC with milliseconds.
std::string utc_iso8601(std::chrono::system_clock::time_point t);
std::string utc_now_iso8601();

// Seconds since the Unix epoch of an ISO-8601 UTC time such as
// "2026-11-22T10:04:05.123Z" (fraction optional, "Z" or "+00:00" required);
// nullopt if `iso` is not such a time.
std::optional<double> parse_utc_iso8601(std::string_view iso);

}  // namespace fracsweep::core
