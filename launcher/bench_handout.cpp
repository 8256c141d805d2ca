// See bench_handout.h.
#include "launcher/bench_handout.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "core/error.h"
#include "cli/options.h"
#include "launcher/commands.h"
#include "launcher/mpi.h"
#include "launcher/mpi_transport.h"
#include "schedule/coordinator.h"
#include "sweeps/ledger.h"

namespace fracsweep::launcher {

using namespace schedule;  // the protocol under test, by its own names

int bench_handout(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  int jobs = 2000;
  double work_ms = 0;
  std::string ledger_dir;
  po::options_description options(
      "usage: mpirun -np N fracsweep bench handout [options]\n\n"
      "Hands out empty jobs through the sweep coordinator and times each request.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("jobs", po::value(&jobs)->default_value(jobs), "jobs to hand out")
      ("work-ms", po::value(&work_ms)->default_value(work_ms),
       "milliseconds each job sleeps (0: back-to-back requests, the worst case)")
      ("ledger", po::value(&ledger_dir),
       "also append (and fsync) a started and a finished record per job to DIR/ledger.d/bench.jsonl, "
       "as `fracsweep run` does");
  if (!parse_flags(args, options)) return kExitOk;
  CHECK_OR_THROW(core::ConfigError, jobs >= 1, "--jobs must be at least 1");

  MpiSession mpi;
  core::Logger log(core::LogLevel::kWarn);
  const GroupLayout layout = group_layout(mpi.world_rank(), mpi.world_size(), 1);
  MpiComm up = MpiComm::dup(MPI_COMM_WORLD), down = MpiComm::dup(MPI_COMM_WORLD);
  const CoordinatorChannels channels{up.get(), down.get()};
  MpiCoordinatorEnd coordinator_end(channels);
  MpiLeaderEnd leader_end(channels);
  std::optional<Coordinator> coordinator;
  std::optional<sweeps::Ledger> ledger;
  if (mpi.world_rank() == 0) {
    std::deque<int> queue;
    for (int j = 0; j < jobs; ++j) queue.push_back(j);
    CoordinatorEvents events;
    if (!ledger_dir.empty()) {
      std::filesystem::create_directories(ledger_dir);
      ledger.emplace(sweeps::ledger_path(ledger_dir, "bench"), log);
      events.started = [&](const Assignment& a, const GroupState& g) {
        ledger->append(sweeps::make_started(std::to_string(a.job), "bench", {g.ranks.at(0), g.host, ""}));
      };
      events.reported = [&](const JobReport& r, const GroupState& g) {
        ledger->append(sweeps::make_finished(std::to_string(r.job), "bench",
                                             {g.ranks.at(0), g.host, ""}, r.metrics));
      };
    }
    coordinator.emplace(coordinator_end, layout.groups, queue_source(std::move(queue)), std::move(events),
                        CoordinatorOptions{}, log);
  }
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::vector<double> latencies;  // seconds per request
  {
    CoordinatorClient client(leader_end, layout, mpi_host_name());
    std::optional<JobReport> previous;
    for (;;) {
      const auto t = Clock::now();
      const std::optional<int> job = client.next_job(previous);
      latencies.push_back(std::chrono::duration<double>(Clock::now() - t).count());
      if (!job) break;
      if (work_ms > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(work_ms));
      previous = JobReport{*job, Outcome::kFinished, nlohmann::json{{"aAUC", 0.5}}, ""};
    }
  }
  if (coordinator) coordinator->join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  // Gather every rank's latencies on rank 0.
  int mine = static_cast<int>(latencies.size());
  std::vector<int> counts(static_cast<size_t>(mpi.world_size()));
  FRACSWEEP_MPI_CHECK(MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD));
  std::vector<int> displs(counts.size());
  int total = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    displs[r] = total;
    total += counts[r];
  }
  std::vector<double> all(static_cast<size_t>(std::max(total, 1)));
  FRACSWEEP_MPI_CHECK(MPI_Gatherv(latencies.data(), mine, MPI_DOUBLE, all.data(), counts.data(),
                                  displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD));
  if (mpi.world_rank() != 0) return kExitOk;
  all.resize(static_cast<size_t>(total));
  std::sort(all.begin(), all.end());
  double sum = 0;
  for (double v : all) sum += v;
  const auto at = [&](double q) { return all[static_cast<size_t>(q * (all.size() - 1))] * 1e3; };
  std::cout << fmt::format(
      "| ranks | jobs | ledger | work ms | requests | mean ms | median ms | p99 ms | max ms | jobs/s |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n"
      "| {} | {} | {} | {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.0f} |\n",
      mpi.world_size(), jobs, ledger_dir.empty() ? "no" : "fsync'd", work_ms, all.size(), sum / all.size() * 1e3, at(0.5), at(0.99),
      all.back() * 1e3, jobs / wall);
  return kExitOk;
}

}  // namespace fracsweep::launcher
