// `fracsweep ingest vcf|pelvis MANIFEST.csv OUT.h5`: real images into a patch store.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "datastore/ingest/ingest_pelvis.h"
#include "datastore/ingest/ingest_vcf.h"
#include "datastore/ingest/medical_image.h"

namespace fracsweep::cli {
namespace {

namespace po = boost::program_options;
namespace ig = datastore::ingest;

// A line per patient on a terminal (a line per tenth of them otherwise), and
// every skipped case with its reason, whatever the output.
ig::IngestProgress patient_progress(const char* what, bool quiet) {
  const bool terminal = isatty(fileno(stderr)) != 0;
  return [what, quiet, terminal, start = std::chrono::steady_clock::now(), last = -1](
             int done, int total, const std::string& patient, size_t samples,
             const std::string& error) mutable {
    if (!error.empty()) {
      std::cerr << fmt::format("{}: skipped {}\n", what, error);
      return;
    }
    if (quiet) return;
    const int decile = done * 10 / total;
    if (!terminal && decile == last) return;
    last = decile;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << fmt::format("{}: {}/{} patients ({:.0f}%), {} ({} samples), {:.1f} s\n", what,
                             done, total, 100.0 * done / total, patient, samples, s);
  };
}

int default_threads() {
  return static_cast<int>(std::max(1u, std::min(8u, std::thread::hardware_concurrency())));
}

void add_common(po::options_description& options, ig::IntensityOptions& intensity,
                int& compression, int& threads, std::string& percentiles) {
  options.add_options()
      ("intensity", po::value(&intensity.mode)->default_value(intensity.mode),
       "percentile: map the low/high percentiles of each series to 0/255; none: round and clip")
      ("percentiles", po::value(&percentiles)->default_value("0.5,99.5"),
       "low,high percentiles for --intensity percentile")
      ("compression", po::value(&compression)->default_value(compression),
       "deflate level of the stored images, 0 = none .. 9")
      ("threads", po::value(&threads)->default_value(threads), "patients read at once")
      ("skip-bad", "report a bad case and leave it out, instead of stopping at it")
      ("quiet,q", "no progress lines on stderr (skipped cases are still reported)");
}

void parse_percentiles(const std::string& text, ig::IntensityOptions& intensity) {
  double lo = 0, hi = 0;
  char tail = 0;
  CHECK_OR_THROW(core::ConfigError, std::sscanf(text.c_str(), "%lf,%lf%c", &lo, &hi, &tail) == 2,
                 "--percentiles '", text, "': give low,high, e.g. 0.5,99.5");
  intensity.low = lo;
  intensity.high = hi;
}

void print_summary(const std::string& out, const ig::IngestSummary& s, const char* unit) {
  std::cout << fmt::format("{}: {} patients, {} {}", out, s.patients, s.samples, unit);
  if (s.skipped > 0) std::cout << fmt::format(" ({} skipped, listed above)", s.skipped);
  std::cout << "\n";
}

int run_ingest_vcf(const Args& args) {
  ig::VcfIngestOptions o;
  o.threads = default_threads();
  std::string manifest, out, percentiles;
  po::options_description options(
      "usage: fracsweep ingest vcf MANIFEST.csv OUT.h5 [options]\n\n"
      "Sagittal spine MRI (DICOM series or NIfTI) with vertebra boxes or label maps into a\n"
      "vertebra patch store (TSCCN's preprocessing). The manifest's columns: patient, label,\n"
      "image, [series_uid], boxes | labelmap, [fractured_levels]; see the README.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("patch-size", po::value(&o.patch_size)->default_value(o.patch_size), "side of the patches in pixels")
      ("slices", po::value(&o.slices)->default_value(o.slices), "middle sagittal slices per patient (1..7)")
      ("margin-mm", po::value(&o.margin_mm)->default_value(o.margin_mm, "4"),
       "millimetres added on each side of a body's box")
      ("window-mm", po::value(&o.window_mm)->default_value(0),
       "a fixed square crop side in millimetres instead of box + margin (0: off)");
  add_common(options, o.intensity, o.compression, o.threads, percentiles);
  po::variables_map vm;
  if (!parse_with_positionals(args, options, {&manifest, &out},
                              "fracsweep ingest vcf MANIFEST.csv OUT.h5", &vm))
    return kExitOk;
  parse_percentiles(percentiles, o.intensity);
  o.skip_bad = vm.count("skip-bad") > 0;
  const auto summary = ig::ingest_vcf(manifest, out, o,
                                      patient_progress("ingest vcf", vm.count("quiet") > 0));
  print_summary(out, summary, "patches");
  return kExitOk;
}

int run_ingest_pelvis(const Args& args) {
  ig::PelvisIngestOptions o;
  o.threads = default_threads();
  std::string manifest, out, percentiles;
  po::options_description options(
      "usage: fracsweep ingest pelvis MANIFEST.csv OUT.h5 [options]\n\n"
      "Pelvic radiographs (DICOM or PNG) with 16 landmarks and fracture points into a pelvis\n"
      "patch store (AASN's preprocessing, the same code path as `synth pelvis`). The\n"
      "manifest's columns: patient, image, landmarks, points, [label]; see the README.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("height", po::value(&o.height)->default_value(o.height), "ROI height in pixels, a multiple of 32")
      ("width", po::value(&o.width)->default_value(o.width), "ROI width in pixels, a multiple of 32")
      ("warp-stride", po::value(&o.warp_stride)->default_value(o.warp_stride),
       "cell size of the stored warp grid (divides 32)")
      ("roi-margin", po::value(&o.roi_margin)->default_value(o.roi_margin, "0.06"),
       "share of the landmarks' bounding box added on each side")
      ("mask-radius-px", po::value(&o.mask_radius_px)->default_value(o.mask_radius_px, "51.2"),
       "radius of the training mask around each fracture point, in ROI pixels");
  add_common(options, o.intensity, o.compression, o.threads, percentiles);
  po::variables_map vm;
  if (!parse_with_positionals(args, options, {&manifest, &out},
                              "fracsweep ingest pelvis MANIFEST.csv OUT.h5", &vm))
    return kExitOk;
  parse_percentiles(percentiles, o.intensity);
  o.skip_bad = vm.count("skip-bad") > 0;
  const auto summary = ig::ingest_pelvis(manifest, out, o,
                                         patient_progress("ingest pelvis", vm.count("quiet") > 0));
  print_summary(out, summary, "images");
  return kExitOk;
}

}  // namespace

int run_ingest(const Args& args) {
  static constexpr const char* kHelp =
      "usage: fracsweep ingest <kind> MANIFEST.csv OUT.h5 [options]\n\n"
      "kinds:\n  vcf     sagittal spine MRI with vertebra boxes or label maps (TSCCN)\n"
      "  pelvis  pelvic radiographs with landmarks and fracture points (AASN)\n\n"
      "fracsweep ingest <kind> --help lists the options.\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kHelp;
    return args.empty() ? kExitBadInput : kExitOk;
  }
  const Args rest(args.begin() + 1, args.end());
  // Every problem they would warn about is checked and reported with the case it is in.
  ig::quiet_library_warnings();
  if (args[0] == "vcf") return run_ingest_vcf(rest);
  if (args[0] == "pelvis") return run_ingest_pelvis(rest);
  throw core::ConfigError(
      core::str_cat("unknown kind '", args[0], "': use vcf or pelvis (fracsweep ingest --help)"));
}

}  // namespace fracsweep::cli
