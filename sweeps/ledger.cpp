// See ledger.h. POSIX calls are used directly: the ledger needs O_APPEND, fsync and flock,
// none of which the standard library offers.
#include "sweeps/ledger.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <limits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>
#include <thread>
#include <utility>

#include "core/error.h"
#include "core/fs.h"

// Note [Ledger durability]
// ~~~~~~~~~~~~~~~~~~~~~~~~
// A sweep is resumed from its ledger, so the ledger must never claim more than happened and
// must stay readable after any crash:
//   - A record is one line written by one write() on an O_APPEND descriptor, then fsync()ed.
//     On a local file system the kernel appends the whole buffer at the end of the file under
//     the inode lock, so lines from several processes never interleave. Appenders also hold
//     flock() on the ledger around the write, which lets the two repairs below know that no
//     other process is appending at the same moment.
//   - A crash (or a full disk) can still cut a write short, leaving a last line with no
//     newline. read_ledger skips such a line with a warning: the record is lost, which at
//     worst reruns a job. Opening a Ledger cuts it off, and a short write is truncated away at
//     once, because a torn line that later appends pushed into the middle of the file would be
//     indistinguishable from corruption.
//   - Anything wrong before the last line cannot come from a crash, so it is an error rather
//     than something to skip: skipping could rerun or forget finished jobs without notice.

