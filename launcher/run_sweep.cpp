// See run_sweep.h.
#include "launcher/run_sweep.h"
#include "launcher/sweep_phantom.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "core/fs.h"
#include <cmath>

#include "launcher/commands.h"
#include "launcher/exported_models.h"
#include "launcher/mpi_sync.h"
#include "launcher/placement.h"
#include "launcher/run_tracking.h"
#include "launcher/mpi_transport.h"
#ifdef FRACSWEEP_HAVE_NCCL
#include "launcher/nccl_sync.h"
#endif
#include "schedule/coordinator.h"
#include "sweeps/ledger.h"
#include "sweeps/results.h"
#include "sweeps/run_book.h"
#include "sweeps/search_run.h"
#include "sweeps/status.h"
#include "sweeps/sweep.h"
#include "trainer/backends.h"
#include "trainer/device.h"
#include "trainer/stop_signals.h"
#include "trainer/train_job.h"

namespace fracsweep::launcher {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using schedule::Assignment;
using schedule::Coordinator;
using schedule::CoordinatorClient;
using schedule::CoordinatorEvents;
using schedule::CoordinatorOptions;
using schedule::EpochAnswer;
using schedule::EpochResult;
using schedule::GroupLayout;
using schedule::GroupState;
using schedule::JobReport;
using schedule::Outcome;
using sweeps::RunBook;

// Rank 0 decides, every rank follows: a decision is broadcast as one int.
int broadcast_int(int value) {
  FRACSWEEP_MPI_CHECK(MPI_Bcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD));
  return value;
}

