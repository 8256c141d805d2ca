// See phantom_probe.h.
#include "datastore/phantom_probe.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "metrics/ranking.h"

namespace fracsweep::datastore {
namespace {

// Mean over a central band of columns (rows when `across`), for every row (column).
std::vector<double> profile(const VertebraPatch& p, int size, bool across) {
  const int b0 = size / 2 - size / 10, b1 = size / 2 + size / 10;
  std::vector<double> out(static_cast<size_t>(size));
  for (int x = 0; x < size; ++x) {
    double sum = 0;
    for (int b = b0; b < b1; ++b) {
      const int r = across ? b : x, c = across ? x : b;
      sum += p.pixels[static_cast<size_t>(r) * size + c];
    }
    out[static_cast<size_t>(x)] = sum / (b1 - b0);
  }
  return out;
}

double bright_run(const std::vector<double>& f) {
  const int size = static_cast<int>(f.size()), m = size / 2;
  const double centre = (f[m - 2] + f[m - 1] + f[m] + f[m + 1]) / 4;
  const double darkest = *std::min_element(f.begin(), f.end());
  const double threshold = 0.5 * (centre + darkest);
  int lo = m, hi = m;
  while (lo > 0 && f[lo - 1] > threshold) --lo;
  while (hi < size - 1 && f[hi + 1] > threshold) ++hi;
  return hi - lo + 1;
}

double auc(const std::vector<double>& score, const std::vector<uint8_t>& positive) {
  return metrics::ranking_metrics(score, positive).auc;
}

// Logistic regression by Newton's method (a small ridge keeps it finite on
// separable data), fitted on the rows where `train` is set; returns the scores
// of the others and their labels.
void logistic_scores(const std::vector<std::vector<double>>& columns,
                     const std::vector<uint8_t>& positive, const std::vector<uint8_t>& train,
                     std::vector<double>& scores, std::vector<uint8_t>& labels) {
  const size_t n = positive.size(), k = columns.size() + 1;
  Eigen::MatrixXd x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(k));
  for (size_t c = 0; c < columns.size(); ++c) {
    double mean = 0, sq = 0;
    for (double v : columns[c]) mean += v;
    mean /= static_cast<double>(n);
    for (double v : columns[c]) sq += (v - mean) * (v - mean);
    const double sd = std::sqrt(sq / static_cast<double>(n)) + 1e-12;
    for (size_t i = 0; i < n; ++i) x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(c)) = (columns[c][i] - mean) / sd;
  }
  x.col(static_cast<Eigen::Index>(k - 1)).setOnes();
  Eigen::VectorXd w = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(k));
  for (int iter = 0; iter < 50; ++iter) {
    Eigen::VectorXd grad = -1e-3 * w;
    Eigen::MatrixXd hess = 1e-3 * Eigen::MatrixXd::Identity(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(k));
    for (size_t i = 0; i < n; ++i) {
      if (!train[i]) continue;
      const auto row = x.row(static_cast<Eigen::Index>(i));
      const double p = 1 / (1 + std::exp(-row.dot(w)));
      grad += (positive[i] - p) * row.transpose();
      hess += p * (1 - p) * row.transpose() * row;
    }
    const Eigen::VectorXd step = hess.ldlt().solve(grad);
    w += step;
    if (step.norm() < 1e-9) break;
  }
  for (size_t i = 0; i < n; ++i) {
    if (train[i]) continue;
    scores.push_back(x.row(static_cast<Eigen::Index>(i)).dot(w));
    labels.push_back(positive[i]);
  }
}

double held_out_auc(const std::vector<std::vector<double>>& columns,
                    const std::vector<uint8_t>& positive, const std::vector<uint8_t>& train) {
  std::vector<double> scores;
  std::vector<uint8_t> labels;
  logistic_scores(columns, positive, train, scores, labels);
  return auc(scores, labels);
}

}  // namespace

double probe_body_height_px(const VertebraPatch& p, int size) {
  return bright_run(profile(p, size, false));
}

double probe_body_depth_px(const VertebraPatch& p, int size) {
  return bright_run(profile(p, size, true));
}

double VcfProbe::lone_best() const { return std::max({lone_shape, lone_height, lone_signal}); }

VcfProbe probe_vcf_phantom(const VcfPhantomOptions& options) {
  const int size = options.patch_size, middle = options.slices / 2;
  std::vector<double> shape, height, signal, neighbours;
  std::vector<uint8_t> fractured, train;
  VcfProbe probe;
  for (int i = 0; i < total_patients(options); ++i) {
    const PhantomPatient p = synth_vcf_patient(options, i);
    std::vector<double> h(p.patches.size());
    for (size_t k = 0; k < p.patches.size(); ++k) h[k] = probe_body_height_px(p.patches[k], size);
    for (size_t k = 0; k < p.patches.size(); ++k) {
      const VertebraPatch& v = p.patches[k];
      if (v.slice != middle || v.prev < 0 || v.next < 0) continue;
      const int b0 = size / 2 - size / 8, b1 = size / 2 + size / 8;
      double centre = 0;
      for (int r = b0; r < b1; ++r)
        for (int c = b0; c < b1; ++c) centre += v.pixels[static_cast<size_t>(r) * size + c];
      shape.push_back(probe_body_depth_px(v, size) / h[k]);
      height.push_back(-h[k]);  // lower bodies score higher
      signal.push_back(-centre);  // darker centres score higher
      neighbours.push_back(0.5 * (h[static_cast<size_t>(v.prev)] + h[static_cast<size_t>(v.next)]) / h[k]);
      fractured.push_back(v.label != 0 ? 1 : 0);
      train.push_back(i % 2 == 0 ? 1 : 0);
      ++(v.label != 0 ? probe.fractured : probe.normal);
    }
  }
  probe.lone_shape = auc(shape, fractured);
  probe.lone_height = auc(height, fractured);
  probe.lone_signal = auc(signal, fractured);
  probe.neighbours = auc(neighbours, fractured);
  probe.lone_combined = held_out_auc({shape, height, signal}, fractured, train);
  probe.with_neighbours_combined = held_out_auc({shape, height, signal, neighbours}, fractured, train);
  return probe;
}

}  // namespace fracsweep::datastore
