// Dynamic hand-out of a sweep's jobs to groups of ranks.
//
// The world is cut into groups of G consecutive ranks (one data-parallel
// group per job). The first rank of each group, its leader, asks the
// coordinator for a job, trains it with its group, reports the outcome with
// its next request, and so on until the coordinator says none is left: fast
// groups take more jobs. The coordinator runs on a thread of world rank 0,
// whose main thread leads group 0 like any other group, so no rank idles while
// jobs remain.
//
// A search sweep's leaders also report each epoch's validation result and
// hear whether to stop the job there (sweeps/search_run.h decides).
// Messages are small JSON documents on two communicators of their own
// (duplicates of the world: requests and heartbeats go up to the coordinator,
// replies come down), so they never match a group's gradient traffic, and the
// coordinator thread on rank 0 never receives the replies meant for rank 0's
// own leader.
// The coordinator polls with MPI_Iprobe and a short sleep instead of blocking
// in MPI_Recv, because Open MPI's blocking receive spins a core that the
// training on rank 0 needs.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <mpi.h>
#include <nlohmann/json.hpp>

#include "core/log.h"

namespace fracsweep::launcher {

// Where a rank sits: group `group` of `groups` holds world ranks
// [group * size, (group + 1) * size).
struct GroupLayout {
  int group = 0, groups = 1;
  int group_rank = 0, group_size = 1;
  std::vector<int> ranks;  // the group's world ranks
  bool leader() const { return group_rank == 0; }
};

// Throws core::ConfigError when `world_size` is not a multiple of `ranks_per_job`.
GroupLayout group_layout(int world_rank, int world_size, int ranks_per_job);

// kStorage: the job could not write to its folder (a full disk, an I/O error);
// like kInterrupted it stops the hand-out, and the job resumes on a rerun.
// kStopped: the search stopped the job after JobReport::epoch; kPaused: it
// paused the job there (checkpointed, to be handed out again later).
enum class Outcome { kFinished, kFailed, kInterrupted, kStorage, kStopped, kPaused };

// What a leader says about the job it ran.
struct JobReport {
  int job = -1;  // index into the coordinator's job list
  Outcome outcome = Outcome::kFinished;
  nlohmann::json metrics = nlohmann::json::object();  // kFinished
  std::string error;                                  // kFailed, kStorage
  int epoch = 0;                                      // kStopped, kPaused
};

// A job handed to a group, with the values of its search trial (an empty
// object outside a search).
struct Assignment {
  int job = -1;
  nlohmann::json params = nlohmann::json::object();
};

// Which job a group gets next; nullopt when none is left. Called on the
// coordinator's thread, once per request.
using JobSource = std::function<std::optional<Assignment>()>;

// Hands out `queue` in order.
JobSource queue_source(std::deque<int> queue);

// A running job's validation result after an epoch (the search's metric).
struct EpochResult {
  int job = -1;
  int epoch = 0;
  double value = 0;  // NaN when the metric was not finite
};

// The coordinator's answer to an epoch's result.
enum class EpochAnswer { kContinue = 0, kStop = 1, kPause = 2 };

// Where a running job stands, sent by its leader now and then.
struct Heartbeat {
  int job = -1;
  int64_t epoch = 0, epochs = 0, step = 0, steps = 0;
};

// A group as the coordinator sees it.
struct GroupState {
  int group = 0;
  std::vector<int> ranks;
  std::string host;  // the leader's
  int job = -1;      // -1: between jobs
  Heartbeat progress;
  std::chrono::steady_clock::time_point started{}, heard{};
  bool done = false;     // told that no job is left
  bool stuck = false;    // reported as silent for longer than the timeout
  bool hung = false;     // reported as silent for longer than abort_after_seconds
};

// The two communicators of the protocol; every rank passes the same ones.
struct CoordinatorChannels {
  MPI_Comm up = MPI_COMM_NULL;    // leaders -> coordinator
  MPI_Comm down = MPI_COMM_NULL;  // coordinator -> leaders
};

// The leader's side of the protocol.
class CoordinatorClient {
 public:
  CoordinatorClient(CoordinatorChannels channels, const GroupLayout& layout, std::string host);
  // Reports `previous` (if any) and returns the next job, or nullopt when
  // none is left for this group.
  std::optional<Assignment> next(const std::optional<JobReport>& previous);
  // The same, the job's index only.
  std::optional<int> next_job(const std::optional<JobReport>& previous);
  void heartbeat(const Heartbeat& beat);
  // Reports an epoch's result and returns what the job must do next.
  // Waits at most `timeout_seconds` for the answer (0: no limit), then
  // throws core::CommError.
  EpochAnswer epoch_result(const EpochResult& result, double timeout_seconds);

 private:
  CoordinatorChannels channels_;
  int group_;
  std::vector<int> ranks_;
  std::string host_;
};

// Called on the coordinator's thread.
struct CoordinatorEvents {
  std::function<void(const Assignment&, const GroupState&)> started;
  // An epoch's result and what the job must do (no handler: continue).
  std::function<EpochAnswer(const EpochResult&, const GroupState&)> result;
  std::function<void(const JobReport&, const GroupState&)> reported;
  // Every `tick` (and once at the end): for progress files and live lines.
  std::function<void(const std::vector<GroupState>&)> tick;
  // A group silent for longer than the timeout (once per silence): training
  // its job (GroupState::job), or not asking for its first or next one (job -1).
  std::function<void(const GroupState&, double silent_seconds)> stuck;
  // A group silent for longer than abort_after_seconds (once): a stopped or
  // hung rank that a collective, or the coordinator's wait for its request,
  // would wait on forever.
  std::function<void(const GroupState&, double silent_seconds)> hung;
  // Asked before each hand-out: true stops handing out (a stop signal came).
  std::function<bool()> should_stop;
};

struct CoordinatorOptions {
  double tick_seconds = 2;
  double timeout_seconds = 600;
  double abort_after_seconds = 0;  // 0: never
  std::chrono::microseconds poll{200};
};

// Hands out the jobs of `source` to `groups` groups on a thread of its own; stops handing out once a group reports an interrupted job or
// `stop()` is called (a stop signal), answering every later request with
// "none left". If its thread fails (the ledger cannot be written), it logs why
// and aborts the MPI job: ranks blocked on it could not be released otherwise,
// and the ledger and checkpoints let a restart resume.
class Coordinator {
 public:
  Coordinator(CoordinatorChannels channels, int groups, JobSource source, CoordinatorEvents events,
              CoordinatorOptions options, core::Logger& log);
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;
  ~Coordinator();  // joins

  // Waits until every group has been told that no job is left.
  void join();
  void stop() { stop_requested_ = true; }
  bool interrupted() const { return interrupted_; }

 private:
  void loop();
  void handle(int tag, const std::string& text);
  void reply(int group, const std::optional<Assignment>& job);
  void answer_result(GroupState& group, const nlohmann::json& m);
  void check_silence(std::chrono::steady_clock::time_point now);

  CoordinatorChannels channels_;
  JobSource source_;
  CoordinatorEvents events_;
  CoordinatorOptions options_;
  core::Logger& log_;
  std::vector<GroupState> groups_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

}  // namespace fracsweep::launcher
