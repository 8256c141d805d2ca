// Tests of a sweep's status: counts per variant from the ledger and progress, the ETA from
// hand-computed durations, the manifest and progress files, the lock probe, and
// `fracsweep status` on a folder written by hand.
#include "sweeps/status.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "sweeps/ledger.h"
#include "test_util.h"

namespace fracsweep::sweeps {
namespace {

const LedgerOrigin kOrigin{0, "n001"};

// "2026-11-22T10:MM:SSZ", so durations are easy to read off.
std::string at(int minute, int second = 0) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-22T10:%02d:%02d.000Z", minute, second);
  return buf;
}

// Variants a (a1..a3), b (b1..b3) and c (c1, c2); job ids are the names without the slash.
SweepManifest manifest(int groups) {
  SweepManifest m;
  m.name = "toy";
  m.sweep_file = "toy.yaml";
  m.ranks = groups;
  m.ranks_per_job = 1;
  m.groups = groups;
  for (const char* v : {"a", "b", "c"}) {
    for (int i = 1; i <= (v[0] == 'c' ? 2 : 3); ++i) {
      const std::string id = std::string(v) + std::to_string(i);
      ManifestJob job;
      job.id = id;
      job.name = std::string(v) + "/" + std::to_string(i);
      job.variant = v;
      job.epochs = 4;
      m.jobs.push_back(job);
    }
  }
  return m;
}

LedgerRecord started(const std::string& id, const std::string& time) {
  return make_started(id, id, kOrigin, time);
}
LedgerRecord finished(const std::string& id, const std::string& time) {
  return make_finished(id, id, kOrigin, nlohmann::json::object(), time);
}
LedgerRecord failed(const std::string& id, const std::string& error, const std::string& time) {
  return make_failed(id, id, kOrigin, error, time);
}

GroupProgress training(int group, const std::string& job, int epoch, int64_t step,
                       int64_t steps, const std::string& started_at) {
  GroupProgress g;
  g.group = group;
  g.ranks = {group};
  g.host = "n00" + std::to_string(group);
  g.job = job;
  g.name = job;
  g.epoch = epoch;
  g.epochs = 4;
  g.step = step;
  g.steps = steps;
  g.started = started_at;
  g.heard = at(50);
  return g;
}

// a1 done (10 min), a2 resumed and done (its last attempt took 20 min), a3 running (epoch 2 of
// 4, half way: 3/8 done); b1 done (5 min), b2 pending, b3 started by an earlier run and not
// picked up again (interrupted); c1 pending, c2 failed twice.
std::vector<LedgerRecord> ledger() {
  return {
      started("a1", at(0)),        finished("a1", at(10)),
      started("a2", at(0)),        started("b1", at(0)),
      finished("b1", at(5)),       started("b3", at(6)),
      started("c2", at(7)),        failed("c2", "first", at(8)),
      started("a2", at(20)),       started("c2", at(21)),
      failed("c2", std::string(150, 'x') + "\nsecond line", at(22)),
      finished("a2", at(40)),      started("a3", at(45)),
  };
}

ProgressSnapshot progress() {
  ProgressSnapshot p;
  p.time = at(50);
  p.host = "n001";
  p.pid = 4242;
  GroupProgress idle;
  idle.group = 0;
  idle.ranks = {0};
  idle.host = "n001";
  p.groups = {idle, training(1, "a3", 1, 5, 10, at(45))};
  return p;
}

TEST(Status, CountsEachStateOfEveryVariant) {
  const SweepStatus st = sweep_status(manifest(2), ledger(), progress(), true, at(50));
  ASSERT_EQ(st.variants.size(), 3u);
  EXPECT_EQ(st.variants[0], (StatusCounts{"a", 3, 2, 1, 0, 0, 0}));
  EXPECT_EQ(st.variants[1], (StatusCounts{"b", 3, 1, 0, 0, 1, 1}));
  EXPECT_EQ(st.variants[2], (StatusCounts{"c", 2, 0, 0, 1, 1, 0}));
  EXPECT_EQ(st.total, (StatusCounts{"", 8, 3, 1, 1, 2, 1}));
  EXPECT_TRUE(st.run_active);
  EXPECT_EQ(st.unlisted, 0);

  ASSERT_EQ(st.running.size(), 1u);
  const RunningJob& r = st.running[0];
  EXPECT_EQ(r.id, "a3");
  EXPECT_EQ(r.group, 1);
  EXPECT_EQ(r.host, "n001");
  EXPECT_DOUBLE_EQ(r.fraction, 0.375);   // (1 + 5/10) / 4
  EXPECT_DOUBLE_EQ(r.elapsed_s, 300);    // 10:45 -> 10:50
  EXPECT_DOUBLE_EQ(r.silent_s, 0);

  ASSERT_EQ(st.failed.size(), 1u);
  EXPECT_EQ(st.failed[0].id, "c2");
  EXPECT_EQ(st.failed[0].failures, 2);
  EXPECT_EQ(st.failed[0].error.substr(150), "\nsecond line");
}

TEST(Status, StartedJobsAreInterruptedWhenNoRunHoldsTheFolder) {
  const SweepStatus st = sweep_status(manifest(2), ledger(), progress(), false, at(50));
  EXPECT_EQ(st.total, (StatusCounts{"", 8, 3, 0, 1, 2, 2}));
  EXPECT_TRUE(st.running.empty());
}

TEST(Status, JobsStartedAfterTheLastProgressReportAreRunning) {
  // The active run started b3 again after progress.json was written: running, not interrupted.
  auto records = ledger();
  records.push_back(started("b3", at(51)));
  const SweepStatus st = sweep_status(manifest(2), records, progress(), true, at(52));
  EXPECT_EQ(st.variants[1], (StatusCounts{"b", 3, 1, 1, 0, 1, 0}));
  // Without any progress.json, every started job of an active run is running.
  const SweepStatus blind = sweep_status(manifest(2), ledger(), std::nullopt, true, at(50));
  EXPECT_EQ(blind.total.running, 2);
  EXPECT_EQ(blind.total.interrupted, 0);
}

TEST(Status, EtaFromMeanDurationsPerVariant) {
  // Durations: a 600 s and 1200 s (a2's last attempt) -> mean 900; b 300; overall 700 for c.
  // Left: a3 900 * (1 - 0.375) = 562.5, b2 300, b3 300, c1 700; c2 failed: not rerun.
  // Work 1862.5 s.
  const SweepStatus two = sweep_status(manifest(2), ledger(), progress(), true, at(50));
  ASSERT_TRUE(two.eta_s.has_value());
  EXPECT_DOUBLE_EQ(*two.eta_s, 1862.5 / 2);
  // With more groups than work to share, the longest job (c1, 700 s) bounds the ETA.
  const SweepStatus many = sweep_status(manifest(8), ledger(), progress(), true, at(50));
  EXPECT_DOUBLE_EQ(*many.eta_s, 700);
  // Without progress.json, both started jobs are running, and each needs its mean minus its
  // elapsed time: a3 900 - 300; b3, started 44 min ago, is past its 300 s: 0.
  const SweepStatus blind = sweep_status(manifest(1), ledger(), std::nullopt, true, at(50));
  EXPECT_DOUBLE_EQ(*blind.eta_s, 600 + 0 + 300 + 700);
}

TEST(Status, EtaFromRunningJobsBeforeAnyFinished) {
  // a3 is 3/8 done after 300 s: 800 s in all, 500 s left; the seven pending jobs take 800 s
  // each.
  const std::vector<LedgerRecord> records = {started("a3", at(45))};
  const SweepStatus st = sweep_status(manifest(2), records, progress(), true, at(50));
  ASSERT_TRUE(st.eta_s.has_value());
  EXPECT_DOUBLE_EQ(*st.eta_s, (500 + 7 * 800) / 2.0);
}

TEST(Status, EtaUnknownWithNothingToEstimateFromAndZeroWhenAllDone) {
  const SweepStatus none = sweep_status(manifest(2), {}, std::nullopt, false, at(50));
  EXPECT_EQ(none.total.pending, 8);
  EXPECT_FALSE(none.eta_s.has_value());
  EXPECT_HAS(format_status(none), "ETA unknown");

  std::vector<LedgerRecord> records;
  for (const ManifestJob& j : manifest(1).jobs) {
    records.push_back(started(j.id, at(0)));
    records.push_back(finished(j.id, at(1)));
  }
  const SweepStatus all = sweep_status(manifest(1), records, std::nullopt, false, at(50));
  ASSERT_TRUE(all.eta_s.has_value());
  EXPECT_EQ(*all.eta_s, 0);
  EXPECT_HAS(format_status(all), "all jobs are done");
}

TEST(Status, LedgerJobsMissingFromTheManifestAreCountedApart) {
  auto records = ledger();
  records.push_back(started("gone", at(1)));
  records.push_back(finished("gone", at(2)));
  const SweepStatus st = sweep_status(manifest(2), records, progress(), true, at(50));
  EXPECT_EQ(st.unlisted, 1);
  EXPECT_EQ(st.total.jobs, 8);
  EXPECT_DOUBLE_EQ(*st.eta_s, 1862.5 / 2);  // its 60 s do not enter the means
  EXPECT_HAS(format_status(st), "1 job(s) in the ledger are not in sweep.json");
}

TEST(Status, FormatShowsTheTableEtaRunningAndFailedJobs) {
  const std::string text =
      format_status(sweep_status(manifest(2), ledger(), progress(), true, at(50)));
  EXPECT_HAS(text, "sweep toy (toy.yaml): running, 2 job(s) at a time");
  EXPECT_HAS(text, "variant   jobs   done  running  failed  pending  interrupted\n");
  EXPECT_HAS(text, "  a            3      2        1       0        0            0\n");
  EXPECT_HAS(text, "  b            3      1        0       0        1            1\n");
  EXPECT_HAS(text, "  total        8      3        1       1        2            1\n");
  EXPECT_HAS(text, "ETA 15m 31s (4 job(s) left, 2 at a time)");  // 931.25 s
  EXPECT_HAS(text, "  a/3  group 1 on n001  epoch 2/4 step 5/10  for 5m 00s\n");
  // The error's first line, cut to 100 characters.
  EXPECT_HAS(text, "  c/2 (2 failures): " + std::string(97, 'x') + "...\n");
  EXPECT_EQ(text.find("second line"), std::string::npos) << text;
  EXPECT_HAS(text, "--retry-failed");
}

TEST(Status, FormatWarnsAboutAGroupThatStoppedReporting) {
  ProgressSnapshot p = progress();
  p.groups[1].heard = at(40);
  const std::string text = format_status(sweep_status(manifest(2), ledger(), p, true, at(50)));
  EXPECT_HAS(text, "(no report for 10m 00s)");
}

TEST(Status, JsonHasCountsEtaAndFailures) {
  const auto j = to_json(sweep_status(manifest(2), ledger(), progress(), true, at(50)));
  EXPECT_EQ(j["total"]["done"], 3);
  EXPECT_EQ(j["variants"][2]["variant"], "c");
  EXPECT_DOUBLE_EQ(j["eta_s"].get<double>(), 931.25);
  EXPECT_EQ(j["failed"][0]["failures"], 2);
  EXPECT_EQ(j["running"][0]["group"], 1);
  EXPECT_TRUE(to_json(sweep_status(manifest(2), {}, std::nullopt, false, at(50)))["eta_s"]
                  .is_null());
}

TEST(Status, DurationsAndTimes) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(750), "12m 30s");
  EXPECT_EQ(format_duration(3 * 3600 + 5 * 60 + 7), "3h 05m");
  EXPECT_EQ(format_duration(2 * 86400 + 4 * 3600), "2d 04h");
  EXPECT_EQ(format_duration(-5), "0s");
  EXPECT_DOUBLE_EQ(*core::parse_utc_iso8601("1970-01-02T00:00:01.5Z"), 86401.5);
  EXPECT_DOUBLE_EQ(*core::parse_utc_iso8601("2026-11-22T10:04:05+00:00") -
                       *core::parse_utc_iso8601("2026-11-22T10:04:00.000Z"),
                   5);
  EXPECT_DOUBLE_EQ(*core::parse_utc_iso8601("2024-03-01T00:00:00Z") -
                       *core::parse_utc_iso8601("2024-02-28T00:00:00Z"),
                   2 * 86400);  // a leap year
  EXPECT_FALSE(core::parse_utc_iso8601("2026-11-22 10:04:05Z"));
  EXPECT_FALSE(core::parse_utc_iso8601("2026-11-22T10:04:05"));  // no zone: not known to be UTC
  EXPECT_FALSE(core::parse_utc_iso8601("2026-02-30T10:04:05Z"));
  EXPECT_FALSE(core::parse_utc_iso8601("2026-11-22T10:04:05.Z"));
  EXPECT_FALSE(core::parse_utc_iso8601(""));
  // The ledger's own clock reads back.
  EXPECT_TRUE(core::parse_utc_iso8601(core::utc_now_iso8601()));
}

