// See coordinator.h.
#include "schedule/coordinator.h"

#include <algorithm>

#include "core/error.h"

namespace fracsweep::schedule {
namespace {

using Clock = std::chrono::steady_clock;

Envelope expect(LeaderEnd& transport, MessageKind kind, double timeout_seconds, const std::string& what) {
  std::optional<Envelope> e = transport.receive(kind, timeout_seconds);
  if (!e)
    throw core::CommError(core::str_cat("the coordinator did not answer ", what, " within ",
                                        timeout_seconds,
                                        " s; rank 0 may be stuck (run the same command again to resume)"));
  return std::move(*e);
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

CoordinatorClient::CoordinatorClient(LeaderEnd& transport, const GroupLayout& layout, std::string host)
    : transport_(transport), group_(layout.group), ranks_(layout.ranks), host_(std::move(host)) {}

std::optional<Assignment> CoordinatorClient::next(const std::optional<JobReport>& previous,
                                                  double timeout_seconds) {
  transport_.send(encode(JobRequest{group_, ranks_, host_, previous}));
  return decode_reply(expect(transport_, MessageKind::kReply, timeout_seconds,
                             core::str_cat("group ", group_, "'s request for a job")));
}

std::optional<int> CoordinatorClient::next_job(const std::optional<JobReport>& previous,
                                               double timeout_seconds) {
  const std::optional<Assignment> a = next(previous, timeout_seconds);
  if (!a) return std::nullopt;
  return a->job;
}

EpochAnswer CoordinatorClient::epoch_result(const EpochResult& r, double timeout_seconds) {
  transport_.send(encode_result(group_, r));
  return decode_answer(expect(transport_, MessageKind::kAnswer, timeout_seconds,
                              core::str_cat("epoch ", r.epoch, "'s result of job ", r.job)));
}

void CoordinatorClient::heartbeat(const Heartbeat& b) { transport_.send(encode_heartbeat(group_, b)); }

Coordinator::Coordinator(CoordinatorEnd& transport, int groups, JobSource source,
                         CoordinatorEvents events, CoordinatorOptions options, core::Logger& log)
    : transport_(transport),
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
    while (!std::all_of(groups_.begin(), groups_.end(), [](const GroupState& g) { return g.done; })) {
      if (const std::optional<Envelope> e = transport_.try_receive()) {
        handle(*e);
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
    transport_.abort_all();
  }
}

void Coordinator::handle(const Envelope& envelope) {
  const nlohmann::json m = parse_body(envelope);
  const int g = sender_group(m);
  CHECK_OR_THROW(core::InternalError, g >= 0 && g < static_cast<int>(groups_.size()),
                 "message from unknown group ", g);
  GroupState& group = groups_[static_cast<size_t>(g)];
  group.heard = Clock::now();
  if (group.stuck) {
    log_.info("group ", g, " (host ", group.host, ") reports again");
    group.stuck = group.hung = false;
  }
  switch (envelope.kind) {
    case MessageKind::kHeartbeat: {
      const Heartbeat beat = decode_heartbeat(m);
      if (beat.job == group.job) group.progress = beat;  // a late beat of the last job is dropped
      return;
    }
    case MessageKind::kResult: answer_result(group, decode_result(m)); return;
    case MessageKind::kRequest: hand_out(group, decode_request(m)); return;
    default:
      throw core::InternalError(core::str_cat("unexpected message kind ", static_cast<int>(envelope.kind),
                                              " from group ", g));
  }
}

void Coordinator::hand_out(GroupState& group, const JobRequest& request) {
  group.ranks = request.ranks;
  group.host = request.host;
  if (const auto& report = request.report) {
    if (report->outcome == Outcome::kInterrupted || report->outcome == Outcome::kStorage)
      interrupted_ = true;
    if (events_.reported) events_.reported(*report, group);
  }
  group.job = -1;
  if (events_.should_stop && events_.should_stop()) stop_requested_ = true;
  const std::optional<Assignment> next =
      interrupted_ || stop_requested_ ? std::nullopt : source_();
  const int leader = group.ranks.at(0);
  if (!next) {
    transport_.send(leader, encode_reply(std::nullopt));
    group.done = true;
    return;
  }
  group.job = next->job;
  group.progress = {next->job, 0, 0, 0, 0};
  group.started = group.heard;
  // The ledger records the start before the group hears of the job, so a job
  // can never have run without a record of it.
  if (events_.started) events_.started(*next, group);
  transport_.send(leader, encode_reply(next));
}

void Coordinator::answer_result(GroupState& group, const EpochResult& r) {
  CHECK_OR_THROW(core::InternalError, r.job == group.job, "group ", group.group,
                 " reported a result of job ", r.job, " while it runs job ", group.job);
  const EpochAnswer answer = events_.result ? events_.result(r, group) : EpochAnswer::kContinue;
  transport_.send(group.ranks.at(0), encode_answer(answer));
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

}  // namespace fracsweep::schedule
