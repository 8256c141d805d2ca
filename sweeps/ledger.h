// The ledger: the durable record of what a sweep has run, and the lock on its output folder.
//
// The ledger is append-only files of one JSON object per line: a job started, finished (with
// its metrics) or failed (with why). Every writer owns its file, `ledger.d/<writer>.jsonl`
// (a run, or one shard of a SLURM array), so that shards on different hosts never append to
// one file (O_APPEND is not atomic across NFS clients); read_sweep_ledger() merges them, and
// the `ledger.jsonl` of fracsweep 0.1, into one sequence by time. `fracsweep run` reads it on
// start to skip finished jobs and to restart interrupted ones; summarize() turns the records
// into the latest state of every job. SweepLock keeps two runs of one writer from writing at
// once. See Note [Ledger durability] in ledger.cpp for what survives a crash.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/log.h"

namespace fracsweep::sweeps {

// The single ledger of fracsweep 0.1 inside a sweep's output folder, still read.
inline constexpr std::string_view kLedgerFileName = "ledger.jsonl";
// The folder of the writers' ledgers.
inline constexpr std::string_view kLedgerDirName = "ledger.d";

// The writer of an unsharded run, and of shard `shard` of `shards`.
std::string run_writer();
std::string shard_writer(int shard, int shards);

// <output_dir>/ledger.d/<writer>.jsonl.
std::string ledger_path(const std::string& output_dir, const std::string& writer);

// Whether the folder has any ledger (a writer's or 0.1's).
bool has_ledger(const std::string& output_dir);

// kResult and kStopped belong to a search (sweeps/search_run.h): a job's
// validation value at an epoch that ASHA decides on, and a job the search
// stopped early (at `epoch`; 0: before it started).
enum class LedgerEvent { kStarted, kFinished, kFailed, kResult, kStopped };

// "started", "finished", "failed", "result" or "stopped": the spelling in the file.
std::string_view event_name(LedgerEvent event);

// One line of the ledger. A value type: copyable and comparable.
struct LedgerRecord {
  LedgerEvent event = LedgerEvent::kStarted;
  std::string job;   // the job's stable id
  std::string name;  // the job's human-readable name
  std::string time;  // when the record was made, ISO-8601 UTC, e.g. "2026-11-22T10:04:05.123Z"
  int rank = 0;      // MPI rank of the process that wrote the record
  std::string host;  // host name of that process
  std::string slurm_job;  // SLURM's job id (with "_task" for an array task) when under SLURM
  // kFinished only: the job's metrics, always a JSON object. NaN and infinite numbers are
  // written as null, because JSON has no spelling for them.
  nlohmann::json metrics = nlohmann::json::object();
  std::string error;  // kFailed only: why the job failed
  // A finished record made again under the job's id from one under the id an
  // earlier fracsweep gave it (sweeps/status.h: carried_over): that id.
  std::string carried_from;
  // kStarted of a search's job: its trial's hyperparameters, key -> value as
  // YAML text (an empty object otherwise).
  nlohmann::json params = nlohmann::json::object();
  int epoch = 0;     // kResult, kStopped
  double value = 0;  // kResult: the search metric (NaN, written as null, when undefined)

  bool operator==(const LedgerRecord&) const = default;
};

// Who writes records: the rank and host of this process.
struct LedgerOrigin {
  int rank = 0;
  std::string host;
  std::string slurm_job = {};  // empty outside SLURM
};


// This machine's host name (gethostname); throws core::IoError if it cannot be read.
std::string local_host_name();

// Builders for the three kinds of record. `time` defaults to now. make_finished requires
// `metrics` to be a JSON object (anything else is a bug in the caller: core::InternalError).
LedgerRecord make_started(std::string job, std::string name, const LedgerOrigin& origin,
                          std::string time = core::utc_now_iso8601());
LedgerRecord make_finished(std::string job, std::string name, const LedgerOrigin& origin,
                           nlohmann::json metrics, std::string time = core::utc_now_iso8601());
LedgerRecord make_failed(std::string job, std::string name, const LedgerOrigin& origin,
                         std::string error, std::string time = core::utc_now_iso8601());
LedgerRecord make_result(std::string job, std::string name, const LedgerOrigin& origin, int epoch,
                         double value, std::string time = core::utc_now_iso8601());
LedgerRecord make_stopped(std::string job, std::string name, const LedgerOrigin& origin, int epoch,
                          std::string time = core::utc_now_iso8601());

// The record as one line of the file, ending in '\n'. Text that is not valid UTF-8 (an error
// message quoting binary data) is written with U+FFFD in place of the bad bytes.
std::string format_ledger_line(const LedgerRecord& record);

// An open ledger file that records are appended to.
//
// The constructor opens `path` with O_APPEND, creating it if absent; if a crash left a torn
// last line (no trailing newline), it cuts that line off with a warning through `log`, so
// that later appends do not bury it in the middle of the file. append() writes a whole line
// with one write() and fsync()s before it returns: once it returns, the record survives a
// crash, and appends from several processes on one host never interleave within a line.
// The sweep's writers each append to a file of their own (ledger_path), so no file has
// writers on two hosts. The constructor creates the file's folder, not its parents.
//
// Move-only; the destructor closes the file. One Ledger may be shared by threads (each
// append is one system call), but several processes should each open their own. Errors
// throw core::IoError naming the path and the system error.
class Ledger {
 public:
  Ledger(const std::string& path, core::Logger& log);
  Ledger(Ledger&& o) noexcept;
  Ledger& operator=(Ledger&& o) noexcept;
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  ~Ledger();

