// See evaluate.h.
#include "trainer/evaluate.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "core/error.h"
#include "datastore/loader.h"
#include "metrics/report.h"
#include "trainer/backends.h"
#include "trainer/device.h"
#include "trainer/batch_tensors.h"
#include "trainer/torch_compat.h"

namespace fracsweep::trainer {
namespace {

// Image i's heatmap row for heatmaps_test.h5, with its fracture points rounded
// to pixels.
metrics::HeatmapImage heatmap_image(const datastore::PatchStore& store, uint32_t i,
                                    const float* heatmap) {
  metrics::HeatmapImage im;
  im.height = store.info().height;
  im.width = store.info().width;
  im.heatmap.assign(heatmap, heatmap + static_cast<size_t>(im.height) * im.width);
  const datastore::PelvisIndex& p = *store.pelvis();
  for (size_t k = 0; k < p.num_points(i); ++k) {
    const datastore::Point2 q = p.point(i, k);
    im.points.push_back({std::clamp(static_cast<int>(std::lround(q.x)), 0, im.width - 1),
                         std::clamp(static_cast<int>(std::lround(q.y)), 0, im.height - 1)});
  }
  return im;
}

double cross_entropy_of(const metrics::Predictions& p) {
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p.kind == metrics::PredictionKind::kBinary) {
      const double s = p.row(i)[0];
      sum -= std::log(std::max(p.label[i] == 1 ? s : 1 - s, 1e-12));
    } else {
      sum -= std::log(std::max(p.row(i)[static_cast<size_t>(p.label[i])], 1e-12));
    }
  }
  return p.size() ? sum / p.size() : 0;
}

}  // namespace

std::string sample_id(const datastore::PatchStore& store, uint32_t i) {
  const auto& ix = store.index();
  const std::string& patient = ix.patient_ids[static_cast<size_t>(ix.patient[i])];
  if (store.pelvis()) return patient;  // one image per patient
  return core::str_cat(patient, "/s", ix.slice[i], "/l", ix.level[i]);
}

namespace {

// One batch's forward pass, on the host: its store indices, probabilities
// (float64) and, for a heatmap model asked for them, heatmaps (float32).
struct BatchOutput {
  torch::Tensor samples, probs, maps;
};

BatchOutput forward_batch(JobModel& model, datastore::Batch&& batch, const spec::JobConfig& job,
                          const torch::Device& device, bool want_maps,
                          const std::function<torch::Tensor(const BatchTensors&)>& probabilities) {
  BatchTensors t = to_tensors(std::move(batch));
  BatchOutput out;
  out.samples = t.samples;
  t = to_device(std::move(t), device, job.train.channels_last);
  {
    AutocastScope autocast(device.type(), uses_bf16(job.train.precision));
    if (want_maps) std::tie(out.probs, out.maps) = model.scores_and_heatmaps(t);
    if (!out.probs.defined()) out.probs = probabilities ? probabilities(t) : model.probabilities(t);
  }
  out.probs = out.probs.to(torch::kCPU, torch::kFloat64).contiguous();
  if (out.maps.defined()) out.maps = out.maps.to(torch::kCPU, torch::kFloat32).contiguous();
  return out;
}

// The loader's batches through forward_batch() on `streams` threads, handed to
// `use` in batch order on the caller's thread. See Note [Inference streams].
void forward_in_streams(JobModel& model, datastore::BatchLoader& loader, int streams,
                        const spec::JobConfig& job, const torch::Device& device, bool want_maps,
                        const std::function<void(const BatchOutput&)>& use) {
  std::mutex take, put;
  std::map<size_t, BatchOutput> done;
  std::exception_ptr error;
  const auto fail = [&] {
    std::lock_guard lock(take);
    if (!error) error = std::current_exception();
  };
  const bool inference = c10::InferenceMode::is_enabled();
  const bool grad = torch::GradMode::is_enabled();
  const int intra_op = at::get_num_threads();
  // at::set_num_threads also clears oneDNN's cached primitives: every stream
  // sets its own before any stream computes.
  std::latch ready(streams);
  const auto stream = [&] {
    try {
      at::set_num_threads(1);  // this thread's OpenMP team: itself alone
      (void)at::get_num_threads();  // LibTorch's per-thread set-up, now rather than mid-batch
    } catch (...) {
      fail();
    }
    ready.arrive_and_wait();
    try {
      c10::InferenceMode inference_mode(inference);
      torch::AutoGradMode grad_mode(grad);
      while (true) {
        std::optional<datastore::Batch> batch;
        {
          std::lock_guard lock(take);
          if (error) return;
          batch = loader.next();
        }
        if (!batch) return;
        const size_t number = batch->number;
        BatchOutput out = forward_batch(model, std::move(*batch), job, device, want_maps, {});
        std::lock_guard lock(put);
        done.emplace(number, std::move(out));
      }
    } catch (...) {
      fail();
    }
  };
  std::vector<std::thread> threads;
  for (int k = 0; k < streams; ++k) threads.emplace_back(stream);
  for (std::thread& t : threads) t.join();
  at::set_num_threads(intra_op);  // the caller's threads, as before the streams
  if (error) std::rethrow_exception(error);
  size_t expected = 0;
  for (auto& [number, out] : done) {
    INTERNAL_ASSERT(number == expected);  // every batch, each once
    ++expected;
    use(out);
  }
}

}  // namespace

