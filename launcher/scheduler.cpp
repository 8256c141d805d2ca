// See scheduler.h.
#include "launcher/scheduler.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "launcher/mpi.h"

namespace fracsweep::launcher {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kTagRequest = 1;    // {"group", "ranks", "host", "report"?}
constexpr int kTagHeartbeat = 2;  // {"group", "job", "epoch", "epochs", "step", "steps"}
constexpr int kTagReply = 3;      // {"job": index or -1, "params"}
constexpr int kTagResult = 4;     // {"group", "job", "epoch", "value"}
constexpr int kTagStop = 5;       // one int: EpochAnswer

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kFinished: return "finished";
    case Outcome::kFailed: return "failed";
    case Outcome::kInterrupted: return "interrupted";
    case Outcome::kStorage: return "storage";
    case Outcome::kStopped: return "stopped";
    case Outcome::kPaused: return "paused";
  }
  return "?";
}

Outcome parse_outcome(const std::string& s) {
  if (s == "finished") return Outcome::kFinished;
  if (s == "failed") return Outcome::kFailed;
  if (s == "storage") return Outcome::kStorage;
  if (s == "stopped") return Outcome::kStopped;
  if (s == "paused") return Outcome::kPaused;
  CHECK_OR_THROW(core::InternalError, s == "interrupted", "unknown job outcome '", s, "'");
  return Outcome::kInterrupted;
}

void send_text(MPI_Comm comm, int tag, const std::string& text) {
  FRACSWEEP_MPI_CHECK(MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, 0, tag, comm));
}

