// Dynamic hand-out of a sweep's jobs to groups of ranks.
//
// The world is cut into groups of G consecutive ranks (one data-parallel
// group per job; schedule/groups.h). The first rank of each group, its leader,
// asks the coordinator for a job, trains it with its group, reports the
// outcome with its next request, and so on until the coordinator says none is
// left: fast groups take more jobs. The coordinator runs on a thread of world
// rank 0, whose main thread leads group 0 like any other group, so no rank
// idles while jobs remain.
//
// A search sweep's leaders also report each epoch's validation result and
// hear whether to stop the job there (sweeps/search_run.h decides).
// Both sides speak in schedule/messages.h's messages over a transport
// (schedule/transport.h): MPI in a run, memory in the tests. The coordinator
// polls its end with a short sleep, because a blocking receive (Open MPI's)
// spins a core that the training on rank 0 needs.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "schedule/groups.h"
#include "schedule/messages.h"
#include "schedule/transport.h"

namespace fracsweep::schedule {

// Which job a group gets next; nullopt when none is left. Called on the
// coordinator's thread, once per request.
using JobSource = std::function<std::optional<Assignment>()>;

// Hands out `queue` in order.
JobSource queue_source(std::deque<int> queue);

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

// The leader's side of the protocol.
class CoordinatorClient {
 public:
  // `transport` outlives the client.
  CoordinatorClient(LeaderEnd& transport, const GroupLayout& layout, std::string host);
  // Reports `previous` (if any) and returns the next job, or nullopt when
  // none is left for this group. Waits at most `timeout_seconds` for the
  // answer (0: no limit), then throws core::CommError.
  std::optional<Assignment> next(const std::optional<JobReport>& previous, double timeout_seconds = 0);
  // The same, the job's index only.
  std::optional<int> next_job(const std::optional<JobReport>& previous, double timeout_seconds = 0);
  void heartbeat(const Heartbeat& beat);
  // Reports an epoch's result and returns what the job must do next.
  // Waits at most `timeout_seconds` for the answer (0: no limit), then
  // throws core::CommError.
  EpochAnswer epoch_result(const EpochResult& result, double timeout_seconds);

 private:
  LeaderEnd& transport_;
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

// Hands out the jobs of `source` to `groups` groups on a thread of its own;
// stops handing out once a group reports an interrupted job or a storage
// failure, or `stop()` is called (a stop signal), answering every later
// request with "none left". If its thread fails (the ledger cannot be
// written), it logs why and ends every rank through the transport: ranks
// blocked on it could not be released otherwise, and the ledger and
// checkpoints let a restart resume.
class Coordinator {
 public:
  // `transport` outlives the coordinator.
  Coordinator(CoordinatorEnd& transport, int groups, JobSource source, CoordinatorEvents events,
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
  void handle(const Envelope& envelope);
  void hand_out(GroupState& group, const JobRequest& request);
  void answer_result(GroupState& group, const EpochResult& result);
  void check_silence(std::chrono::steady_clock::time_point now);

  CoordinatorEnd& transport_;
  JobSource source_;
  CoordinatorEvents events_;
  CoordinatorOptions options_;
  core::Logger& log_;
  std::vector<GroupState> groups_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

}  // namespace fracsweep::schedule
