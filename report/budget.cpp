// See budget.h.
#include "report/budget.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace fracsweep::report {
namespace {

int64_t median(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// `steps_differ`: whether the rows' steps differ (or were not logged), when equal epochs
// deserve the reason why.
std::string budget_words(const std::string& budget, bool steps_differ) {
  if (budget == "steps")
    return "equal steps (train.budget: steps): every epoch of every row is as long as an "
           "over-sampled epoch of its training set";
  return std::string("equal epochs (train.budget: epochs): every row trains its epochs over its "
                     "own sampler's order") +
         (steps_differ ? ", so an over-sampled row takes more steps than a shuffled one" : "");
}

// Each row's median steps per job, for the rows whose jobs logged them.
std::vector<std::pair<int64_t, std::string>> row_medians(const std::vector<RowBudget>& rows) {
  std::vector<std::pair<int64_t, std::string>> medians;
  for (const RowBudget& r : rows)
    if (!r.steps.empty()) medians.emplace_back(median(r.steps), r.method);
  return medians;
}

bool all_equal(const std::vector<std::pair<int64_t, std::string>>& medians) {
  return !medians.empty() && std::all_of(medians.begin(), medians.end(), [&](const auto& m) {
    return m.first == medians.front().first;
  });
}

// "; optimiser steps per job (median) from 1,200 (ResNet-18) to 3,100 (TSCCN)", or "" without logs.
std::string steps_words(const std::vector<std::pair<int64_t, std::string>>& medians) {
  if (medians.empty()) return "";
  if (all_equal(medians))
    return fmt::format("; every row took {} optimiser steps per job",
                       with_commas(medians.front().first));
  const auto [lo, hi] = std::minmax_element(medians.begin(), medians.end());
  return fmt::format("; optimiser steps per job (median) from {} ({}) to {} ({})",
                     with_commas(lo->first), lo->second, with_commas(hi->first), hi->second);
}

}  // namespace

std::optional<int64_t> logged_steps(const std::vector<nlohmann::json>& log) {
  std::map<int64_t, int64_t> by_epoch;
  for (const nlohmann::json& line : log) {
    const auto epoch = line.find("epoch");
    const auto steps = line.find("steps");
    if (epoch == line.end() || steps == line.end() || !epoch->is_number_integer() ||
        !steps->is_number_integer())
      continue;
    by_epoch[epoch->get<int64_t>()] = steps->get<int64_t>();
  }
  if (by_epoch.empty()) return std::nullopt;
  int64_t total = 0;
  for (const auto& [epoch, steps] : by_epoch) total += steps;
  return total;
}

std::string budget_note(const std::vector<RowBudget>& rows) {
  if (rows.empty()) return "";
  std::map<std::string, std::vector<std::string>> by_budget;
  for (const RowBudget& r : rows) by_budget[r.budget].push_back(r.method);
  const auto medians = row_medians(rows);
  std::string head;
  if (by_budget.size() == 1) {
    head = "Training budget: " + budget_words(rows.front().budget, !all_equal(medians));
  } else {
    head = "Training budget: mixed";
    for (const auto& [budget, methods] : by_budget) {
      head += budget == "steps" ? "; equal steps for " : "; equal epochs for ";
      for (size_t i = 0; i < methods.size(); ++i) head += (i ? ", " : "") + methods[i];
    }
  }
  return head + steps_words(medians) + ".";
}

std::string budget_note(const SweepResults& results, const Report& report) {
  std::vector<RowBudget> rows;
  for (const auto& [label, jobs] : report.rows) {
    if (jobs.empty()) continue;
    RowBudget b{label, results.jobs[jobs.front()].budget, {}};
    for (size_t i : jobs)
      if (const auto steps = logged_steps(results.jobs[i].log)) b.steps.push_back(*steps);
    rows.push_back(std::move(b));
  }
  return budget_note(rows);
}

}  // namespace fracsweep::report