constexpr const char* kSweep = R"(
name: toy
output: runs/toy
preset: tiny
dataset: {store: vcf.h5}
protocol: {split: random, repeats: [0, 1]}
variants:
  tsccn: {model: {variant: tsccn}}
  resnet18: {model: {variant: resnet18}, train: {epochs: 5}}
train: {epochs: 2}
)";

TEST(Status, ManifestRoundTripsThroughTheFolder) {
  const Sweep sweep = parse_sweep(kSweep, "toy.yaml");
  const SweepManifest m = make_manifest(sweep, 5, 2);
  EXPECT_EQ(m.name, "toy");
  EXPECT_EQ(m.sweep_file, "toy.yaml");
  EXPECT_EQ(m.groups, 2);
  ASSERT_EQ(m.jobs.size(), 4u);
  EXPECT_EQ(m.jobs[0],
            (ManifestJob{sweep.jobs[0].id, "tsccn/repeat0/seed1", "tsccn", 2, "repeat0", 1, {}, ""}));
  EXPECT_EQ(m.jobs[3].epochs, 5);

  testing::TempDir dir;
  write_manifest(dir.path().string(), m);
  EXPECT_EQ(read_manifest(dir.path().string()), m);
  const std::string text = core::read_file((dir.path() / "sweep.json").string());
  EXPECT_EQ(text.rfind("{\n  \"name\": \"toy\",\n  \"sweep_file\": \"toy.yaml\"", 0), 0u) << text;

  try {
    make_manifest(sweep, 1, 2);
    ADD_FAILURE() << "accepted 1 rank for jobs of 2";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "start it with mpirun -n 2 or more");
  }
}

