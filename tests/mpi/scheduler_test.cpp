// The job coordinator over several ranks (run under mpirun -np 2), through the
// MPI transport: every job is handed out exactly once, reports reach the
// coordinator, a stop ends the hand-out, and a group that goes silent is named.
// tests/schedule/coordinator_test.cpp runs the same protocol between threads.
#include "launcher/mpi_transport.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "launcher/mpi.h"
#include "schedule/coordinator.h"

namespace fracsweep::launcher {
namespace {

using namespace schedule;  // the protocol under test, by its own names

struct World {
  MpiComm up = MpiComm::dup(MPI_COMM_WORLD), down = MpiComm::dup(MPI_COMM_WORLD);
  int rank = 0, size = 1;
  World() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  CoordinatorChannels channels() const { return {up.get(), down.get()}; }
  MpiCoordinatorEnd coordinator_end{channels()};
  MpiLeaderEnd leader_end{channels()};
};

// Every rank's taken jobs, gathered on every rank.
std::vector<int> all_taken(const std::vector<int>& mine, int size) {
  int n = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    displs[static_cast<size_t>(r)] = total;
    total += counts[static_cast<size_t>(r)];
  }
  std::vector<int> out(static_cast<size_t>(total));
  MPI_Allgatherv(mine.data(), n, MPI_INT, out.data(), counts.data(), displs.data(), MPI_INT,
                 MPI_COMM_WORLD);
  return out;
}

TEST(Coordinator, HandsOutEveryJobOnceAndHearsEveryReport) {
  World w;
  ASSERT_GE(w.size, 2) << "run under mpirun -np 2 (or more)";
  const GroupLayout layout = group_layout(w.rank, w.size, 1);
  core::Logger log(core::LogLevel::kOff);
  constexpr int kJobs = 57;
  std::mutex mutex;
  std::multiset<int> started, reported;
  std::optional<Coordinator> coordinator;
  if (w.rank == 0) {
    std::deque<int> queue;
    for (int j = 0; j < kJobs; ++j) queue.push_back(j);
    CoordinatorEvents events;
    events.started = [&](const Assignment& a, const GroupState&) {
      std::lock_guard lock(mutex);
      started.insert(a.job);
    };
    events.reported = [&](const JobReport& r, const GroupState& g) {
      std::lock_guard lock(mutex);
      EXPECT_EQ(r.metrics.value("by", -1), g.ranks.at(0));
      reported.insert(r.job);
    };
    coordinator.emplace(w.coordinator_end, layout.groups, queue_source(std::move(queue)), std::move(events),
                        CoordinatorOptions{}, log);
  }
  std::vector<int> mine;
  {
    CoordinatorClient client(w.leader_end, layout, "host");
    std::optional<JobReport> previous;
    while (const auto job = client.next_job(previous)) {
      mine.push_back(*job);
      // Uneven jobs: rank 1 is slow, so rank 0 must take more.
      if (w.rank == 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      previous = JobReport{*job, Outcome::kFinished, {{"by", w.rank}}, ""};
    }
  }
  if (coordinator) coordinator->join();
  std::vector<int> taken = all_taken(mine, w.size);
  std::sort(taken.begin(), taken.end());
  std::vector<int> every(kJobs);
  for (int j = 0; j < kJobs; ++j) every[static_cast<size_t>(j)] = j;
  EXPECT_EQ(taken, every);
  if (w.rank == 0) {
    EXPECT_EQ(started, std::multiset<int>(every.begin(), every.end()));
    EXPECT_EQ(reported, started);
    EXPECT_GT(mine.size(), static_cast<size_t>(kJobs / w.size)) << "the fast rank took more";
    EXPECT_FALSE(coordinator->interrupted());
  }
}

TEST(Coordinator, AnInterruptedJobStopsTheHandOutAndASilentGroupIsNamed) {
  World w;
  ASSERT_GE(w.size, 2) << "run under mpirun -np 2 (or more)";
  const GroupLayout layout = group_layout(w.rank, w.size, 1);
  core::Logger log(core::LogLevel::kOff);
  std::mutex mutex;
  std::vector<int> stuck_groups;
  std::optional<Coordinator> coordinator;
  if (w.rank == 0) {
    std::deque<int> queue;
    for (int j = 0; j < 100; ++j) queue.push_back(j);
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
    coordinator.emplace(w.coordinator_end, layout.groups, queue_source(std::move(queue)), std::move(events), options,
                        log);
  }
  std::vector<int> mine;
  {
    CoordinatorClient client(w.leader_end, layout, "host");
    std::optional<JobReport> previous;
    while (const auto job = client.next_job(previous)) {
      mine.push_back(*job);
      if (w.rank == 1) {
        // Silent for longer than the timeout, then interrupted (as by a signal).
        std::this_thread::sleep_for(std::chrono::milliseconds(600));
        previous = JobReport{*job, Outcome::kInterrupted, {}, ""};
      } else {
        // Heartbeats keep rank 0's group from being called silent.
        client.heartbeat({*job, 0, 1, 1, 1});
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        previous = JobReport{*job, Outcome::kFinished, {}, ""};
      }
    }
  }
  if (coordinator) coordinator->join();
  const std::vector<int> taken = all_taken(mine, w.size);
  if (w.rank == 0) {
    EXPECT_TRUE(coordinator->interrupted());
    EXPECT_LT(taken.size(), 100u) << "the hand-out went on after an interruption";
    EXPECT_NE(std::find(stuck_groups.begin(), stuck_groups.end(), 1), stuck_groups.end());
    EXPECT_EQ(std::find(stuck_groups.begin(), stuck_groups.end(), 0), stuck_groups.end());
  }
}

// A search's traffic: each job comes with its values, each epoch's result
// reaches the coordinator (NaN included), and its answer stops the job; a
// stopped job's report carries the epoch.
TEST(Coordinator, CarriesValuesAndEpochResultsAndAnswersWhetherToStop) {
  World w;
  ASSERT_GE(w.size, 2) << "run under mpirun -np 2 (or more)";
  const GroupLayout layout = group_layout(w.rank, w.size, 1);
  core::Logger log(core::LogLevel::kError);
  constexpr int kJobs = 12, kEpochs = 4;
  std::mutex mutex;
  std::multiset<std::pair<int, int>> results;  // (job, epoch)
  std::map<int, int> stopped_at, paused_at;
  int nan_results = 0;
  std::optional<Coordinator> coordinator;
  int next = 0;  // outlives the coordinator's thread
  if (w.rank == 0) {
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
      // Every third job stops after epoch 2, every third but one pauses after epoch 3.
      return r.job % 3 == 0 && r.epoch == 2   ? EpochAnswer::kStop
             : r.job % 3 == 1 && r.epoch == 3 ? EpochAnswer::kPause
                                              : EpochAnswer::kContinue;
    };
    events.reported = [&](const JobReport& r, const GroupState&) {
      std::lock_guard lock(mutex);
      if (r.outcome == Outcome::kStopped) stopped_at[r.job] = r.epoch;
      if (r.outcome == Outcome::kPaused) paused_at[r.job] = r.epoch;
    };
    coordinator.emplace(w.coordinator_end, layout.groups, std::move(source), std::move(events),
                        CoordinatorOptions{}, log);
  }
  int wrong_values = 0, taken = 0;
  {
    CoordinatorClient client(w.leader_end, layout, "host");
    std::optional<JobReport> previous;
    while (const auto a = client.next(previous)) {
      ++taken;
      if (a->params.value("train.lr", "") != std::to_string(a->job)) ++wrong_values;
      previous = JobReport{a->job, Outcome::kFinished, {}, ""};
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
  }
  if (coordinator) coordinator->join();
  EXPECT_EQ(wrong_values, 0);
  int all_taken_jobs = 0;
  MPI_Allreduce(&taken, &all_taken_jobs, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(all_taken_jobs, kJobs);
  if (w.rank == 0) {
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
}

}  // namespace
}  // namespace fracsweep::launcher