// A barrier that sleeps instead of spinning: ranks that run out of jobs wait
// here while others train, and must not take their cores.
// Waits for `request` by polling every `poll`; after `limit_s` seconds (0:
// never) a stopped or hung rank is keeping it, and the run is aborted with
// `what` in the message rather than waited on forever.
void quiet_wait(MPI_Request& request, double limit_s, std::chrono::microseconds poll,
                const char* what, core::Logger& log) {
  const auto started = Clock::now();
  for (int done = 0;;) {
    FRACSWEEP_MPI_CHECK(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
    if (done) return;
    const double waited = std::chrono::duration<double>(Clock::now() - started).count();
    if (limit_s > 0 && waited > limit_s) {
      log.error(fmt::format("waited {} for {}: a stopped or hung rank; aborting the run (every "
                            "job resumes from its last checkpoint when the sweep is run again)",
                            sweeps::format_duration(waited), what));
      MPI_Abort(MPI_COMM_WORLD, kExitFailure);
    }
    std::this_thread::sleep_for(poll);
  }
}

// A barrier that does not spin a core while ranks finish their last jobs.
void quiet_barrier(MPI_Comm comm, double limit_s, core::Logger& log) {
  MPI_Request request;
  FRACSWEEP_MPI_CHECK(MPI_Ibarrier(comm, &request));
  quiet_wait(request, limit_s, std::chrono::milliseconds(5), "every rank at the end of the run",
             log);
}

// The same for a broadcast of one int inside a group: members wait here while
// their leader asks for the next job.
int quiet_broadcast(int value, MPI_Comm comm, double limit_s, core::Logger& log) {
  MPI_Request request;
  FRACSWEEP_MPI_CHECK(MPI_Ibcast(&value, 1, MPI_INT, 0, comm, &request));
  quiet_wait(request, limit_s, std::chrono::microseconds(200), "the group's next job", log);
  return value;
}

// Group rank 0's text, on every rank of the group (sent right after a
// quiet_broadcast, so no rank waits here long).
std::string broadcast_text(std::string text, MPI_Comm comm) {
  int size = static_cast<int>(text.size());
  FRACSWEEP_MPI_CHECK(MPI_Bcast(&size, 1, MPI_INT, 0, comm));
  text.resize(static_cast<size_t>(size));
  FRACSWEEP_MPI_CHECK(MPI_Bcast(text.data(), size, MPI_CHAR, 0, comm));
  return text;
}

// Finished jobs of a sweep started by fracsweep 0.1, whose phantom sweeps gave
// jobs other ids (sweeps::SweepJob::former_id), recorded again under their ids,
// durably, before anything else is decided.
void carry_over(const sweeps::Sweep& sweep, std::vector<sweeps::LedgerRecord>& records,
                const std::string& writer, core::Logger& log) {
  const std::vector<sweeps::LedgerRecord> again = sweeps::carried_over(sweep, records);
  if (again.empty()) return;
  sweeps::Ledger ledger(sweeps::ledger_path(sweep.output, writer), log);
  for (const sweeps::LedgerRecord& r : again) {
    ledger.append(r);
    records.push_back(r);
  }
  log.info(sweep.name, ": ", again.size(),
           " finished job(s) carried over from the ids fracsweep 0.1 gave them");
}

// A group's gradient syncs, each made the first time a job needs it: MPI for
// jobs on the CPU, NCCL for jobs on CUDA (launcher/placement.h chooses).
class GroupSyncs {
 public:
  GroupSyncs(MPI_Comm group, int group_size, const RankPlacement& placement,
             const MpiSyncOptions& mpi_options, bool announce, core::Logger& log)
      : group_(group), group_size_(group_size), placement_(placement),
        mpi_options_(mpi_options), announce_(announce), log_(log) {}

  // Collective over the group: every rank passes the same job. Throws
  // core::ConfigError, on every rank of the group alike, when the job cannot
  // train here or the ranks do not agree on its backend.
  trainer::GradientSync* for_job(const spec::JobConfig& job) {
    int code = -1;
    std::string error;
    torch::Device device(torch::kCPU);
    try {
      device = trainer::resolve_device(job.train.device, placement_.cuda_devices,
                                       placement_.device, job.output);
      code = static_cast<int>(choose_sync(group_size_, device.type(), trainer::nccl_compiled()));
    } catch (const core::ConfigError& e) {
      error = e.what();
    }
    if (group_size_ > 1) code = agreed(code);
    if (code < 0)
      throw core::ConfigError(error.empty()
                                  ? job.output + ": the ranks of this data-parallel group do not "
                                                 "agree on where it trains (some see a GPU, some "
                                                 "do not, or one failed); check each node's GPUs"
                                  : error);
    const auto backend = static_cast<SyncBackend>(code);
    if (announce_ && announced_.insert(code).second)
      log_.info("gradient sync: ", sync_name(backend), ", training on ", device.str());
    switch (backend) {
      case SyncBackend::kLocal: return nullptr;
      case SyncBackend::kMpi:
        if (!mpi_) mpi_ = std::make_unique<MpiGradientSync>(group_, mpi_options_);
        return mpi_.get();
      case SyncBackend::kNccl: return nccl();
    }
    return nullptr;
  }

 private:
  // The backend every rank chose, or -1 when any failed or they differ.
  int agreed(int code) {
    int low = code, high = code;
    FRACSWEEP_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_INT, MPI_MIN, group_));
    FRACSWEEP_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &high, 1, MPI_INT, MPI_MAX, group_));
    return low == high ? low : -1;
  }

  trainer::GradientSync* nccl() {
#ifdef FRACSWEEP_HAVE_NCCL
    if (!nccl_) {
      check_distinct_gpus(members());
      nccl_ = std::make_unique<NcclGradientSync>(group_, placement_.device);
    }
    return nccl_.get();
#else
    INTERNAL_ASSERT(!"choose_sync picked NCCL in a build without it");
    return nullptr;
#endif
  }

  std::vector<GroupMember> members() const {
    struct Row {
      int world_rank, device;
      char host[MPI_MAX_PROCESSOR_NAME];
    } mine{};
    FRACSWEEP_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &mine.world_rank));
    mine.device = placement_.device;
    std::snprintf(mine.host, sizeof(mine.host), "%s", mpi_host_name().c_str());
    std::vector<Row> rows(static_cast<size_t>(group_size_));
    FRACSWEEP_MPI_CHECK(MPI_Allgather(&mine, sizeof(Row), MPI_BYTE, rows.data(), sizeof(Row),
                                      MPI_BYTE, group_));
    std::vector<GroupMember> out;
    for (const Row& r : rows) out.push_back({r.world_rank, r.host, r.device});
    return out;
  }

  MPI_Comm group_;
  int group_size_;
  RankPlacement placement_;
  MpiSyncOptions mpi_options_;
  bool announce_;
  core::Logger& log_;
  std::set<int> announced_;
  std::unique_ptr<MpiGradientSync> mpi_;