namespace fracsweep::sweeps {
namespace {

using core::ConfigError;
using core::IoError;
using core::str_cat;


// Holds an exclusive flock() on `fd` for one scope.
class FileLock {
 public:
  FileLock(int fd, const std::string& path) : fd_(fd) {
    int rc;
    // The sweep's stop signals (SIGUSR1, SIGTERM) may interrupt the wait; keep waiting.
    do rc = ::flock(fd_, LOCK_EX);
    while (rc != 0 && errno == EINTR);
    CHECK_OR_THROW(IoError, rc == 0, path, ": cannot lock for appending: ", core::errno_text());
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() { ::flock(fd_, LOCK_UN); }  // cannot fail on a valid descriptor we locked

 private:
  int fd_;
};

// A short, printable excerpt of a line for error messages.
std::string excerpt(std::string_view line) {
  constexpr size_t kMax = 80;
  std::string out;
  for (const char c : line.substr(0, kMax)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (line.size() > kMax) out += "...";
  return "'" + out + "'";
}

void pread_fully(int fd, char* out, size_t size, off_t offset, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    CHECK_OR_THROW(IoError, n >= 0, path, ": read failed: ", core::errno_text());
    CHECK_OR_THROW(IoError, n > 0, path, ": the file shrank while being read");
    done += static_cast<size_t>(n);
  }
}

// Cuts off a torn last line left by a crash. The caller holds the file's flock.
// See Note [Ledger durability].
void cut_torn_tail(int fd, const std::string& path, core::Logger& log) {
  struct stat st {};
  CHECK_OR_THROW(IoError, ::fstat(fd, &st) == 0, path, ": cannot stat: ", core::errno_text());
  const off_t size = st.st_size;
  if (size == 0) return;
  char last = 0;
  pread_fully(fd, &last, 1, size - 1, path);
  if (last == '\n') return;

  // Scan backwards for the newline that ends the last whole line.
  off_t cut = 0;
  char block[4096];
  for (off_t end = size; end > 0 && cut == 0;) {
    const off_t begin = std::max<off_t>(0, end - static_cast<off_t>(sizeof block));
    pread_fully(fd, block, static_cast<size_t>(end - begin), begin, path);
    for (off_t i = end - begin; i > 0; --i) {
      if (block[i - 1] == '\n') {
        cut = begin + i;
        break;
      }
    }
    end = begin;
  }
  std::string torn(static_cast<size_t>(std::min<off_t>(size - cut, 100)), '\0');
  pread_fully(fd, torn.data(), torn.size(), cut, path);
  CHECK_OR_THROW(IoError, ::ftruncate(fd, cut) == 0, path,
                 ": cannot cut off the torn last line: ", core::errno_text());
  CHECK_OR_THROW(IoError, ::fsync(fd) == 0, path, ": fsync failed: ", core::errno_text());
  log.warn(path, ": cut off a torn last line (", size - cut, " bytes from byte ", cut,
           ", no trailing newline), left by a crash during an append: ", excerpt(torn));
}

// Makes a newly created file's directory entry durable.
void sync_parent_dir(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : std::string(".");
  core::UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() >= 0) ::fsync(dfd.get());  // best effort: some file systems refuse fsync on dirs
}

const std::string& string_field(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  CHECK_OR_THROW(ConfigError, it != j.end(), "missing \"", key, "\"");
  CHECK_OR_THROW(ConfigError, it->is_string(), "\"", key, "\" must be a string, found ",
                 it->type_name(), " ", it->dump());
  return it->get_ref<const std::string&>();
}

// The fields of a search's records: params on started ones, epoch on result
// and stopped ones, value on result ones.
void read_search_fields(const nlohmann::json& j, LedgerRecord& r) {
  const bool started = r.event == LedgerEvent::kStarted;
  const bool result = r.event == LedgerEvent::kResult;
  const bool stopped = r.event == LedgerEvent::kStopped;
  if (const auto params = j.find("params"); params != j.end()) {
    CHECK_OR_THROW(ConfigError, started, "only a started record has \"params\"");
    CHECK_OR_THROW(ConfigError, params->is_object(), "\"params\" must be an object, found ",
                   params->type_name());
    for (const auto& item : params->items())
      CHECK_OR_THROW(ConfigError, item.value().is_string(), "\"params\": \"", item.key(),
                     "\" must be a string, found ", item.value().dump());
    r.params = *params;
  }
  const auto epoch = j.find("epoch");
  CHECK_OR_THROW(ConfigError, (result || stopped) == (epoch != j.end()),
                 result || stopped ? "a result or stopped record needs \"epoch\""
                                   : "only a result or stopped record has \"epoch\"");
  if (epoch != j.end()) {
    CHECK_OR_THROW(ConfigError, epoch->is_number_integer() && epoch->get<long long>() >= 0 &&
                                    epoch->get<long long>() <= INT_MAX,
                   "\"epoch\" must be a whole number >= 0, found ", epoch->dump());
    r.epoch = static_cast<int>(epoch->get<long long>());
  }
  const auto value = j.find("value");
  CHECK_OR_THROW(ConfigError, result == (value != j.end()),
                 result ? "a result record needs \"value\"" : "only a result record has \"value\"");
  if (value != j.end()) {
    CHECK_OR_THROW(ConfigError, value->is_number() || value->is_null(),
                   "\"value\" must be a number or null, found ", value->dump());
    r.value = value->is_null() ? std::numeric_limits<double>::quiet_NaN() : value->get<double>();
  }
}

// Checks one parsed line against the record schema; throws ConfigError saying what is wrong,
// without the location, which the caller adds.
LedgerRecord record_from_json(const nlohmann::json& j) {
  CHECK_OR_THROW(ConfigError, j.is_object(), "expected a JSON object, found ", j.type_name());
  static const std::set<std::string> kKnown = {"event",  "job",     "name",  "time",
                                               "rank",   "host",    "metrics", "error",
                                               "slurm_job", "carried_from", "params", "epoch",
                                               "value"};
  for (const auto& item : j.items()) {
    CHECK_OR_THROW(ConfigError, kKnown.count(item.key()), "unknown key \"", item.key(),
                   "\" (known: event, job, name, time, rank, host, slurm_job, metrics, error, "
                   "carried_from, params, epoch, value)");
  }
  LedgerRecord r;
  const std::string& event = string_field(j, "event");
  if (event == "started") {
    r.event = LedgerEvent::kStarted;
  } else if (event == "finished") {
    r.event = LedgerEvent::kFinished;
  } else if (event == "failed") {
    r.event = LedgerEvent::kFailed;
  } else if (event == "result") {
    r.event = LedgerEvent::kResult;
  } else if (event == "stopped") {
    r.event = LedgerEvent::kStopped;
  } else {
    throw ConfigError(str_cat("unknown event \"", event,
                              "\" (expected started, finished, failed, result or stopped)"));
  }
  r.job = string_field(j, "job");
  CHECK_OR_THROW(ConfigError, !r.job.empty(), "\"job\" is empty");
  r.name = string_field(j, "name");
  r.time = string_field(j, "time");
  r.host = string_field(j, "host");
  if (j.contains("slurm_job")) r.slurm_job = string_field(j, "slurm_job");
  if (j.contains("carried_from")) r.carried_from = string_field(j, "carried_from");
  const auto rank = j.find("rank");
  CHECK_OR_THROW(ConfigError, rank != j.end(), "missing \"rank\"");
  CHECK_OR_THROW(ConfigError, rank->is_number_integer(), "\"rank\" must be an integer, found ",
                 rank->dump());
  const auto value = rank->get<long long>();
  CHECK_OR_THROW(ConfigError, value >= 0 && value <= INT_MAX, "\"rank\" is out of range: ",
                 value);
  r.rank = static_cast<int>(value);

  const bool finished = r.event == LedgerEvent::kFinished;
  const bool failed = r.event == LedgerEvent::kFailed;
  const auto metrics = j.find("metrics");
  CHECK_OR_THROW(ConfigError, finished == (metrics != j.end()),
                 finished ? "a finished record needs \"metrics\""
                          : "only a finished record has \"metrics\"");
  if (finished) {
    CHECK_OR_THROW(ConfigError, metrics->is_object(), "\"metrics\" must be an object, found ",
                   metrics->type_name());
    r.metrics = *metrics;
  }
  CHECK_OR_THROW(ConfigError, failed == j.contains("error"),
                 failed ? "a failed record needs \"error\"" : "only a failed record has \"error\"");
  if (failed) r.error = string_field(j, "error");
  read_search_fields(j, r);
  return r;
}

}  // namespace

std::string run_writer() { return "run"; }

std::string shard_writer(int shard, int shards) {
  return str_cat("shard-", shard, "-of-", shards);
}

std::string ledger_path(const std::string& output_dir, const std::string& writer) {
  return (std::filesystem::path(output_dir) / kLedgerDirName / (writer + ".jsonl")).string();
}

bool has_ledger(const std::string& output_dir) {
  const std::filesystem::path dir(output_dir);
  std::error_code ec;
  if (std::filesystem::exists(dir / kLedgerFileName, ec)) return true;
  for (const auto& e : std::filesystem::directory_iterator(dir / kLedgerDirName, ec))
    if (e.path().extension() == ".jsonl") return true;
  return false;
}

std::string_view event_name(LedgerEvent event) {
  switch (event) {
    case LedgerEvent::kStarted: return "started";
    case LedgerEvent::kFinished: return "finished";
    case LedgerEvent::kFailed: return "failed";
    case LedgerEvent::kResult: return "result";
    case LedgerEvent::kStopped: return "stopped";
  }
  INTERNAL_ASSERT(false && "unknown LedgerEvent");
  return "";
}


std::string local_host_name() {
  char name[256] = {};
  CHECK_OR_THROW(IoError, ::gethostname(name, sizeof name - 1) == 0,
                 "cannot read the host name: ", core::errno_text());
  return name;  // sizeof name - 1 above keeps a terminating NUL even if the name was cut
}

LedgerRecord make_started(std::string job, std::string name, const LedgerOrigin& origin,
                          std::string time) {
  LedgerRecord r;
  r.event = LedgerEvent::kStarted;
  r.job = std::move(job);
  r.name = std::move(name);
  r.time = std::move(time);
  r.rank = origin.rank;
  r.host = origin.host;
  r.slurm_job = origin.slurm_job;
  return r;
}

LedgerRecord make_finished(std::string job, std::string name, const LedgerOrigin& origin,
                           nlohmann::json metrics, std::string time) {
  INTERNAL_ASSERT(metrics.is_object());
  LedgerRecord r = make_started(std::move(job), std::move(name), origin, std::move(time));
  r.event = LedgerEvent::kFinished;
  r.metrics = std::move(metrics);
  return r;
}

LedgerRecord make_failed(std::string job, std::string name, const LedgerOrigin& origin,
                         std::string error, std::string time) {
  LedgerRecord r = make_started(std::move(job), std::move(name), origin, std::move(time));
  r.event = LedgerEvent::kFailed;
  r.error = std::move(error);
  return r;
}

LedgerRecord make_result(std::string job, std::string name, const LedgerOrigin& origin, int epoch,
                         double value, std::string time) {
  LedgerRecord r = make_started(std::move(job), std::move(name), origin, std::move(time));
  r.event = LedgerEvent::kResult;
  r.epoch = epoch;
  r.value = value;
  return r;
}

LedgerRecord make_stopped(std::string job, std::string name, const LedgerOrigin& origin, int epoch,
                          std::string time) {
  LedgerRecord r = make_started(std::move(job), std::move(name), origin, std::move(time));
  r.event = LedgerEvent::kStopped;
  r.epoch = epoch;
  return r;
}

std::string format_ledger_line(const LedgerRecord& record) {
  // Fields that do not belong to the event would be dropped silently; a caller setting them
  // has a bug.
  INTERNAL_ASSERT(record.event == LedgerEvent::kFailed || record.error.empty());
  INTERNAL_ASSERT(record.event == LedgerEvent::kFinished ||
                  (record.metrics.is_object() && record.metrics.empty()));
  // Ordered, so that a person reading the file sees the event and job first.
  nlohmann::ordered_json j;
  j["event"] = event_name(record.event);
  j["job"] = record.job;
  j["name"] = record.name;
  j["time"] = record.time;
  j["rank"] = record.rank;
  j["host"] = record.host;
  if (!record.slurm_job.empty()) j["slurm_job"] = record.slurm_job;
  if (!record.carried_from.empty()) j["carried_from"] = record.carried_from;
  if (record.event == LedgerEvent::kFinished) {
    INTERNAL_ASSERT(record.metrics.is_object());
    j["metrics"] = nlohmann::ordered_json(record.metrics);
  }
  if (record.event == LedgerEvent::kFailed) j["error"] = record.error;
  INTERNAL_ASSERT(record.event == LedgerEvent::kStarted || record.params.empty());
  if (!record.params.empty()) j["params"] = nlohmann::ordered_json(record.params);
  if (record.event == LedgerEvent::kResult || record.event == LedgerEvent::kStopped)
    j["epoch"] = record.epoch;
  if (record.event == LedgerEvent::kResult) {
    if (std::isfinite(record.value)) {
      j["value"] = record.value;
    } else {
      j["value"] = nullptr;
    }
  }
  // `replace`: an error message may quote bytes that are not UTF-8; losing them beats losing
  // the record. dump() escapes newlines inside strings, so the line has none of its own.
  std::string line = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  INTERNAL_ASSERT(line.find('\n') == std::string::npos);
  line += '\n';
  return line;
}

Ledger::Ledger(const std::string& path, core::Logger& log) : path_(path) {
  // The writers' folder (ledger.d) inside the sweep's; the sweep's folder must exist.
  std::error_code ec;
  std::filesystem::create_directory(std::filesystem::path(path).parent_path(), ec);
  // Read-write rather than write-only: cutting a torn tail needs to read it.
  core::UniqueFd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  CHECK_OR_THROW(IoError, fd.get() >= 0, path, ": cannot open the ledger for appending: ",
                 core::errno_text(), " (does the folder exist and is it writable?)");
  {
    FileLock lock(fd.get(), path);
    cut_torn_tail(fd.get(), path, log);
  }
  sync_parent_dir(path);
  fd_ = fd.release();
}

Ledger::Ledger(Ledger&& o) noexcept : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)) {}

