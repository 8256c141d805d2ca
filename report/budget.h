// What training budget a table's rows had, as a footnote: an over-sampled epoch of an
// imbalanced set is several times as long as a shuffled one, so "equal epochs" and "equal
// steps" (train.budget, spec/job_config.h) are different comparisons, and a reader must know
// which one a table makes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report.h"

namespace fracsweep::report {

struct RowBudget {
  std::string method;          // the row's name
  std::string budget;          // its jobs' train.budget: "epochs" or "steps"
  std::vector<int64_t> steps;  // per finished job with a log, its optimiser steps
};

// A job's optimiser steps from its log.jsonl lines (one per epoch, "steps"): an epoch
// logged twice (a run killed after the line and before the checkpoint) counts once.
// nullopt when no line has them.
std::optional<int64_t> logged_steps(const std::vector<nlohmann::json>& log);

// One sentence naming the budget and the steps per job (the median over a row's jobs) of
// the rows with the fewest and the most; "" when there are no rows.
std::string budget_note(const std::vector<RowBudget>& rows);

// The same for a report's rows (Report::rows) and their jobs' budgets and logs.
std::string budget_note(const SweepResults& results, const Report& report);

}  // namespace fracsweep::report