#ifdef FRACSWEEP_HAVE_NCCL
  std::unique_ptr<NcclGradientSync> nccl_;
#endif
};

// Trains one job on this rank as part of its group; the leader turns the
// outcome into a report.
// A search's job reports each epoch's value of `metric` to the coordinator and
// stops when told to; every rank of the group sets the hook (the group agrees).
void search_hook(trainer::TrainRunOptions& run, int index, const std::string& metric,
                 CoordinatorClient* client, double timeout_seconds) {
  run.on_epoch = [=](int epoch, const nlohmann::json& val) {
    if (!client) return trainer::EpochVerdict::kContinue;  // a member: the leader asks
    const auto v = val.find(metric);
    // Missing (a validation part without both classes) or not finite: NaN,
    // which ASHA ignores, as Ray Tune does.
    const double value = v != val.end() && v->is_number() ? v->get<double>()
                                                           : std::numeric_limits<double>::quiet_NaN();
    switch (client->epoch_result({index, epoch, value}, timeout_seconds)) {
      case EpochAnswer::kStop: return trainer::EpochVerdict::kStop;
      case EpochAnswer::kPause: return trainer::EpochVerdict::kPause;
      case EpochAnswer::kContinue: break;
    }
    return trainer::EpochVerdict::kContinue;
  };
}

JobReport run_job(const sweeps::Sweep& sweep, const Assignment& assignment, GroupSyncs& syncs,
                  int rank_device, CoordinatorClient* client, bool progress,
                  double timeout_seconds, RunTracking& tracking, core::Logger& log) {
  const int index = assignment.job;
  const sweeps::SweepJob& job = sweep.jobs[static_cast<size_t>(index)];
  JobReport report;
  report.job = index;
  trainer::TrainRunOptions run;
  if (sweep.search) search_hook(run, index, sweep.search->metric, client, timeout_seconds);
  run.progress = progress;
  run.rank_device = rank_device;
  Clock::time_point last_beat{};
  if (client) {
    run.on_step = [&](const trainer::StepReport& s) {
      const auto now = Clock::now();
      if (now - last_beat < std::chrono::seconds(1) && s.step != s.steps) return;
      last_beat = now;
      client->heartbeat({index, s.epoch, s.epochs, s.step, s.steps});
    };
  }
  std::unique_ptr<tracking::JobTracking> tracker;  // TensorBoard, MLflow (run_tracking.h)
  try {
    const spec::JobConfig config =
        sweep.search ? sweeps::with_params(job, sweeps::params_from_json(*sweep.search, assignment.params))
                     : job.config;
    run.sync = syncs.for_job(config);
    tracker = tracking.for_job(job, config);
    run.observer = tracker.get();
    trainer::JobResult result = trainer::run_job(config, log, run);
    if (result.code == trainer::kExitInterrupted) {
      report.outcome = result.paused_at_epoch > 0 ? Outcome::kPaused : Outcome::kInterrupted;
      report.epoch = result.paused_at_epoch;
      return report;
    }
    if (result.stopped_at_epoch > 0) {
      report.outcome = Outcome::kStopped;
      report.epoch = result.stopped_at_epoch;
      if (tracker) tracker->ended("KILLED");
      return report;
    }
    if (client) report.metrics = std::move(result.metrics);
    report.outcome = Outcome::kFinished;
  } catch (const core::CommError&) {
    throw;  // the group's communicator is broken: nothing else can run
  } catch (const core::StorageError& e) {
    report.outcome = Outcome::kStorage;  // not the job's fault: the run stops, a rerun resumes
    report.error = e.what();
  } catch (const std::exception& e) {
    report.outcome = Outcome::kFailed;
    report.error = trainer::error_message(e);
    if (tracker) tracker->ended("FAILED");
  }
  return report;
}

