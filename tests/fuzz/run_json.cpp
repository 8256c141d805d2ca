// The readers of a sweep folder's JSON files: sweep.json (the manifest) and
// progress.json. Both are given every input.
#include <nlohmann/json.hpp>

#include "fuzz_target.h"
#include "sweeps/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fracsweep;
  const nlohmann::json j = nlohmann::json::parse(fuzz::as_text(data, size), nullptr, false);
  if (j.is_discarded()) return 0;  // not JSON: the readers refuse it before they look inside
  fuzz::expect_clear_error("manifest_from_json", [&] { (void)sweeps::manifest_from_json(j, "sweep.json"); });
  fuzz::expect_clear_error("progress_from_json", [&] { (void)sweeps::progress_from_json(j, "progress.json"); });
  return 0;
}
