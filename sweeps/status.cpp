// See status.h: the status of a sweep and its text form (the files it is read from are in
// run_files.cpp).
#include "sweeps/status.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "core/clock.h"
#include "core/error.h"

// Note [Running or interrupted]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A job whose latest ledger record is "started" is either being trained now or was left behind
// by a run that stopped (a crash, a SLURM time limit); the next run resumes it from its
// checkpoint. With no run holding the folder's lock, every such job is interrupted. With a run
// active, a job is running if progress.json names it, or if it was started after progress.json
// was written (the run has not reported it yet), or if there is no progress.json to ask. Any
// other started job is one that an earlier run left behind and the active run has not picked up
// again yet: interrupted. A progress.json left over by a dead run is older than every job the
// active run has started, so it cannot make a job of the active run look interrupted.
//
// Note [ETA]
// ~~~~~~~~~~
// A job's duration is the time from its last "started" record to its "finished" record, so a
// job that was resumed counts only its last attempt (an underestimate of a full job). The
// expected duration of a job is the mean over finished jobs of its variant, else over all
// finished jobs. Before any job has finished, the running jobs stand in: elapsed / share done
// (too short for a job resumed from a checkpoint, whose elapsed time covers only this run).
// The work left is, per job: the expected duration for pending and interrupted jobs (resumed
// jobs need less, so this errs long), and expected * (1 - share done) for running ones, or
// expected - elapsed when progress.json has no share. Failed jobs are not rerun unless asked,
// so they add nothing. With G groups training one job each, the sweep needs at least
// work / G, and at least as long as its longest job: the ETA is the larger of the two.

