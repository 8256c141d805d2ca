// See run_book.h.
#include "sweeps/run_book.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "core/clock.h"
#include "core/error.h"

namespace fracsweep::sweeps {
namespace {

using Clock = std::chrono::steady_clock;

// Longest first: the estimate is epochs times the share of training data.
double job_cost(const SweepJob& job) {
  return job.config.train.epochs * job.config.data.subset;
}

// SLURM's id of the job this runs in ("123", or "123_4" for an array task),
// or "" outside SLURM.
std::string slurm_job_id() {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (job == nullptr) return "";
  const char* array = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
  return array && task ? core::str_cat(array, "_", task) : std::string(job);
}

}  // namespace

// The jobs to run, in hand-out order: interrupted ones first (they resume
// from a checkpoint), then the rest longest first, ties in sweep order.
std::deque<int> make_queue(const Sweep& sweep, const LedgerState& state,
                           bool retry_failed, int shard, int shards, int* finished,
                           int* failed_skipped) {
  std::vector<int> interrupted, fresh;
  for (int i = 0; i < static_cast<int>(sweep.jobs.size()); ++i) {
    if (i % shards != shard) continue;
    const auto it = state.jobs.find(sweep.jobs[static_cast<size_t>(i)].id);
    if (it == state.jobs.end()) {
      fresh.push_back(i);
    } else if (it->second.status == JobStatus::kFinished ||
               it->second.status == JobStatus::kStopped) {
      ++*finished;
    } else if (it->second.status == JobStatus::kFailed && !retry_failed) {
      ++*failed_skipped;
    } else {
      interrupted.push_back(i);
    }
  }
  std::stable_sort(fresh.begin(), fresh.end(), [&](int a, int b) {
    return job_cost(sweep.jobs[static_cast<size_t>(a)]) > job_cost(sweep.jobs[static_cast<size_t>(b)]);
  });
  std::deque<int> queue(interrupted.begin(), interrupted.end());
  queue.insert(queue.end(), fresh.begin(), fresh.end());
  return queue;
}

std::string ranks_text(const std::vector<int>& ranks) {
  return ranks.size() == 1 ? fmt::format("rank {}", ranks[0])
                           : fmt::format("ranks {}-{}", ranks.front(), ranks.back());
}

RunBook::RunBook(const Sweep& sweep, SweepManifest manifest,
                 std::vector<LedgerRecord> records, std::string writer,
                 std::deque<int> queue, core::Logger& log)
    : sweep_(sweep),
      manifest_(std::move(manifest)),
      records_(std::move(records)),
      writer_(std::move(writer)),
      ledger_(ledger_path(sweep.output, writer_), log),
      log_(log),
      slurm_job_(slurm_job_id()),
      queue_(std::move(queue)) {
  if (sweep.search) search_.emplace(sweep, records_);
}

std::optional<schedule::Assignment> RunBook::next() {
  if (!search_) {
    if (queue_.empty()) return std::nullopt;
    schedule::Assignment a;
    a.job = queue_.front();
    queue_.pop_front();
    return a;
  }
  const std::vector<int> candidates(queue_.begin(), queue_.end());
  for (;;) {
    const std::optional<SearchRun::Handout> h = search_->next(candidates, busy_);
    if (!h) return std::nullopt;
    const auto& j = sweep_.jobs[static_cast<size_t>(h->job)];
    if (!h->skip) return schedule::Assignment{h->job, params_to_json(h->params)};
    append(make_stopped(j.id, j.name, {0, local_host_name(), slurm_job_}, 0));
    log_.info("skip  ", j.name, ": its trial was stopped at epoch ",
              search_->stopped_trials().at(j.trial));
  }
}

void RunBook::started(const schedule::Assignment& a, const schedule::GroupState& g) {
  const auto& j = sweep_.jobs[static_cast<size_t>(a.job)];
  LedgerRecord r = make_started(j.id, j.name, origin(g));
  r.params = a.params;
  append(r);
  log_.info("start ", j.name, " on group ", g.group, " (", ranks_text(g.ranks), ", ", g.host, ")",
            a.params.empty() ? std::string() : " with " + a.params.dump());
  started_at_[a.job] = Clock::now();
  busy_.insert(a.job);
}

schedule::EpochAnswer RunBook::result(const schedule::EpochResult& r, const schedule::GroupState& g) {
  if (!search_) return schedule::EpochAnswer::kContinue;
  const auto& j = sweep_.jobs[static_cast<size_t>(r.job)];
  if (search_->records_result(r.job, r.epoch))
    append(make_result(j.id, j.name, origin(g), r.epoch, r.value));
  if (search_->stopped(r.job)) return schedule::EpochAnswer::kStop;
  return search_->pauses_at(r.job, r.epoch, busy_) ? schedule::EpochAnswer::kPause : schedule::EpochAnswer::kContinue;
}

void RunBook::reported(const schedule::JobReport& r, const schedule::GroupState& g) {
  const auto& j = sweep_.jobs[static_cast<size_t>(r.job)];
  const double seconds = std::chrono::duration<double>(Clock::now() - started_at_[r.job]).count();
  busy_.erase(r.job);
  switch (r.outcome) {
    case schedule::Outcome::kFinished: {
      append(make_finished(j.id, j.name, origin(g), r.metrics));
      const auto auc = r.metrics.find("aAUC");
      log_.info("done  ", j.name, " in ", format_duration(seconds),
                auc != r.metrics.end() && auc->is_number()
                    ? fmt::format(", test aAUC {:.3f}", auc->get<double>())
                    : std::string());
      ++finished_;
      break;
    }
    case schedule::Outcome::kFailed:
      append(make_failed(j.id, j.name, origin(g), r.error));
      log_.error("FAILED ", j.name, ": ", r.error);
      ++failed_;
      break;
    case schedule::Outcome::kInterrupted:
      log_.warn("interrupted ", j.name, " (checkpoint written; the next run resumes it)");
      break;
    case schedule::Outcome::kStorage:
      log_.error("stopped at ", j.name, ": ", r.error);
      storage_error_ = r.error;
      break;
    case schedule::Outcome::kPaused:
      log_.info("pause ", j.name, " after epoch ", r.epoch,
                " until the other jobs of its trial reach it (checkpoint written)");
      break;
    case schedule::Outcome::kStopped:
      append(make_stopped(j.id, j.name, origin(g), r.epoch));
      log_.info("stop  ", j.name, " after epoch ", r.epoch, " (ASHA stopped its trial at epoch ",
                search_ ? search_->stopped_trials().at(j.trial) : 0, ") in ",
                format_duration(seconds));
      ++stopped_;
      break;
  }
  changed_ = true;
}

void RunBook::tick(const std::vector<schedule::GroupState>& groups) {
  ProgressSnapshot snap;
  snap.time = core::utc_now_iso8601();
  snap.host = local_host_name();
  snap.pid = ::getpid();
  snap.writer = writer_;
  snap.slurm_job = slurm_job_;
  const auto now_steady = Clock::now();
  const auto now_system = std::chrono::system_clock::now();
  auto iso_of = [&](Clock::time_point t) {
    return t == Clock::time_point{} ? std::string()
                                    : core::utc_iso8601(now_system - (now_steady - t));
  };
  for (const schedule::GroupState& g : groups) {
    GroupProgress p;
    p.group = g.group;
    p.ranks = g.ranks;
    p.host = g.host;
    if (g.job >= 0) {
      const auto& j = sweep_.jobs[static_cast<size_t>(g.job)];
      p.job = j.id;
      p.name = j.name;
      p.epoch = static_cast<int>(g.progress.epoch);
      p.epochs = static_cast<int>(g.progress.epochs);
      p.step = g.progress.step;
      p.steps = g.progress.steps;
      p.started = iso_of(g.started);
    }
    p.heard = iso_of(g.heard);
    snap.groups.push_back(std::move(p));
  }
  write_progress(sweep_.output, snap);
  // A live line when something changed, and at least every 30 s.
  if (!changed_ && now_steady - last_line_ < std::chrono::seconds(30)) return;
  const SweepStatus s =
      sweep_status(manifest_, records_, snap, /*run_active=*/true, snap.time);
  log_.info(fmt::format("{}: {}/{} done, {} running, {} failed, {} to go; {}", sweep_.name,
                        s.total.done, s.total.jobs, s.total.running, s.total.failed,
                        s.total.pending + s.total.interrupted,
                        s.eta_s ? "ETA " + format_duration(*s.eta_s) : "ETA unknown"));
  changed_ = false;
  last_line_ = now_steady;
}

void RunBook::append(const LedgerRecord& r) {
  ledger_.append(r);
  records_.push_back(r);
  if (search_) search_->apply(r);
  changed_ = true;
}

}  // namespace fracsweep::sweeps
