// `fracsweep inspect FILE.h5`: validate a patch store and describe what is in it.
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <iostream>

#include "core/error.h"
#include "datastore/patch_store.h"
#include "datastore/split.h"
#include "cli/options.h"
#include "cli/commands.h"
#include "cli/inspect_pelvis.h"

namespace fracsweep::cli {
namespace {

constexpr const char* kClassNames[] = {"normal", "benign VCF", "malignant VCF"};

std::string class_counts(const datastore::SampleIndex& ix, const std::vector<int32_t>& patients) {
  std::vector<char> in(ix.num_patients(), 0);
  for (int32_t p : patients) in[static_cast<size_t>(p)] = 1;
  size_t counts[3] = {0, 0, 0}, total = 0;
  for (size_t i = 0; i < ix.size(); ++i) {
    if (!in[static_cast<size_t>(ix.patient[i])]) continue;
    ++counts[ix.label[i]];
    ++total;
  }
  return fmt::format("{:4} patients {:6} patches  ({} / {} / {} = {:.1f}% / {:.1f}% / {:.1f}%)",
                     patients.size(), total, counts[0], counts[1], counts[2],
                     total ? 100.0 * counts[0] / total : 0.0, total ? 100.0 * counts[1] / total : 0.0,
                     total ? 100.0 * counts[2] / total : 0.0);
}

void inspect_vcf(const datastore::PatchStore& store, uint64_t seed, int folds, double val_share) {
  const auto& ix = store.index();

  std::cout << "per class:\n";
  size_t counts[3] = {0, 0, 0};
  for (int32_t l : ix.label) ++counts[l];
  for (int c = 0; c < 3; ++c)
    std::cout << fmt::format("  {} {:<14} {:6}  {:5.1f}%\n", c, kClassNames[c], counts[c],
                             ix.size() ? 100.0 * counts[c] / ix.size() : 0.0);

  std::vector<size_t> per_patient(ix.num_patients(), 0);
  for (int32_t p : ix.patient) ++per_patient[static_cast<size_t>(p)];
  std::vector<size_t> sorted = per_patient;
  std::sort(sorted.begin(), sorted.end());
  size_t by_label[3] = {0, 0, 0};
  for (int32_t l : ix.patient_label) by_label[std::clamp(l, 0, 2)]++;
  std::cout << fmt::format("\nper patient: {} patients ({} benign, {} malignant, {} other); patches per "
                           "patient min {} / median {} / max {}\n",
                           ix.num_patients(), by_label[1], by_label[2], by_label[0],
                           sorted.empty() ? 0 : sorted.front(), sorted.empty() ? 0 : sorted[sorted.size() / 2],
                           sorted.empty() ? 0 : sorted.back());

  std::cout << fmt::format("\nper split (seed {}; counts normal / benign / malignant):\n", seed);
  const auto r = datastore::random_split(ix.patient_label, 3, 1, 1, seed, 0);
  std::cout << "  TSCCN 3:1:1, repeat 0\n    train " << class_counts(ix, r.train) << "\n    val   "
            << class_counts(ix, r.val) << "\n    test  " << class_counts(ix, r.test) << "\n";
  const auto k = datastore::kfold_split(ix.patient_label, folds, 0, val_share, seed);
  std::cout << fmt::format("  {}-fold CV, fold 0 (validation {:.0f}% of patients)\n", folds, 100 * val_share)
            << "    train " << class_counts(ix, k.train) << "\n    val   " << class_counts(ix, k.val)
            << "\n    test  " << class_counts(ix, k.test) << "\n";

  // Every patch is read, so a damaged chunk anywhere shows up here.
  std::vector<uint8_t> image(store.image_bytes());
  double sum[3] = {0, 0, 0}, sum2[3] = {0, 0, 0};
  int lo = 255, hi = 0;
  for (size_t i = 0; i < ix.size(); ++i) {
    store.read_image(i, image);
    double s = 0, s2 = 0;
    for (uint8_t v : image) {
      s += v;
      s2 += static_cast<double>(v) * v;
      lo = std::min<int>(lo, v);
      hi = std::max<int>(hi, v);
    }
    sum[ix.label[i]] += s;
    sum2[ix.label[i]] += s2;
  }
  std::cout << fmt::format("\nimages: intensity min {} max {}\n", lo, hi);
  for (int c = 0; c < 3; ++c) {
    const double n = static_cast<double>(counts[c]) * image.size();
    if (n == 0) continue;
    const double mean = sum[c] / n;
    std::cout << fmt::format("  {} {:<14} mean {:6.1f}  std {:5.1f}\n", c, kClassNames[c], mean,
                             std::sqrt(std::max(0.0, sum2[c] / n - mean * mean)));
  }
}

}  // namespace

int run_inspect(const Args& args) {
  namespace po = boost::program_options;
  std::string path, preview;
  uint64_t seed = 0;
  int folds = 5;
  double val_share = 0.1;
  po::options_description options(
      "usage: fracsweep inspect FILE.h5 [options]\n\n"
      "Validates a patch store against the schema (fails with one message naming the file,\n"
      "the dataset and what is wrong), reads every image, and prints counts per class, per\n"
      "patient and per split, and image statistics. Pelvis stores also show the points,\n"
      "landmarks and warps, every fold of the k-fold split, and how well each stored warp\n"
      "carries the landmarks onto their mirrored partners.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("seed", po::value(&seed)->default_value(seed), "split seed to show")
      ("folds", po::value(&folds)->default_value(folds), "k of the k-fold split to show")
      ("val-share", po::value(&val_share)->default_value(val_share),
       "validation share of all patients in the k-fold split")
      ("preview", po::value(&preview),
       "pelvis stores: write a PNG contact sheet (image, warped twin, mask, difference)");
  if (!parse_with_positional(args, options, path, "fracsweep inspect FILE.h5")) return kExitOk;

  const datastore::PatchStore store = datastore::PatchStore::open(path);
  const auto& info = store.info();
  const auto& ix = store.index();
  std::cout << fmt::format("{}: valid fracsweep patch store, schema {}, task {}\n", path,
                           info.schema_version, datastore::task_name(info.task))
            << fmt::format("  {} {} of {}x{} uint8, compression {}\n", ix.size(),
                           info.task == datastore::Task::kPelvis ? "images" : "patches", info.height,
                           info.width, info.compression ? "deflate-" + std::to_string(info.compression) : "none")
            << "  source: " << info.source << "\n  written by: " << info.created_by << "\n\n";

  if (info.task == datastore::Task::kPelvis) {
    inspect_pelvis(store, {seed, folds, val_share, preview});
  } else {
    CHECK_OR_THROW(core::ConfigError, preview.empty(),
                   "--preview is for pelvis stores; 'fracsweep synth vcf --preview' draws vertebrae");
    inspect_vcf(store, seed, folds, val_share);
  }
  return kExitOk;
}

}  // namespace fracsweep::cli
