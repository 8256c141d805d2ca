// A first look at a sweep's numbers: per variant, the mean ± standard
// deviation of the headline test metrics over the jobs that finished, from the
// metrics the ledger recorded. `fracsweep run` prints it when a sweep ends;
// the full tables and curves are `fracsweep report`'s.
#pragma once

#include <string>
#include <vector>

#include "sweeps/ledger.h"
#include "sweeps/sweep.h"

namespace fracsweep::sweeps {

// A Markdown table, one row per variant in sweep order: finished jobs out of
// all, then aSE, aSP, aAUC and mAP in percent as "mean ± std" ("mean" alone
// for one job, "-" for none). A job's latest finished record counts once.
// A search sweep gets search_table instead: pooling its trials would mix
// configurations.
std::string results_table(const Sweep& sweep, const std::vector<LedgerRecord>& records);

// One row per trial handed out: its values, where it stands (finished,
// stopped at a rung, running) and the search metric's validation value, the
// mean over its jobs at its last rung or epoch; the best ended trial is
// marked. Test metrics are left to `fracsweep report`'s nested selection.
std::string search_table(const Sweep& sweep, const std::vector<LedgerRecord>& records);

}  // namespace fracsweep::sweeps
