// The loop both ingest commands share: prepare every case (patient) on worker
// threads, hand the results to the writer in manifest order on the calling
// thread, and stop at a bad case or, with skip_bad, report and leave it out.
// Internal to datastore/ingest.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "datastore/ingest/ingest_vcf.h"
#include "datastore/ordered_pipeline.h"

namespace fracsweep::datastore::ingest {

// `prepare(i)` makes case i or throws core::ConfigError about it; `write(item)`
// stores it and returns how many samples it held. ids[i] names case i in messages.
template <typename T>
IngestSummary run_cases(const std::vector<std::string>& ids, int threads, bool skip_bad,
                        const std::function<T(int)>& prepare,
                        const std::function<size_t(const T&)>& write,
                        const IngestProgress& progress, const std::string& manifest) {
  struct Case {
    std::optional<T> item;
    std::string error;
  };
  const int total = static_cast<int>(ids.size());
  OrderedPipeline<Case> pipeline(
      [&](int i) {
        Case c;
        try {
          c.item = prepare(i);
        } catch (const core::ConfigError& e) {
          const std::string what = e.what(), id = ids[static_cast<size_t>(i)];
          c.error = what.find(id) != std::string::npos ? what : core::str_cat(id, ": ", what);
        }
        return c;
      },
      total, 2 * threads + 2);
  IngestSummary summary;
  {
    PipelineWorkers workers(pipeline, threads);
    for (int i = 0; i < total; ++i) {
      const Case c = pipeline.take();
      size_t samples = 0;
      if (!c.error.empty()) {
        CHECK_OR_THROW(core::ConfigError, skip_bad, c.error,
                       "\n(nothing was written; fix the case, or pass --skip-bad to leave it out)");
        ++summary.skipped;
        summary.errors.push_back(c.error);
      } else {
        samples = write(*c.item);
        ++summary.patients;
        summary.samples += samples;
      }
      if (progress) progress(i + 1, total, ids[static_cast<size_t>(i)], samples, c.error);
    }
  }
  CHECK_OR_THROW(core::ConfigError, summary.patients > 0, manifest,
                 ": every patient was skipped; nothing to write (the errors are above)");
  return summary;
}

}  // namespace fracsweep::datastore::ingest
