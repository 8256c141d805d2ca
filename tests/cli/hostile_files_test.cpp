// Every reader of a file that a user, a crash or a failing disk can hand
// fracsweep, fed seeded mutants of a valid file (cut short, bits flipped,
// bytes replaced, ranges dropped or repeated): each mutant is read, or refused
// with a core::Error naming the file; never a crash, a hang or another
// exception. FRACSWEEP_MUTANTS sets the mutants per reader (default below) and
// FRACSWEEP_MUTATION_SEED repeats a run; both are printed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "datastore/hdf5_exit.h"
#include "datastore/heatmaps.h"
#include "datastore/patch_store.h"
#include "metrics/detections.h"
#include "metrics/predictions.h"
#include "spec/job_config.h"
#include "sweeps/ledger.h"
#include "sweeps/status.h"
#include "sweeps/sweep.h"
#include "test_util.h"

namespace fracsweep {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

// One mutant of `good`, by one of five mutations chosen by `rng`.
std::string mutate(const std::string& good, std::mt19937_64& rng) {
  std::string s = good;
  const auto at = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n)(rng); };
  const size_t i = at(s.size() - 1);
  const size_t len = 1 + at(std::min<size_t>(64, s.size() - i - 1));
  static const char kSpecial[] = {',', '\n', '"', ':', '{', '}', '[', '\0', '\xff', '-', '9',
                                  'e', ' ', '#', '\t', '\\', '.'};
  switch (at(4)) {
    case 0: s.resize(i); break;                                          // cut short
    case 1: s[i] = static_cast<char>(s[i] ^ (1 << at(7))); break;       // a bit flipped
    case 2: s[i] = kSpecial[at(sizeof kSpecial - 1)]; break;             // a byte replaced
    case 3: s.erase(i, len); break;                                      // a range dropped
    default: s.insert(i, s.substr(i, len)); break;                       // a range repeated
  }
  return s;
}

// A binary file's mutant: cut short, a few bits flipped, or a block zeroed.
std::string mutate_binary(const std::string& good, std::mt19937_64& rng) {
  std::string s = good;
  const auto at = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n)(rng); };
  switch (at(2)) {
    case 0: s.resize(at(s.size() - 1)); break;
    case 1:
      for (size_t k = 0, n = 1 + at(7); k < n; ++k) {
        const size_t i = at(s.size() - 1);
        s[i] = static_cast<char>(s[i] ^ (1 << at(7)));
      }
      break;
    default: {
      const size_t i = at(s.size() - 1);
      std::fill(s.begin() + static_cast<std::ptrdiff_t>(i),
                s.begin() + static_cast<std::ptrdiff_t>(std::min(s.size(), i + 1 + at(511))), '\0');
    }
  }
  return s;
}

struct Reader {
  std::string name;
  std::string file;   // the valid file, relative to the folder
  bool binary = false;
  std::function<void(const fs::path& folder)> read;  // reads folder/file
};

// Writes mutants of `r.file` over it and reads each; returns how many were refused.
int feed_mutants(const Reader& r, const fs::path& folder, int count, uint64_t seed) {
  const fs::path path = folder / r.file;
  const std::string good = core::read_file(path.string());
  std::mt19937_64 rng(seed);
  int refused = 0;
  for (int k = 0; k < count; ++k) {
    const std::string bad = r.binary ? mutate_binary(good, rng) : mutate(good, rng);
    core::write_file_atomic(path.string(), bad);
    try {
      r.read(folder);
    } catch (const core::Error& e) {
      ++refused;
      EXPECT_FALSE(std::string(e.what()).empty()) << r.name << " mutant " << k;
    } catch (const std::exception& e) {
      ADD_FAILURE() << r.name << " mutant " << k << " (seed " << seed
                    << "): not a core::Error: " << e.what();
    }
  }
  core::write_file_atomic(path.string(), good);
  return refused;
}

