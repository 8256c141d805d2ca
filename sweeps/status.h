// What a sweep has done, is doing and has left: the files `fracsweep run` writes for others to
// read, and the status that `fracsweep status OUT_DIR` prints from them.
//
// A sweep's output folder holds, besides the ledger (ledger.h):
//   - sweep.json, the manifest, written once when a run starts: the sweep's jobs (id, name,
//     variant, epochs) and how the run divides its ranks into groups, so that the pending jobs
//     are known without the sweep file;
//   - progress.json, rewritten atomically every few seconds while a run is going: what each
//     rank group is training and how far it has got.
// sweep_status() folds these, the ledger and whether a run holds the folder's lock into counts
// per variant, the running and failed jobs and an estimate of the time left. It is pure: the
// callers read the files and the clock, so tests give it hand-made inputs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweeps/ledger.h"
#include "sweeps/sweep.h"

namespace fracsweep::sweeps {

// File names inside a sweep's output folder.
inline constexpr std::string_view kManifestFileName = "sweep.json";
inline constexpr std::string_view kProgressFileName = "progress.json";

// One job of the manifest.
struct ManifestJob {
  std::string id;       // the job's stable id (SweepJob::id), as in the ledger
  std::string name;     // e.g. "tsccn/repeat2/seed1"
  std::string variant;  // the sweep's variant name, e.g. "tsccn"
  int epochs = 0;       // the job's train.epochs
  // What the name is made of, as data (SweepJob): readers never parse names back.
  std::string part;     // "repeat2" or "fold0"
  uint64_t seed = 1;    // train.seed
  AxisValues axes;      // hyperparameter axis values, sorted by field
  std::string former_id;  // SweepJob::former_id: its records under it are its own past
  int trial = -1;         // a search's trial (SweepJob::trial); -1 outside a search

  bool operator==(const ManifestJob&) const = default;
};

// The sweep as a run sees it: its jobs in sweep order, and how its ranks are grouped.
struct SweepManifest {
  std::string name;        // the sweep's name
  std::string sweep_file;  // the sweep file the run was started with
  int ranks = 1;           // MPI ranks of the run
  int ranks_per_job = 1;   // ranks that train one job together
  int groups = 1;          // ranks / ranks_per_job: how many jobs run at once
  std::vector<ManifestJob> jobs;

  bool operator==(const SweepManifest&) const = default;
};

// The manifest of `sweep` run on `ranks` ranks in groups of `ranks_per_job`. Throws
// core::ConfigError when there are fewer ranks than one group needs.
SweepManifest make_manifest(const Sweep& sweep, int ranks, int ranks_per_job);

// The JSON forms keep their keys in the order of the fields above, for people reading the files.
nlohmann::ordered_json to_json(const SweepManifest& manifest);
// Throws core::ConfigError naming `where` and the field when `j` is not a valid manifest.
SweepManifest manifest_from_json(const nlohmann::json& j, const std::string& where);

// Writes <output_dir>/sweep.json atomically (core::write_file_atomic); the folder must exist.
// Throws core::IoError.
void write_manifest(const std::string& output_dir, const SweepManifest& manifest);

// Reads <output_dir>/sweep.json. Throws core::ConfigError when the folder does not exist, has
// no sweep.json (it is not the output folder of a sweep that was run), or the file is not a
// valid manifest; core::IoError when it exists but cannot be read.
SweepManifest read_manifest(const std::string& output_dir);

// What one rank group is doing. An idle group has an empty `job`.
struct GroupProgress {
  int group = 0;           // the group's index, 0 .. groups-1
  std::vector<int> ranks;  // its world ranks
  std::string host;        // the host of its first rank
  std::string job;         // id of the job it trains, or "" when idle
  std::string name;        // that job's name
  // The epoch in progress, counted from 0 (so also the number of whole epochs done), and the
  // steps done in it: the job is (epoch + step / steps) / epochs done.
  int epoch = 0, epochs = 0;
  int64_t step = 0, steps = 0;
  std::string started;  // when the group started the job, ISO-8601 UTC
  std::string heard;    // when the group last reported, ISO-8601 UTC

  bool operator==(const GroupProgress&) const = default;
};

// What one writer (a run, or one shard of a SLURM array: sweeps/ledger.h) last reported,
// in progress.d/<writer>.json.
struct ProgressSnapshot {
  std::string time;  // when it was written, ISO-8601 UTC
  std::string host;  // host and pid of the run's rank 0, which writes it
  int64_t pid = 0;
  std::vector<GroupProgress> groups;
  std::string writer = "run";  // whose file it is
  std::string slurm_job;       // SLURM's job id ("_task" in an array) when under SLURM

