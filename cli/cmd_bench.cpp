// `fracsweep bench read|loader STORE`, `bench metrics`, `bench startup`,
// `bench search` (cli/bench_search.cpp): the
// throughput of patch reads, of the batch loader and of scoring predictions,
// and how long commands take to start, printed as a table (or JSON for the
// bench/ scripts). `bench train|allreduce|handout|aasn` need LibTorch and MPI and
// are handed over to fracsweep-train (cli/commands.h).
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/handoff.h"
#include "cli/options.h"
#include "datastore/phantom_pelvis_probe.h"
#include "datastore/phantom_probe.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/process.h"
#include "core/seed.h"
#include "metrics/mapped_file.h"
#include "metrics/predictions.h"
#include "metrics/report.h"
#include "datastore/loader.h"
#include "datastore/patch_store.h"
#include "datastore/sampler.h"

namespace fracsweep::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Random single-patch reads: `reads` indices drawn uniformly, split across
// `threads` threads that each read their share through one shared store.
int bench_read(const Args& args) {
  namespace po = boost::program_options;
  std::string path;
  int reads = 20000, threads = 1;
  uint64_t seed = 0;
  po::options_description options(
      "usage: fracsweep bench read STORE.h5 [options]\n\n"
      "Random single-patch reads (uniform indices), after one warm-up pass over the file.\n\n"
      "options");
  options.add_options()("help,h", "print this help")
      ("reads", po::value(&reads)->default_value(reads), "patches to read")
      ("threads", po::value(&threads)->default_value(threads), "reader threads")
      ("seed", po::value(&seed)->default_value(seed), "seed of the random indices")
      ("json", "print one JSON object instead of a table");
  po::variables_map vm;
  if (!parse_with_positional(args, options, path, "fracsweep bench read STORE.h5", &vm)) return kExitOk;
  CHECK_OR_THROW(core::ConfigError, reads >= 1 && threads >= 1 && threads <= 256,
                 "--reads must be >= 1 and --threads in 1..256");
  const datastore::PatchStore store = datastore::PatchStore::open(path);
  CHECK_OR_THROW(core::ConfigError, store.size() > 0, path, ": holds no patches");
  std::vector<uint8_t> image(store.image_bytes());
  for (size_t i = 0; i < store.size(); ++i) store.read_image(i, image);  // warm the page cache

  core::Rng rng(seed);
  std::vector<uint32_t> indices(static_cast<size_t>(reads));
  for (auto& i : indices) i = static_cast<uint32_t>(rng.uniform_below(store.size()));
  std::vector<uint64_t> checksums(static_cast<size_t>(threads), 0);
  const auto start = Clock::now();
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        std::vector<uint8_t> buffer(store.image_bytes());
        for (size_t k = static_cast<size_t>(t); k < indices.size(); k += threads) {
          store.read_image(indices[k], buffer);
          checksums[t] += buffer[buffer.size() / 2];  // keeps the read observable
        }
      });
  }
  const double s = seconds_since(start);
  uint64_t checksum = 0;
  for (uint64_t c : checksums) checksum += c;
  print_measures({{"store", path},
         {"compression", store.info().compression},
         {"patch", fmt::format("{}x{}", store.info().height, store.info().width)},
         {"reads", reads},
         {"threads", threads},
         {"seconds", s},
         {"patches_per_s", reads / s},
         {"checksum", checksum}},
        vm.count("json") > 0);
  return kExitOk;
}

