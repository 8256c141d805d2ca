// `fracsweep metrics PREDICTIONS.csv [--format table|json] [--threshold T]`
#include <boost/program_options.hpp>
#include <cmath>
#include <iostream>

#include "core/error.h"
#include "cli/options.h"
#include "cli/commands.h"
#include "metrics/format.h"
#include "metrics/predictions.h"
#include "metrics/report.h"

namespace fracsweep::cli {

int run_metrics(const Args& args) {
  namespace po = boost::program_options;
  std::string path, format = "table";
  double threshold = 0.5;
  po::options_description options(
      "usage: fracsweep metrics PREDICTIONS.csv [options]\n\n"
      "Computes one job's metrics from its per-sample predictions.\n"
      "  K-class file 'id,patient,label,p0,...,pK-1': SE_k, SP_k, AUC_k, AP_k per class\n"
      "    (one-vs-rest, predicted class = argmax) and aSE, aSP, aAUC, mAP.\n"
      "  binary file 'id,patient,label,score': AUC, AP, and SE, SP at --threshold.\n\n"
      "options");
  options.add_options()
      ("help,h", "print this help")
      ("format", po::value(&format)->default_value(format),
       "table (percentages, two decimals) or json (fractions, full precision)")
      ("threshold", po::value(&threshold)->default_value(threshold),
       "binary files: a score >= threshold is called positive");
  if (!parse_with_positional(args, options, path, "fracsweep metrics PREDICTIONS.csv")) return kExitOk;
  CHECK_OR_THROW(core::ConfigError, format == "table" || format == "json", "--format '",
                 format, "' is not one of: table, json");
  CHECK_OR_THROW(core::ConfigError, std::isfinite(threshold), "--threshold must be finite");

  const metrics::Predictions predictions = metrics::read_predictions(path);
  const metrics::MetricValues values = metrics::compute_metrics(predictions, threshold, path);
  if (format == "json") {
    std::cout << metrics::to_json(values) << "\n";
  } else {
    std::cout << path << ": " << predictions.size() << " samples, "
              << predictions.patient_names.size() << " patients, "
              << (predictions.kind == metrics::PredictionKind::kBinary
                      ? "binary (threshold " + std::to_string(threshold) + ")"
                      : std::to_string(predictions.num_classes) + " classes")
              << "\n\n"
              << metrics::to_table(values);
  }
  return kExitOk;
}

}  // namespace fracsweep::cli
