// The sweep file parser (sweeps/sweep.h): YAML, its expansion into jobs and every
// job's validation.
#include "fuzz_target.h"
#include "sweeps/sweep.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fracsweep;
  fuzz::expect_clear_error("parse_sweep", [&] {
    (void)sweeps::parse_sweep(std::string(fuzz::as_text(data, size)), "fuzz.yaml");
  });
  return 0;
}