namespace fracsweep::sweeps {
namespace {

using OrderedJson = nlohmann::ordered_json;

}  // namespace


std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m {:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d {:02}h", s / 86400, s % 86400 / 3600);
}

namespace {

// Seconds from `from` to `to`, both ISO-8601 UTC; nullopt if either cannot be read.
std::optional<double> seconds_between(std::string_view from, std::string_view to) {
  const auto a = core::parse_utc_iso8601(from), b = core::parse_utc_iso8601(to);
  if (!a || !b) return std::nullopt;
  return *b - *a;
}

// Whether a started job counts as running. See Note [Running or interrupted].
bool counts_as_running(const JobState& state, const GroupProgress* reported,
                       const std::optional<ProgressSnapshot>& progress, bool run_active) {
  if (!run_active) return false;
  if (!progress || reported) return true;
  const auto started_after = seconds_between(progress->time, state.time);
  return !started_after || *started_after > 0;
}

RunningJob running_job(const ManifestJob& job, const JobState& state,
                       const GroupProgress* reported, const std::string& now) {
  RunningJob r;
  r.id = job.id;
  r.name = job.name;
  r.variant = job.variant;
  r.epochs = job.epochs;
  r.started = state.time;
  r.host = state.host;
  if (reported) {
    r.group = reported->group;
    r.host = reported->host;
    r.epoch = reported->epoch;
    if (reported->epochs > 0) r.epochs = reported->epochs;
    r.step = reported->step;
    r.steps = reported->steps;
    if (!reported->started.empty()) r.started = reported->started;
    if (const auto silent = seconds_between(reported->heard, now)) r.silent_s = *silent;
    if (r.epochs > 0) {
      const double in_epoch =
          r.steps > 0 ? static_cast<double>(r.step) / static_cast<double>(r.steps) : 0.0;
      r.fraction = std::clamp((r.epoch + in_epoch) / r.epochs, 0.0, 1.0);
    }
  }
  if (const auto elapsed = seconds_between(r.started, now)) r.elapsed_s = std::max(0.0, *elapsed);
  return r;
}

double mean(const std::vector<double>& xs) {
  double sum = 0;
  for (double x : xs) sum += x;
  return sum / static_cast<double>(xs.size());
}

using Durations = std::map<std::string, std::vector<double>>;  // variant -> seconds

// Durations of finished jobs per variant, from the ledger. See Note [ETA].
Durations finished_durations(const std::vector<LedgerRecord>& records,
                             const std::map<std::string, std::string>& variant_of) {
  Durations out;
  std::map<std::string, std::string> last_started;
  std::set<std::string> finished;
  for (const LedgerRecord& r : records) {
    const auto v = variant_of.find(r.job);
    if (v == variant_of.end() || finished.count(r.job)) continue;  // finished is final
    if (r.event == LedgerEvent::kStarted) last_started[r.job] = r.time;
    if (r.event != LedgerEvent::kFinished) continue;
    finished.insert(r.job);
    const auto started = last_started.find(r.job);
    if (started == last_started.end()) continue;
    const auto d = seconds_between(started->second, r.time);
    if (d && *d >= 0) out[v->second].push_back(*d);  // clocks that went back give no duration
  }
  return out;
}

// The ETA from the jobs left. See Note [ETA].
std::optional<double> estimate_eta(const SweepManifest& manifest, const LedgerState& ledger,
                                   const std::vector<LedgerRecord>& records,
                                   const std::vector<RunningJob>& running, int groups) {
  std::map<std::string, std::string> variant_of;
  for (const ManifestJob& j : manifest.jobs) variant_of[j.id] = j.variant;
  auto samples = finished_durations(records, variant_of);
  if (samples.empty()) {
    for (const RunningJob& r : running) {
      if (r.fraction > 0 && r.elapsed_s >= 0) {
        samples[r.variant].push_back(r.elapsed_s / r.fraction);
      }
    }
  }
  std::vector<double> all;
  for (const auto& [variant, xs] : samples) all.insert(all.end(), xs.begin(), xs.end());
  const auto expected = [&](const std::string& variant) -> std::optional<double> {
    const auto it = samples.find(variant);
    if (it != samples.end()) return mean(it->second);
    if (!all.empty()) return mean(all);
    return std::nullopt;
  };

  std::set<std::string> running_ids;
  for (const RunningJob& r : running) running_ids.insert(r.id);
  double work = 0, longest = 0;
  const auto add = [&](double seconds) {
    work += seconds;
    longest = std::max(longest, seconds);
  };
  for (const RunningJob& r : running) {
    const auto e = expected(r.variant);
    if (!e) return std::nullopt;
    if (r.fraction >= 0) {
      add(*e * (1 - r.fraction));
    } else {
      add(std::max(0.0, *e - std::max(0.0, r.elapsed_s)));
    }
  }
  for (const ManifestJob& j : manifest.jobs) {
    if (running_ids.count(j.id)) continue;
    const auto it = ledger.jobs.find(j.id);
    const bool left = it == ledger.jobs.end() || it->second.status == JobStatus::kStarted;
    if (!left) continue;
    const auto e = expected(j.variant);
    if (!e) return std::nullopt;
    add(*e);
  }
  return std::max(work / groups, longest);
}

void add_counts(StatusCounts& into, const StatusCounts& c) {
  into.jobs += c.jobs;
  into.done += c.done;
  into.running += c.running;
  into.failed += c.failed;
  into.pending += c.pending;
  into.interrupted += c.interrupted;
}

}  // namespace

SweepStatus sweep_status(const SweepManifest& manifest, const std::vector<LedgerRecord>& records,
                         const std::optional<ProgressSnapshot>& progress, bool run_active,
                         std::string now_iso) {
  SweepStatus st;
  st.name = manifest.name;
  st.sweep_file = manifest.sweep_file;
  st.time = std::move(now_iso);
  st.run_active = run_active;
  st.groups = std::max(1, manifest.groups);
  const LedgerState ledger = summarize(records);

  std::map<std::string, const GroupProgress*> reported;  // job id -> the group training it
  if (progress) {
    for (const GroupProgress& g : progress->groups) {
      if (!g.job.empty()) reported[g.job] = &g;
    }
  }
  std::map<std::string, size_t> variant_index;
  std::set<std::string> listed;
  for (size_t index = 0; index < manifest.jobs.size(); ++index) {
    const ManifestJob& job = manifest.jobs[index];
    listed.insert(job.id);
    // Records under the id fracsweep 0.1 gave the job are its own past, not another job's.
    if (!job.former_id.empty()) listed.insert(job.former_id);
    const auto [slot, added] = variant_index.try_emplace(job.variant, st.variants.size());
    if (added) st.variants.push_back(StatusCounts{job.variant});
    StatusCounts& c = st.variants[slot->second];
    ++c.jobs;
    const auto it = ledger.jobs.find(job.id);
    if (it == ledger.jobs.end()) {
      ++c.pending;
      continue;
    }
    const JobState& state = it->second;
    switch (state.status) {
      case JobStatus::kFinished:
      case JobStatus::kStopped:
        ++c.done;
        break;
      case JobStatus::kFailed:
        ++c.failed;
        st.failed.push_back(FailedJob{job.id, job.name, job.variant, state.error, state.failures,
                                      state.time, state.host});
        break;
      case JobStatus::kStarted: {
        const auto r = reported.find(job.id);
        const GroupProgress* group = r == reported.end() ? nullptr : r->second;
        if (counts_as_running(state, group, progress, run_active)) {
          ++c.running;
          st.running.push_back(running_job(job, state, group, st.time));
        } else {
          ++c.interrupted;
          st.interrupted.push_back(index);
        }
        break;
      }
    }
  }
  for (const StatusCounts& c : st.variants) add_counts(st.total, c);
  for (const auto& [id, state] : ledger.jobs) st.unlisted += listed.count(id) ? 0 : 1;
  st.eta_s = estimate_eta(manifest, ledger, records, st.running, st.groups);
  return st;
}

SweepStatus read_sweep_status(const std::string& output_dir, core::Logger& log) {
  const SweepManifest manifest = read_manifest(output_dir);
  const std::vector<LedgerRecord> records = read_sweep_ledger(output_dir, log);
  const std::vector<ProgressSnapshot> progress = read_progress(output_dir);
  SweepStatus st = sweep_status(manifest, records, merge_progress(progress),
                                sweep_running(output_dir), core::utc_now_iso8601());
  for (const ProgressSnapshot& p : progress) {
    WriterReport w{p.writer, p.host, p.slurm_job, p.pid, p.time};
    if (const auto age = seconds_between(p.time, st.time)) w.age_s = *age;
    w.groups = static_cast<int>(p.groups.size());
    for (const GroupProgress& g : p.groups) w.training += g.job.empty() ? 0 : 1;
    // A shard's interrupted jobs: its share of the sweep (index modulo K).
    int shard = 0, shards = 0;
    if (std::sscanf(p.writer.c_str(), "shard-%d-of-%d", &shard, &shards) == 2 && shards > 0) {
      for (size_t i : st.interrupted)
        w.interrupted += static_cast<int>(i % static_cast<size_t>(shards)) == shard ? 1 : 0;
    } else {
      w.interrupted = static_cast<int>(st.interrupted.size());
    }
    st.writers.push_back(std::move(w));
  }
  return st;
}

OrderedJson to_json(const SweepStatus& st) {
  const auto counts = [](const StatusCounts& c) {
    OrderedJson j;
    if (!c.variant.empty()) j["variant"] = c.variant;
    j["jobs"] = c.jobs;
    j["done"] = c.done;
    j["running"] = c.running;
    j["failed"] = c.failed;
    j["pending"] = c.pending;
    j["interrupted"] = c.interrupted;
    return j;
  };
  // -1 marks "unknown" in the structs; JSON has null for that.
  const auto known = [](double x) { return x >= 0 ? OrderedJson(x) : OrderedJson(nullptr); };
  OrderedJson j;
  j["name"] = st.name;
  j["sweep_file"] = st.sweep_file;
  j["time"] = st.time;
  j["run_active"] = st.run_active;
  j["groups"] = st.groups;
  j["variants"] = OrderedJson::array();
  for (const StatusCounts& c : st.variants) j["variants"].push_back(counts(c));
  j["total"] = counts(st.total);
  j["eta_s"] = st.eta_s ? OrderedJson(*st.eta_s) : OrderedJson(nullptr);
  j["running"] = OrderedJson::array();
  for (const RunningJob& r : st.running) {
    j["running"].push_back({{"id", r.id}, {"name", r.name}, {"variant", r.variant},
                            {"group", r.group >= 0 ? OrderedJson(r.group) : OrderedJson(nullptr)},
                            {"host", r.host}, {"epoch", r.epoch}, {"epochs", r.epochs},
                            {"step", r.step}, {"steps", r.steps}, {"started", r.started},
                            {"elapsed_s", known(r.elapsed_s)}, {"fraction", known(r.fraction)},
                            {"silent_s", known(r.silent_s)}});
  }
  j["failed"] = OrderedJson::array();
  for (const FailedJob& f : st.failed) {
    j["failed"].push_back({{"id", f.id}, {"name", f.name}, {"variant", f.variant},
                           {"error", f.error}, {"failures", f.failures}, {"time", f.time},
                           {"host", f.host}});
  }
  j["unlisted"] = st.unlisted;
  j["writers"] = OrderedJson::array();
  for (const WriterReport& w : st.writers) {
    OrderedJson e;
    e["writer"] = w.writer;
    e["host"] = w.host;
    e["pid"] = w.pid;
    if (!w.slurm_job.empty()) e["slurm_job"] = w.slurm_job;
    e["time"] = w.time;
    e["age_s"] = known(w.age_s);
    e["groups"] = w.groups;
    e["training"] = w.training;
    e["interrupted"] = w.interrupted;
    j["writers"].push_back(std::move(e));
  }
  return j;
}

namespace {

// The first line of `text`, cut to at most `max` bytes without splitting a UTF-8 character.
std::string first_line(const std::string& text, size_t max) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() <= max) return line;
  size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return line.substr(0, cut) + "...";
}

