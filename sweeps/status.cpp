// See status.h. The manifest and progress files are JSON, read leniently (unknown keys are
// ignored, so a newer writer may add fields) but strictly typed: a field of the wrong type is
// an error naming the file and the field.
#include "sweeps/status.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "core/error.h"
#include "core/fs.h"

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

using core::ConfigError;
using core::IoError;
using core::str_cat;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// The lock file SweepLock holds (ledger.cpp).
constexpr const char* kLockFileName = ".lock";

std::string errno_text() { return std::strerror(errno); }

std::string path_in(const std::string& dir, std::string_view name) {
  return (std::filesystem::path(dir) / name).string();
}

const Json& member(const Json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  CHECK_OR_THROW(ConfigError, it != j.end(), where, ": missing \"", key, "\"");
  return *it;
}

std::string get_string(const Json& j, const char* key, const std::string& where) {
  const Json& v = member(j, key, where);
  CHECK_OR_THROW(ConfigError, v.is_string(), where, ": \"", key, "\" must be a string, found ",
                 v.dump());
  return v.get<std::string>();
}

int64_t get_int(const Json& j, const char* key, const std::string& where, int64_t min,
                int64_t max = std::numeric_limits<int64_t>::max()) {
  const Json& v = member(j, key, where);
  CHECK_OR_THROW(ConfigError, v.is_number_integer(), where, ": \"", key,
                 "\" must be an integer, found ", v.dump());
  const bool huge = v.is_number_unsigned() &&
                    v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  const int64_t x = huge ? std::numeric_limits<int64_t>::max() : v.get<int64_t>();
  CHECK_OR_THROW(ConfigError, !huge && x >= min && x <= max, where, ": \"", key, "\" is ",
                 v.dump(), ", expected ", min, "..", max);
  return x;
}

const Json& get_array(const Json& j, const char* key, const std::string& where) {
  const Json& v = member(j, key, where);
  CHECK_OR_THROW(ConfigError, v.is_array(), where, ": \"", key, "\" must be an array, found ",
                 v.type_name());
  return v;
}

// `replace`: a job name could hold bytes that are not UTF-8; a status file must still be written.
std::string dump_file(const OrderedJson& j) {
  return j.dump(2, ' ', false, OrderedJson::error_handler_t::replace) + "\n";
}

// Parses the JSON file at `path` and converts it with `convert`, adding `remedy` to any error.
template <typename Convert>
auto read_json_file(const std::string& path, const std::string& remedy, Convert convert) {
  const std::string text = core::read_file(path);
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw ConfigError(str_cat(path, ": not valid JSON (", e.what(), "); ", remedy));
  }
  try {
    return convert(j, path);
  } catch (const ConfigError& e) {
    throw ConfigError(str_cat(e.what(), "; ", remedy));
  }
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  CHECK_OR_THROW(IoError, !ec, path, ": cannot check whether it exists: ", ec.message());
  return exists;
}

}  // namespace

SweepManifest make_manifest(const Sweep& sweep, int ranks, int ranks_per_job) {
  CHECK_OR_THROW(ConfigError, ranks_per_job >= 1, "sweep '", sweep.name, "' (", sweep.path,
                 "): ranks_per_job is ", ranks_per_job, "; it must be at least 1");
  CHECK_OR_THROW(ConfigError, ranks >= ranks_per_job, "sweep '", sweep.name, "' (", sweep.path,
                 ") trains each job on ", ranks_per_job, " ranks (ranks_per_job) but the run has ",
                 ranks, "; start it with mpirun -n ", ranks_per_job,
                 " or more, or lower ranks_per_job");
  SweepManifest m;
  m.name = sweep.name;
  m.sweep_file = sweep.path;
  m.ranks = ranks;
  m.ranks_per_job = ranks_per_job;
  m.groups = ranks / ranks_per_job;
  m.jobs.reserve(sweep.jobs.size());
  for (const SweepJob& j : sweep.jobs) {
    m.jobs.push_back(ManifestJob{j.id, j.name, j.variant, j.config.train.epochs});
  }
  return m;
}

