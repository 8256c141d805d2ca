// Where fracsweep's models knowingly differ from the papers, as footnotes for
// the tables whose rows they touch, so a reader of a table sees them there and
// not only in the source.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace fracsweep::report {

// The footnotes for a table whose rows train these model variants (model.variant):
// each one's spec::Variant::deviation (SMOTE's synthesis within batches, TSCCN's
// reading of eq. 5, NTS-Net's backbone, AASN's "no proj." row), in the registry's
// order; empty when no row is concerned.
std::vector<std::string> deviation_notes(const std::set<std::string>& model_variants);

}  // namespace fracsweep::report