// What the coordinator (on rank 0) does on each event: the ledger and progress
// through `book`, warnings about silent groups, the abort of a hung run.
CoordinatorEvents coordinator_events(const sweeps::Sweep& sweep, RunBook& book,
                                     const trainer::StopSignals& stop, core::Logger& log) {
  CoordinatorEvents events;
  events.started = [&book](const Assignment& a, const GroupState& g) { book.started(a, g); };
  events.result = [&book](const EpochResult& r, const GroupState& g) { return book.result(r, g); };
  events.reported = [&book](const JobReport& r, const GroupState& g) { book.reported(r, g); };
  events.tick = [&book](const std::vector<GroupState>& g) { book.tick(g); };
  // "while training <job>", or where a group without a job stands.
  const auto doing = [&sweep](const GroupState& g) {
    return g.job >= 0 ? "while training " + sweep.jobs[static_cast<size_t>(g.job)].name
                      : std::string("without asking for a job");
  };
  const auto who = [](const GroupState& g) {
    return g.ranks.empty() ? fmt::format("group {}", g.group)
                           : fmt::format("group {} ({}, host {})", g.group,
                                         sweeps::ranks_text(g.ranks),
                                         g.host);
  };
  // `doing` and `who` by value: the coordinator's thread calls these after this returns.
  events.stuck = [&log, doing, who](const GroupState& g, double silent) {
    log.warn(fmt::format("{} has not reported for {} {}; it may be stuck (a hung collective, a "
                         "dead node)", who(g), sweeps::format_duration(silent), doing(g)));
  };
  events.hung = [&log, doing, who](const GroupState& g, double silent) {
    log.error(fmt::format(
        "{} has not reported for {} {}: a stopped or hung rank, which the run would wait on "
        "forever; aborting the run (every job resumes from its last checkpoint when the sweep "
        "is run again)",
        who(g), sweeps::format_duration(silent), doing(g)));
    MPI_Abort(MPI_COMM_WORLD, kExitFailure);
  };
  events.should_stop = [&stop] { return stop.requested(); };
  return events;
}

// Rank 0's account of the run (its line and results table) and its exit code.
int report_run(const sweeps::Sweep& sweep, const RunBook& book, int failed_skipped,
               bool interrupted, core::Logger& log) {
  const int failed = book.failed() + failed_skipped;
  const std::string& storage = book.storage_error();
  std::cout << fmt::format("sweep {}: {} job(s) finished in this run{}, {} failed{}; results in {} "
                           "(one folder per job, the ledger in ledger.d/)\n",
                           sweep.name, book.finished(),
                           book.stopped() ? fmt::format(", {} stopped early by the search", book.stopped())
                                          : std::string(),
                           failed,
                           !storage.empty()
                               ? "; stopped by a write error, run the same command again to "
                                 "resume once the storage is fixed (space freed)"
                           : interrupted ? "; interrupted, run the same command again to resume"
                                         : "",
                           sweep.output)
            << "\n" << sweeps::results_table(sweep, book.records());
  if (sweep.search)
    std::cout << "\nThe test metrics of the configuration chosen per fold on validation: fracsweep "
                 "report " << sweep.output << "\n";
  if (!storage.empty()) log.error("stopped: ", storage);
  if (!storage.empty()) return kExitFailure;
  return interrupted ? trainer::kExitInterrupted : failed ? kExitFailure : kExitOk;
}

// Note [Preparing a shared folder]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The shards of a SLURM array start together on one folder, and each would write
// what the folder needs before any job: the phantom store, sweep.json and the
// sweep file as run. Each shard holds a lock of its own (".lock-shard-I") for its
// whole run, so those do not keep them apart; the preparation is done under one
// more lock, kPrepareLock, which every run takes (sharded or not), waiting for it
// (SweepLock::wait, with a timeout and a line every 10 s naming the holder)
// rather than refusing. The first to take it writes the phantom; the others take
// it after and find the store finished (ensure_phantom checks its spec and opens
// it). The files are written under a temporary name per process and renamed into
// place, so a reader never sees one half-written. The lock is released before
// the first job: shards train side by side.
constexpr const char* kPrepareLock = ".lock-prepare";

// Rank 0's share of the start: the folder and its lock, the phantom, the
// ledger (carried over and summarised), the queue of jobs to run, sweep.json
// and the sweep file as run.
struct Prepared {
  std::optional<sweeps::SweepLock> lock;
  std::optional<RunBook> book;
  int finished_before = 0, failed_skipped = 0;
};

