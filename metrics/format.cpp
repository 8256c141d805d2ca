// See format.h.
#include "metrics/format.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

namespace fracsweep::metrics {
namespace {

std::string percent(double v) { return std::isnan(v) ? "n/a" : fmt::format("{:.2f}", 100 * v); }

}  // namespace

std::string to_json(const MetricValues& values) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [name, value] : values) out[name] = value;
  return out.dump();
}

std::string to_table(const MetricValues& values) {
  std::map<std::string, double> by_name(values.begin(), values.end());
  std::string out;
  if (by_name.count("aSE")) {
    out += fmt::format("{:<8}{:>9}{:>9}{:>9}{:>9}\n", "class", "SE(%)", "SP(%)", "AUC(%)",
                       "AP(%)");
    for (int k = 0; by_name.count("SE_" + std::to_string(k)); ++k) {
      const std::string s = std::to_string(k);
      out += fmt::format("{:<8}{:>9}{:>9}{:>9}{:>9}\n", s, percent(by_name["SE_" + s]),
                         percent(by_name["SP_" + s]), percent(by_name["AUC_" + s]),
                         percent(by_name["AP_" + s]));
    }
    // The average row is aSE, aSP, aAUC and mAP (TSCCN eq. 7-8).
    out += fmt::format("{:<8}{:>9}{:>9}{:>9}{:>9}\n", "average", percent(by_name["aSE"]),
                       percent(by_name["aSP"]), percent(by_name["aAUC"]),
                       percent(by_name["mAP"]));
    return out;
  }
  for (const auto& [name, value] : values)
    out += fmt::format("{:<8}{:>9}\n", name + "(%)", percent(value));
  return out;
}

}  // namespace fracsweep::metrics
