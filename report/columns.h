// A report table's columns and title by table kind, and a job's test metrics as the
// tables read them: shared by the paper tables (report.cpp) and a search's nested
// selection (selection.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "metrics/report.h"
#include "report/report.h"

namespace fracsweep::report {

struct ColumnSpec {
  std::string key;    // the metric's name in a job's values ("aAUC", "recall@fp=0.1")
  std::string text;   // its header in Markdown, CSV and HTML
  std::string latex;  // its header in LaTeX
};

// The headline columns of a table kind (tsccn-1, tsccn-2, tsccn-3, aasn-1, aasn-2).
std::vector<ColumnSpec> columns_of(const std::string& table_kind);

// "Table III. Ablation study (SWEEP)" and the like.
std::string title_of(const std::string& table_kind, const std::string& sweep);

// A job's test metrics, recomputed from its predictions (and its FROC's recalls).
metrics::MetricValues job_metrics(const ReportJob& job);

// The value named `key`, or nullopt.
std::optional<double> find_value(const metrics::MetricValues& values, const std::string& key);

}  // namespace fracsweep::report
