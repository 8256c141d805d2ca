// `fracsweep bench read|loader STORE`, `bench metrics`, `bench startup`: the
// throughput of patch reads, of the batch loader and of scoring predictions,
// and how long commands take to start, printed as a table (or JSON for the
// bench/ scripts). `bench train|allreduce|handout` need LibTorch and MPI and
// are handed over to fracsweep-train (cli/commands.h).
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/handoff.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/seed.h"
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

}  // namespace

int run_bench(const Args& args) {
  static constexpr const char* kHelp =
      "usage: fracsweep bench <what> [options]   (fracsweep bench <what> --help for more)\n\n"
      "  read STORE.h5      random single-patch reads per second\n"
      "  loader STORE.h5    batches per second from the prefetching loader\n"
      "  metrics FILE.csv   seconds to score a predictions file, end to end\n"
      "  startup            milliseconds until each command has started\n"
      "  train JOB.yaml     seconds per training step of a job\n"
      "  allreduce          (under mpirun) the gradient all-reduce's share of a ResNet-18 step\n"
      "  handout            (under mpirun) latency of handing a job to a rank group\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kHelp;
    return args.empty() ? kExitBadInput : kExitOk;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "read") return bench_read(rest);
  if (args[0] == "loader") return bench_loader(rest);
  if (args[0] == "train" || args[0] == "allreduce" || args[0] == "handout")
    return hand_off("bench", args);
  throw core::ConfigError(
      core::str_cat("unknown benchmark '", args[0], "' (see fracsweep bench --help)"));
}

}  // namespace fracsweep::cli
