// The job coordinator and its clients over the memory transport: leaders are
// threads of this process, so the hand-out's book-keeping is tested without
// mpirun (tests/mpi/scheduler_test.cpp runs the same protocol over MPI).
#include "schedule/coordinator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/error.h"
#include "schedule/memory_transport.h"

namespace fracsweep::schedule {
namespace {

std::deque<int> jobs(int n) {
  std::deque<int> queue;
  for (int j = 0; j < n; ++j) queue.push_back(j);
  return queue;
}

// Runs `lead(group layout, client)` for each group's leader on a thread of its
// own, `ranks_per_job` ranks to a group, and waits for them.
template <typename Lead>
void run_leaders(MemoryTransport& transport, int world, int ranks_per_job, Lead lead) {
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; rank += ranks_per_job) {
    threads.emplace_back([&, rank] {
      const GroupLayout layout = group_layout(rank, world, ranks_per_job);
      CoordinatorClient client(transport.leader(rank), layout, "host" + std::to_string(rank));
      lead(layout, client);
    });
  }
  for (auto& t : threads) t.join();
}

TEST(Coordinator, HandsOutEveryJobOnceAndHearsEveryReport) {
  MemoryTransport transport;
  core::Logger log(core::LogLevel::kOff);
  constexpr int kJobs = 57, kWorld = 6, kPerJob = 2;
  std::mutex mutex;
  std::multiset<int> started, reported, taken;
  std::map<int, int> taken_by_group;
  CoordinatorEvents events;
  events.started = [&](const Assignment& a, const GroupState& g) {
    std::lock_guard lock(mutex);
    EXPECT_EQ(g.ranks, (std::vector<int>{g.group * kPerJob, g.group * kPerJob + 1}));
    EXPECT_EQ(g.host, "host" + std::to_string(g.group * kPerJob));
    started.insert(a.job);
  };
  events.reported = [&](const JobReport& r, const GroupState& g) {
    std::lock_guard lock(mutex);
    EXPECT_EQ(r.metrics.value("by", -1), g.group);
    reported.insert(r.job);
  };
  Coordinator coordinator(transport.coordinator(), kWorld / kPerJob, queue_source(jobs(kJobs)),
                          std::move(events), CoordinatorOptions{}, log);
  run_leaders(transport, kWorld, kPerJob, [&](const GroupLayout& layout, CoordinatorClient& client) {
    std::optional<JobReport> previous;
    while (const auto job = client.next_job(previous, 30)) {
      {
        std::lock_guard lock(mutex);
        taken.insert(*job);
        ++taken_by_group[layout.group];
      }
      // Uneven groups: group 2 is slow, so the others must take more.
      if (layout.group == 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      previous = JobReport{*job, Outcome::kFinished, {{"by", layout.group}}, "", 0};
    }
  });
  coordinator.join();
  std::multiset<int> every;
  for (int j = 0; j < kJobs; ++j) every.insert(j);
  EXPECT_EQ(taken, every);
  EXPECT_EQ(started, every);
  EXPECT_EQ(reported, every);
  EXPECT_LT(taken_by_group[2], taken_by_group[0]) << "the slow group took as many jobs";
  EXPECT_FALSE(coordinator.interrupted());
  EXPECT_FALSE(transport.aborted());
}

// An interrupted job and a storage failure each end the hand-out for every group.
class CoordinatorStops : public testing::TestWithParam<Outcome> {};

TEST_P(CoordinatorStops, TheHandOutAndASilentGroupIsNamed) {
  MemoryTransport transport;
  core::Logger log(core::LogLevel::kOff);
  std::mutex mutex;
  std::vector<int> stuck_groups;
  CoordinatorEvents events;
  events.stuck = [&](const GroupState& g, double silent) {
    std::lock_guard lock(mutex);
    EXPECT_GE(silent, 0.2);
    EXPECT_GE(g.job, 0);
    stuck_groups.push_back(g.group);
  };
  CoordinatorOptions options;
  options.tick_seconds = 0.05;
  options.timeout_seconds = 0.2;
  Coordinator coordinator(transport.coordinator(), 2, queue_source(jobs(100)), std::move(events), options,
                          log);
  std::atomic<int> taken{0};
  run_leaders(transport, 2, 1, [&](const GroupLayout& layout, CoordinatorClient& client) {
    std::optional<JobReport> previous;
    while (const auto job = client.next_job(previous, 30)) {
      ++taken;
      if (layout.group == 1) {
        // Silent for longer than the timeout, then interrupted (as by a signal) or out of disk.
        std::this_thread::sleep_for(std::chrono::milliseconds(600));
        previous = JobReport{*job, GetParam(), {}, "", 0};
      } else {
        // Heartbeats keep group 0 from being called silent.
        client.heartbeat({*job, 0, 1, 1, 1});
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        previous = JobReport{*job, Outcome::kFinished, {}, "", 0};
      }
    }
  });
  coordinator.join();
  EXPECT_TRUE(coordinator.interrupted());
  EXPECT_LT(taken, 100) << "the hand-out went on after an interruption";
  EXPECT_NE(std::find(stuck_groups.begin(), stuck_groups.end(), 1), stuck_groups.end());
  EXPECT_EQ(std::find(stuck_groups.begin(), stuck_groups.end(), 0), stuck_groups.end());
}

INSTANTIATE_TEST_SUITE_P(InterruptedOrStorage, CoordinatorStops,
                         testing::Values(Outcome::kInterrupted, Outcome::kStorage));

// A search's traffic: each job comes with its values, each epoch's result
// reaches the coordinator (NaN included), and its answer stops or pauses the
// job; a stopped job's report carries the epoch.
TEST(Coordinator, CarriesValuesAndEpochResultsAndAnswersWhetherToStop) {
  MemoryTransport transport;
  core::Logger log(core::LogLevel::kOff);
  constexpr int kJobs = 12, kEpochs = 4;
  std::mutex mutex;
  std::multiset<std::pair<int, int>> results;  // (job, epoch)
  std::map<int, int> stopped_at, paused_at;
  int nan_results = 0, next = 0;
  JobSource source = [&]() -> std::optional<Assignment> {
    if (next == kJobs) return std::nullopt;
    const int job = next++;
    return Assignment{job, {{"train.lr", std::to_string(job)}}};
  };
  CoordinatorEvents events;
  events.result = [&](const EpochResult& r, const GroupState& g) {
    std::lock_guard lock(mutex);
    EXPECT_EQ(r.job, g.job);
    results.insert({r.job, r.epoch});
    if (std::isnan(r.value)) ++nan_results;
    else EXPECT_DOUBLE_EQ(r.value, r.job + 0.1 * r.epoch);
    return r.job % 3 == 0 && r.epoch == 2   ? EpochAnswer::kStop
           : r.job % 3 == 1 && r.epoch == 3 ? EpochAnswer::kPause
                                            : EpochAnswer::kContinue;
  };
  events.reported = [&](const JobReport& r, const GroupState&) {
    std::lock_guard lock(mutex);
    if (r.outcome == Outcome::kStopped) stopped_at[r.job] = r.epoch;
    if (r.outcome == Outcome::kPaused) paused_at[r.job] = r.epoch;
  };
  Coordinator coordinator(transport.coordinator(), 3, std::move(source), std::move(events),
                          CoordinatorOptions{}, log);
  std::atomic<int> wrong_values{0}, taken{0};
  run_leaders(transport, 3, 1, [&](const GroupLayout&, CoordinatorClient& client) {
    std::optional<JobReport> previous;
    while (const auto a = client.next(previous, 30)) {
      ++taken;
      if (a->params.value("train.lr", "") != std::to_string(a->job)) ++wrong_values;
      previous = JobReport{a->job, Outcome::kFinished, {}, "", 0};
      for (int epoch = 1; epoch <= kEpochs; ++epoch) {
        const double value = epoch == kEpochs && a->job == 2 ? std::nan("") : a->job + 0.1 * epoch;
        const EpochAnswer answer = client.epoch_result({a->job, epoch, value}, 30);
        if (answer != EpochAnswer::kContinue) {
          previous->outcome = answer == EpochAnswer::kStop ? Outcome::kStopped : Outcome::kPaused;
          previous->epoch = epoch;
          break;
        }
      }
    }
  });
  coordinator.join();
  EXPECT_EQ(wrong_values, 0);
  EXPECT_EQ(taken, kJobs);
  std::multiset<std::pair<int, int>> expected;
  std::map<int, int> expected_stops, expected_pauses;
  for (int j = 0; j < kJobs; ++j) {
    const int last = j % 3 == 0 ? 2 : j % 3 == 1 ? 3 : kEpochs;
    for (int e = 1; e <= last; ++e) expected.insert({j, e});
    if (j % 3 == 0) expected_stops[j] = 2;
    if (j % 3 == 1) expected_pauses[j] = 3;
  }
  EXPECT_EQ(results, expected);
  EXPECT_EQ(stopped_at, expected_stops);
  EXPECT_EQ(paused_at, expected_pauses);
  EXPECT_EQ(nan_results, 1);
}

TEST(Coordinator, AStopEndsTheHandOutForEveryGroup) {
  MemoryTransport transport;
  core::Logger log(core::LogLevel::kOff);
  bool stop = false;
  CoordinatorEvents events;
  events.should_stop = [&] { return stop; };
  events.started = [&](const Assignment& a, const GroupState&) { stop = a.job == 4; };
  Coordinator coordinator(transport.coordinator(), 2, queue_source(jobs(50)), std::move(events),
                          CoordinatorOptions{}, log);
  std::atomic<int> taken{0};
  run_leaders(transport, 2, 1, [&](const GroupLayout&, CoordinatorClient& client) {
    std::optional<JobReport> previous;
    while (const auto job = client.next_job(previous, 30)) {
      ++taken;
      previous = JobReport{*job, Outcome::kFinished, {}, "", 0};
    }
  });
  coordinator.join();
  EXPECT_EQ(taken, 5) << "jobs 0-4 were handed out, none after the stop";
}

// The coordinator's thread fails (its ledger cannot be written): every leader
// waiting on it is released with an error instead of waiting forever.
TEST(Coordinator, AFailingCoordinatorReleasesEveryLeader) {
  MemoryTransport transport;
  core::Logger log(core::LogLevel::kOff);
  CoordinatorEvents events;
  events.started = [](const Assignment& a, const GroupState&) {
    if (a.job == 3) throw core::StorageError("ledger.jsonl: No space left on device");
  };
  Coordinator coordinator(transport.coordinator(), 2, queue_source(jobs(10)), std::move(events),
                          CoordinatorOptions{}, log);
  std::atomic<int> released{0};
  run_leaders(transport, 2, 1, [&](const GroupLayout&, CoordinatorClient& client) {
    try {
      std::optional<JobReport> previous;
      while (const auto job = client.next_job(previous, 0)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        previous = JobReport{*job, Outcome::kFinished, {}, "", 0};
      }
    } catch (const core::CommError& e) {
      EXPECT_NE(std::string(e.what()).find("aborted"), std::string::npos) << e.what();
      ++released;
    }
  });
  coordinator.join();
  EXPECT_TRUE(transport.aborted());
  EXPECT_EQ(released, 2);
}

TEST(CoordinatorClient, AnUnansweredRequestFailsAfterItsTimeout) {
  MemoryTransport transport;  // no coordinator reads it
  CoordinatorClient client(transport.leader(0), group_layout(0, 1, 1), "host");
  const auto started = std::chrono::steady_clock::now();
  try {
    client.next_job(std::nullopt, 0.2);
    FAIL() << "no answer came, yet next_job returned";
  } catch (const core::CommError& e) {
    EXPECT_NE(std::string(e.what()).find("did not answer group 0's request for a job within 0.2 s"),
              std::string::npos)
        << e.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(200));
  EXPECT_THROW(client.epoch_result({0, 1, 0.5}, 0.05), core::CommError);
}

TEST(GroupLayout, CutsTheWorldIntoConsecutiveGroups) {
  const GroupLayout g = group_layout(5, 6, 2);
  EXPECT_EQ(g.group, 2);
  EXPECT_EQ(g.groups, 3);
  EXPECT_EQ(g.group_rank, 1);
  EXPECT_EQ(g.ranks, (std::vector<int>{4, 5}));
  EXPECT_FALSE(g.leader());
  EXPECT_TRUE(group_layout(4, 6, 2).leader());
  try {
    group_layout(0, 6, 4);
    FAIL() << "6 ranks formed groups of 4";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot form groups of 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(group_layout(0, 1, 0), core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::schedule