  void append(const LedgerRecord& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// Reads every record of the ledger at `path`, in file order. A missing file is an empty
// ledger. A torn last line (no trailing newline, or not valid JSON), which a crash during an
// append leaves behind, is skipped with a warning through `log` naming the file and line.
// Anything wrong before the last line, or a last line that is valid JSON but not a valid
// record, means the file was edited or corrupted: core::ConfigError naming file:line and
// what was wrong. Fails with core::IoError if the file exists but cannot be read.
std::vector<LedgerRecord> read_ledger(const std::string& path, core::Logger& log);

// read_ledger's reading of a ledger file's `content`; `path` names it in messages.
std::vector<LedgerRecord> parse_ledger(std::string_view content, const std::string& path,
                                       core::Logger& log);

// Every record of a sweep folder's ledgers (0.1's ledger.jsonl, then ledger.d/*.jsonl by
// name), merged into one sequence by time without reordering any file's own records; on equal
// times the earlier file's record comes first, so the merge is the same for every reader.
// Throws as read_ledger.
std::vector<LedgerRecord> read_sweep_ledger(const std::string& output_dir, core::Logger& log);

enum class JobStatus {
  kStarted,   // started and neither finished nor failed since: running now, or interrupted
  kFinished,  // finished; a finished job is never run again
  kFailed,    // its latest attempt failed
  kStopped,   // stopped early by a search; like a finished job, never run again
};

// The latest state of one job, from its records in file order.
struct JobState {
  JobStatus status = JobStatus::kStarted;
  std::string name;                                   // from the job's latest record
  nlohmann::json metrics = nlohmann::json::object();  // kFinished: the finished record's metrics
  std::string error;  // the error of its latest failure, kept when it is started again
  int failures = 0;   // how many failed records the job has (before it finished, if it did)
  std::string time;   // time of the record that decided `status`
  int rank = 0;       // rank and host that wrote that record
  std::string host;

  bool operator==(const JobState&) const = default;
};

// The state of every job the ledger mentions, keyed by job id.
struct LedgerState {
  std::map<std::string, JobState> jobs;

  // True if the ledger records `job` as finished.
  bool finished(const std::string& job) const;
  // How many jobs are in `status`.
  int count(JobStatus status) const;
};

// Folds records, in file order, into each job's latest state:
//   - finished and stopped win over anything after them (later records of that job are
//     ignored); result records leave the state as it is;
//   - failed after started (or after nothing) -> failed, counting one more failure;
//   - started after failed or started -> started (running or interrupted).
LedgerState summarize(const std::vector<LedgerRecord>& records);

// An exclusive lock on a sweep's output folder, held through flock() on `<dir>/.lock`.
//
// The constructor locks without blocking and writes "host pid" into the file so that a second
// process can say who holds it. If another process holds it, it throws core::ConfigError
// naming that process; other failures throw core::IoError. The kernel releases flock locks
// when the holding process exits, however it exits, so a crashed sweep never leaves the folder
// locked. Move-only; the destructor releases the lock. The descriptor is close-on-exec, but a
// child made by fork() without exec shares the lock until it exits.
class SweepLock {
 public:
  // `name`: the lock file's name; a shard of a sweep (an array task) locks
  // ".lock-shard-I" so that the shards run side by side.
  explicit SweepLock(const std::string& dir, const std::string& name = ".lock");
  SweepLock(SweepLock&& o) noexcept;
  SweepLock& operator=(SweepLock&& o) noexcept;
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;
  ~SweepLock();

  // Waits for the lock instead of refusing: for work that every writer of the folder needs
  // done once (the shards of an array writing the phantom and sweep.json), so that one does it
  // and the others, which take the lock after it, find it done. Every 10 s of waiting it logs
  // who holds the lock and `what` the holder does (e.g. "writes the phantom …"). Gives up after
  // `timeout_seconds` with core::IoError naming the holder; other failures throw as the
  // constructor does.
  static SweepLock wait(const std::string& dir, const std::string& name, std::string_view what,
                        double timeout_seconds, core::Logger& log);

  const std::string& path() const { return path_; }

 private:
  SweepLock() = default;  // for wait()
  void release() noexcept;

  std::string path_;
  int fd_ = -1;
};

}  // namespace fracsweep::sweeps
