// See deviations.h. The notes themselves are the registry's (spec/variants.cpp: each
// variant's `deviation`, naming where in the source the choice is explained).
#include "report/deviations.h"

#include "spec/variants.h"

namespace fracsweep::report {

std::vector<std::string> deviation_notes(const std::set<std::string>& v) {
  std::vector<std::string> notes;
  for (const spec::Variant& variant : spec::VariantRegistry::built_in().variants())
    if (v.count(variant.name) && !variant.deviation.empty()) notes.push_back(variant.deviation);
  return notes;
}

}  // namespace fracsweep::report
