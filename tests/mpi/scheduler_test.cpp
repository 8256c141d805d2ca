// The job coordinator over several ranks (run under mpirun -np 2), through the
// MPI transport: every job is handed out exactly once and reports reach the
// coordinator; a search's values, results and answers travel.
// tests/schedule/coordinator_test.cpp tests the protocol's logic between threads.
#include "launcher/mpi_transport.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
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

// The MPI transport carries a search's traffic too: values with each job, an
// epoch's result up and its answer down, on the leader's own communicator. The
// protocol's logic (stops, pauses, NaN) is tested between threads in
// tests/schedule/coordinator_test.cpp.
TEST(Coordinator, CarriesValuesAndEpochAnswersOverMpi) {
  World w;
  ASSERT_GE(w.size, 2) << "run under mpirun -np 2 (or more)";
  const GroupLayout layout = group_layout(w.rank, w.size, 1);
  core::Logger log(core::LogLevel::kError);
  constexpr int kJobs = 12;
  std::optional<Coordinator> coordinator;
  int next = 0;  // outlives the coordinator's thread
  if (w.rank == 0) {
    JobSource source = [&]() -> std::optional<Assignment> {
      if (next == kJobs) return std::nullopt;
      const int job = next++;
      return Assignment{job, {{"train.lr", std::to_string(job)}}};
    };
    CoordinatorEvents events;
    events.result = [](const EpochResult& r, const GroupState&) {
      return r.value > r.job ? EpochAnswer::kStop : EpochAnswer::kContinue;
    };
    coordinator.emplace(w.coordinator_end, layout.groups, std::move(source), std::move(events),
                        CoordinatorOptions{}, log);
  }
  int wrong = 0, taken = 0;
  {
    CoordinatorClient client(w.leader_end, layout, "host");
    std::optional<JobReport> previous;
    while (const auto a = client.next(previous, 30)) {
      ++taken;
      if (a->params.value("train.lr", "") != std::to_string(a->job)) ++wrong;
      // Epoch 1's value is below the job's index (continue), epoch 2's above (stop).
      if (client.epoch_result({a->job, 1, a->job - 0.5}, 30) != EpochAnswer::kContinue) ++wrong;
      if (client.epoch_result({a->job, 2, a->job + 0.5}, 30) != EpochAnswer::kStop) ++wrong;
      previous = JobReport{a->job, Outcome::kStopped, {}, "", 2};
    }
  }
  if (coordinator) coordinator->join();
  EXPECT_EQ(wrong, 0);
  int all = 0;
  MPI_Allreduce(&taken, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(all, kJobs);
}

}  // namespace
}  // namespace fracsweep::launcher