Ledger& Ledger::operator=(Ledger&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);  // every append was fsync'd: a failed close loses nothing
    path_ = std::move(o.path_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

Ledger::~Ledger() {
  if (fd_ >= 0) ::close(fd_);  // every append was fsync'd: a failed close loses nothing
}

void Ledger::append(const LedgerRecord& record) {
  INTERNAL_ASSERT(fd_ >= 0);  // not a moved-from Ledger
  const std::string line = format_ledger_line(record);
  FileLock lock(fd_, path_);
  ssize_t n;
  // One write() for the whole line: see Note [Ledger durability]. EINTR means nothing was
  // written, so trying again cannot duplicate part of the line.
  do n = ::write(fd_, line.data(), line.size());
  while (n < 0 && errno == EINTR);
  if (n < 0) core::throw_write_error(path_, ": cannot append to the ledger: ");
  if (static_cast<size_t>(n) != line.size()) {
    // A full disk or a quota. Holding the lock, the partial line is the end of the file;
    // remove it so that later appends do not follow a torn line.
    struct stat st {};
    const bool undone = ::fstat(fd_, &st) == 0 && ::ftruncate(fd_, st.st_size - n) == 0;
    throw core::StorageError(str_cat(path_, ": cannot append to the ledger: wrote only ", n, " of ",
                          line.size(), " bytes (is the disk full?)",
                          undone ? "; the partial line was removed"
                                 : "; the partial line could not be removed and will be cut "
                                   "off when the ledger is next opened"));
  }
  if (::fsync(fd_) != 0) core::throw_write_error(path_, ": fsync of the ledger failed (the record may not be on disk): ");
}

std::vector<LedgerRecord> read_ledger(const std::string& path, core::Logger& log) {
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return {};  // nothing has run yet
  return parse_ledger(core::read_file(path), path, log);
}

std::vector<LedgerRecord> parse_ledger(std::string_view content, const std::string& path,
                                       core::Logger& log) {
  std::vector<LedgerRecord> records;
  size_t pos = 0;
  for (int line_no = 1; pos < content.size(); ++line_no) {
    const size_t newline = content.find('\n', pos);
    const size_t end = newline == std::string::npos ? content.size() : newline;
    const std::string_view line(content.data() + pos, end - pos);
    pos = newline == std::string::npos ? content.size() : newline + 1;
    const bool last = pos == content.size();
    if (newline == std::string::npos) {
      log.warn(path, ":", line_no, ": ignoring a torn last line (no trailing newline), left by ",
               "a crash during an append: ", excerpt(line));
      break;
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // parse_error; out_of_range for huge numbers
      if (last) {
        log.warn(path, ":", line_no, ": ignoring a torn last line (not valid JSON), left by a ",
                 "crash during an append: ", excerpt(line));
        break;
      }
      throw ConfigError(str_cat(
          path, ":", line_no, ": not a valid ledger line: ", excerpt(line), " (", e.what(),
          "); a crash can only tear the last line, so the ledger was edited or corrupted: "
          "repair or delete that line (deleting a finished record reruns its job)"));
    }
    try {
      records.push_back(record_from_json(j));
    } catch (const ConfigError& e) {
      throw ConfigError(str_cat(path, ":", line_no, ": not a valid ledger record: ", e.what(),
                                "; the ledger was edited or corrupted: repair or delete that "
                                "line"));
    }
  }
  return records;
}

std::vector<LedgerRecord> read_sweep_ledger(const std::string& output_dir, core::Logger& log) {
  namespace fs = std::filesystem;
  std::vector<std::string> files = {(fs::path(output_dir) / kLedgerFileName).string()};
  for (std::string& f :
       core::files_with_extension((fs::path(output_dir) / kLedgerDirName).string(), ".jsonl"))
    files.push_back(std::move(f));
  std::vector<std::vector<LedgerRecord>> per_file;
  size_t total = 0;
  for (const std::string& f : files) {
    per_file.push_back(read_ledger(f, log));
    total += per_file.back().size();
  }
  // A merge by time that keeps each file's own order (what its writer did, in the order it
  // did it, whatever its clock says); on equal times the earlier file first. ISO-8601 UTC
  // times of one format order as strings do.
  std::vector<LedgerRecord> records;
  records.reserve(total);
  std::vector<size_t> next(per_file.size(), 0);
  while (records.size() < total) {
    size_t pick = per_file.size();
    for (size_t f = 0; f < per_file.size(); ++f) {
      if (next[f] == per_file[f].size()) continue;
      if (pick == per_file.size() || per_file[f][next[f]].time < per_file[pick][next[pick]].time)
        pick = f;
    }
    records.push_back(std::move(per_file[pick][next[pick]++]));
  }
  return records;
}

bool LedgerState::finished(const std::string& job) const {
  const auto it = jobs.find(job);
  return it != jobs.end() && it->second.status == JobStatus::kFinished;
}

int LedgerState::count(JobStatus status) const {
  return static_cast<int>(std::count_if(jobs.begin(), jobs.end(), [&](const auto& entry) {
    return entry.second.status == status;
  }));
}

LedgerState summarize(const std::vector<LedgerRecord>& records) {
  // Record order, not the time field, decides what is latest: one writer's records keep the
  // order of its appends (read_sweep_ledger merges writers without reordering a file), which
  // is what actually happened, whatever the clocks of different hosts say.
  LedgerState state;
  for (const LedgerRecord& r : records) {
    if (r.event == LedgerEvent::kResult) continue;  // a search's, not a change of state
    auto [it, inserted] = state.jobs.try_emplace(r.job);
    JobState& job = it->second;
    if (!inserted && (job.status == JobStatus::kFinished || job.status == JobStatus::kStopped))
      continue;  // finished and stopped are final
    job.name = r.name;
    job.time = r.time;
    job.rank = r.rank;
    job.host = r.host;
    switch (r.event) {
      case LedgerEvent::kStarted:
        job.status = JobStatus::kStarted;
        break;
      case LedgerEvent::kFinished:
        job.status = JobStatus::kFinished;
        job.metrics = r.metrics;
        break;
      case LedgerEvent::kFailed:
        job.status = JobStatus::kFailed;
        job.error = r.error;
        ++job.failures;
        break;
      case LedgerEvent::kStopped:
        job.status = JobStatus::kStopped;
        break;
      case LedgerEvent::kResult:
        break;
    }
  }
  return state;
}

namespace {

// Who holds the lock, from the "host pid" its holder wrote into the lock file.
std::string describe_holder(int fd, const std::string& path) {
  char buf[512];
  ssize_t n;
  do n = ::pread(fd, buf, sizeof buf - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    return str_cat("held by a process that cannot be named (", path, ": ", core::errno_text(), ")");
  }
  std::string text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty()) return "held by a process that has not written its pid yet";
  const size_t space = text.rfind(' ');
  if (space == std::string::npos || space == 0 ||
      text.find_first_not_of("0123456789", space + 1) != std::string::npos) {
    return str_cat("held by a process that wrote ", excerpt(text), " into ", path);
  }
  return str_cat("held by pid ", text.substr(space + 1), " on host ", text.substr(0, space));
}

}  // namespace

