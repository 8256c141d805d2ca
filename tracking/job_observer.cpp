// See job_observer.h.
#include "tracking/job_observer.h"

namespace fracsweep::tracking {
namespace {

// `prefix` + each numeric value of `values`, `headline` first.
void add_headline_first(const nlohmann::json& values, const std::string& prefix,
                        const std::string& headline, Scalars& out) {
  if (!values.is_object()) return;
  const auto h = values.find(headline);
  if (h != values.end() && h->is_number()) out.emplace_back(prefix + headline, h->get<double>());
  for (const auto& [k, v] : values.items())
    if (k != headline && v.is_number()) out.emplace_back(prefix + k, v.get<double>());
}

}  // namespace

Scalars epoch_scalars(const nlohmann::json& line, const std::string& headline) {
  Scalars out;
  add_headline_first(line.value("val", nlohmann::json::object()), "val/", headline, out);
  add_headline_first(line.value("train", nlohmann::json::object()), "loss/", "total", out);
  if (line.contains("lr") && line["lr"].is_number()) out.emplace_back("lr", line["lr"].get<double>());
  const double seconds = line.value("seconds", 0.0);
  const int64_t steps = line.value("steps", int64_t{0});
  if (steps > 0) out.emplace_back("time/step_seconds", seconds / static_cast<double>(steps));
  if (line.contains("samples_per_s") && line["samples_per_s"].is_number())
    out.emplace_back("time/samples_per_s", line["samples_per_s"].get<double>());
  if (seconds > 0) out.emplace_back("time/epoch_seconds", seconds);
  return out;
}

Scalars final_scalars(const nlohmann::json& metrics, const std::string& headline) {
  Scalars out;
  add_headline_first(metrics, "test/", headline, out);
  return out;
}

}  // namespace fracsweep::tracking
