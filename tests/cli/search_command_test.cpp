// A search sweep end to end, on "curve" jobs (seeded learning curves, no
// training): `fracsweep run` on 2 ranks hands out TPE's proposals, ASHA stops
// trials as their rung results arrive, a kill at any moment and a rerun make
// the decisions an uninterrupted run makes, every decision recorded is the one
// the ledger before it implies, and `fracsweep report` chooses each fold's
// configuration on validation, never on test.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/fs.h"
#include "core/log.h"
#include "sweeps/ledger.h"
#include "sweeps/search_run.h"
#include "sweeps/status.h"
#include "sweeps/sweep.h"
#include "test_util.h"

namespace fracsweep {
namespace {

namespace fs = std::filesystem;
using sweeps::LedgerEvent;
using sweeps::LedgerRecord;
using testing::run_fracsweep;
using testing::run_fracsweep_mpi;
using testing::TempDir;

// 10 trials x 3 folds of up to 9 epochs of 40 ms, over a space of settings
// whose curves differ less than their test noise (so that choosing on test
// picks other trials than choosing on validation). `ranks_per_job` 2 on 2
// ranks is one group, whose results arrive in one order run after run.
std::string search_sweep(const fs::path& output, int ranks_per_job) {
  return "name: curve-search\n"
         "output: " + output.string() + "\n"
         "preset: tiny\n"
         "ranks_per_job: " + std::to_string(ranks_per_job) + "\n"
         "dataset: {phantom: {patients: 12, patch_size: 32, seed: 1}}\n"
         "protocol: {split: kfold, folds: 3, val_share: 0.2}\n"
         "seeds: [1]\n"
         "variants:\n"
         "  curve: {model: {variant: curve}}\n"
         "train: {curve_epoch_seconds: 0.04, threads: 1}\n"
         "search:\n"
         "  metric: aAUC\n"
         "  trials: 10\n"
         "  reduction_factor: 3\n"
         "  max_epochs: 9\n"
         "  startup_trials: 4\n"
         "  seed: 3\n"
         "  space:\n"
         "    train.lr: {dist: loguniform, low: 6.0e-4, high: 1.6e-3}\n"
         "    train.triplet_margin: {dist: uniform, low: 0.2, high: 0.4}\n"
         "    train.loss_weights.d: {dist: loguniform, low: 0.12, high: 0.35}\n";
}

std::vector<LedgerRecord> ledger_of(const fs::path& output) {
  core::Logger quiet(core::LogLevel::kOff);
  return sweeps::read_sweep_ledger(output.string(), quiet);
}

void wait_for_unlock(const fs::path& out) {
  for (int i = 0; i < 500 && sweeps::sweep_running(out.string()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

// What a search decided: each trial's values, the rung each stopped trial was
// stopped at, and the jobs that finished with their test aAUC.
struct Decisions {
  std::map<int, sweeps::ParamValues> params;
  std::map<int, int> stopped;
  std::map<std::string, double> finished;
  bool operator==(const Decisions&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Decisions& d) {
  for (const auto& [t, p] : d.params) {
    os << "trial " << t << ":";
    for (const auto& [k, v] : p) os << " " << k << "=" << v;
    if (d.stopped.count(t)) os << " stopped at " << d.stopped.at(t);
    os << "\n";
  }
  return os << d.finished.size() << " jobs finished\n";
}

Decisions decisions_of(const sweeps::Sweep& sweep, const std::vector<LedgerRecord>& records) {
  const sweeps::SearchRun run(sweep, records);
  Decisions d;
  for (int t = 0; t < sweep.search->trials; ++t)
    if (auto p = run.params_of_trial(t)) d.params[t] = *p;
  d.stopped = run.stopped_trials();
  for (const LedgerRecord& r : records)
    if (r.event == LedgerEvent::kFinished) d.finished[r.name] = r.metrics.at("aAUC").get<double>();
  return d;
}

// Replays the ledger record by record and checks each decision the run wrote
// against the state the records before it imply: a started job's values are
// its trial's (proposed then, for its first job), no job of a stopped trial
// starts, and a job stopped after an epoch belongs to a stopped trial.
void expect_every_decision_follows_from_the_ledger(const sweeps::Sweep& sweep,
                                                   const std::vector<LedgerRecord>& records) {
  std::map<std::string, int> index;
  for (size_t i = 0; i < sweep.jobs.size(); ++i) index[sweep.jobs[i].id] = static_cast<int>(i);
  sweeps::SearchRun run(sweep, {});
  int checked_starts = 0, checked_stops = 0;
  for (size_t k = 0; k < records.size(); ++k) {
    const LedgerRecord& r = records[k];
    const int job = index.at(r.job);
    if (r.event == LedgerEvent::kStarted) {
      const auto handout = run.next({job}, {});
      ASSERT_TRUE(handout.has_value()) << "record " << k << ": " << r.name << " started after it ended";
      EXPECT_FALSE(handout->skip) << "record " << k << ": " << r.name
                                  << " started although its trial was stopped";
      EXPECT_EQ(sweeps::params_from_json(*sweep.search, r.params), handout->params)
          << "record " << k << ": " << r.name << " started with values the ledger does not imply";
      ++checked_starts;
    }
    if (r.event == LedgerEvent::kStopped) {
      EXPECT_TRUE(run.stopped(job)) << "record " << k << ": " << r.name
                                    << " stopped while its trial was not";
      ++checked_stops;
    }
    run.apply(r);
  }
  EXPECT_GT(checked_starts, 0);
  EXPECT_GT(checked_stops, 0) << "no trial was stopped: the test proves nothing about stops";
}

class SearchCommand : public ::testing::Test {
 protected:
  // One uninterrupted run of the one-group sweep, shared by the tests.
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    const fs::path out = dir_->path() / "reference";
    sweep_file_ = dir_->write("reference.yaml", search_sweep(out, 2));
    const auto r = run_fracsweep_mpi(2, {"run", sweep_file_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    reference_out_ = out;
    reference_log_ = r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static inline TempDir* dir_ = nullptr;
  static inline std::string sweep_file_;
  static inline fs::path reference_out_;
  static inline std::string reference_log_;
};

TEST_F(SearchCommand, RunsTheSearchStopsTrialsAndPrintsEachTrial) {
  ASSERT_FALSE(reference_out_.empty());
  const sweeps::Sweep sweep = sweeps::load_sweep(sweep_file_);
  const std::vector<LedgerRecord> records = ledger_of(reference_out_);
  const Decisions d = decisions_of(sweep, records);
  EXPECT_EQ(d.params.size(), 10u) << d;
  EXPECT_GE(d.stopped.size(), 3u) << "ASHA with eta 3 stops most trials at its first rung\n" << d;
  EXPECT_LT(d.stopped.size(), 10u) << d;
  expect_every_decision_follows_from_the_ledger(sweep, records);
  // On one group a trial's first folds pause at each rung until its last fold
  // reaches it, so no job of a stopped trial ran to its end.
  EXPECT_HAS(reference_log_, "pause curve/fold0/seed1/trial0 after epoch 1");
  for (const auto& [trial, epoch] : d.stopped) {
    EXPECT_TRUE(epoch == 1 || epoch == 3) << "rungs of eta 3 below 9 epochs are 1 and 3";
    for (int fold = 0; fold < 3; ++fold) {
      const std::string job =
          "curve/fold" + std::to_string(fold) + "/seed1/trial" + std::to_string(trial);
      EXPECT_FALSE(d.finished.count(job)) << job << " of a stopped trial ran to its end";
    }
  }
  const auto again = run_fracsweep_mpi(2, {"run", sweep_file_});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_HAS(again.out, "nothing to run: 30 of 30 jobs finished");
  EXPECT_HAS(again.out, "| trial | configuration | state | validation aAUC |");
  EXPECT_HAS(again.out, "stopped at epoch 1");
  EXPECT_HAS(again.out, "(best)");
}

// SIGKILL of `mpirun -np 2 fracsweep run` at seeded random moments, then a run
// to the end: the same values proposed, the same trials stopped at the same
// rungs, the same jobs finished with the same results as the uninterrupted run.
TEST_F(SearchCommand, KilledAtRandomMomentsAndResumedItDecidesAsAnUninterruptedRun) {
  ASSERT_FALSE(reference_out_.empty());
  const char* seed_env = std::getenv("FRACSWEEP_KILL_SEED");
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10)
                                 : static_cast<uint64_t>(std::random_device{}());
  std::cout << "kill seed " << seed << " (FRACSWEEP_KILL_SEED=" << seed << " repeats it)\n";
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> delay_ms(1500, 4500);
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep_file = dir.write("sweep.yaml", search_sweep(out, 2));
  int kills = 0;
  for (int k = 0; k < 2; ++k) {
    const int ms = delay_ms(rng);
    const auto killed = run_fracsweep_mpi(2, {"run", sweep_file}, [&](int pid) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      testing::kill_tree(pid, SIGKILL);
    });
    wait_for_unlock(out);
    if (killed.exit_code == 0) break;
    ++kills;
  }
  EXPECT_GE(kills, 1) << "seed " << seed << ": the sweep ended before any kill";
  const auto r = run_fracsweep_mpi(2, {"run", sweep_file});
  ASSERT_EQ(r.exit_code, 0) << "seed " << seed << "\n" << r.err;
  const sweeps::Sweep sweep = sweeps::load_sweep(sweep_file);
  const sweeps::Sweep reference = sweeps::load_sweep(sweep_file_);
  const Decisions resumed = decisions_of(sweep, ledger_of(out));
  const Decisions uninterrupted = decisions_of(reference, ledger_of(reference_out_));
  EXPECT_EQ(resumed, uninterrupted) << "seed " << seed << "\nresumed:\n"
                                    << resumed << "uninterrupted:\n" << uninterrupted;
  expect_every_decision_follows_from_the_ledger(sweep, ledger_of(out));
}

// Two groups: results arrive in an order that varies from run to run, so the
// decisions may too, but each must still be the one its ledger implies.
TEST(SearchCommandGroups, TwoGroupsDecideOnlyWhatTheirLedgerImplies) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep_file = dir.write("sweep.yaml", search_sweep(out, 1));
  const auto r = run_fracsweep_mpi(2, {"run", sweep_file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const sweeps::Sweep sweep = sweeps::load_sweep(sweep_file);
  const auto records = ledger_of(out);
  expect_every_decision_follows_from_the_ledger(sweep, records);
  std::set<int> ranks;
  for (const LedgerRecord& rec : records)
    if (rec.event == LedgerEvent::kStarted) ranks.insert(rec.rank);
  EXPECT_EQ(ranks, (std::set<int>{0, 1})) << "both groups trained";
}

// Per fold, the independent oracle: the chosen trial is the one with the best
// ledger result at the last epoch, and its test aAUC is the job's metrics.json.
struct Oracle {
  double by_validation = 0, by_test = 0;  // mean test aAUC over folds
  std::map<std::string, int> chosen;      // fold -> trial
};

Oracle oracle_of(const sweeps::Sweep& sweep, const std::vector<LedgerRecord>& records) {
  std::map<std::string, double> final_val, test;  // job id -> value
  for (const LedgerRecord& r : records) {
    if (r.event == LedgerEvent::kResult && r.epoch == 9) final_val[r.job] = r.value;
    if (r.event == LedgerEvent::kFinished) test[r.job] = r.metrics.at("aAUC").get<double>();
  }
  std::map<std::string, std::pair<double, const sweeps::SweepJob*>> best_val, best_test;
  for (const sweeps::SweepJob& j : sweep.jobs) {
    if (!test.count(j.id) || !final_val.count(j.id)) continue;
    const std::string fold = j.part;
    if (!best_val.count(fold) || final_val[j.id] > best_val[fold].first)
      best_val[fold] = {final_val[j.id], &j};
    if (!best_test.count(fold) || test[j.id] > best_test[fold].first) best_test[fold] = {test[j.id], &j};
  }
  Oracle o;
  for (const auto& [fold, v] : best_val) {
    o.by_validation += test[v.second->id] / static_cast<double>(best_val.size());
    o.chosen[fold] = v.second->trial;
  }
  for (const auto& [fold, v] : best_test) o.by_test += v.first / static_cast<double>(best_test.size());
  return o;
}

// The aAUC mean (in percent) of table.csv's one row.
double table_aauc(const fs::path& csv) {
  std::istringstream in(core::read_file(csv.string()));
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  auto cells = [](const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) out.push_back(c);
    return out;
  };
  const auto names = cells(header), values = cells(row);
  for (size_t i = 0; i < names.size() && i < values.size(); ++i)
    if (names[i] == "aAUC_mean") return std::stod(values[i]);
  ADD_FAILURE() << csv << " has no aAUC_mean";
  return 0;
}

TEST_F(SearchCommand, TheReportChoosesOnValidationWhereChoosingOnTestWouldInflate) {
  ASSERT_FALSE(reference_out_.empty());
  const sweeps::Sweep sweep = sweeps::load_sweep(sweep_file_);
  const Oracle oracle = oracle_of(sweep, ledger_of(reference_out_));
  ASSERT_EQ(oracle.chosen.size(), 3u);
  // The case: selecting on test would report more than the honest choice.
  ASSERT_GT(oracle.by_test, oracle.by_validation + 0.002)
      << "the curve's test noise no longer makes choosing on test inflate the score";

  const fs::path report_dir = dir_->path() / "report";
  const auto r = run_fracsweep({"report", reference_out_.string(), "--out", report_dir.string(),
                                "--no-curves"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NEAR(table_aauc(report_dir / "table.csv"), 100 * oracle.by_validation, 1e-3);
  EXPECT_HAS(r.out, "configuration chosen per fold by validation aAUC");
  const std::string selection = core::read_file((report_dir / "selection.csv").string());
  for (const auto& [fold, trial] : oracle.chosen)
    EXPECT_HAS(selection, fold + "/seed1," + std::to_string(trial) + ",");

  const auto refused = run_fracsweep({"report", reference_out_.string(), "--out",
                                      (dir_->path() / "peek").string(), "--no-curves",
                                      "--select-on", "test"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_HAS(refused.err, "--force");
  EXPECT_FALSE(fs::exists(dir_->path() / "peek" / "table.csv"));

  const fs::path forced_dir = dir_->path() / "forced";
  const auto forced = run_fracsweep({"report", reference_out_.string(), "--out", forced_dir.string(),
                                     "--no-curves", "--select-on", "test", "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_HAS(forced.out, "OPTIMISTIC: chosen on test");
  EXPECT_NEAR(table_aauc(forced_dir / "table.csv"), 100 * oracle.by_test, 1e-3);
}

}  // namespace
}  // namespace fracsweep