namespace {

core::UniqueFd open_lock_file(const std::string& path) {
  core::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  CHECK_OR_THROW(IoError, fd.get() >= 0, path, ": cannot open the sweep lock: ", core::errno_text(),
                 " (does the folder exist and is it writable?)");
  return fd;
}

// One try without blocking: true when this process now holds the lock, false when another
// does; throws core::IoError on any other failure.
bool try_lock(int fd, const std::string& path) {
  int rc;
  do rc = ::flock(fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) return true;
  CHECK_OR_THROW(IoError, errno == EWOULDBLOCK, path, ": cannot lock: ", core::errno_text());
  return false;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

// Whatever an earlier holder wrote is stale once we hold the lock; replace it with who we are.
void write_holder(int fd, const std::string& path) {
  const std::string who = str_cat(local_host_name(), " ", ::getpid(), "\n");
  CHECK_OR_THROW(IoError, ::ftruncate(fd, 0) == 0, path, ": cannot clear: ", core::errno_text());
  ssize_t n;
  do n = ::pwrite(fd, who.data(), who.size(), 0);
  while (n < 0 && errno == EINTR);
  CHECK_OR_THROW(IoError, n == static_cast<ssize_t>(who.size()), path,
                 ": cannot write the holder's pid: ", n < 0 ? core::errno_text() : "short write");
}

}  // namespace

SweepLock::SweepLock(const std::string& dir, const std::string& name)
    : path_((std::filesystem::path(dir) / name).string()) {
  core::UniqueFd fd = open_lock_file(path_);
  // `fracsweep status` probes the lock with a shared flock for a few system
  // calls; a short retry keeps that probe from refusing a run that starts then.
  bool locked = false;
  for (int attempt = 0; attempt < 20 && !(locked = try_lock(fd.get(), path_)); ++attempt)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!locked)
    throw ConfigError(str_cat(
        "output folder ", dir, " is in use by another sweep: its lock ", path_, " is ",
        describe_holder(fd.get(), path_),
        "; if that process is gone, the lock is released automatically (flock locks vanish "
        "with the process that holds them), so run again; otherwise wait for it or choose "
        "another output folder"));
  write_holder(fd.get(), path_);
  fd_ = fd.release();
}