// The manifest says what a name is made of: readers never parse it back.
TEST(Status, ManifestCarriesPartSeedAndAxisValues) {
  const Sweep sweep = parse_sweep(
      "name: ax\noutput: o\ndataset: {store: s.h5}\nprotocol: {split: kfold, folds: 5, "
      "run_folds: [3]}\nseeds: [7]\naxes: {grid: {train.lr: [0.01], data.subset: [0.5]}}\n"
      "variants: {tsccn: {model: {variant: tsccn}}}\n",
      "ax.yaml");
  const SweepManifest m = make_manifest(sweep, 1, 1);
  ASSERT_EQ(m.jobs.size(), 1u);
  EXPECT_EQ(m.jobs[0].part, "fold3");
  EXPECT_EQ(m.jobs[0].seed, 7u);
  EXPECT_EQ(m.jobs[0].axes, (AxisValues{{"lr", "0.01"}, {"subset", "0.5"}}));
  testing::TempDir dir;
  write_manifest(dir.path().string(), m);
  EXPECT_EQ(read_manifest(dir.path().string()), m);
}

// A sweep run by fracsweep 0.1, whose phantom jobs had other ids, keeps its
// finished jobs: they are recorded again under their ids, once.
TEST(Status, FinishedRecordsUnderFormerIdsAreCarriedOver) {
  const Sweep sweep = parse_sweep(
      "name: p\noutput: o\npreset: tiny\ndataset: {phantom: {patients: 12}}\n"
      "protocol: {split: random, repeats: [0, 1, 2]}\n"
      "variants: {tsccn: {model: {variant: tsccn}}}\n",
      "p.yaml");
  ASSERT_EQ(sweep.jobs.size(), 3u);
  const SweepJob &a = sweep.jobs[0], &b = sweep.jobs[1], &c = sweep.jobs[2];
  LedgerRecord old_a = make_finished(a.former_id, a.name, {2, "n007", "55"},
                                     nlohmann::json{{"aAUC", 0.9}}, "2026-11-01T00:00:00.000Z");
  const std::vector<LedgerRecord> records = {
      old_a,
      make_started(b.former_id, b.name, kOrigin, "2026-11-01T00:00:01.000Z"),  // not finished
      make_finished(c.former_id, c.name, kOrigin, nlohmann::json::object(), "2026-11-01T00:00:02.000Z"),
      make_finished(c.id, c.name, kOrigin, nlohmann::json::object(), "2026-11-02T00:00:00.000Z"),  // already under its id
  };
  const std::vector<LedgerRecord> again = carried_over(sweep, records);
  ASSERT_EQ(again.size(), 1u);
  LedgerRecord expected = old_a;
  expected.job = a.id;
  expected.carried_from = a.former_id;
  EXPECT_EQ(again[0], expected);  // name, time, origin and metrics as they were
  std::vector<LedgerRecord> after = records;
  after.push_back(again[0]);
  EXPECT_TRUE(carried_over(sweep, after).empty());
  // Through the file, and in the status: the former ids are not other jobs.
  EXPECT_HAS(format_ledger_line(again[0]), "\"carried_from\":\"" + a.former_id + "\"");
  const SweepStatus st = sweep_status(make_manifest(sweep, 1, 1), after, std::nullopt, false,
                                      "2026-11-03T00:00:00.000Z");
  EXPECT_EQ(st.total.done, 2);  // a (carried over) and c
  EXPECT_EQ(st.unlisted, 0);    // former ids are the jobs' own past
  EXPECT_EQ(st.total.pending, 1);  // b: started under its former id only
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError";
  return "";
}