// Batches as fast as a consumer that does nothing can take them: the most the
// loader can deliver, to compare with what a training step consumes.
int bench_loader(const Args& args) {
  namespace po = boost::program_options;
  std::string path;
  datastore::LoaderOptions o;
  int batches = 200;
  double rotation = 10, hflip = 0.5;
  o.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  po::options_description options(
      "usage: fracsweep bench loader STORE.h5 [options]\n\n"
      "Batches (minority over-sampling, with neighbours, augmented) taken by a consumer that\n"
      "does no work.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("batches", po::value(&batches)->default_value(batches), "batches to take (cycling epochs)")
      ("batch-size", po::value(&o.batch_size)->default_value(o.batch_size), "samples per batch")
      ("workers", po::value(&o.workers)->default_value(o.workers), "loader threads")
      ("prefetch", po::value(&o.prefetch)->default_value(o.prefetch), "batches prepared ahead")
      ("rotation", po::value(&rotation)->default_value(rotation), "max rotation in degrees")
      ("hflip", po::value(&hflip)->default_value(hflip), "horizontal flip probability")
      ("no-neighbours", "load the current patch only")
      ("json", "print one JSON object instead of a table");
  po::variables_map vm;
  if (!parse_with_positional(args, options, path, "fracsweep bench loader STORE.h5", &vm)) return kExitOk;
  CHECK_OR_THROW(core::ConfigError, batches >= 1, "--batches must be >= 1");
  o.neighbours = vm.count("no-neighbours") == 0;
  o.augment = {rotation, hflip, 0};
  auto store = std::make_shared<const datastore::PatchStore>(datastore::PatchStore::open(path));
  std::vector<uint32_t> all(store->size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint32_t>(i);
  datastore::BatchLoader loader(store, o);
  int taken = 0, epoch = 0;
  size_t samples = 0;
  const auto start = Clock::now();
  while (taken < batches) {
    loader.start_epoch(epoch, datastore::epoch_order(datastore::SamplerKind::kOversample, all,
                                                     store->index().label, 3, core::mix64(epoch)));
    ++epoch;
    while (taken < batches) {
      auto b = loader.next();
      if (!b) break;
      samples += static_cast<size_t>(b->size);
      ++taken;
    }
  }
  const double s = seconds_since(start);
  print_measures({{"store", path},
         {"compression", store->info().compression},
         {"batch_size", o.batch_size},
         {"views", o.neighbours ? 3 : 1},
         {"workers", o.workers},
         {"batches", taken},
         {"seconds", s},
         {"batches_per_s", taken / s},
         {"samples_per_s", samples / s}},
        vm.count("json") > 0);
  return kExitOk;
}

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/fracsweep-bench-XXXXXX";
    CHECK_OR_THROW(core::IoError, ::mkdtemp(pattern.data()) != nullptr, pattern,
                   ": cannot make a scratch folder (is TMPDIR writable?)");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Scoring a predictions file in this process, phase by phase: reading,
// parsing and validating, the metrics.
int bench_metrics(const Args& args) {
  namespace po = boost::program_options;
  std::string path;
  int repeats = 3;
  po::options_description options(
      "usage: fracsweep bench metrics PREDICTIONS.csv [options]\n\n"
      "Seconds to read, parse and score a predictions file (as `fracsweep metrics`), the\n"
      "median of --repeats runs in this process; bench/metrics_vs_sklearn.py compares whole\n"
      "processes with pandas + scikit-learn.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("repeats", po::value(&repeats)->default_value(repeats), "timed runs")
      ("json", "print one JSON object instead of a table");
  po::variables_map vm;
  if (!parse_with_positional(args, options, path, "fracsweep bench metrics PREDICTIONS.csv", &vm))
    return kExitOk;
  CHECK_OR_THROW(core::ConfigError, repeats >= 1, "--repeats must be at least 1");
  std::vector<double> read_s, parse_s, score_s;
  size_t rows = 0;
  for (int r = 0; r < repeats; ++r) {
    // As `fracsweep metrics` reads it: mapped, ids checked but not kept.
    auto t = Clock::now();
    const metrics::FileText text = metrics::FileText::load(path);
    read_s.push_back(seconds_since(t));
    t = Clock::now();
    const metrics::Predictions p =
        metrics::parse_predictions(text.view(), path, {.keep_ids = false});
    parse_s.push_back(seconds_since(t));
    t = Clock::now();
    (void)metrics::compute_metrics(p, 0.5, path);
    score_s.push_back(seconds_since(t));
    rows = p.size();
  }
  const double total = median(read_s) + median(parse_s) + median(score_s);
  print_measures({{"file", path},
                  {"rows", rows},
                  {"read_s", median(read_s)},
                  {"parse_s", median(parse_s)},
                  {"metrics_s", median(score_s)},
                  {"total_s", total},
                  {"rows_per_s", static_cast<double>(rows) / total}},
                 vm.count("json") > 0);
  return kExitOk;
}

// How long commands take from exec to exit, each run --repeats times: the
// commands that do not train, and fracsweep-train's --help (what every command
// paid when one executable loaded LibTorch and MPI); `ingest --help` through
// the hand-off and fracsweep-ingest's own --help, which load ITK.
int bench_startup(const Args& args) {
  namespace po = boost::program_options;
  int repeats = 20;
  po::options_description options(
      "usage: fracsweep bench startup [options]\n\n"
      "Milliseconds from start to exit of light commands on tiny inputs (median and\n"
      "fastest of --repeats runs), against fracsweep-train, which loads LibTorch and MPI,\n"
      "and fracsweep-ingest, which loads ITK.\n\n"
      "options");
  options.add_options()("help,h", "print this help")
      ("repeats", po::value(&repeats)->default_value(repeats), "runs per command");
  if (!parse_flags(args, options)) return kExitOk;
  CHECK_OR_THROW(core::ConfigError, repeats >= 1, "--repeats must be at least 1");
  std::error_code ec;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  CHECK_OR_THROW(core::IoError, !ec, "cannot find this executable (/proc/self/exe)");
  const ScratchDir dir;
  const std::string csv = (dir.path() / "p.csv").string();
  core::write_file_atomic(csv, "id,patient,label,score\na,P1,0,0.2\nb,P1,1,0.7\nc,P2,1,0.6\n");
  const std::string sweep = (dir.path() / "s.yaml").string();
  core::write_file_atomic(sweep, "name: s\noutput: " + (dir.path() / "out").string() +
                                     "\npreset: tiny\ndataset: {phantom: {patients: 12}}\n"
                                     "protocol: {split: random, repeats: [0]}\nseeds: [1]\n"
                                     "variants: {tsccn: {model: {variant: tsccn}}}\n");
  std::vector<std::vector<std::string>> commands = {
      {self, "version"}, {self, "--help"}, {self, "metrics", csv}, {self, "plan", sweep}};
  // An executable this copy lacks (a GPU machine's pack holds no fracsweep-ingest) is not
  // timed, and says so, rather than keeping the rest from being timed.
  const auto sibling = [](const Sibling& s) -> std::optional<std::string> {
    try {
      return sibling_executable(s);
    } catch (const core::Error& e) {
      std::cerr << "not timed: " << e.what() << "\n";
      return std::nullopt;
    }
  };
  if (const auto ingest = sibling(kIngestExecutable)) {
    commands.push_back({self, "ingest", "--help"});
    commands.push_back({*ingest, "--help"});
  }
  if (const auto train = sibling(kTrainingExecutable)) commands.push_back({*train, "--help"});
  std::cout << "| command | median ms | fastest ms |\n|---|---:|---:|\n";
  for (const auto& argv : commands) {
    std::vector<double> ms;
    for (int r = 0; r < repeats; ++r) {
      const auto t = Clock::now();
      const core::ProcessResult run = core::run_process(argv);
      CHECK_OR_THROW(core::Error, run.exit_code == 0, argv[0], " ", argv[1], " failed (exit code ",
                     run.exit_code, "): ", run.err);
      ms.push_back(seconds_since(t) * 1000);
    }
    std::string name = std::filesystem::path(argv[0]).filename().string();
    for (size_t i = 1; i < argv.size(); ++i)
      name += " " + (i == 1 ? argv[i] : std::filesystem::path(argv[i]).filename().string());
    std::cout << "| " << name << " | " << fmt::format("{:.1f}", median(ms)) << " | "
              << fmt::format("{:.1f}", *std::min_element(ms.begin(), ms.end())) << " |\n";
  }
  return kExitOk;
}

// The pelvis phantom's fidelity probe (datastore/phantom_pelvis_probe.h) over difficulty.
int bench_probe_pelvis(const Args& args) {
  namespace po = boost::program_options;
  datastore::PelvisPhantomOptions ph;
  ph.images = 200;
  ph.height = 128;
  ph.width = 256;
  std::string difficulties = "0,0.25,0.5,0.75,1";
  po::options_description options(
      "usage: fracsweep bench probe pelvis [options]\n\n"
      "How well a dark-line detector tells the pelvis phantom's fractures from the vascular\n"
      "channels they can be mistaken for (ROC AUC): in the image alone, and in the image less\n"
      "its mirrored side (the flipped image warped onto it by the landmarks, as AASN sees\n"
      "it); one row per difficulty (FIDELITY.md).\n\noptions");
  options.add_options()("help,h", "print this help")
      ("images", po::value(&ph.images)->default_value(ph.images), "images per difficulty")
      ("height", po::value(&ph.height)->default_value(ph.height), "ROI height in pixels")
      ("width", po::value(&ph.width)->default_value(ph.width), "ROI width in pixels")
      ("seed", po::value(&ph.seed)->default_value(ph.seed), "the phantom's seed")
      ("difficulties", po::value(&difficulties)->default_value(difficulties), "comma-separated");
  if (!parse_flags(args, options)) return kExitOk;
  ph.fractured = static_cast<int>(std::lround(ph.images * 759.0 / 2359.0));  // the paper's share
  std::cout << "| difficulty | fractures | channels | one side alone | against the mirrored side |\n"
               "|---:|---:|---:|---:|---:|\n";
  std::stringstream list(difficulties);
  for (std::string item; std::getline(list, item, ',');) {
    ph.difficulty = std::stod(item);
    const datastore::PelvisProbe p = datastore::probe_pelvis_phantom(ph);
    std::cout << fmt::format("| {} | {} | {} | {:.3f} | {:.3f} |\n", item, p.fractures, p.variants,
                             p.lone, p.mirrored)
              << std::flush;
  }
  return kExitOk;
}

// The vertebra phantom's fidelity probe (datastore/phantom_probe.h) over difficulty.
int bench_probe(const Args& args) {
  if (!args.empty() && args[0] == "pelvis") return bench_probe_pelvis(Args(args.begin() + 1, args.end()));
  if (!args.empty() && args[0] == "vcf") return bench_probe(Args(args.begin() + 1, args.end()));
  namespace po = boost::program_options;
  datastore::VcfPhantomOptions ph;
  int patients = 239;
  ph.patch_size = 64;
  ph.slices = 1;
  std::string difficulties = "0,0.25,0.5,0.75,1";
  po::options_description options(
      "usage: fracsweep bench probe [vcf|pelvis] [options]   (default vcf)\n\n"
      "How well simple measurements of the drawn vertebra phantom separate fractured from\n"
      "normal vertebrae (ROC AUC): from one patch alone (the body's shape, its height in the\n"
      "fixed window, the darkness of its centre) and against its neighbours' height; one row\n"
      "per difficulty (FIDELITY.md).\n\noptions");
  options.add_options()("help,h", "print this help")
      ("patients", po::value(&patients)->default_value(patients), "patients per difficulty (paper's ratio)")
      ("patch-size", po::value(&ph.patch_size)->default_value(ph.patch_size), "patch side in pixels")
      ("seed", po::value(&ph.seed)->default_value(ph.seed), "the phantom's seed")
      ("difficulties", po::value(&difficulties)->default_value(difficulties), "comma-separated");
  if (!parse_flags(args, options)) return kExitOk;
  datastore::set_patients_as_paper(ph, patients);
  std::cout << "| difficulty | normal | fractured | lone: shape | lone: height | lone: signal "
               "| lone: logistic | neighbours: height ratio | lone + neighbours: logistic |\n"
               "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  std::stringstream list(difficulties);
  for (std::string item; std::getline(list, item, ',');) {
    ph.difficulty = std::stod(item);
    const datastore::VcfProbe p = datastore::probe_vcf_phantom(ph);
    std::cout << fmt::format("| {} | {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |\n",
                             item, p.normal, p.fractured, p.lone_shape, p.lone_height,
                             p.lone_signal, p.lone_combined, p.neighbours,
                             p.with_neighbours_combined);
  }
  return kExitOk;
}

}  // namespace

int run_bench(const Args& args) {
  static constexpr const char* kHelp =
      "usage: fracsweep bench <what> [options]   (fracsweep bench <what> --help for more)\n\n"
      "  read STORE.h5      random single-patch reads per second\n"
      "  loader STORE.h5    batches per second from the prefetching loader\n"
      "  metrics FILE.csv   seconds to score a predictions file, end to end\n"
      "  startup            milliseconds until each command has started\n"
      "  search             seconds per ASHA decision and TPE proposal on a stream of results\n"
      "  probe [vcf|pelvis] the phantoms' lone and neighbour (mirrored-side) separability\n"
      "  train JOB.yaml     seconds per training step of a job\n"
      "  allreduce          (under mpirun) the gradient all-reduce's share of a ResNet-18 step\n"
      "  handout            (under mpirun) latency of handing a job to a rank group\n"
      "  aasn               seconds per training step of AASN on inputs held in memory\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kHelp;
    return args.empty() ? kExitBadInput : kExitOk;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "read") return bench_read(rest);
  if (args[0] == "loader") return bench_loader(rest);
  if (args[0] == "metrics") return bench_metrics(rest);
  if (args[0] == "startup") return bench_startup(rest);
  if (args[0] == "search") return bench_search(rest);
  if (args[0] == "probe") return bench_probe(rest);
  if (args[0] == "train" || args[0] == "allreduce" || args[0] == "handout" || args[0] == "aasn")
    return hand_off(kTrainingExecutable, "bench", args);
  throw core::ConfigError(
      core::str_cat("unknown benchmark '", args[0], "' (see fracsweep bench --help)"));
}

}  // namespace fracsweep::cli