// JSON cannot spell NaN; dump() writes it as null.
std::string dump(const nlohmann::json& m) {
  return m.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

JobSource queue_source(std::deque<int> queue) {
  return [queue = std::move(queue)]() mutable -> std::optional<Assignment> {
    if (queue.empty()) return std::nullopt;
    Assignment a;
    a.job = queue.front();
    queue.pop_front();
    return a;
  };
}

GroupLayout group_layout(int world_rank, int world_size, int ranks_per_job) {
  CHECK_OR_THROW(core::ConfigError, ranks_per_job >= 1, "ranks per job must be at least 1, not ",
                 ranks_per_job);
  CHECK_OR_THROW(core::ConfigError, world_size % ranks_per_job == 0, "the ", world_size,
                 " MPI ranks cannot form groups of ", ranks_per_job,
                 " ranks per job; start a multiple of ", ranks_per_job,
                 " ranks (mpirun -np) or change --ranks-per-job");
  GroupLayout g;
  g.group_size = ranks_per_job;
  g.groups = world_size / ranks_per_job;
  g.group = world_rank / ranks_per_job;
  g.group_rank = world_rank % ranks_per_job;
  for (int r = 0; r < ranks_per_job; ++r) g.ranks.push_back(g.group * ranks_per_job + r);
  return g;
}

CoordinatorClient::CoordinatorClient(CoordinatorChannels channels, const GroupLayout& layout,
                                     std::string host)
    : channels_(channels), group_(layout.group), ranks_(layout.ranks), host_(std::move(host)) {}

std::optional<Assignment> CoordinatorClient::next(const std::optional<JobReport>& previous) {
  nlohmann::json m = {{"group", group_}, {"ranks", ranks_}, {"host", host_}};
  if (previous) {
    m["report"] = {{"job", previous->job},
                   {"outcome", outcome_name(previous->outcome)},
                   {"metrics", previous->metrics},
                   {"error", previous->error},
                   {"epoch", previous->epoch}};
  }
  send_text(channels_.up, kTagRequest, dump(m));
  MPI_Message message;
  MPI_Status status;
  FRACSWEEP_MPI_CHECK(MPI_Mprobe(0, kTagReply, channels_.down, &message, &status));
  int count = 0;
  FRACSWEEP_MPI_CHECK(MPI_Get_count(&status, MPI_CHAR, &count));
  std::string text(static_cast<size_t>(count), '\0');
  FRACSWEEP_MPI_CHECK(MPI_Mrecv(text.data(), count, MPI_CHAR, &message, MPI_STATUS_IGNORE));
  const nlohmann::json reply = nlohmann::json::parse(text);
  Assignment a;
  a.job = reply.at("job").get<int>();
  if (a.job < 0) return std::nullopt;
  a.params = reply.value("params", nlohmann::json::object());
  return a;
}

std::optional<int> CoordinatorClient::next_job(const std::optional<JobReport>& previous) {
  const std::optional<Assignment> a = next(previous);
  if (!a) return std::nullopt;
  return a->job;
}

EpochAnswer CoordinatorClient::epoch_result(const EpochResult& r, double timeout_seconds) {
  const nlohmann::json m = {{"group", group_}, {"job", r.job}, {"epoch", r.epoch}, {"value", r.value}};
  send_text(channels_.up, kTagResult, dump(m));
  int stop = 0;
  MPI_Request request;
  FRACSWEEP_MPI_CHECK(MPI_Irecv(&stop, 1, MPI_INT, 0, kTagStop, channels_.down, &request));
  const auto started = Clock::now();
  for (int done = 0;;) {
    FRACSWEEP_MPI_CHECK(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
    if (done) {
      CHECK_OR_THROW(core::InternalError, stop >= 0 && stop <= 2, "unknown epoch answer ", stop);
      return static_cast<EpochAnswer>(stop);
    }
    const double waited = std::chrono::duration<double>(Clock::now() - started).count();
    if (timeout_seconds > 0 && waited > timeout_seconds) {
      MPI_Cancel(&request);
      MPI_Request_free(&request);
      throw core::CommError(core::str_cat(
          "the coordinator did not answer epoch ", r.epoch, "'s result of job ", r.job, " within ",
          timeout_seconds, " s; rank 0 may be stuck (run the same command again to resume)"));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void CoordinatorClient::heartbeat(const Heartbeat& b) {
  const nlohmann::json m = {{"group", group_}, {"job", b.job},     {"epoch", b.epoch},
                            {"epochs", b.epochs}, {"step", b.step}, {"steps", b.steps}};
  send_text(channels_.up, kTagHeartbeat, m.dump());
}

Coordinator::Coordinator(CoordinatorChannels channels, int groups, JobSource source,
                         CoordinatorEvents events, CoordinatorOptions options, core::Logger& log)
    : channels_(channels),
      source_(std::move(source)),
      events_(std::move(events)),
      options_(options),
      log_(log),
      groups_(static_cast<size_t>(groups)) {
  const auto now = Clock::now();  // a group that never asks for a job falls silent from here
  for (int g = 0; g < groups; ++g) {
    groups_[static_cast<size_t>(g)].group = g;
    groups_[static_cast<size_t>(g)].heard = now;
  }
  thread_ = std::thread([this] { loop(); });
}

Coordinator::~Coordinator() { join(); }

void Coordinator::join() {
  if (thread_.joinable()) thread_.join();
}

void Coordinator::loop() {
  try {
    auto next_tick = Clock::now();
    std::string text;
    while (!std::all_of(groups_.begin(), groups_.end(), [](const GroupState& g) { return g.done; })) {
      int flag = 0;
      MPI_Message message;
      MPI_Status status;
      FRACSWEEP_MPI_CHECK(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, channels_.up, &flag, &message, &status));
      if (flag) {
        int count = 0;
        FRACSWEEP_MPI_CHECK(MPI_Get_count(&status, MPI_CHAR, &count));
        text.resize(static_cast<size_t>(count));
        FRACSWEEP_MPI_CHECK(MPI_Mrecv(text.data(), count, MPI_CHAR, &message, MPI_STATUS_IGNORE));
        handle(status.MPI_TAG, text);
        continue;  // drain what is waiting before sleeping
      }
      const auto now = Clock::now();
      if (now >= next_tick) {
        check_silence(now);
        if (events_.tick) events_.tick(groups_);
        next_tick = now + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(options_.tick_seconds));
      }
      std::this_thread::sleep_for(options_.poll);
    }
    if (events_.tick) events_.tick(groups_);
  } catch (const std::exception& e) {
    log_.error("the job coordinator failed: ", e.what(),
               "; aborting every rank (run the same command again to resume)");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
}

void Coordinator::handle(int tag, const std::string& text) {
  const nlohmann::json m = nlohmann::json::parse(text);
  const int g = m.at("group").get<int>();
  CHECK_OR_THROW(core::InternalError, g >= 0 && g < static_cast<int>(groups_.size()),
                 "message from unknown group ", g);
  GroupState& group = groups_[static_cast<size_t>(g)];
  group.heard = Clock::now();
  if (group.stuck) {
    log_.info("group ", g, " (host ", group.host, ") reports again");
    group.stuck = group.hung = false;
  }
  if (tag == kTagHeartbeat) {
    if (m.at("job").get<int>() != group.job) return;
    group.progress = {group.job, m.at("epoch").get<int64_t>(), m.at("epochs").get<int64_t>(),
                      m.at("step").get<int64_t>(), m.at("steps").get<int64_t>()};
    return;
  }
  if (tag == kTagResult) {
    answer_result(group, m);
    return;
  }
  CHECK_OR_THROW(core::InternalError, tag == kTagRequest, "unexpected message tag ", tag);
  group.ranks = m.at("ranks").get<std::vector<int>>();
  group.host = m.at("host").get<std::string>();
  if (m.contains("report")) {
    const nlohmann::json& r = m["report"];
    JobReport report;
    report.job = r.at("job").get<int>();
    report.outcome = parse_outcome(r.at("outcome").get<std::string>());
    report.metrics = r.at("metrics");
    report.error = r.at("error").get<std::string>();
    report.epoch = r.value("epoch", 0);
    if (report.outcome == Outcome::kInterrupted || report.outcome == Outcome::kStorage)
      interrupted_ = true;
    if (events_.reported) events_.reported(report, group);
  }
  group.job = -1;
  if (events_.should_stop && events_.should_stop()) stop_requested_ = true;
  const std::optional<Assignment> next =
      interrupted_ || stop_requested_ ? std::nullopt : source_();
  if (!next) {
    reply(g, std::nullopt);
    group.done = true;
    return;
  }
  group.job = next->job;
  group.progress = {next->job, 0, 0, 0, 0};
  group.started = group.heard;
  // The ledger records the start before the group hears of the job, so a job
  // can never have run without a record of it.
  if (events_.started) events_.started(*next, group);
  reply(g, next);
}

void Coordinator::reply(int group, const std::optional<Assignment>& job) {
  const nlohmann::json m = job ? nlohmann::json{{"job", job->job}, {"params", job->params}}
                               : nlohmann::json{{"job", -1}};
  const std::string text = m.dump();
  FRACSWEEP_MPI_CHECK(MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR,
                               groups_[static_cast<size_t>(group)].ranks.at(0), kTagReply,
                               channels_.down));
}

void Coordinator::answer_result(GroupState& group, const nlohmann::json& m) {
  EpochResult r;
  r.job = m.at("job").get<int>();
  r.epoch = m.at("epoch").get<int>();
  // NaN travels as null.
  r.value = m.at("value").is_number() ? m.at("value").get<double>()
                                      : std::numeric_limits<double>::quiet_NaN();
  CHECK_OR_THROW(core::InternalError, r.job == group.job, "group ", group.group,
                 " reported a result of job ", r.job, " while it runs job ", group.job);
  int stop = static_cast<int>(events_.result ? events_.result(r, group) : EpochAnswer::kContinue);
  FRACSWEEP_MPI_CHECK(MPI_Send(&stop, 1, MPI_INT, group.ranks.at(0), kTagStop, channels_.down));
}

void Coordinator::check_silence(Clock::time_point now) {
  for (GroupState& g : groups_) {
    // A group between jobs asks for its next one at once, and the coordinator
    // waits for every group to ask before it ends: one that stays silent there
    // (a stopped rank) would keep the run waiting as surely as one mid-job.
    if (g.done) continue;
    const double silent = std::chrono::duration<double>(now - g.heard).count();
    if (!g.stuck && silent > options_.timeout_seconds) {
      g.stuck = true;
      if (events_.stuck) events_.stuck(g, silent);
    }
    if (!g.hung && options_.abort_after_seconds > 0 && silent > options_.abort_after_seconds) {
      g.hung = true;
      if (events_.hung) events_.hung(g, silent);
    }
  }
}

}  // namespace fracsweep::launcher