  bool operator==(const ProgressSnapshot&) const = default;
};

nlohmann::ordered_json to_json(const ProgressSnapshot& snapshot);
// Throws core::ConfigError naming `where` and the field when `j` is not a valid snapshot.
ProgressSnapshot progress_from_json(const nlohmann::json& j, const std::string& where);

// Writes <output_dir>/progress.json atomically, so a reader never sees half of it. Throws
// core::IoError.
void write_progress(const std::string& output_dir, const ProgressSnapshot& snapshot);

// The folder of the writers' progress files.
inline constexpr std::string_view kProgressDirName = "progress.d";

// Reads <output_dir>/progress.json; nullopt when there is none (no run has reported yet).
// Throws core::ConfigError when it is not a valid snapshot, core::IoError when it cannot be
// read.
std::vector<ProgressSnapshot> read_progress(const std::string& output_dir);

// The writers' snapshots as one for sweep_status: every group, and the oldest time (a job
// started after it may not have been reported yet). nullopt without snapshots.
std::optional<ProgressSnapshot> merge_progress(const std::vector<ProgressSnapshot>& snapshots);

// True if a process holds the folder's SweepLock, i.e. a run is going. Probes with a shared,
// non-blocking flock() on <output_dir>/.lock that is released at once; a missing lock file
// means no run ever held it. Throws core::IoError when the file cannot be opened or locked for
// another reason. See the note on the probe in status.cpp.
bool sweep_running(const std::string& output_dir);

// How the jobs of one variant (or of the whole sweep) stand.
struct StatusCounts {
  std::string variant;  // "" for the total
  int jobs = 0;         // all of them: the sum of the five below
  int done = 0;         // finished
  int running = 0;      // started and being trained by the active run
  int failed = 0;       // the latest attempt failed; not rerun unless asked to
  int pending = 0;      // never started
  int interrupted = 0;  // started, but no run is training it now: the next run resumes it

  bool operator==(const StatusCounts&) const = default;
};

// A job being trained now.
struct RunningJob {
  std::string id, name, variant;
  int group = -1;  // the rank group training it; -1 when progress.json does not mention it
  std::string host;
  int epoch = 0, epochs = 0;  // as in GroupProgress; epochs 0 when unknown
  int64_t step = 0, steps = 0;
  std::string started;    // from progress.json, else from the ledger
  double elapsed_s = -1;  // since `started`; -1 when unknown
  double fraction = -1;   // share done, 0..1; -1 when unknown
  double silent_s = -1;   // since its group last reported; -1 when unknown
};

// A job whose latest attempt failed.
struct FailedJob {
  std::string id, name, variant;
  std::string error;  // the latest failure's message, as recorded
  int failures = 0;   // how many attempts failed
  std::string time;   // when the latest failure was recorded
  std::string host;
};

// One writer (a run, or a shard of an array) as its progress file shows it.
struct WriterReport {
  std::string writer, host, slurm_job;
  int64_t pid = 0;
  std::string time;       // when it last reported
  double age_s = -1;      // seconds since then; -1 unknown
  int groups = 0;         // its rank groups
  int training = 0;       // those training a job
  int interrupted = 0;    // its share's interrupted jobs (a shard's: index modulo K)
};

struct SweepStatus {
  std::string name, sweep_file;
  std::string time;         // the `now` the status was computed for
  bool run_active = false;  // a run holds the folder's lock
  int groups = 1;           // the manifest's rank groups, used for the ETA
  std::vector<StatusCounts> variants;  // in order of first appearance in the manifest
  StatusCounts total;
  // Seconds until every job that will run (running, pending and interrupted ones, not failed
  // ones) is done, with `groups` jobs at a time; when no run is active, the time a new run
  // would take. nullopt when there is nothing to estimate from. 0 when nothing is left.
  std::optional<double> eta_s;
  std::vector<RunningJob> running;  // in manifest order
  std::vector<FailedJob> failed;    // in manifest order
  std::vector<size_t> interrupted;  // manifest indices of the interrupted jobs
  // Jobs the ledger mentions that the manifest does not list (the sweep file was edited since
  // they ran); they are left out of every count above.
  int unlisted = 0;
  // Every writer's latest report (read_sweep_status fills it from read_progress).
  std::vector<WriterReport> writers;
};

// The status of a sweep from its manifest, its ledger records (read_ledger), its latest
// progress snapshot, whether a run is active (sweep_running) and the current time `now_iso`
// (ISO-8601 UTC, as core::utc_now_iso8601()). See Note [Running or interrupted] and Note [ETA] in
// status.cpp for how started jobs are told apart and how the estimate is made.
SweepStatus sweep_status(const SweepManifest& manifest, const std::vector<LedgerRecord>& records,
                         const std::optional<ProgressSnapshot>& progress, bool run_active,
                         std::string now_iso);

// The status of the sweep in `output_dir` now: reads its manifest, ledger and progress,
// probes its lock, and calls sweep_status. Warnings on the ledger (a torn last line while a run
// appends) go to `log`. Throws as read_manifest, read_ledger and read_progress do.
SweepStatus read_sweep_status(const std::string& output_dir, core::Logger& log);

nlohmann::ordered_json to_json(const SweepStatus& status);

// The status as text for a terminal: a table of counts per variant with a total line, the
// ETA ("ETA 12m 30s", "ETA unknown"), the running jobs and the failed ones with the first line
// of their error (at most 100 characters).
std::string format_status(const SweepStatus& status);

// Finished records of jobs under their former ids (SweepJob::former_id) that
// have no record under their id, made again under their id (name, time,
// origin and metrics as they were): what a run appends once, so that a sweep
// started by fracsweep 0.1 keeps its finished jobs and every reader sees them.
std::vector<LedgerRecord> carried_over(const Sweep& sweep, const std::vector<LedgerRecord>& records);

// "45s", "12m 30s", "3h 05m", "2d 04h": a duration for people, rounded to whole seconds.
std::string format_duration(double seconds);

}  // namespace fracsweep::sweeps
