// A run's hand-out book without MPI: the order jobs are handed out in, and what a
// run's hand-outs and reports leave in the ledger, driven by the real coordinator
// over the memory transport with leaders on threads.
#include "sweeps/run_book.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "schedule/memory_transport.h"
#include "sweeps/ledger.h"
#include "test_util.h"

namespace fracsweep::sweeps {
namespace {

std::string table3(const std::string& output) {
  return R"(
name: t3
output: )" + output + R"(
preset: tiny
dataset: {store: vcf.h5}
protocol: {split: random, repeats: [0, 1]}
seeds: [1, 2]
variants:
  tsccn: {model: {variant: tsccn}}
  two-stream: {model: {variant: two-stream}, train: {epochs: 5}}
train: {epochs: 2}
)";
}

TEST(MakeQueue, InterruptedFirstThenLongestFirstAndDoneOnesLeftOut) {
  const Sweep sweep = parse_sweep(table3("runs/t3"), "s.yaml");
  ASSERT_EQ(sweep.jobs.size(), 8u);
  const LedgerOrigin here{0, "host", ""};
  std::vector<LedgerRecord> records;
  records.push_back(make_started(sweep.jobs[0].id, sweep.jobs[0].name, here));  // interrupted
  records.push_back(make_started(sweep.jobs[1].id, sweep.jobs[1].name, here));
  records.push_back(make_finished(sweep.jobs[1].id, sweep.jobs[1].name, here, {{"aAUC", 0.5}}));
  records.push_back(make_started(sweep.jobs[2].id, sweep.jobs[2].name, here));
  records.push_back(make_failed(sweep.jobs[2].id, sweep.jobs[2].name, here, "boom"));
  const LedgerState state = summarize(records);
  int finished = 0, failed_skipped = 0;
  const std::deque<int> queue = make_queue(sweep, state, false, 0, 1, &finished, &failed_skipped);
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(failed_skipped, 1);
  ASSERT_EQ(queue.size(), 6u);
  EXPECT_EQ(queue.front(), 0) << "the interrupted job resumes first";
  // Then the 5-epoch two-stream jobs before the 2-epoch ones, each kind in sweep order.
  std::vector<int> rest(queue.begin() + 1, queue.end());
  for (size_t k = 1; k < rest.size(); ++k) {
    const auto& a = sweep.jobs[static_cast<size_t>(rest[k - 1])];
    const auto& b = sweep.jobs[static_cast<size_t>(rest[k])];
    EXPECT_GE(a.config.train.epochs, b.config.train.epochs) << a.name << " before " << b.name;
    if (a.config.train.epochs == b.config.train.epochs) {
      EXPECT_LT(rest[k - 1], rest[k]);
    }
  }
  int f2 = 0, s2 = 0;
  EXPECT_EQ(make_queue(sweep, state, true, 0, 1, &f2, &s2).size(), 7u) << "a retry hands out the failed job";
  // Two shards split the jobs between them, none twice.
  int fa = 0, sa = 0, fb = 0, sb = 0;
  const std::deque<int> a = make_queue(sweep, LedgerState{}, false, 0, 2, &fa, &sa);
  const std::deque<int> b = make_queue(sweep, LedgerState{}, false, 1, 2, &fb, &sb);
  std::set<int> both(a.begin(), a.end());
  both.insert(b.begin(), b.end());
  EXPECT_EQ(a.size() + b.size(), 8u);
  EXPECT_EQ(both.size(), 8u);
}

// Three groups run a sweep through the coordinator: every job is started and
// finished once in the ledger, a failure is recorded with its error, and a
// storage failure stops the hand-out with its error kept.
TEST(RunBook, RecordsEveryHandOutAndReportInTheLedger) {
  testing::TempDir dir;
  const std::string output = (dir.path() / "t3").string();
  const Sweep sweep = parse_sweep(table3(output), "s.yaml");
  std::filesystem::create_directories(output);
  core::Logger log(core::LogLevel::kOff);
  int finished_before = 0, skipped = 0;
  std::deque<int> queue = make_queue(sweep, LedgerState{}, false, 0, 1, &finished_before, &skipped);
  RunBook book(sweep, make_manifest(sweep, 3, 1), {}, run_writer(), std::move(queue), log);
  schedule::MemoryTransport transport;
  schedule::CoordinatorEvents events;
  events.started = [&](const schedule::Assignment& a, const schedule::GroupState& g) { book.started(a, g); };
  events.reported = [&](const schedule::JobReport& r, const schedule::GroupState& g) { book.reported(r, g); };
  events.tick = [&](const std::vector<schedule::GroupState>& g) { book.tick(g); };
  schedule::Coordinator coordinator(transport.coordinator(), 3, [&] { return book.next(); },
                                    std::move(events), schedule::CoordinatorOptions{}, log);
  std::vector<std::thread> leaders;
  for (int rank = 0; rank < 3; ++rank) {
    leaders.emplace_back([&, rank] {
      schedule::CoordinatorClient client(transport.leader(rank), schedule::group_layout(rank, 3, 1),
                                         "host" + std::to_string(rank));
      std::optional<schedule::JobReport> previous;
      while (const auto job = client.next_job(previous, 30)) {
        previous = schedule::JobReport{*job, schedule::Outcome::kFinished, {{"aAUC", 0.25 * rank}}, "", 0};
        if (*job == 3) previous = schedule::JobReport{*job, schedule::Outcome::kFailed, {}, "bad batch", 0};
      }
    });
  }
  for (auto& t : leaders) t.join();
  coordinator.join();
  EXPECT_EQ(book.finished(), 7);
  EXPECT_EQ(book.failed(), 1);
  EXPECT_TRUE(book.storage_error().empty());
  const std::vector<LedgerRecord> on_disk = read_ledger(ledger_path(output, run_writer()), log);
  std::map<std::string, int> starts, finishes, failures;
  for (const LedgerRecord& r : on_disk) {
    if (r.event == LedgerEvent::kStarted) ++starts[r.job];
    if (r.event == LedgerEvent::kFinished) ++finishes[r.job];
    if (r.event == LedgerEvent::kFailed) {
      ++failures[r.job];
      EXPECT_EQ(r.error, "bad batch");
      EXPECT_EQ(r.job, sweep.jobs[3].id);
    }
  }
  for (const SweepJob& j : sweep.jobs) {
    EXPECT_EQ(starts[j.id], 1) << j.name;
    EXPECT_EQ(finishes[j.id] + failures[j.id], 1) << j.name;
  }
  EXPECT_EQ(summarize(on_disk).jobs.size(), 8u);
}

TEST(RunBook, AStorageFailureStopsTheHandOutAndKeepsItsError) {
  testing::TempDir dir;
  const std::string output = (dir.path() / "t3").string();
  const Sweep sweep = parse_sweep(table3(output), "s.yaml");
  std::filesystem::create_directories(output);
  core::Logger log(core::LogLevel::kOff);
  int f = 0, s = 0;
  RunBook book(sweep, make_manifest(sweep, 1, 1), {}, run_writer(), make_queue(sweep, LedgerState{}, false, 0, 1, &f, &s),
               log);
  schedule::MemoryTransport transport;
  schedule::CoordinatorEvents events;
  events.started = [&](const schedule::Assignment& a, const schedule::GroupState& g) { book.started(a, g); };
  events.reported = [&](const schedule::JobReport& r, const schedule::GroupState& g) { book.reported(r, g); };
  schedule::Coordinator coordinator(transport.coordinator(), 1, [&] { return book.next(); },
                                    std::move(events), schedule::CoordinatorOptions{}, log);
  schedule::CoordinatorClient client(transport.leader(0), schedule::group_layout(0, 1, 1), "host");
  int taken = 0;
  std::optional<schedule::JobReport> previous;
  while (const auto job = client.next_job(previous, 30)) {
    ++taken;
    previous = taken == 2 ? schedule::JobReport{*job, schedule::Outcome::kStorage, {}, "out of disk", 0}
                          : schedule::JobReport{*job, schedule::Outcome::kFinished, {{"aAUC", 0.5}}, "", 0};
  }
  coordinator.join();
  EXPECT_EQ(taken, 2);
  EXPECT_TRUE(coordinator.interrupted());
  EXPECT_EQ(book.finished(), 1);
  EXPECT_EQ(book.failed(), 0) << "a storage failure is not the job's";
  EXPECT_NE(book.storage_error().find("out of disk"), std::string::npos) << book.storage_error();
  EXPECT_EQ(book.queued(), sweep.jobs.size() - 2);
}

}  // namespace
}  // namespace fracsweep::sweeps