OrderedJson to_json(const SweepManifest& m) {
  OrderedJson j;
  j["name"] = m.name;
  j["sweep_file"] = m.sweep_file;
  j["ranks"] = m.ranks;
  j["ranks_per_job"] = m.ranks_per_job;
  j["groups"] = m.groups;
  OrderedJson jobs = OrderedJson::array();
  for (const ManifestJob& job : m.jobs) {
    jobs.push_back({{"id", job.id}, {"name", job.name}, {"variant", job.variant},
                    {"epochs", job.epochs}});
  }
  j["jobs"] = std::move(jobs);
  return j;
}

SweepManifest manifest_from_json(const Json& j, const std::string& where) {
  CHECK_OR_THROW(ConfigError, j.is_object(), where, ": expected a JSON object, found ",
                 j.type_name());
  constexpr int64_t kMaxInt = std::numeric_limits<int>::max();
  SweepManifest m;
  m.name = get_string(j, "name", where);
  m.sweep_file = get_string(j, "sweep_file", where);
  m.ranks = static_cast<int>(get_int(j, "ranks", where, 1, kMaxInt));
  m.ranks_per_job = static_cast<int>(get_int(j, "ranks_per_job", where, 1, kMaxInt));
  m.groups = static_cast<int>(get_int(j, "groups", where, 1, kMaxInt));
  std::set<std::string> ids;
  const Json& jobs = get_array(j, "jobs", where);
  for (size_t i = 0; i < jobs.size(); ++i) {
    const std::string at = str_cat(where, ": jobs[", i, "]");
    CHECK_OR_THROW(ConfigError, jobs[i].is_object(), at, ": expected a JSON object, found ",
                   jobs[i].type_name());
    ManifestJob job;
    job.id = get_string(jobs[i], "id", at);
    CHECK_OR_THROW(ConfigError, !job.id.empty(), at, ": \"id\" is empty");
    CHECK_OR_THROW(ConfigError, ids.insert(job.id).second, at, ": id ", job.id,
                   " is listed twice");
    job.name = get_string(jobs[i], "name", at);
    job.variant = get_string(jobs[i], "variant", at);
    job.epochs = static_cast<int>(get_int(jobs[i], "epochs", at, 0, kMaxInt));
    m.jobs.push_back(std::move(job));
  }
  return m;
}

void write_manifest(const std::string& output_dir, const SweepManifest& manifest) {
  core::write_file_atomic(path_in(output_dir, kManifestFileName), dump_file(to_json(manifest)));
}

SweepManifest read_manifest(const std::string& output_dir) {
  std::error_code ec;
  CHECK_OR_THROW(ConfigError, std::filesystem::is_directory(output_dir, ec), output_dir,
                 " is not a folder; give the output folder of a sweep (the `output:` of its sweep "
                 "file)");
  const std::string path = path_in(output_dir, kManifestFileName);
  CHECK_OR_THROW(ConfigError, file_exists(path), output_dir,
                 " is not a sweep's output folder (no ", kManifestFileName,
                 "); start it with fracsweep run SWEEP.yaml");
  return read_json_file(path, "running the sweep again (fracsweep run SWEEP.yaml) rewrites it",
                        manifest_from_json);
}

OrderedJson to_json(const ProgressSnapshot& s) {
  OrderedJson j;
  j["time"] = s.time;
  j["host"] = s.host;
  j["pid"] = s.pid;
  OrderedJson groups = OrderedJson::array();
  for (const GroupProgress& g : s.groups) {
    OrderedJson e;
    e["group"] = g.group;
    e["ranks"] = g.ranks;
    e["host"] = g.host;
    e["job"] = g.job;
    e["name"] = g.name;
    e["epoch"] = g.epoch;
    e["epochs"] = g.epochs;
    e["step"] = g.step;
    e["steps"] = g.steps;
    e["started"] = g.started;
    e["heard"] = g.heard;
    groups.push_back(std::move(e));
  }
  j["groups"] = std::move(groups);
  return j;
}

