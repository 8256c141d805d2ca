// Text renderings of one job's metrics: a JSON object for machines, and a
// table of percentages with two decimals, as the papers print them.
#pragma once

#include <string>

#include "metrics/report.h"

namespace fracsweep::metrics {

// One JSON object, keys in order, values as fractions in [0, 1] printed with
// round-trip precision.
std::string to_json(const MetricValues& values);

// Multi-class values (SE_k, SP_k, AUC_k, AP_k, aSE, ...) print as one row per
// class plus an average row; any other set as "name  value" lines.
std::string to_table(const MetricValues& values);

}  // namespace fracsweep::metrics
