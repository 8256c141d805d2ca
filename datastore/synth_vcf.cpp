// See synth_vcf.h.
#include "datastore/synth_vcf.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/error.h"
#include "datastore/patch_store.h"
#include "datastore/preview.h"

namespace fracsweep::datastore {
namespace {

// Hands out patient indices to workers and collects finished patients so the
// writer can take them in index order. The window bounds memory: a worker may
// not run more than `window` patients ahead of the writer.
class PatientPipeline {
 public:
  PatientPipeline(const VcfPhantomOptions& options, int total, int window)
      : options_(options), total_(total), window_(window), slots_(static_cast<size_t>(total)) {}

  void work() {
    while (true) {
      int index;
      {
        std::unique_lock lock(mutex_);
        space_.wait(lock, [&] { return stop_ || next_ - written_ < window_ || next_ >= total_; });
        if (stop_ || next_ >= total_) return;
        index = next_++;
      }
      std::optional<PhantomPatient> patient;
      std::exception_ptr error;
      try {
        patient = synth_vcf_patient(options_, index);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mutex_);
      if (error && !error_) error_ = error;
      slots_[static_cast<size_t>(index)] = std::move(patient);
      ready_.notify_all();
    }
  }

  // The next patient in index order; blocks until it is generated. Rethrows a
  // worker's exception.
  PhantomPatient take() {
    std::unique_lock lock(mutex_);
    auto& slot = slots_[static_cast<size_t>(written_)];
    ready_.wait(lock, [&] { return slot.has_value() || error_; });
    if (error_) std::rethrow_exception(error_);
    PhantomPatient patient = std::move(*slot);
    slot.reset();
    ++written_;
    space_.notify_all();
    return patient;
  }

  void stop() {
    std::lock_guard lock(mutex_);
    stop_ = true;
    space_.notify_all();
  }

 private:
  const VcfPhantomOptions& options_;
  const int total_, window_;
  std::mutex mutex_;
  std::condition_variable space_, ready_;
  std::vector<std::optional<PhantomPatient>> slots_;
  int next_ = 0, written_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

// Joins the workers on every exit path, stopping them first.
class WorkerGroup {
 public:
  WorkerGroup(PatientPipeline& pipeline, int threads) : pipeline_(pipeline) {
    for (int t = 0; t < threads; ++t) workers_.emplace_back([&pipeline] { pipeline.work(); });
  }
  ~WorkerGroup() {
    pipeline_.stop();
    for (auto& w : workers_) w.join();
  }
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

 private:
  PatientPipeline& pipeline_;
  std::vector<std::thread> workers_;
};

}  // namespace

std::string vcf_phantom_source(const VcfPhantomOptions& o) {
  return core::str_cat("fracsweep vertebra phantom (synth vcf): benign_patients=", o.benign_patients,
                 " malignant_patients=", o.malignant_patients, " patch_size=", o.patch_size,
                 " difficulty=", o.difficulty, " slices=", o.slices, " seed=", o.seed);
}

VcfSynthSummary write_vcf_phantom_store(const std::string& path, const VcfSynthOptions& options,
                                        const SynthProgress& progress) {
  const int total = total_patients(options.phantom);  // validates the phantom options
  CHECK_OR_THROW(core::ConfigError, options.threads >= 1 && options.threads <= 256,
                 "threads = ", options.threads, " must be in 1..256");
  CHECK_OR_THROW(core::ConfigError, options.preview_per_class >= 1,
                 "preview examples per class = ", options.preview_per_class, " must be >= 1");
  const int size = options.phantom.patch_size;
  VcfStoreWriter writer(path, size, size, options.compression,
                        vcf_phantom_source(options.phantom));

  // The sheet shows the first patients of each class; keep only those.
  const int keep_per_class = options.preview_per_class;
  std::vector<PhantomPatient> preview;
  int kept[3] = {0, 0, 0};

  VcfSynthSummary summary;
  PatientPipeline pipeline(options.phantom, total, 2 * options.threads + 2);
  {
    WorkerGroup workers(pipeline, options.threads);
    std::vector<VcfPatchRecord> records;
    for (int p = 0; p < total; ++p) {
      PhantomPatient patient = pipeline.take();
      records.clear();
      for (const VertebraPatch& v : patient.patches) {
        records.push_back({v.pixels, v.label, v.slice, v.level, v.prev, v.next});
        ++summary.per_class[static_cast<size_t>(v.label)];
      }
      writer.add_patient(patient.id, patient.label, records);
      summary.patches += patient.patches.size();
      ++summary.patients;
      if (!options.preview_path.empty() && kept[patient.label] < keep_per_class) {
        ++kept[patient.label];
        preview.push_back(std::move(patient));
      }
      if (progress) progress(p + 1, total);
    }
  }
  writer.commit();
  if (!options.preview_path.empty()) write_vcf_contact_sheet(options.preview_path, preview, keep_per_class);
  return summary;
}

}  // namespace fracsweep::datastore