TEST(Status, MissingOrBadManifestSaysWhatToDo) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  EXPECT_EQ(error_of([&] { read_manifest(d); }),
            d + " is not a sweep's output folder (no sweep.json); start it with fracsweep run "
                "SWEEP.yaml");
  EXPECT_HAS(error_of([&] { read_manifest(d + "/nope"); }), d + "/nope is not a folder");

  const std::string path = dir.write("sweep.json", "{\"name\": ");
  std::string e = error_of([&] { read_manifest(d); });
  EXPECT_HAS(e, path + ": not valid JSON");
  EXPECT_HAS(e, "fracsweep run SWEEP.yaml");

  nlohmann::ordered_json j = to_json(make_manifest(parse_sweep(kSweep, "toy.yaml"), 1, 1));
  j["jobs"][1]["epochs"] = "many";
  dir.write("sweep.json", j.dump());
  e = error_of([&] { read_manifest(d); });
  EXPECT_HAS(e, path + ": jobs[1]: \"epochs\" must be an integer, found \"many\"");

  j["jobs"][1]["epochs"] = 2;
  j["jobs"][1]["id"] = j["jobs"][0]["id"];
  dir.write("sweep.json", j.dump());
  EXPECT_HAS(error_of([&] { read_manifest(d); }), "is listed twice");
}

