// The detections CSV parser (metrics/detections.h) behind the FROC of `fracsweep metrics`.
#include "fuzz_target.h"
#include "metrics/detections.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fracsweep;
  fuzz::expect_clear_error("parse_detections", [&] {
    (void)metrics::parse_detections(fuzz::as_text(data, size), "fuzz.csv");
  });
  return 0;
}
