// See deviations.h. Each note names where in the source the choice is explained.
#include "report/deviations.h"

namespace fracsweep::report {

std::vector<std::string> deviation_notes(const std::set<std::string>& v) {
  std::vector<std::string> notes;
  if (v.count("smote"))
    notes.push_back(
        "SMOTE synthesises each minority sample from a same-class neighbour within its "
        "over-sampled batch, not from the whole training set (trainer/pair_baselines.h).");
  if (v.count("nts-net"))
    notes.push_back("NTS-Net runs on ResNet-18 like the other rows; its authors used ResNet-50.");
  if (v.count("tsccn"))
    notes.push_back(
        "TSCCN's weight loss (eq. 5) pulls u = w_R / w_C down to 1/û for a fracture, as the "
        "text of §III-C asks; printed literally, the equation would pull it up to û "
        "(trainer/losses.cpp, Note [Weight loss direction]).");
  if (v.count("aasn-ff-fa-cl-noproj"))
    notes.push_back(
        "“no proj.”: the contrastive learning compares the fused features themselves, "
        "without the non-linear projection head g.");
  return notes;
}

}  // namespace fracsweep::report