ProgressSnapshot progress_from_json(const Json& j, const std::string& where) {
  CHECK_OR_THROW(ConfigError, j.is_object(), where, ": expected a JSON object, found ",
                 j.type_name());
  constexpr int64_t kMaxInt = std::numeric_limits<int>::max();
  ProgressSnapshot s;
  s.time = get_string(j, "time", where);
  s.host = get_string(j, "host", where);
  s.pid = get_int(j, "pid", where, 0);
  const Json& groups = get_array(j, "groups", where);
  for (size_t i = 0; i < groups.size(); ++i) {
    const std::string at = str_cat(where, ": groups[", i, "]");
    const Json& e = groups[i];
    CHECK_OR_THROW(ConfigError, e.is_object(), at, ": expected a JSON object, found ",
                   e.type_name());
    GroupProgress g;
    g.group = static_cast<int>(get_int(e, "group", at, 0, kMaxInt));
    const Json& ranks = get_array(e, "ranks", at);
    for (const Json& r : ranks) {
      CHECK_OR_THROW(ConfigError, r.is_number_integer() && r.get<int64_t>() >= 0 &&
                                      r.get<int64_t>() <= kMaxInt,
                     at, ": \"ranks\" must hold ranks (integers >= 0), found ", r.dump());
      g.ranks.push_back(r.get<int>());
    }
    g.host = get_string(e, "host", at);
    g.job = get_string(e, "job", at);
    g.name = get_string(e, "name", at);
    g.epoch = static_cast<int>(get_int(e, "epoch", at, 0, kMaxInt));
    g.epochs = static_cast<int>(get_int(e, "epochs", at, 0, kMaxInt));
    g.step = get_int(e, "step", at, 0);
    g.steps = get_int(e, "steps", at, 0);
    g.started = get_string(e, "started", at);
    g.heard = get_string(e, "heard", at);
    s.groups.push_back(std::move(g));
  }
  return s;
}

void write_progress(const std::string& output_dir, const ProgressSnapshot& snapshot) {
  core::write_file_atomic(path_in(output_dir, kProgressFileName), dump_file(to_json(snapshot)));
}

std::optional<ProgressSnapshot> read_progress(const std::string& output_dir) {
  const std::string path = path_in(output_dir, kProgressFileName);
  if (!file_exists(path)) return std::nullopt;
  return read_json_file(path,
                        "delete it: a running sweep rewrites it within seconds, and no other "
                        "command needs it",
                        progress_from_json);
}

// The probe takes a shared lock: it conflicts with the exclusive lock of a run, but not with
// another probe, so two `fracsweep status` at once do not take each other for a run. It also
// works on a descriptor opened read-only (a folder the user may not write to), which NFS
// requires for shared locks. For the few system calls it holds the lock, a `fracsweep run`
// starting on the same folder would find it in use and stop with an error naming the holder;
// running it again succeeds.
bool sweep_running(const std::string& output_dir) {
  const std::string path = path_in(output_dir, kLockFileName);
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return false;  // no run has ever locked this folder
    throw IoError(str_cat(path, ": cannot open the sweep lock to see whether a run holds it: ",
                          errno_text()));
  }
  int rc;
  do rc = ::flock(fd.get(), LOCK_SH | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) return false;  // closing `fd` releases the probe's lock
  CHECK_OR_THROW(IoError, errno == EWOULDBLOCK, path,
                 ": cannot probe the sweep lock: ", errno_text());
  return true;
}

std::optional<double> parse_utc_iso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.f+](Z|+00:00)
  const auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const auto at = [&](size_t pos, char c) { return pos < s.size() && s[pos] == c; };
  const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2);
  const auto h = digits(11, 2), mi = digits(14, 2), se = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || !at(4, '-') || !at(7, '-') || !at(10, 'T') ||
      !at(13, ':') || !at(16, ':') || *h > 23 || *mi > 59 || *se > 60) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day date{year{*y}, month{static_cast<unsigned>(*mo)},
                            day{static_cast<unsigned>(*d)}};
  if (!date.ok()) return std::nullopt;
  size_t pos = 19;
  double fraction = 0, scale = 0.1;
  if (at(pos, '.')) {
    ++pos;
    const size_t first = pos;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, scale /= 10) {
      fraction += (s[pos] - '0') * scale;
    }
    if (pos == first) return std::nullopt;
  }
  const std::string_view zone = s.substr(pos);
  if (zone != "Z" && zone != "+00:00") return std::nullopt;
  const double days = static_cast<double>(sys_days{date}.time_since_epoch().count());
  return days * 86400 + *h * 3600 + *mi * 60 + *se + fraction;
}

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
  const auto a = parse_utc_iso8601(from), b = parse_utc_iso8601(to);
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
  for (const ManifestJob& job : manifest.jobs) {
    listed.insert(job.id);
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
  return out;
}

}  // namespace fracsweep::sweeps