// Fills `prep`; returns the exit code (kExitOk, or kExitBadInput / kExitFailure
// after logging the error).
int prepare_folder(const sweeps::Sweep& sweep, const RunOptions& options, int world_size,
                   int ranks_per_job, Prepared& prep, core::Logger& log) {
  try {
    fs::create_directories(sweep.output);
    if (options.shards > 1) {
      prep.lock.emplace(sweep.output, core::str_cat(".lock-shard-", options.shard));
    } else {
      prep.lock.emplace(sweep.output);
    }
    // See Note [Preparing a shared folder].
    std::optional<sweeps::SweepLock> preparing = sweeps::SweepLock::wait(
        sweep.output, kPrepareLock,
        sweep.synthesise ? "writes the phantom " + sweep.store + " and sweep.json"
                         : std::string("writes sweep.json"),
        options.prepare_timeout_seconds, log);
    if (sweep.synthesise) ensure_phantom(sweep, log);
    CHECK_OR_THROW(core::ConfigError, fs::exists(sweep.store), sweep.path, ": dataset.store ",
                   sweep.store, " does not exist");
    check_exported_packages(sweep);  // models from PyTorch fit the store, build and device
    // Each writer appends to its own ledger; all are read, merged by time.
    const std::string writer = options.shards > 1
                                   ? sweeps::shard_writer(options.shard, options.shards)
                                   : sweeps::run_writer();
    auto records = sweeps::read_sweep_ledger(sweep.output, log);
    carry_over(sweep, records, writer, log);
    const sweeps::LedgerState state = sweeps::summarize(records);
    std::deque<int> queue = sweeps::make_queue(sweep, state, options.retry_failed, options.shard,
                                       options.shards, &prep.finished_before, &prep.failed_skipped);
    auto manifest = sweeps::make_manifest(sweep, world_size, ranks_per_job);
    sweeps::write_manifest(sweep.output, manifest);
    // The sweep file as it was run, for reports: the original may be edited or moved later.
    if (!sweep.path.empty())
      core::write_file_atomic(sweep.output + "/sweep.yaml", core::read_file(sweep.path));
    preparing.reset();
    prep.book.emplace(sweep, std::move(manifest), std::move(records), writer, std::move(queue), log);
  } catch (const core::ConfigError& e) {
    log.error(e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    log.error(e.what());
    return kExitFailure;
  }
  return kExitOk;
}

struct Setup {
  sweeps::Sweep sweep;
  int ranks_per_job = 1;
};

// Throws core::ConfigError when a job of the sweep could not train on this rank
// as placed: train.device cuda where the rank sees no GPU, or a group of several
// ranks on GPUs in a build without NCCL. Checked before any job starts, so the
// sweep is refused instead of every such job being recorded as failed.
void check_placement(const sweeps::Sweep& sweep, int group_size, const RankPlacement& placement) {
  for (const sweeps::SweepJob& job : sweep.jobs) {
    const std::string& device = job.config.train.device;
    CHECK_OR_THROW(core::ConfigError, device != "cuda" || placement.cuda_devices > 0,
                   sweep.path, ": job ", job.name, ": train.device: cuda, but this rank (on ",
                   mpi_host_name(), ") sees no GPU; run where GPUs are visible (check "
                   "CUDA_VISIBLE_DEVICES and the job's GPU allocation) or set train.device to "
                   "auto or cpu");
    const bool on_gpu = device == "cuda" || (device == "auto" && placement.cuda_devices > 0);
    if (on_gpu) choose_sync(group_size, c10::DeviceType::CUDA, trainer::nccl_compiled());
  }
}

// Rank 0's line on what this run will do.
void announce_queue(const sweeps::Sweep& sweep, const Prepared& prep, const GroupLayout& layout,
                    const RunOptions& options, core::Logger& log) {
  if (options.shards > 1)
    log.info("shard ", options.shard, " of ", options.shards, ": jobs whose index is ",
             options.shard, " modulo ", options.shards);
  const std::string skipped =
      prep.failed_skipped
          ? fmt::format(", {} failed skipped (--retry-failed reruns them)", prep.failed_skipped)
          : std::string();
  log.info(fmt::format("sweep {}: {} jobs; {} finished before, {} to run{}; {} group(s) of {} "
                       "rank(s)", sweep.name, sweep.jobs.size(), prep.finished_before,
                       prep.book->queued(), skipped, layout.groups, layout.group_size));
}

void print_nothing_to_run(const sweeps::Sweep& sweep, const Prepared& prep) {
  std::cout << fmt::format("sweep {}: nothing to run: {} of {} jobs finished{}; results in {}\n",
                           sweep.name, prep.finished_before, sweep.jobs.size(),
                           prep.failed_skipped ? fmt::format(", {} failed", prep.failed_skipped)
                                               : "",
                           sweep.output)
            << "\n" << sweeps::results_table(sweep, prep.book->records());
}

// Where this rank trains, checked against every job on every rank before any
// starts; the lowest rank that refuses says why. nullopt: refused.
std::optional<RankPlacement> place_for_every_job(const MpiSession& mpi, const sweeps::Sweep& sweep,
                                                 const GroupLayout& layout, const RunOptions& options,
                                                 core::Logger& log) {
  RankPlacement placement;
  std::string error;
  try {
    placement = place_rank(options.exclusive_gpus);
    check_placement(sweep, layout.group_size, placement);
  } catch (const core::ConfigError& e) {
    error = e.what();
  }
  int first_refusing = error.empty() ? mpi.world_size() : mpi.world_rank();
  FRACSWEEP_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &first_refusing, 1, MPI_INT, MPI_MIN,
                                    MPI_COMM_WORLD));
  if (first_refusing == mpi.world_size()) return placement;
  if (first_refusing == mpi.world_rank()) log.error(error);
  return std::nullopt;
}