const char* kSweep = R"(name: t
output: runs/t
preset: tiny
dataset: {store: vcf.h5}
protocol: {split: kfold, folds: 5, run_folds: [0, 1], val_share: 0.1}
seeds: [1, 2]
variants:
  tsccn: {model: {variant: tsccn}, train: {lr: 0.002}}
  aasn: {model: {variant: aasn}}
axes: {grid: {train.weight_decay: [0, 1e-4]}}
train: {epochs: 2, batch_size: 8}
)";

// Everything a reader takes from a heatmap file or a store, as text to compare.
std::string heatmaps_text(const datastore::HeatmapSet& set) {
  std::ostringstream out;
  out << set.radius << ";";
  for (const auto& image : set.images) {
    out << image.height << "x" << image.width << ":";
    for (float v : image.heatmap) out << v << ",";
    for (const auto& p : image.points) out << "(" << p.x << "," << p.y << ")";
  }
  return out.str();
}

std::string store_text(const std::string& path) {
  const auto store = datastore::PatchStore::open(path);
  const datastore::SampleIndex& ix = store.index();
  std::ostringstream out;
  for (const auto* column : {&ix.label, &ix.patient, &ix.slice, &ix.level, &ix.prev, &ix.next,
                             &ix.patient_label}) {
    for (int32_t v : *column) out << v << ",";
    out << ";";
  }
  for (const auto& id : ix.patient_ids) out << id << ",";
  std::vector<uint8_t> pixels(store.image_bytes());
  for (size_t i = 0; i < ix.size(); ++i) {
    store.read_image(i, pixels);
    out.write(reinterpret_cast<const char*>(pixels.data()), static_cast<std::streamsize>(pixels.size()));
  }
  return out.str();
}

