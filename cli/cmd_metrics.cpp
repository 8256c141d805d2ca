// `fracsweep metrics FILE [options]`: one file's metrics, whatever model made it.
//   PREDICTIONS.csv                       classification metrics
//   HEATMAPS.h5 [--radius R]              the area FROC (AASN §4.1)
//   DETECTIONS.csv --lesions MASKS.h5     the classic FROC (CAMELYON16)
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/error.h"
#include "cli/options.h"
#include "cli/commands.h"
#include "datastore/heatmaps.h"
#include "metrics/detections.h"
#include "metrics/format.h"
#include "metrics/froc.h"
#include "metrics/predictions.h"
#include "metrics/report.h"

namespace fracsweep::cli {
namespace {

using core::ConfigError;

bool is_hdf5(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return in.gcount() == 8 && std::string(magic, 8) == "\x89HDF\r\n\x1a\n";
}

bool is_detections_csv(const std::string& path) {
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  if (!header.empty() && header.back() == '\r') header.pop_back();
  return header == "image,x,y,prob";
}

int predictions_metrics(const std::string& path, const std::string& format, double threshold) {
  // Scoring needs no ids; they are still checked for uniqueness.
  const metrics::Predictions predictions = metrics::read_predictions(path, {.keep_ids = false});
  const metrics::MetricValues values = metrics::compute_metrics(predictions, threshold, path);
  if (format == "json") {
    std::cout << metrics::to_json(values) << "\n";
    return kExitOk;
  }
  std::cout << path << ": " << predictions.size() << " samples, "
            << predictions.patient_names.size() << " patients, "
            << (predictions.kind == metrics::PredictionKind::kBinary
                    ? "binary (threshold " + std::to_string(threshold) + ")"
                    : std::to_string(predictions.num_classes) + " classes")
            << "\n\n"
            << metrics::to_table(values);
  return kExitOk;
}

int area_froc_metrics(const std::string& path, const std::string& format,
                      std::optional<double> radius_flag) {
  const datastore::HeatmapSet set = datastore::read_heatmaps(path);
  const double radius = radius_flag.value_or(set.radius);
  size_t points = 0;
  for (const auto& im : set.images) points += im.points.size();
  CHECK_OR_THROW(ConfigError, points > 0, path,
                 ": no fracture points in /points, so there is no recall to measure");
  const metrics::AreaFrocCurve c = metrics::area_froc(set.images, radius);
  const double at1 = c.recall_at(0.01), at10 = c.recall_at(0.1);
  if (format == "json") {
    nlohmann::ordered_json j;
    j["kind"] = "area_froc";
    j["images"] = set.images.size();
    j["points"] = points;
    j["radius"] = radius;
    j["recall_at_fp_0.01"] = at1;
    j["recall_at_fp_0.1"] = at10;
    j["curve"] = {{"thresholds", c.thresholds}, {"fp", c.fp}, {"recall", c.recall}};
    std::cout << j.dump() << "\n";
    return kExitOk;
  }
  std::cout << fmt::format(
      "{}: {} heatmaps of {}x{}, {} fracture points, radius {} px\n\n"
      "area FROC (recall of points against the false-positive share of each image's area)\n"
      "  recall at FP  1%   {:6.2f}%\n  recall at FP 10%   {:6.2f}%\n"
      "  operating points   {}\n",
      path, set.images.size(), set.images.empty() ? 0 : set.images[0].height,
      set.images.empty() ? 0 : set.images[0].width, points, radius, 100 * at1, 100 * at10,
      c.fp.size());
  return kExitOk;
}

int classic_froc_metrics(const std::string& path, const std::string& lesions,
                         const std::string& format) {
  std::vector<metrics::LesionImage> images = datastore::read_lesion_masks(lesions);
  const auto detections = metrics::read_detections(path);
  metrics::attach_detections(detections, images, path, lesions);
  size_t lesion_count = 0;
  for (const auto& im : images)
    lesion_count += static_cast<size_t>(*std::max_element(im.mask.begin(), im.mask.end()));
  CHECK_OR_THROW(ConfigError, lesion_count > 0, lesions,
                 ": no lesion in any mask (labels 1..L mark lesions), so there is no sensitivity "
                 "to measure");
  const metrics::ClassicFroc f = metrics::classic_froc(images);
  const bool below_zero = std::any_of(detections.begin(), detections.end(),
                                      [](const auto& d) { return d.detection.prob < 0; });
  if (format == "json") {
    nlohmann::ordered_json j;
    j["kind"] = "classic_froc";
    j["images"] = images.size();
    j["lesions"] = lesion_count;
    j["detections"] = detections.size();
    j["lesions_missed"] = f.lesions_missed;
    j["score"] = f.score;
    j["eval_fps"] = f.eval_fps;
    j["sensitivity_at"] = f.sens_at;
    j["curve"] = {{"fps_per_image", f.fps_per_image}, {"sensitivity", f.sensitivity}};
    std::cout << j.dump() << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{}: {} detections on {} images with {} lesions ({})\n\n"
                           "classic FROC (sensitivity against false positives per image)\n",
                           path, detections.size(), images.size(), lesion_count, lesions);
  for (size_t k = 0; k < f.eval_fps.size(); ++k)
    std::cout << fmt::format("  sensitivity at {:>4} FP/image   {:6.2f}%\n", f.eval_fps[k],
                             100 * f.sens_at[k]);
  std::cout << fmt::format("  FROC score (their mean)        {:6.2f}%\n", 100 * f.score);
  // See Note [Classic FROC as MONAI computes it] in metrics/froc.h.
  if (below_zero && f.lesions_missed > 0)
    std::cout << fmt::format(
        "\nnote: some scores are below 0 and no detection hits {} of the {} lesions: as in "
        "MONAI, such a lesion scores 0 and counts as found at every threshold <= 0; map "
        "scores into (0, 1] (a sigmoid) for a curve on which it is never found\n",
        f.lesions_missed, lesion_count);
  return kExitOk;
}

}  // namespace

int run_metrics(const Args& args) {
  namespace po = boost::program_options;
  std::string path, format = "table", lesions;
  double threshold = 0.5, radius = 0;
  po::options_description options(
      "usage: fracsweep metrics FILE [options]\n\n"
      "Computes one file's metrics, for models trained here or elsewhere.\n"
      "  PREDICTIONS.csv, K classes 'id,patient,label,p0,...,pK-1': SE_k, SP_k, AUC_k, AP_k\n"
      "    per class (one-vs-rest, predicted class = argmax) and aSE, aSP, aAUC, mAP.\n"
      "  PREDICTIONS.csv, binary 'id,patient,label,score': AUC, AP, and SE, SP at --threshold.\n"
      "  HEATMAPS.h5 (/heatmaps float (N, H, W), /points int (M, 3): image, x, y; attributes\n"
      "    schema = 1, radius): the area FROC, recall at a false-positive area of 1% and 10%.\n"
      "  DETECTIONS.csv 'image,x,y,prob' with --lesions MASKS.h5 (/masks integer (N, H, W),\n"
      "    0 background, 1..L lesions): the classic FROC, sensitivity at 1/4..8 FP per image.\n"
      "The README's 'Scoring other models' shows how to make each file.\n\noptions");
  options.add_options()
      ("help,h", "print this help")
      ("format", po::value(&format)->default_value(format),
       "table (percentages, two decimals) or json (fractions and curves, full precision)")
      ("threshold", po::value(&threshold)->default_value(threshold),
       "binary predictions: a score >= threshold is called positive")
      ("radius", po::value(&radius),
       "heatmaps: pixels around each point that count as neither hit nor false positive "
       "(default: the file's radius attribute)")
      ("lesions", po::value(&lesions), "the lesion-mask file that makes FILE a detections CSV");
  po::variables_map vm;
  if (!parse_with_positional(args, options, path, "fracsweep metrics FILE", &vm)) return kExitOk;
  CHECK_OR_THROW(ConfigError, format == "table" || format == "json", "--format '", format,
                 "' is not one of: table, json");
  CHECK_OR_THROW(ConfigError, std::isfinite(threshold), "--threshold must be finite");
  if (vm.count("radius"))
    CHECK_OR_THROW(ConfigError, std::isfinite(radius) && radius >= 0, "--radius ", radius,
                   " must be finite and >= 0");
  if (!lesions.empty()) {
    CHECK_OR_THROW(ConfigError, !vm.count("radius"), "--radius is for heatmap files, not detections");
    return classic_froc_metrics(path, lesions, format);
  }
  if (is_hdf5(path)) {
    return area_froc_metrics(path, format,
                             vm.count("radius") ? std::optional<double>(radius) : std::nullopt);
  }
  CHECK_OR_THROW(ConfigError, !vm.count("radius"), path,
                 " is not an HDF5 heatmap file; --radius applies to heatmaps only");
  CHECK_OR_THROW(ConfigError, !is_detections_csv(path), path,
                 " holds detections (image,x,y,prob); score them against lesion masks with "
                 "--lesions MASKS.h5");
  return predictions_metrics(path, format, threshold);
}

}  // namespace fracsweep::cli