TEST(Status, ProgressRoundTripsPerWriterAndIsOptional) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  EXPECT_TRUE(read_progress(d).empty());
  ProgressSnapshot p = progress();
  p.writer = "shard-1-of-2";
  p.slurm_job = "55_1";
  write_progress(d, p);
  ProgressSnapshot q = progress();
  q.writer = "shard-0-of-2";
  q.time = "2026-11-22T09:00:00.000Z";
  write_progress(d, q);
  const auto back = read_progress(d);
  ASSERT_EQ(back.size(), 2u);  // by writer name
  EXPECT_EQ(back[0], q);
  EXPECT_EQ(back[1], p);
  EXPECT_EQ(back[1].groups[1].ranks, std::vector<int>{1});
  const auto merged = merge_progress(back);
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(merged->time, q.time);  // the oldest report
  EXPECT_EQ(merged->groups.size(), p.groups.size() + q.groups.size());
  EXPECT_FALSE(merge_progress({}).has_value());

  // fracsweep 0.1's progress.json is still read, and a bad one named.
  dir.write("progress.json", R"({"time": "x", "host": "h", "pid": 1, "groups": [{"group": -1}]})");
  EXPECT_HAS(error_of([&] { read_progress(d); }),
             (dir.path() / "progress.json").string() + ": groups[0]: \"group\" is -1");
}

