// A search sweep's report by nested selection (report.h): in each fold the trial with the
// best validation value of the search's metric, then one row of the chosen trials' test
// metrics, so that test data play no part in the choice.
#pragma once

#include <optional>
#include <string>

#include "report/report.h"
#include "sweeps/search.h"

namespace fracsweep::report {

// The search section of a sweep file's text, or nullopt when it has none. Throws
// core::ConfigError, naming `where`, for text that is not YAML or a bad search section.
std::optional<sweeps::SearchSpec> search_of(const std::string& sweep_text, const std::string& where);

// Fills `out`'s selection table, its one-row table and its rows from `results`, whose
// search must be set. Throws core::ConfigError for an unknown --select-on, or selection on
// test without --force.
void build_search_report(const SweepResults& results, const ReportOptions& options, Report& out);

}  // namespace fracsweep::report