SweepLock SweepLock::wait(const std::string& dir, const std::string& name, std::string_view what,
                          double timeout_seconds, core::Logger& log) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kReportEvery = std::chrono::seconds(10);
  SweepLock lock;
  lock.path_ = (std::filesystem::path(dir) / name).string();
  core::UniqueFd fd = open_lock_file(lock.path_);
  const auto start = Clock::now();
  const auto waited = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  auto next_report = start;
  bool reported = false;
  // Polled rather than a blocking flock(): a blocking one cannot time out, and could not say
  // who it waits for while it waits.
  while (!try_lock(fd.get(), lock.path_)) {
    CHECK_OR_THROW(IoError, waited() < timeout_seconds, lock.path_, ": gave up after ",
                   seconds_text(waited()), " waiting for it while another run ", what,
                   "; it is still ", describe_holder(fd.get(), lock.path_),
                   "; if that process is stuck, stop it, then run again");
    if (Clock::now() >= next_report) {
      log.info("waiting for ", lock.path_, " (", describe_holder(fd.get(), lock.path_),
               ") while another run ", what, ": ", seconds_text(waited()),
               " so far, giving up after ", seconds_text(timeout_seconds));
      next_report += kReportEvery;
      reported = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  write_holder(fd.get(), lock.path_);
  lock.fd_ = fd.release();
  if (reported) log.info("took ", lock.path_, " after waiting ", seconds_text(waited()));
  return lock;
}

SweepLock::SweepLock(SweepLock&& o) noexcept
    : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)) {}

SweepLock& SweepLock::operator=(SweepLock&& o) noexcept {
  if (this != &o) {
    release();
    path_ = std::move(o.path_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

SweepLock::~SweepLock() { release(); }

void SweepLock::release() noexcept {
  // Closing the descriptor drops the flock. The file stays: unlinking it would let a process
  // that opened it just before lock the orphaned inode while a newcomer locks a fresh file,
  // and both would believe they hold the folder.
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

}  // namespace fracsweep::sweeps
