// See evaluate.h.
#include "trainer/evaluate.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
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

// Class probabilities (or binary scores) of `samples`, in that order, from the
// model in eval mode; with `heatmaps`, a heatmap model's heatmaps as well.
metrics::Predictions predict(
    JobModel& model, std::shared_ptr<const datastore::PatchStore> store,
    const std::vector<uint32_t>& samples, const spec::JobConfig& job, const torch::Device& device,
    datastore::HeatmapSet* heatmaps,
    const std::function<torch::Tensor(const BatchTensors&)>& probabilities) {
  datastore::LoaderOptions o;
  o.batch_size = job.train.batch_size;
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
  while (auto batch = loader.next()) {
    BatchTensors t = to_tensors(std::move(*batch));
    const torch::Tensor host_samples = t.samples;
    t = to_device(std::move(t), device, job.train.channels_last);
    torch::Tensor probs, maps;
    {
      AutocastScope autocast(device.type(), uses_bf16(job.train.precision));
      if (heatmaps) std::tie(probs, maps) = model.scores_and_heatmaps(t);
      if (!probs.defined()) probs = probabilities ? probabilities(t) : model.probabilities(t);
    }
    probs = probs.to(torch::kCPU, torch::kFloat64).contiguous();
    if (maps.defined()) maps = maps.to(torch::kCPU, torch::kFloat32).contiguous();
    const double* pr = probs.data_ptr<double>();
    const int64_t* samples = host_samples.data_ptr<int64_t>();
    for (int64_t k = 0; k < probs.size(0); ++k) {
      const auto i = static_cast<uint32_t>(samples[k]);
      p.ids.push_back(sample_id(*store, i));
      const int32_t patient = ix.patient[i];
      auto [it, added] = patient_row.emplace(patient, static_cast<int32_t>(p.patient_names.size()));
      if (added) p.patient_names.push_back(ix.patient_ids[static_cast<size_t>(patient)]);
      p.patient.push_back(it->second);
      p.label.push_back(ix.label[i]);
      p.scores.insert(p.scores.end(), pr + columns * k, pr + columns * (k + 1));
      if (maps.defined())
        heatmaps->images.push_back(heatmap_image(*store, i, maps[k].data_ptr<float>()));
    }
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