// A group silent for this long is worth pointing out: it may hang.
constexpr double kSilentWarnS = 120;

}  // namespace

std::string format_status(const SweepStatus& st) {
  std::string out = fmt::format("sweep {} ({}): ", st.name, st.sweep_file);
  out += st.run_active ? fmt::format("running, {} job(s) at a time\n", st.groups)
                       : "not running\n";
  size_t width = std::string_view("variant").size();
  for (const StatusCounts& c : st.variants) width = std::max(width, c.variant.size());
  const auto row = [&](std::string_view variant, const auto& jobs, const auto& done,
                       const auto& running, const auto& failed, const auto& pending,
                       const auto& interrupted) {
    return fmt::format("  {:<{}}  {:>5}  {:>5}  {:>7}  {:>6}  {:>7}  {:>11}\n", variant, width,
                       jobs, done, running, failed, pending, interrupted);
  };
  out += "\n" + row("variant", "jobs", "done", "running", "failed", "pending", "interrupted");
  for (const StatusCounts& c : st.variants) {
    out += row(c.variant, c.jobs, c.done, c.running, c.failed, c.pending, c.interrupted);
  }
  const StatusCounts& t = st.total;
  out += row("total", t.jobs, t.done, t.running, t.failed, t.pending, t.interrupted) + "\n";

  const int left = t.running + t.pending + t.interrupted;
  if (left == 0) {
    out += t.failed ? "nothing left to run but the failed jobs\n" : "all jobs are done\n";
  } else {
    const std::string eta = st.eta_s ? "ETA " + format_duration(*st.eta_s) : "ETA unknown";
    out += st.run_active
               ? fmt::format("{} ({} job(s) left, {} at a time)\n", eta, left, st.groups)
               : fmt::format("{} once resumed, {} job(s) at a time ({} job(s) left)\n"
                             "resume with: fracsweep run {}\n",
                             eta, st.groups, left, st.sweep_file);
  }
  if (!st.running.empty()) out += "\nrunning:\n";
  for (const RunningJob& r : st.running) {
    out += "  " + r.name;
    if (r.group >= 0) out += fmt::format("  group {} on {}", r.group, r.host);
    if (r.group >= 0 && r.epochs > 0) {
      out += fmt::format("  epoch {}/{}", std::min(r.epoch + 1, r.epochs), r.epochs);
      if (r.steps > 0) out += fmt::format(" step {}/{}", r.step, r.steps);
    }
    if (r.elapsed_s >= 0) out += "  for " + format_duration(r.elapsed_s);
    if (r.silent_s >= kSilentWarnS) {
      out += "  (no report for " + format_duration(r.silent_s) + ")";
    }
    out += "\n";
  }
  if (!st.failed.empty()) {
    out += fmt::format("\nfailed (not run again unless asked: fracsweep run {} --retry-failed):\n",
                       st.sweep_file);
  }
  for (const FailedJob& f : st.failed) {
    out += fmt::format("  {}{}: {}\n", f.name,
                       f.failures > 1 ? fmt::format(" ({} failures)", f.failures) : "",
                       first_line(f.error, 100));
  }
  if (st.unlisted > 0) {
    out += fmt::format("\n{} job(s) in the ledger are not in {}: the sweep file changed since "
                       "they ran; they are not counted above\n",
                       st.unlisted, kManifestFileName);
  }
  // Each run or shard that has reported (a SLURM array has one per task).
  if (!st.writers.empty()) out += "\nreported by:\n";
  for (const WriterReport& w : st.writers) {
    out += fmt::format("  {}: host {}, pid {}{}, {}/{} group(s) training, {} interrupted, ",
                       w.writer, w.host, w.pid,
                       w.slurm_job.empty() ? "" : ", SLURM job " + w.slurm_job, w.training,
                       w.groups, w.interrupted);
    out += w.age_s >= 0 ? "last report " + format_duration(w.age_s) + " ago\n"
                        : "last report at " + w.time + "\n";
  }
  return out;
}

std::vector<LedgerRecord> carried_over(const Sweep& sweep, const std::vector<LedgerRecord>& records) {
  const LedgerState state = summarize(records);
  std::map<std::string, const SweepJob*> by_former_id;
  for (const SweepJob& job : sweep.jobs)
    if (!job.former_id.empty() && !state.jobs.count(job.id)) by_former_id[job.former_id] = &job;
  std::map<std::string, LedgerRecord> latest;  // by new id: the last finished record
  for (const LedgerRecord& r : records) {
    const auto it = by_former_id.find(r.job);
    if (it == by_former_id.end() || !state.finished(r.job)) continue;
    if (r.event != LedgerEvent::kFinished) continue;
    LedgerRecord again = r;
    again.job = it->second->id;
    again.name = it->second->name;
    again.carried_from = r.job;
    latest[again.job] = std::move(again);
  }
  std::vector<LedgerRecord> out;
  for (const SweepJob& job : sweep.jobs)
    if (const auto it = latest.find(job.id); it != latest.end()) out.push_back(it->second);
  return out;
}

}  // namespace fracsweep::sweeps