// The group's loop: its leader asks for a job (reporting the last one), every rank of
// the group trains it, until none is left. Whether a job was interrupted (a signal).
bool train_handed_out_jobs(const sweeps::Sweep& sweep, const GroupLayout& layout,
                           schedule::LeaderEnd& leader_end, MPI_Comm group_comm, GroupSyncs& syncs,
                           int device, const RunOptions& options, bool root, RunTracking& tracking,
                           core::Logger& log) {
  bool interrupted = false;
  std::optional<CoordinatorClient> client;
  if (layout.leader()) client.emplace(leader_end, layout, mpi_host_name());
  std::optional<JobReport> previous;
  for (;;) {
    Assignment next;
    if (client) next = client->next(previous, options.abort_after_seconds).value_or(Assignment{});
    // A member waits while its leader writes the last job's results and asks for the next.
    if (layout.group_size > 1) {
      next.job = quiet_broadcast(next.job, group_comm, options.abort_after_seconds, log);
      if (next.job >= 0 && sweep.search)
        next.params = nlohmann::json::parse(broadcast_text(next.params.dump(), group_comm));
    }
    if (next.job < 0) return interrupted;
    previous = run_job(sweep, next, syncs, device, client ? &*client : nullptr,
                       options.job_progress && root, options.abort_after_seconds, tracking, log);
    interrupted = interrupted || previous->outcome == Outcome::kInterrupted;  // not kPaused
  }
}

// The sweep, read by every rank after rank 0 has exported the model files its
// variants name (once; the others wait without spinning, a compile takes minutes).
// A bad file is one error line from rank 0; every rank returns the same code.
int read_sweep_on_every_rank(const MpiSession& mpi, const RunOptions& options, Setup& setup,
                             core::Logger& log) {
  const bool root = mpi.world_rank() == 0;
  int code = root ? export_model_files(options.sweep_path, log) : kExitOk;
  code = quiet_broadcast(code, MPI_COMM_WORLD, 24 * 3600.0, log);
  if (code != kExitOk) return code;
  std::string error;
  try {
    // Checked against the ranks per job it will run with (--ranks-per-job or the
    // file's), here rather than when each job starts.
    setup.sweep = sweeps::load_sweep(options.sweep_path, options.ranks_per_job);
    use_mlflow_option(setup.sweep, options.mlflow_uri);
    // Each shard would decide on its own share of the results.
    CHECK_OR_THROW(core::ConfigError, !setup.sweep.search || options.shards == 1,
                   options.sweep_path, ": a search sweep runs as one run (its decisions need every "
                   "trial's results); drop --shards");
    setup.ranks_per_job = setup.sweep.ranks_per_job;
    schedule::group_layout(mpi.world_rank(), mpi.world_size(), setup.ranks_per_job);
    if (root) code = export_seed_weights(setup.sweep, log);
  } catch (const core::ConfigError& e) {
    code = kExitBadInput;
    error = e.what();
  }
  int worst = code;
  FRACSWEEP_MPI_CHECK(MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
  if (worst != kExitOk && !error.empty() && root) log.error(error);
  return worst;
}

// The root's coordinator, handing out the run book's jobs to the groups.
void start_coordinator(const sweeps::Sweep& sweep, RunBook& book, MpiCoordinatorEnd& end,
                       const GroupLayout& layout, trainer::StopSignals& stop,
                       const RunOptions& options, std::optional<Coordinator>& coordinator,
                       core::Logger& log) {
  CoordinatorEvents events = coordinator_events(sweep, book, stop, log);
  CoordinatorOptions co;
  co.tick_seconds = options.tick_seconds;
  co.timeout_seconds = options.timeout_seconds;
  co.abort_after_seconds = options.abort_after_seconds;
  coordinator.emplace(end, layout.groups, [&book] { return book.next(); }, std::move(events), co,
                      log);
}

}  // namespace

