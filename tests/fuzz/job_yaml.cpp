// The job file parser (spec/job_config.h); a job that parses must survive its own
// round trip through to_yaml.
#include "fuzz_target.h"
#include "spec/job_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fracsweep;
  fuzz::expect_clear_error("parse_job_config", [&] {
    const spec::JobConfig job = spec::parse_job_config(std::string(fuzz::as_text(data, size)), "fuzz.yaml");
    const std::string again = spec::to_yaml(job);
    if (spec::to_yaml(spec::parse_job_config(again, "round trip")) != again) {
      std::fprintf(stderr, "a parsed job does not survive to_yaml and back:\n%s\n", again.c_str());
      std::abort();
    }
  });
  return 0;
}
