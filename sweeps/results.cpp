// See results.h.
#include "sweeps/results.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <optional>

#include "metrics/aggregate.h"
#include "spec/exported.h"
#include "sweeps/search_run.h"

namespace fracsweep::sweeps {

std::string search_table(const Sweep& sweep, const std::vector<LedgerRecord>& records) {
  const SearchSpec& spec = *sweep.search;
  const SearchRun run(sweep, records);
  std::map<int, TrialOutcome> ended;
  for (TrialOutcome& o : run.ended_trials()) ended[o.trial] = std::move(o);
  std::optional<int> best;
  for (const auto& [trial, o] : ended)
    if (o.complete && (!best || (spec.maximize ? o.value > ended[*best].value
                                               : o.value < ended[*best].value)))
      best = trial;
  std::string out = fmt::format("| trial | configuration | state | validation {} |\n", spec.metric) +
                    "|---|---|---|---|\n";
  for (int trial = 0; trial < spec.trials; ++trial) {
    const std::optional<ParamValues> params = run.params_of_trial(trial);
    if (!params) continue;
    std::string values;
    for (const auto& [key, value] : *params)
      values += (values.empty() ? "" : ", ") + key.substr(key.find('.') + 1) + "=" + value;
    const auto stop = run.stopped_trials().find(trial);
    const auto o = ended.find(trial);
    const std::string state = stop != run.stopped_trials().end()
                                  ? fmt::format("stopped at epoch {}", stop->second)
                              : o != ended.end() ? "finished"
                                                 : "not ended";
    const std::string value =
        o == ended.end() ? "-" : fmt::format("{:.4f}{}", o->second.value, best == trial ? " (best)" : "");
    out += fmt::format("| {} | {} | {} | {} |\n", trial, values, state, value);
  }
  return out;
}

std::string results_table(const Sweep& sweep, const std::vector<LedgerRecord>& records) {
  if (sweep.search) return search_table(sweep, records);
  // A vertebra sweep reports the papers' three-class averages, a pelvis sweep the
  // image-level binary metrics (its heatmaps' FROC is in `fracsweep report`).
  const spec::Task task = sweep.jobs.empty()
                              ? spec::Task::kVertebra
                              : spec::job_variant(sweep.jobs[0].config).task;
  const std::vector<std::string>& keys = spec::task_info(task).test_metrics;
  std::map<std::string, const LedgerRecord*> finished;  // job id -> its latest finished record
  for (const LedgerRecord& r : records)
    if (r.event == LedgerEvent::kFinished) finished[r.job] = &r;

  std::vector<std::string> variants;
  std::map<std::string, std::vector<const LedgerRecord*>> runs;
  std::map<std::string, int> jobs;
  for (const SweepJob& j : sweep.jobs) {
    if (!jobs.count(j.variant)) variants.push_back(j.variant);
    ++jobs[j.variant];
    const auto it = finished.find(j.id);
    if (it != finished.end()) runs[j.variant].push_back(it->second);
  }
  std::string out = fmt::format("| variant | finished | {} % | {} % | {} % | {} % |\n", keys[0],
                                keys[1], keys[2], keys[3]) +
                    "|---|---|---|---|---|---|\n";
  for (const std::string& v : variants) {
    out += fmt::format("| {} | {}/{} |", v, runs[v].size(), jobs[v]);
    for (const std::string& key : keys) {
      std::vector<double> values;
      for (const LedgerRecord* r : runs[v]) {
        const auto it = r->metrics.find(key);
        if (it != r->metrics.end() && it->is_number()) values.push_back(100 * it->get<double>());
      }
      if (values.empty()) {
        out += " - |";
        continue;
      }
      const metrics::MeanStd m = metrics::mean_std(values);
      out += values.size() < 2 ? fmt::format(" {:.2f} |", m.mean)
                               : fmt::format(" {:.2f} ± {:.2f} |", m.mean, m.std);
    }
    out += "\n";
  }
  return out;
}

}  // namespace fracsweep::sweeps