// Shards lock the folder with locks of their own; any of them held means a run.
TEST(Status, SweepRunningWhileAShardHoldsItsLock) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  {
    SweepLock shard(d, ".lock-shard-1");
    EXPECT_TRUE(sweep_running(d));
  }
  EXPECT_FALSE(sweep_running(d));
}

TEST(Status, SweepRunningWhileALockIsHeld) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  EXPECT_FALSE(sweep_running(d));  // no lock file yet
  {
    // flock() locks belong to open file descriptions, so the probe's own open() conflicts with
    // a lock held by this same process.
    SweepLock lock(d);
    EXPECT_TRUE(sweep_running(d));
    EXPECT_TRUE(sweep_running(d));  // probing twice: the probe keeps nothing
  }
  EXPECT_FALSE(sweep_running(d));
  // The probe leaves the folder free for a run.
  SweepLock again(d);
  EXPECT_TRUE(sweep_running(d));
}

// A sweep folder as a stopped run leaves it: manifest and ledger, no lock holder.
void write_stopped_sweep(const std::string& d) {
  write_manifest(d, manifest(2));
  core::Logger log(core::LogLevel::kOff);
  Ledger l(ledger_path(d, run_writer()), log);
  for (const LedgerRecord& r : ledger()) l.append(r);
}

// A sharded sweep: each shard's report, with its share of the interrupted jobs.
TEST(Status, EachShardIsShownWithItsShareOfTheInterruptedJobs) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  write_stopped_sweep(d);  // no run holds the folder: started jobs are interrupted
  for (int shard : {0, 1}) {
    ProgressSnapshot p = progress();
    p.writer = shard_writer(shard, 2);
    p.slurm_job = "77_" + std::to_string(shard);
    write_progress(d, p);
  }
  core::Logger log(core::LogLevel::kOff);
  const SweepStatus st = read_sweep_status(d, log);
  ASSERT_FALSE(st.interrupted.empty());
  ASSERT_EQ(st.writers.size(), 2u);
  int even = 0, odd = 0;
  for (size_t i : st.interrupted) (i % 2 ? odd : even) += 1;
  EXPECT_EQ(st.writers[0].interrupted, even);
  EXPECT_EQ(st.writers[1].interrupted, odd);
  const std::string text = format_status(st);
  EXPECT_HAS(text, "shard-0-of-2: host ");
  EXPECT_HAS(text, "SLURM job 77_1");
  EXPECT_HAS(text, std::to_string(odd) + " interrupted");
  EXPECT_EQ(to_json(st)["writers"][1]["slurm_job"], "77_1");
}

TEST(StatusCommand, PrintsTheTableOfAStoppedSweep) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  write_stopped_sweep(d);
  const auto r = testing::run_fracsweep({"status", d});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.out, "sweep toy (toy.yaml): not running");
  EXPECT_HAS(r.out, "  a            3      2        0       0        0            1\n");
  EXPECT_HAS(r.out, "  total        8      3        0       1        2            2\n");
  // a3 is interrupted now: a 900 s job, with b2, b3 (300 s) and c1 (700 s) over 2 groups.
  EXPECT_HAS(r.out, "ETA 18m 20s once resumed, 2 job(s) at a time (4 job(s) left)\n"
                    "resume with: fracsweep run toy.yaml\n");
  EXPECT_HAS(r.out, "  c/2 (2 failures): xxx");
  EXPECT_EQ(r.err, "");

  const auto j = testing::run_fracsweep({"status", d, "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["total"]["interrupted"], 2);
  EXPECT_EQ(parsed["run_active"], false);
}

TEST(StatusCommand, SeesARunHoldingTheLock) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  write_stopped_sweep(d);
  SweepLock lock(d);
  const auto r = testing::run_fracsweep({"status", d});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.out, "sweep toy (toy.yaml): running, 2 job(s) at a time");
}

TEST(StatusCommand, FolderWithoutManifestExitsWithTwo) {
  testing::TempDir dir;
  const auto r = testing::run_fracsweep({"status", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "is not a sweep's output folder (no sweep.json); start it with fracsweep "
                    "run SWEEP.yaml");
}

}  // namespace
}  // namespace fracsweep::sweeps
