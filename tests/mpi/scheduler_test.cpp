// The job coordinator over several ranks (run under mpirun -np 2): every job
// is handed out exactly once, reports reach the coordinator, a stop ends the
// hand-out, and a group that goes silent is named.
#include "launcher/scheduler.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "launcher/mpi.h"

namespace fracsweep::launcher {
namespace {

struct World {
  MpiComm up = MpiComm::dup(MPI_COMM_WORLD), down = MpiComm::dup(MPI_COMM_WORLD);
  int rank = 0, size = 1;
  World() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  CoordinatorChannels channels() const { return {up.get(), down.get()}; }
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
    events.started = [&](int job, const GroupState&) {
      std::lock_guard lock(mutex);
      started.insert(job);
    };
    events.reported = [&](const JobReport& r, const GroupState& g) {
      std::lock_guard lock(mutex);
      EXPECT_EQ(r.metrics.value("by", -1), g.ranks.at(0));
      reported.insert(r.job);
    };
    coordinator.emplace(w.channels(), layout.groups, std::move(queue), std::move(events),
                        CoordinatorOptions{}, log);
  }
  std::vector<int> mine;
  {
    CoordinatorClient client(w.channels(), layout, "host");
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
    coordinator.emplace(w.channels(), layout.groups, std::move(queue), std::move(events), options,
                        log);
  }
  std::vector<int> mine;
  {
    CoordinatorClient client(w.channels(), layout, "host");
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

}  // namespace
}  // namespace fracsweep::launcher