// A folder holding one valid file of each kind.
std::vector<Reader> readers(const fs::path& dir) {
  core::Logger quiet(core::LogLevel::kOff);
  core::write_file_atomic((dir / "sweep.yaml").string(), kSweep);
  core::write_file_atomic((dir / "job.yaml").string(),
                          "preset: tiny\noutput: out/j\ndata: {store: s.h5, split: kfold, fold: 2}\n"
                          "model: {variant: ldam-drw, width: 8}\ntrain: {epochs: 3, lr: 0.01}\n");
  core::write_file_atomic((dir / "pred3.csv").string(),
                          "id,patient,label,p0,p1,p2\nP1/s0/l0,P1,0,0.9,0.05,0.05\n"
                          "P1/s0/l1,P1,1,0.2,0.7,0.1\nP2/s0/l0,P2,2,0.1,0.2,0.7\n");
  core::write_file_atomic((dir / "pred2.csv").string(),
                          "id,patient,label,score\nX1,X1,0,0.25\nX2,X2,1,0.75\nX3,X3,1,0.5\n");
  core::write_file_atomic((dir / "detections.csv").string(),
                          "image,x,y,prob\n0,10.5,20,0.9\n0,3,4,0.1\n2,7,7,0.5\n");
  const sweeps::Sweep sweep = sweeps::parse_sweep(kSweep, "sweep.yaml");
  sweeps::write_manifest(dir.string(), sweeps::make_manifest(sweep, 2, 1));
  {
    sweeps::Ledger ledger(sweeps::ledger_path(dir.string(), sweeps::run_writer()), quiet);
    const sweeps::LedgerOrigin origin{0, "host", ""};
    ledger.append(sweeps::make_started(sweep.jobs[0].id, sweep.jobs[0].name, origin));
    ledger.append(sweeps::make_finished(sweep.jobs[0].id, sweep.jobs[0].name, origin,
                                        {{"aAUC", 0.9}, {"mAP", 0.8}}));
    ledger.append(sweeps::make_failed(sweep.jobs[1].id, sweep.jobs[1].name, origin, "boom"));
  }
  sweeps::ProgressSnapshot snap;
  snap.time = "2026-01-01T00:00:00Z";
  snap.host = "host";
  snap.pid = 42;
  sweeps::GroupProgress g;
  snap.groups = {g, g};
  sweeps::write_progress(dir.string(), snap);
  datastore::HeatmapSet heat;
  heat.radius = 3;
  for (int i = 0; i < 3; ++i)
    heat.images.push_back({4, 6, std::vector<float>(24, 0.1f * static_cast<float>(i)), {{1, 2}}});
  datastore::write_heatmaps((dir / "heatmaps.h5").string(), heat);
  fs::copy_file(testing::tiny_vcf_store(), dir / "store.h5");
  std::string progress_file;  // wherever write_progress puts it
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().string().find("progress") != std::string::npos)
      progress_file = fs::relative(e.path(), dir).string();
  const std::string ledger_file =
      fs::relative(sweeps::ledger_path(dir.string(), sweeps::run_writer()), dir).string();
  const auto quiet_log = [] { return core::Logger(core::LogLevel::kOff); };
  return {
      {"sweep YAML", "sweep.yaml", false,
       [](const fs::path& d) { sweeps::load_sweep((d / "sweep.yaml").string()); }},
      {"job YAML", "job.yaml", false,
       [](const fs::path& d) { spec::load_job_config((d / "job.yaml").string()); }},
      {"predictions CSV (3 classes)", "pred3.csv", false,
       [](const fs::path& d) { metrics::read_predictions((d / "pred3.csv").string()); }},
      {"predictions CSV (binary)", "pred2.csv", false,
       [](const fs::path& d) { metrics::read_predictions((d / "pred2.csv").string()); }},
      {"detections CSV", "detections.csv", false,
       [](const fs::path& d) { metrics::read_detections((d / "detections.csv").string()); }},
      {"ledger", ledger_file, false,
       [quiet_log](const fs::path& d) {
         auto log = quiet_log();
         sweeps::summarize(sweeps::read_sweep_ledger(d.string(), log));
       }},
      {"sweep.json", "sweep.json", false,
       [](const fs::path& d) { sweeps::read_manifest(d.string()); }},
      {"progress", progress_file, false,
       [](const fs::path& d) { sweeps::read_progress(d.string()); }},
      // The binary files' mutants that read at all must read as the valid file did:
      // the checksums leave no silently wrong value.
      {"heatmaps HDF5", "heatmaps.h5", true,
       [heat](const fs::path& d) {
         const auto got = datastore::read_heatmaps((d / "heatmaps.h5").string());
         EXPECT_EQ(heatmaps_text(got), heatmaps_text(heat)) << "a damaged file read differently";
       }},
      {"patch store HDF5", "store.h5", true,
       [expected = store_text((dir / "store.h5").string())](const fs::path& d) {
         EXPECT_EQ(store_text((d / "store.h5").string()), expected) << "a damaged store read differently";
       }},
  };
}

TEST(HostileFiles, EveryReaderRefusesMutantsWithAClearErrorNeverACrash) {
  // As the programs do: HDF5's exit clean-up loops over what damaged files left open.
  datastore::skip_hdf5_exit_cleanup();
  const uint64_t seed = env_or("FRACSWEEP_MUTATION_SEED", std::random_device{}());
  const int text_mutants = static_cast<int>(env_or("FRACSWEEP_MUTANTS", 400));
  const int binary_mutants = std::max(1, text_mutants / 8);  // each opens an HDF5 file
  std::cout << "mutation seed " << seed << " (FRACSWEEP_MUTATION_SEED=" << seed
            << " repeats it), " << text_mutants << " mutants per text reader\n";
  RecordProperty("mutation_seed", std::to_string(seed));
  TempDir dir;
  for (const Reader& r : readers(dir.path())) {
    SCOPED_TRACE(r.name);
    ASSERT_NO_THROW(r.read(dir.path())) << "the valid file";
    const int count = r.binary ? binary_mutants : text_mutants;
    const int refused = feed_mutants(r, dir.path(), count, seed);
    std::cout << r.name << ": " << count << " mutants, " << refused << " refused, "
              << count - refused << " read\n";
    EXPECT_GT(refused, 0) << "no mutant was refused: is the reader checking anything?";
    ASSERT_NO_THROW(r.read(dir.path())) << "the valid file, restored";
  }
}

}  // namespace
}  // namespace fracsweep
