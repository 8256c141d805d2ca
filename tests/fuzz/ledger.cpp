// The ledger reader (sweeps/ledger.h) and the summary every resume is decided by.
#include "core/log.h"
#include "fuzz_target.h"
#include "sweeps/ledger.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fracsweep;
  core::Logger quiet(core::LogLevel::kOff);
  fuzz::expect_clear_error("parse_ledger", [&] {
    (void)sweeps::summarize(sweeps::parse_ledger(fuzz::as_text(data, size), "ledger.jsonl", quiet));
  });
  return 0;
}
