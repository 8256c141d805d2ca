// `fracsweep synth vcf|pelvis OUT.h5`: write a phantom data set.
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <iostream>
#include <thread>

#include "core/error.h"
#include "datastore/synth_pelvis.h"
#include "datastore/synth_vcf.h"
#include "cli/options.h"
#include "cli/commands.h"

namespace fracsweep::cli {
namespace {

constexpr const char* kUsage = "fracsweep synth vcf OUT.h5 [options]";

// A line on stderr at every tenth of the work, with the time since the start.
datastore::SynthProgress decile_progress(const char* what, const char* unit, bool quiet) {
  if (quiet) return {};
  return [what, unit, start = std::chrono::steady_clock::now(), last = -1](int done,
                                                                           int total) mutable {
    const int decile = done * 10 / total;
    if (decile == last) return;
    last = decile;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << fmt::format("{}: {}/{} {} ({:.0f}%), {:.1f} s\n", what, done, total, unit,
                             100.0 * done / total, s);
  };
}

int run_synth_vcf(const Args& args) {
  namespace po = boost::program_options;
  datastore::VcfSynthOptions o;
  auto& ph = o.phantom;
  std::string out;
  int patients = 0;
  o.threads = static_cast<int>(std::max(1u, std::min(8u, std::thread::hardware_concurrency())));
  po::options_description options(
      "usage: fracsweep synth vcf OUT.h5 [options]\n\n"
      "Writes a phantom vertebra data set (sagittal patches with previous/next neighbours,\n"
      "classes normal / benign VCF / malignant VCF) to a patch store. The same options give\n"
      "the same file byte for byte. Check it with `fracsweep inspect OUT.h5`.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("patients", po::value(&patients),
       "total patients, split benign:malignant as in the paper (136:103); overrides the two below")
      ("benign", po::value(&ph.benign_patients)->default_value(ph.benign_patients),
       "patients with benign fractures")
      ("malignant", po::value(&ph.malignant_patients)->default_value(ph.malignant_patients),
       "patients with malignant fractures")
      ("patch-size", po::value(&ph.patch_size)->default_value(ph.patch_size),
       "side of the square patches in pixels (16..2048)")
      ("difficulty", po::value(&ph.difficulty)->default_value(ph.difficulty, "0.5"),
       "0 (obvious) .. 1 (subtle): smaller height loss, more noise, more size variation")
      ("slices", po::value(&ph.slices)->default_value(ph.slices), "middle sagittal slices per patient (1..7)")
      ("seed", po::value(&ph.seed)->default_value(ph.seed), "root of every random choice")
      ("compression", po::value(&o.compression)->default_value(o.compression),
       "deflate level of the stored patches, 0 = none .. 9")
      ("threads", po::value(&o.threads)->default_value(o.threads), "generator threads")
      ("preview", po::value(&o.preview_path), "also write a PNG contact sheet of examples per class")
      ("quiet,q", "no progress lines on stderr");
  po::variables_map vm;
  if (!parse_with_positional(args, options, out, kUsage, &vm)) return kExitOk;
  if (vm.count("patients")) {
    CHECK_OR_THROW(core::ConfigError, vm["benign"].defaulted() && vm["malignant"].defaulted(),
                   "give either --patients or --benign/--malignant, not both");
    datastore::set_patients_as_paper(ph, patients);
  }
  const bool quiet = vm.count("quiet") > 0;

  const auto summary =
      datastore::write_vcf_phantom_store(out, o, decile_progress("synth vcf", "patients", quiet));
  std::cout << fmt::format(
      "{}: {} patients ({} benign, {} malignant), {} patches of {}x{} "
      "(normal {}, benign VCF {}, malignant VCF {})\n",
      out, summary.patients, ph.benign_patients, ph.malignant_patients, summary.patches,
      ph.patch_size, ph.patch_size, summary.per_class[0], summary.per_class[1],
      summary.per_class[2]);
  if (!o.preview_path.empty()) std::cout << "preview: " << o.preview_path << "\n";
  return kExitOk;
}

int run_synth_pelvis(const Args& args) {
  namespace po = boost::program_options;
  datastore::PelvisSynthOptions o;
  auto& ph = o.phantom;
  std::string out;
  o.threads = static_cast<int>(std::max(1u, std::min(8u, std::thread::hardware_concurrency())));
  po::options_description options(
      "usage: fracsweep synth pelvis OUT.h5 [options]\n\n"
      "Writes phantom anterior-pelvis radiographs for AASN to a patch store: one image per\n"
      "patient with its flipped twin, 16 landmarks, the symmetry axis, the thin-plate-spline\n"
      "warp from the twin to the image, and fracture points. The same options give the same\n"
      "file byte for byte. Check it with `fracsweep inspect OUT.h5 [--preview PNG]`.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("images", po::value(&ph.images)->default_value(ph.images), "images (one per patient)")
      ("fractured", po::value(&ph.fractured),
       "images with at least one fracture (default: 759 of 2,359, as in the paper, scaled to "
       "--images)")
      ("height", po::value(&ph.height)->default_value(ph.height), "ROI height in pixels, a multiple of 32")
      ("width", po::value(&ph.width)->default_value(ph.width), "ROI width in pixels, a multiple of 32")
      ("difficulty", po::value(&ph.difficulty)->default_value(ph.difficulty, "0.5"),
       "0 (obvious: displaced, wide breaks) .. 1 (subtle: breaks like vascular channels, more "
       "pose asymmetry and noise)")
      ("seed", po::value(&ph.seed)->default_value(ph.seed), "root of every random choice")
      ("warp-stride", po::value(&ph.warp_stride)->default_value(ph.warp_stride),
       "cell size of the stored warp grid in pixels (divides 32)")
      ("mask-radius-mm", po::value(&ph.mask_radius_mm)->default_value(ph.mask_radius_mm, "20"),
       "radius of the training mask around each point (the paper: 2 cm)")
      ("landmark-error-mm",
       po::value(&ph.landmark_error_mm)->default_value(ph.landmark_error_mm, "0.8"),
       "the landmark detector's error per coordinate (sd, mm) that the stored landmarks and "
       "warp carry; 0 = exact landmarks")
      ("compression", po::value(&o.compression)->default_value(o.compression),
       "deflate level of the stored images, 0 = none .. 9")
      ("threads", po::value(&o.threads)->default_value(o.threads), "generator threads")
      ("preview", po::value(&o.preview_path),
       "also write a PNG contact sheet: image, warped twin, mask, difference")
      ("quiet,q", "no progress lines on stderr");
  po::variables_map vm;
  if (!parse_with_positional(args, options, out, "fracsweep synth pelvis OUT.h5 [options]", &vm))
    return kExitOk;
  if (!vm.count("fractured"))
    ph.fractured = static_cast<int>(std::lround(ph.images * 759.0 / 2359.0));
  const bool quiet = vm.count("quiet") > 0;

  const auto summary =
      datastore::write_pelvis_phantom_store(out, o, decile_progress("synth pelvis", "images", quiet));
  std::cout << fmt::format("{}: {} images of {}x{} ({} with fractures, {} fracture points)\n", out,
                           summary.images, ph.height, ph.width, summary.fractured, summary.points);
  if (!o.preview_path.empty()) std::cout << "preview: " << o.preview_path << "\n";
  return kExitOk;
}

}  // namespace

int run_synth(const Args& args) {
  static constexpr const char* kHelp =
      "usage: fracsweep synth <kind> OUT.h5 [options]\n\n"
      "kinds:\n  vcf     vertebra patches for TSCCN (sagittal MRI phantoms)\n"
      "  pelvis  anterior-pelvis radiographs for AASN (landmarks, flipped twin, warp, points)\n\n"
      "fracsweep synth <kind> --help lists the options.\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kHelp;
    return args.empty() ? kExitBadInput : kExitOk;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "vcf") return run_synth_vcf(rest);
  if (args[0] == "pelvis") return run_synth_pelvis(rest);
  throw core::ConfigError(
      core::str_cat("unknown kind '", args[0], "': use vcf or pelvis (fracsweep synth --help)"));
}

}  // namespace fracsweep::cli
