// See status.h: sweep.json, progress.json and the probe of the sweep's lock. The files are
// JSON, read leniently (unknown keys are ignored, so a newer writer may add fields) but strictly
// typed: a field of the wrong type is an error naming the file and the field.
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

namespace fracsweep::sweeps {
namespace {

using core::ConfigError;
using core::IoError;
using core::str_cat;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// The lock file SweepLock holds (ledger.cpp).
constexpr const char* kLockFileName = ".lock";


std::string path_in(const std::string& dir, std::string_view name) {
  return (std::filesystem::path(dir) / name).string();
}

const Json& member(const Json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  CHECK_OR_THROW(ConfigError, it != j.end(), where, ": missing \"", key, "\"");
  return *it;
}

void require_object(const Json& j, const std::string& where) {
  CHECK_OR_THROW(ConfigError, j.is_object(), where, ": expected a JSON object, found ",
                 j.type_name());
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
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for numbers too large
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
    AxisValues axes = j.axes;  // by field: the order a JSON object keeps
    std::sort(axes.begin(), axes.end());
    m.jobs.push_back(ManifestJob{j.id, j.name, j.variant, j.config.train.epochs, j.part, j.seed,
                                 axes, j.former_id, j.trial});
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
    OrderedJson axes = OrderedJson::object();
    for (const auto& [field, value] : job.axes) axes[field] = value;
    jobs.push_back({{"id", job.id}, {"name", job.name}, {"variant", job.variant},
                    {"epochs", job.epochs}, {"part", job.part}, {"seed", job.seed},
                    {"axes", std::move(axes)}});
    if (!job.former_id.empty()) jobs.back()["former_id"] = job.former_id;
    if (job.trial >= 0) jobs.back()["trial"] = job.trial;
  }
  j["jobs"] = std::move(jobs);
  return j;
}

SweepManifest manifest_from_json(const Json& j, const std::string& where) {
  require_object(j, where);
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
    require_object(jobs[i], at);
    ManifestJob job;
    job.id = get_string(jobs[i], "id", at);
    CHECK_OR_THROW(ConfigError, !job.id.empty(), at, ": \"id\" is empty");
    CHECK_OR_THROW(ConfigError, ids.insert(job.id).second, at, ": id ", job.id,
                   " is listed twice");
    job.name = get_string(jobs[i], "name", at);
    job.variant = get_string(jobs[i], "variant", at);
    job.epochs = static_cast<int>(get_int(jobs[i], "epochs", at, 0, kMaxInt));
    job.part = get_string(jobs[i], "part", at);
    job.seed = static_cast<uint64_t>(get_int(jobs[i], "seed", at, 0));
    CHECK_OR_THROW(ConfigError, jobs[i].contains("axes") && jobs[i]["axes"].is_object(), at,
                   ": \"axes\" must be an object of the job's axis values");
    if (jobs[i].contains("former_id")) job.former_id = get_string(jobs[i], "former_id", at);
    if (jobs[i].contains("trial")) job.trial = static_cast<int>(get_int(jobs[i], "trial", at, 0, kMaxInt));
    for (const auto& [field, value] : jobs[i]["axes"].items()) {
      CHECK_OR_THROW(ConfigError, value.is_string(), at, ": axes.", field, " must be a string");
      job.axes.emplace_back(field, value.get<std::string>());
    }
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
  j["writer"] = s.writer;
  if (!s.slurm_job.empty()) j["slurm_job"] = s.slurm_job;
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
  require_object(j, where);
  constexpr int64_t kMaxInt = std::numeric_limits<int>::max();
  ProgressSnapshot s;
  s.time = get_string(j, "time", where);
  s.host = get_string(j, "host", where);
  s.pid = get_int(j, "pid", where, 0);
  if (j.contains("writer")) s.writer = get_string(j, "writer", where);
  if (j.contains("slurm_job")) s.slurm_job = get_string(j, "slurm_job", where);
  const Json& groups = get_array(j, "groups", where);
  for (size_t i = 0; i < groups.size(); ++i) {
    const std::string at = str_cat(where, ": groups[", i, "]");
    const Json& e = groups[i];
    require_object(e, at);
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
  CHECK_OR_THROW(core::InternalError, !snapshot.writer.empty(), "a progress snapshot without a writer");
  const std::filesystem::path dir = std::filesystem::path(output_dir) / kProgressDirName;
  std::filesystem::create_directories(dir);
  core::write_file_atomic((dir / (snapshot.writer + ".json")).string(),
                          dump_file(to_json(snapshot)));
}

std::vector<ProgressSnapshot> read_progress(const std::string& output_dir) {
  namespace fs = std::filesystem;
  // fracsweep 0.1's single progress.json, then every writer's by name.
  std::vector<std::string> paths;
  if (file_exists(path_in(output_dir, kProgressFileName)))
    paths.push_back(path_in(output_dir, kProgressFileName));
  for (std::string& f :
       core::files_with_extension((fs::path(output_dir) / kProgressDirName).string(), ".json"))
    paths.push_back(std::move(f));
  std::vector<ProgressSnapshot> out;
  for (const std::string& path : paths)
    out.push_back(read_json_file(path,
                                 "delete it: a running sweep rewrites it within seconds, and no "
                                 "other command needs it",
                                 progress_from_json));
  return out;
}

std::optional<ProgressSnapshot> merge_progress(const std::vector<ProgressSnapshot>& snapshots) {
  if (snapshots.empty()) return std::nullopt;
  ProgressSnapshot merged = snapshots.front();
  for (size_t i = 1; i < snapshots.size(); ++i) {
    merged.time = std::min(merged.time, snapshots[i].time);
    merged.groups.insert(merged.groups.end(), snapshots[i].groups.begin(),
                         snapshots[i].groups.end());
  }
  return merged;
}

// The probe takes a shared lock: it conflicts with the exclusive lock of a run, but not with
// another probe, so two `fracsweep status` at once do not take each other for a run. It also
// works on a descriptor opened read-only (a folder the user may not write to), which NFS
// requires for shared locks. For the few system calls it holds the lock, a `fracsweep run`
// starting on the same folder would find it in use and stop with an error naming the holder;
// running it again succeeds.
namespace {

// One lock file held by a run.
bool lock_held(const std::string& path) {
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return false;  // no run has ever locked this folder
    throw IoError(str_cat(path, ": cannot open the sweep lock to see whether a run holds it: ",
                          core::errno_text()));
  }
  int rc;
  do rc = ::flock(fd.get(), LOCK_SH | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) return false;  // closing `fd` releases the probe's lock
  CHECK_OR_THROW(IoError, errno == EWOULDBLOCK, path,
                 ": cannot probe the sweep lock: ", core::errno_text());
  return true;
}

}  // namespace

bool sweep_running(const std::string& output_dir) {
  // The run's lock, and each shard's (".lock-shard-<i>").
  if (lock_held(path_in(output_dir, kLockFileName))) return true;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(output_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(std::string(kLockFileName) + "-", 0) == 0 && lock_held(e.path().string()))
      return true;
  }
  return false;
}

}  // namespace fracsweep::sweeps