// Class probabilities (or binary scores) of `samples`, in that order, from the
// model in eval mode; with `heatmaps`, a heatmap model's heatmaps as well.
metrics::Predictions predict(
    JobModel& model, std::shared_ptr<const datastore::PatchStore> store,
    const std::vector<uint32_t>& samples, const spec::JobConfig& job, const torch::Device& device,
    datastore::HeatmapSet* heatmaps,
    const std::function<torch::Tensor(const BatchTensors&)>& probabilities,
    const InferenceOptions& inference) {
  CHECK_OR_THROW(core::ConfigError, inference.batch_size >= 0 && inference.streams >= 1,
                 "inference batch size ", inference.batch_size, " must be >= 1 (0: the job's) and ",
                 "streams ", inference.streams, " >= 1");
  datastore::LoaderOptions o;
  o.batch_size = inference.batch_size > 0 ? inference.batch_size : job.train.batch_size;
  o.neighbours = model.uses_neighbours();
  o.workers = job.train.loader_workers;
  datastore::BatchLoader loader(store, o);
  loader.start_epoch(0, samples);
  model.module().eval();
  torch::NoGradGuard no_grad;
  const auto& ix = store->index();
  metrics::Predictions p;
  p.kind = model.binary() ? metrics::PredictionKind::kBinary : metrics::PredictionKind::kMulticlass;
  p.num_classes = model.binary() ? 2 : 3;
  const int64_t columns = model.binary() ? 1 : 3;
  std::unordered_map<int32_t, int32_t> patient_row;
  const auto append = [&](const BatchOutput& out) {
    const double* pr = out.probs.data_ptr<double>();
    const int64_t* indices = out.samples.data_ptr<int64_t>();
    for (int64_t k = 0; k < out.probs.size(0); ++k) {
      const auto i = static_cast<uint32_t>(indices[k]);
      p.ids.push_back(sample_id(*store, i));
      const int32_t patient = ix.patient[i];
      auto [it, added] = patient_row.emplace(patient, static_cast<int32_t>(p.patient_names.size()));
      if (added) p.patient_names.push_back(ix.patient_ids[static_cast<size_t>(patient)]);
      p.patient.push_back(it->second);
      p.label.push_back(ix.label[i]);
      p.scores.insert(p.scores.end(), pr + columns * k, pr + columns * (k + 1));
      if (out.maps.defined())
        heatmaps->images.push_back(heatmap_image(*store, i, out.maps[k].data_ptr<float>()));
    }
  };
  const bool want_maps = heatmaps != nullptr;
  if (inference.streams > 1 && device.is_cpu() && !probabilities) {
    forward_in_streams(model, loader, inference.streams, job, device, want_maps, append);
  } else {
    while (auto batch = loader.next())
      append(forward_batch(model, std::move(*batch), job, device, want_maps, probabilities));
  }
  model.module().train();
  return p;
}

// The validation metrics and the selection score (higher is better).
std::pair<nlohmann::json, double> validate_predictions(const metrics::Predictions& p,
                                                       const spec::JobConfig& job) {
  nlohmann::json out;
  const double ce = cross_entropy_of(p);
  out["loss"] = ce;
  double score = -ce;
  try {
    for (const auto& [name, value] : metrics::compute_metrics(p, 0.5, "validation")) {
      out[name] = value;
      if (name == job.train.selection_metric) score = value;
    }
  } catch (const core::ConfigError& e) {
    // A tiny validation part can lack a class; the loss still ranks epochs.
    out["metrics_error"] = e.what();
  }
  return {out, score};
}

}  // namespace fracsweep::trainer
