// The predictions CSV parser (metrics/predictions.h), which `fracsweep metrics` and
// `report` use on files a user may have edited.
#include "fuzz_target.h"
#include "metrics/predictions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fracsweep;
  fuzz::expect_clear_error("parse_predictions", [&] {
    const metrics::Predictions p = metrics::parse_predictions(fuzz::as_text(data, size), "fuzz.csv");
    (void)p;
  });
  return 0;
}