int run_sweep(const MpiSession& mpi, const RunOptions& options, core::Logger& log) {
  const bool root = mpi.world_rank() == 0;
  // Every rank reads the sweep; rank 0 alone prepares the folder. Whatever
  // fails, every rank learns the exit code from rank 0 and leaves together.
  Setup setup;
  int code = read_sweep_on_every_rank(mpi, options, setup, log);
  if (code != kExitOk) return code;
  const sweeps::Sweep& sweep = setup.sweep;
  const GroupLayout layout =
      schedule::group_layout(mpi.world_rank(), mpi.world_size(), setup.ranks_per_job);

  Prepared prep;
  if (root) code = prepare_folder(sweep, options, mpi.world_size(), setup.ranks_per_job, prep, log);
  code = broadcast_int(code);
  if (code != kExitOk) return code;
  if (root) announce_queue(sweep, prep, layout, options, log);
  RunTracking tracking(sweep, layout.leader(), root, log);
  if (broadcast_int(root ? static_cast<int>(prep.book->queued()) : 0) == 0) {
    if (root) print_nothing_to_run(sweep, prep);
    return prep.failed_skipped ? kExitFailure : kExitOk;
  }

  const std::optional<RankPlacement> placed = place_for_every_job(mpi, sweep, layout, options, log);
  if (!placed) return kExitBadInput;
  const RankPlacement& placement = *placed;

  MpiComm up = MpiComm::dup(MPI_COMM_WORLD), down = MpiComm::dup(MPI_COMM_WORLD);
  const CoordinatorChannels channels{up.get(), down.get()};
  MpiCoordinatorEnd coordinator_end(channels);
  MpiLeaderEnd leader_end(channels);
  MpiComm group_comm = MpiComm::split(MPI_COMM_WORLD, layout.group, layout.group_rank);
  MpiSyncOptions sync_options;
  if (options.bucket_bytes > 0) sync_options.bucket_bytes = options.bucket_bytes;
  log.debug(fmt::format("placement: node rank {} of {} on {}, {}", placement.node_rank,
                        placement.node_size, mpi_host_name(),
                        placement.cuda_devices > 0 ? fmt::format("GPU {} of {}", placement.device,
                                                                 placement.cuda_devices)
                                                   : std::string("no GPU: the CPU")));
  GroupSyncs syncs(group_comm.get(), layout.group_size, placement, sync_options, root, log);

  trainer::StopSignals stop;
  std::optional<Coordinator> coordinator;
  if (root) start_coordinator(sweep, *prep.book, coordinator_end, layout, stop, options, coordinator, log);

  const bool interrupted = train_handed_out_jobs(sweep, layout, leader_end, group_comm.get(), syncs,
                                                 placement.device, options, root, tracking, log);
  if (coordinator) coordinator->join();
  // The root arrives once every group has been told there is nothing left, so
  // the others are on their way; they themselves may wait there as long as the
  // root's own last job takes.
  quiet_barrier(MPI_COMM_WORLD, root ? options.abort_after_seconds : 0, log);

  int result = kExitOk;
  if (root)
    result = report_run(sweep, *prep.book, prep.failed_skipped,
                        interrupted || coordinator->interrupted(), log);
  if (root && result != trainer::kExitInterrupted)
    tracking.finish(result == kExitOk ? "FINISHED" : "FAILED",
                    sweeps::results_table(sweep, prep.book->records()));
  return broadcast_int(result);
}

}  // namespace fracsweep::launcher
