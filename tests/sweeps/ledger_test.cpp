// Tests of the sweep ledger (append, read back, crash leftovers, summaries, appends from
// several processes) and of the output-folder lock.
#include "sweeps/ledger.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "test_util.h"

namespace fracsweep::sweeps {
namespace {

namespace fs = std::filesystem;

const LedgerOrigin kOrigin{3, "n042"};

struct ChildResult {
  int exit_code = -1;
  std::string message;  // what the child wrote to its pipe
};

// A forked child running a test body. Assertions are made in the parent only: GoogleTest
// does not follow a forked child.
struct Child {
  pid_t pid = -1;
  int pipe_fd = -1;  // read end of the child's message pipe
};

// Forks a child that runs `body`, writes the string `body` fills in to a pipe and exits with
// what `body` returns; an exception escaping `body` exits with 99.
Child start_child(const std::function<int(std::string&)>& body) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    std::string message;
    int code = 99;
    try {
      code = body(message);
    } catch (const std::exception& e) {
      message = std::string("unexpected exception: ") + e.what();
    }
    size_t done = 0;
    while (done < message.size()) {
      const ssize_t n = ::write(fds[1], message.data() + done, message.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::_exit(code);  // skip the parent's atexit handlers and GoogleTest's teardown
  }
  ::close(fds[1]);
  return Child{pid, fds[0]};
}

ChildResult finish_child(const Child& child) {
  ChildResult result;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(child.pipe_fd, buf, sizeof buf)) > 0) result.message.append(buf, n);
  ::close(child.pipe_fd);
  int status = 0;
  ::waitpid(child.pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

ChildResult run_in_child(const std::function<int(std::string&)>& body) {
  return finish_child(start_child(body));
}

std::string ledger_in(const testing::TempDir& dir) {
  return ledger_path(dir.path().string(), run_writer());
}

TEST(Ledger, AppendThenReadBackAllThreeKinds) {
  testing::TempDir dir;
  const std::string path = ledger_in(dir);
  std::ostringstream logs;
  core::Logger log(core::LogLevel::kWarn, logs);
  const nlohmann::json metrics = {{"auc", 0.875}, {"ap", 0.5}, {"per_class", {{"se", {1, 2}}}}};
  const std::vector<LedgerRecord> written = {
      make_started("a1b2", "lr_scan/7", kOrigin, "2026-11-22T10:04:05.123Z"),
      make_finished("a1b2", "lr_scan/7", kOrigin, metrics, "2026-11-22T10:05:00.000Z"),
      make_failed("c3d4", "lr_scan/8", {0, "host with spaces"},
                  "CUDA out of memory\nsecond line, \"quoted\"", "2026-11-22T10:06:00.000Z"),
  };
  {
    Ledger ledger(path, log);
    for (const LedgerRecord& r : written) ledger.append(r);
  }
  const std::vector<LedgerRecord> read = read_ledger(path, log);
  EXPECT_EQ(read, written);
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0].event, LedgerEvent::kStarted);
  EXPECT_EQ(read[1].metrics["per_class"]["se"][1], 2);
  EXPECT_EQ(read[2].error, "CUDA out of memory\nsecond line, \"quoted\"");
  EXPECT_EQ(read[2].rank, 0);
  EXPECT_EQ(logs.str(), "");

  const std::string content = core::read_file(path);
  EXPECT_EQ(std::count(content.begin(), content.end(), '\n'), 3) << content;
  EXPECT_EQ(content.rfind("{\"event\":\"started\",\"job\":\"a1b2\",\"name\":\"lr_scan/7\"", 0), 0u)
      << content;
}

TEST(Ledger, ReopeningAppendsAfterExistingRecords) {
  testing::TempDir dir;
  const std::string path = ledger_in(dir);
  core::Logger log(core::LogLevel::kOff);
  Ledger(path, log).append(make_started("j1", "one", kOrigin));
  Ledger(path, log).append(make_started("j2", "two", kOrigin));
  const auto records = read_ledger(path, log);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].job, "j1");
  EXPECT_EQ(records[1].job, "j2");
}

TEST(Ledger, MovedLedgerKeepsAppending) {
  testing::TempDir dir;
  const std::string path = ledger_in(dir);
  core::Logger log(core::LogLevel::kOff);
  Ledger first(path, log);
  Ledger second = std::move(first);
  second.append(make_started("j1", "one", kOrigin));
  Ledger third((dir.path() / "other.jsonl").string(), log);
  third = std::move(second);
  third.append(make_started("j2", "two", kOrigin));
  EXPECT_EQ(read_ledger(path, log).size(), 2u);
}

TEST(Ledger, TimeIsIsoUtc) {
  const std::string t = make_started("j", "n", kOrigin).time;
  ASSERT_EQ(t.size(), 24u) << t;  // 2026-11-22T10:04:05.123Z
  EXPECT_EQ(t[4], '-');
  EXPECT_EQ(t[10], 'T');
  EXPECT_EQ(t[19], '.');
  EXPECT_EQ(t.back(), 'Z');
}

TEST(Ledger, MissingFileIsAnEmptyLedger) {
  testing::TempDir dir;
  std::ostringstream logs;
  core::Logger log(core::LogLevel::kWarn, logs);
  EXPECT_TRUE(read_ledger(ledger_in(dir), log).empty());
  EXPECT_EQ(logs.str(), "");
}

TEST(Ledger, OpenFailureNamesThePath) {
  testing::TempDir dir;
  core::Logger log(core::LogLevel::kOff);
  const std::string path = (dir.path() / "no" / "such" / "ledger.jsonl").string();
  try {
    Ledger ledger(path, log);
    FAIL() << "no exception";
  } catch (const core::IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

TEST(Ledger, TornLastLineWithoutNewlineIsIgnoredWithWarning) {
  testing::TempDir dir;
  const std::string full = format_ledger_line(make_finished("j2", "two", kOrigin, {{"auc", 1}}));
  const std::string path = dir.write(
      "ledger.jsonl", format_ledger_line(make_started("j1", "one", kOrigin)) +
                          format_ledger_line(make_started("j2", "two", kOrigin)) +
                          full.substr(0, full.size() / 2));
  std::ostringstream logs;
  core::Logger log(core::LogLevel::kWarn, logs);
  const auto records = read_ledger(path, log);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].job, "j2");
  EXPECT_NE(logs.str().find(path + ":3:"), std::string::npos) << logs.str();
  EXPECT_NE(logs.str().find("WARN"), std::string::npos) << logs.str();
  EXPECT_NE(logs.str().find("torn"), std::string::npos) << logs.str();
}

TEST(Ledger, UnparseableLastLineIsIgnoredWithWarning) {
  testing::TempDir dir;
  const std::string path = dir.write(
      "ledger.jsonl", format_ledger_line(make_started("j1", "one", kOrigin)) + "{\"event\":\"fi\n");
  std::ostringstream logs;
  core::Logger log(core::LogLevel::kWarn, logs);
  EXPECT_EQ(read_ledger(path, log).size(), 1u);
  EXPECT_NE(logs.str().find(path + ":2:"), std::string::npos) << logs.str();
}

TEST(Ledger, CorruptMiddleLineIsAnErrorNamingFileAndLine) {
  testing::TempDir dir;
  const std::string path = dir.write(
      "ledger.jsonl", format_ledger_line(make_started("j1", "one", kOrigin)) +
                          "{\"event\":\"started\",\"jo\n" +
                          format_ledger_line(make_started("j2", "two", kOrigin)));
  std::ostringstream logs;
  core::Logger log(core::LogLevel::kWarn, logs);
  try {
    read_ledger(path, log);
    FAIL() << "no exception";
  } catch (const core::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path + ":2:"), std::string::npos) << what;
    EXPECT_NE(what.find("not a valid ledger line"), std::string::npos) << what;
  }
}

TEST(Ledger, InvalidRecordIsAnErrorSayingWhatIsWrong) {
  struct Case {
    std::string line;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {R"({"event":"paused","job":"j","name":"n","time":"t","rank":0,"host":"h"})",
       "unknown event \"paused\""},
      {R"({"event":"started","name":"n","time":"t","rank":0,"host":"h"})", "missing \"job\""},
      {R"({"event":"started","job":"j","name":"n","time":"t","rank":"0","host":"h"})",
       "\"rank\" must be an integer"},
      {R"({"event":"finished","job":"j","name":"n","time":"t","rank":0,"host":"h"})",
       "needs \"metrics\""},
      {R"({"event":"failed","job":"j","name":"n","time":"t","rank":0,"host":"h","metrics":{}})",
       "only a finished record has \"metrics\""},
      {R"({"event":"started","job":"j","name":"n","time":"t","rank":0,"host":"h","x":1})",
       "unknown key \"x\""},
      {R"([1,2])", "expected a JSON object"},
  };
  for (const Case& c : cases) {
    testing::TempDir dir;
    // The bad record is the last line: valid JSON cannot be a torn write, so it is still an
    // error rather than something to skip.
    const std::string path = dir.write(
        "ledger.jsonl", format_ledger_line(make_started("j1", "one", kOrigin)) + c.line + "\n");
    core::Logger log(core::LogLevel::kOff);
    try {
      read_ledger(path, log);
      ADD_FAILURE() << "no exception for " << c.line;
    } catch (const core::ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(path + ":2:"), std::string::npos) << what;
      EXPECT_NE(what.find(c.expected), std::string::npos) << what;
    }
  }
}

// A crash during an append leaves a torn last line; when the sweep is resumed and appends
// again, that line must not end up in the middle of the file, where it reads as corruption.
TEST(Ledger, ResumeAfterCrashCutsTheTornLineSoTheLedgerStaysReadable) {
  testing::TempDir dir;
  const std::string full = format_ledger_line(make_finished("j1", "one", kOrigin, {{"a", 1}}));
  const std::string path = dir.write(
      "ledger.jsonl",
      format_ledger_line(make_started("j1", "one", kOrigin)) + full.substr(0, full.size() - 5));
  std::ostringstream logs;
  core::Logger log(core::LogLevel::kWarn, logs);
  {
    Ledger ledger(path, log);
    EXPECT_NE(logs.str().find("torn last line"), std::string::npos) << logs.str();
    ledger.append(make_started("j1", "one", kOrigin));
  }
  std::ostringstream read_logs;
  core::Logger read_log(core::LogLevel::kWarn, read_logs);
  const auto records = read_ledger(path, read_log);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].event, LedgerEvent::kStarted);
  EXPECT_EQ(records[1].event, LedgerEvent::kStarted);
  EXPECT_EQ(read_logs.str(), "");
}

TEST(Ledger, TornLineAsTheWholeFileIsCutToEmpty) {
  testing::TempDir dir;
  const std::string path = dir.write("ledger.jsonl", "{\"event\":\"sta");
  core::Logger log(core::LogLevel::kOff);
  Ledger(path, log).append(make_started("j1", "one", kOrigin));
  EXPECT_EQ(core::read_file(path), format_ledger_line(read_ledger(path, log).at(0)));
}

TEST(Ledger, AppendsFromTwoProcessesNeverInterleave) {
  testing::TempDir dir;
  const std::string path = ledger_in(dir);
  constexpr int kPerChild = 200;
  // Long lines make an interleaving within a line likely if appends were not whole.
  const std::string padding(3000, 'x');
  auto child = [&](int id) {
    return [&, id](std::string& message) {
      core::Logger log(core::LogLevel::kOff);
      Ledger ledger(path, log);
      for (int i = 0; i < kPerChild; ++i) {
        ledger.append(make_finished("child" + std::to_string(id) + "/" + std::to_string(i),
                                    "n", {id, "h"}, {{"i", i}, {"pad", padding}}));
      }
      message = "ok";
      return 0;
    };
  };
  // Both children are started before either is waited for, so their appends overlap.
  const Child first = start_child(child(1));
  const Child second = start_child(child(2));
  const ChildResult first_result = finish_child(first);
  const ChildResult second_result = finish_child(second);
  ASSERT_EQ(first_result.exit_code, 0) << first_result.message;
  ASSERT_EQ(second_result.exit_code, 0) << second_result.message;

  const std::string content = core::read_file(path);
  std::istringstream lines(content);
  std::string line;
  int count = 0;
  std::vector<int> next(3, 0);  // per child, the next index expected
  while (std::getline(lines, line)) {
    ++count;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "line " << count << ": " << line.substr(0, 200);
    const int id = j["rank"];
    ASSERT_TRUE(id == 1 || id == 2) << line.substr(0, 200);
    EXPECT_EQ(j["metrics"]["i"], next[id]) << "appends of one process stay in order";
    ++next[id];
  }
  EXPECT_EQ(count, 2 * kPerChild);
  EXPECT_EQ(next[1], kPerChild);
  EXPECT_EQ(next[2], kPerChild);
  std::ostringstream logs;
  core::Logger log(core::LogLevel::kWarn, logs);
  EXPECT_EQ(read_ledger(path, log).size(), static_cast<size_t>(2 * kPerChild));
  EXPECT_EQ(logs.str(), "");
}

// Shards, as separate processes, each append to a ledger of their own while a
// reader merges them all: the reader never fails, and at the end sees every
// job finished exactly once.
TEST(SweepLedger, ShardsWriteTheirOwnLedgersAndReadersMergeThem) {
  testing::TempDir dir;
  const std::string out = dir.path().string();
  constexpr int kJobs = 40;
  auto shard = [&](int i) {
    return [&, i](std::string& message) {
      core::Logger log(core::LogLevel::kOff);
      Ledger ledger(ledger_path(out, shard_writer(i, 2)), log);
      for (int job = i; job < kJobs; job += 2) {
        ledger.append(make_started("j" + std::to_string(job), "n", {i, "h"}));
        ledger.append(make_finished("j" + std::to_string(job), "n", {i, "h"}, {{"job", job}}));
      }
      message = "ok";
      return 0;
    };
  };
  const Child a = start_child(shard(0));
  const Child b = start_child(shard(1));
  core::Logger quiet(core::LogLevel::kOff);
  for (int reads = 0; reads < 20; ++reads) EXPECT_NO_THROW(read_sweep_ledger(out, quiet));
  ASSERT_EQ(finish_child(a).exit_code, 0);
  ASSERT_EQ(finish_child(b).exit_code, 0);
  const std::vector<LedgerRecord> merged = read_sweep_ledger(out, quiet);
  EXPECT_EQ(merged.size(), 2u * kJobs);
  EXPECT_TRUE(std::is_sorted(merged.begin(), merged.end(),
                             [](const auto& x, const auto& y) { return x.time < y.time; }));
  std::map<std::string, int> finished;
  for (const LedgerRecord& r : merged) finished[r.job] += r.event == LedgerEvent::kFinished;
  EXPECT_EQ(finished.size(), static_cast<size_t>(kJobs));
  for (const auto& [job, n] : finished) EXPECT_EQ(n, 1) << job;
  EXPECT_TRUE(fs::exists(dir.path() / "ledger.d" / "shard-0-of-2.jsonl"));
}

// fracsweep 0.1's single ledger.jsonl is read with the writers' ledgers; the
// latest record of a job by time wins, whichever file holds it.
TEST(SweepLedger, AnOldSingleLedgerMergesWithTheWritersByTime) {
  testing::TempDir dir;
  const std::string out = dir.path().string();
  core::Logger quiet(core::LogLevel::kOff);
  {
    Ledger old((dir.path() / "ledger.jsonl").string(), quiet);
    old.append(make_started("a", "a", {0, "h"}, "2026-11-01T00:00:00.000Z"));
    old.append(make_failed("b", "b", {0, "h"}, "oom", "2026-11-01T00:00:05.000Z"));
  }
  Ledger run(ledger_path(out, run_writer()), quiet);
  run.append(make_finished("a", "a", {0, "h"}, nlohmann::json::object(), "2026-11-02T00:00:00.000Z"));
  Ledger shard(ledger_path(out, shard_writer(1, 2)), quiet);
  shard.append(make_started("b", "b", {1, "h"}, "2026-11-01T00:00:03.000Z"));  // before the failure
  const std::vector<LedgerRecord> merged = read_sweep_ledger(out, quiet);
  ASSERT_EQ(merged.size(), 4u);
  EXPECT_EQ(merged[0].job, "a");
  EXPECT_EQ(merged[1].event, LedgerEvent::kStarted);  // b's start, from the shard's file
  EXPECT_EQ(merged[2].event, LedgerEvent::kFailed);   // b's failure, from the old file
  const LedgerState state = summarize(merged);
  EXPECT_TRUE(state.finished("a"));
  EXPECT_EQ(state.jobs.at("b").status, JobStatus::kFailed);
  EXPECT_TRUE(has_ledger(out));
  testing::TempDir empty;
  EXPECT_FALSE(has_ledger(empty.path().string()));
  EXPECT_TRUE(read_sweep_ledger(empty.path().string(), quiet).empty());
}

// A writer's own order is what happened: a clock stepping back does not
// reorder its records, so a job finished and restarted stays restarted.
TEST(SweepLedger, AWritersOwnOrderSurvivesItsClockSteppingBack) {
  testing::TempDir dir;
  const std::string out = dir.path().string();
  core::Logger quiet(core::LogLevel::kOff);
  Ledger run(ledger_path(out, run_writer()), quiet);
  run.append(make_started("a", "a", {0, "h"}, "2026-11-01T00:00:10.000Z"));
  run.append(make_failed("a", "a", {0, "h"}, "x", "2026-11-01T00:00:05.000Z"));  // clock stepped back
  Ledger other(ledger_path(out, shard_writer(1, 2)), quiet);
  other.append(make_started("b", "b", {1, "h"}, "2026-11-01T00:00:07.000Z"));
  const std::vector<LedgerRecord> merged = read_sweep_ledger(out, quiet);
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].event, LedgerEvent::kStarted);
  EXPECT_EQ(merged[0].job, "b");  // 07 before run's head (10)
  EXPECT_EQ(merged[1].job, "a");
  EXPECT_EQ(merged[2].event, LedgerEvent::kFailed);  // after a's start, as it was appended
  EXPECT_EQ(summarize(merged).jobs.at("a").status, JobStatus::kFailed);
}

TEST(Summarize, StartedOnlyIsStarted) {
  const LedgerState s = summarize({make_started("a", "job a", kOrigin, "t1")});
  ASSERT_EQ(s.jobs.size(), 1u);
  const JobState& a = s.jobs.at("a");
  EXPECT_EQ(a.status, JobStatus::kStarted);
  EXPECT_EQ(a.name, "job a");
  EXPECT_EQ(a.time, "t1");
  EXPECT_EQ(a.rank, 3);
  EXPECT_EQ(a.host, "n042");
  EXPECT_EQ(a.failures, 0);
  EXPECT_FALSE(s.finished("a"));
  EXPECT_FALSE(s.finished("unknown"));
}

TEST(Summarize, FailedAfterStartedIsFailed) {
  const LedgerState s = summarize({make_started("a", "n", kOrigin, "t1"),
                                   make_failed("a", "n", kOrigin, "oom", "t2")});
  const JobState& a = s.jobs.at("a");
  EXPECT_EQ(a.status, JobStatus::kFailed);
  EXPECT_EQ(a.error, "oom");
  EXPECT_EQ(a.failures, 1);
  EXPECT_EQ(a.time, "t2");
}

TEST(Summarize, StartedAfterFailedIsRunningAndKeepsTheFailureCount) {
  const LedgerState s = summarize({
      make_started("a", "n", kOrigin), make_failed("a", "n", kOrigin, "oom"),
      make_started("a", "n", kOrigin), make_failed("a", "n", kOrigin, "nan loss"),
      make_started("a", "n", kOrigin),
  });
  const JobState& a = s.jobs.at("a");
  EXPECT_EQ(a.status, JobStatus::kStarted);
  EXPECT_EQ(a.failures, 2);
  EXPECT_EQ(a.error, "nan loss");
}

TEST(Summarize, FinishedWinsOverAnythingAfterIt) {
  const LedgerState s = summarize({
      make_started("a", "n", kOrigin, "t1"),
      make_failed("a", "n", kOrigin, "oom", "t2"),
      make_started("a", "n", kOrigin, "t3"),
      make_finished("a", "n", kOrigin, {{"auc", 0.9}}, "t4"),
      make_started("a", "n", {7, "other"}, "t5"),
      make_failed("a", "n", kOrigin, "late", "t6"),
  });
  const JobState& a = s.jobs.at("a");
  EXPECT_EQ(a.status, JobStatus::kFinished);
  EXPECT_EQ(a.metrics, (nlohmann::json{{"auc", 0.9}}));
  EXPECT_EQ(a.failures, 1);
  EXPECT_EQ(a.error, "oom");
  EXPECT_EQ(a.time, "t4");
  EXPECT_EQ(a.rank, 3);
  EXPECT_TRUE(s.finished("a"));
}

TEST(Summarize, JobsAreKeptApartAndCounted) {
  const LedgerState s = summarize({
      make_started("a", "n", kOrigin), make_started("b", "n", kOrigin),
      make_started("c", "n", kOrigin), make_finished("a", "n", kOrigin, nlohmann::json::object()),
      make_failed("b", "n", kOrigin, "x"), make_started("d", "n", kOrigin),
  });
  EXPECT_EQ(s.jobs.size(), 4u);
  EXPECT_EQ(s.count(JobStatus::kFinished), 1);
  EXPECT_EQ(s.count(JobStatus::kFailed), 1);
  EXPECT_EQ(s.count(JobStatus::kStarted), 2);
  EXPECT_TRUE(summarize({}).jobs.empty());
}

TEST(SweepLock, SecondLockInAnotherProcessFailsNamingTheHolder) {
  testing::TempDir dir;
  SweepLock lock(dir.path().string());
  EXPECT_EQ(core::read_file(lock.path()),
            local_host_name() + " " + std::to_string(::getpid()) + "\n");
  const ChildResult child = run_in_child([&](std::string& message) {
    try {
      SweepLock second(dir.path().string());
      message = "locked a folder that another process holds";
      return 1;
    } catch (const core::ConfigError& e) {
      message = e.what();
      return 0;
    }
  });
  ASSERT_EQ(child.exit_code, 0) << child.message;
  EXPECT_NE(child.message.find("in use"), std::string::npos) << child.message;
  EXPECT_NE(child.message.find("held by pid " + std::to_string(::getpid()) + " on host " +
                               local_host_name()),
            std::string::npos)
      << child.message;
  EXPECT_NE(child.message.find("released automatically"), std::string::npos) << child.message;
}

TEST(SweepLock, ReleasedWhenDestroyed) {
  testing::TempDir dir;
  auto try_lock = [&](std::string& message) {
    try {
      SweepLock lock(dir.path().string());
      return 0;
    } catch (const core::Error& e) {
      message = e.what();
      return 1;
    }
  };
  {
    SweepLock lock(dir.path().string());
    EXPECT_EQ(run_in_child(try_lock).exit_code, 1);
  }
  const ChildResult after = run_in_child(try_lock);
  EXPECT_EQ(after.exit_code, 0) << after.message;
}

TEST(SweepLock, MovedLockIsStillHeld) {
  testing::TempDir dir;
  SweepLock first(dir.path().string());
  SweepLock moved = std::move(first);
  const ChildResult child = run_in_child([&](std::string& message) {
    try {
      SweepLock second(dir.path().string());
      return 1;
    } catch (const core::ConfigError& e) {
      message = e.what();
      return 0;
    }
  });
  EXPECT_EQ(child.exit_code, 0) << child.message;
}

// The shards of an array prepare one folder: the one that finds the lock taken waits,
// saying whom it waits for and what that one does, and takes the lock once it is free.
TEST(SweepLock, WaitTakesTheLockWhenItsHolderLetsGoAndSaysWhomItWaitsFor) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  // flock() locks belong to open file descriptions: this process's own second open conflicts.
  auto held = std::make_unique<SweepLock>(d, ".lock-prepare");
  std::thread release([&held] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    held.reset();
  });
  std::ostringstream logs;
  core::Logger log(core::LogLevel::kInfo, logs);
  const auto start = std::chrono::steady_clock::now();
  SweepLock lock = SweepLock::wait(d, ".lock-prepare", "writes the phantom p.h5", 60, log);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  release.join();
  EXPECT_GE(waited, 0.3);
  EXPECT_HAS(logs.str(), "waiting for " + lock.path());
  EXPECT_HAS(logs.str(), "held by pid " + std::to_string(::getpid()) + " on host " + local_host_name());
  EXPECT_HAS(logs.str(), "writes the phantom p.h5");
  EXPECT_EQ(core::read_file(lock.path()), local_host_name() + " " + std::to_string(::getpid()) + "\n");
  // It is held now: another process neither takes it nor waits past its timeout.
  const ChildResult child = run_in_child([&](std::string& message) {
    try {
      core::Logger quiet(core::LogLevel::kOff);
      SweepLock::wait(d, ".lock-prepare", "writes sweep.json", 0.2, quiet);
      message = "took a lock another process holds";
      return 1;
    } catch (const core::IoError& e) {
      message = e.what();
      return 0;
    }
  });
  ASSERT_EQ(child.exit_code, 0) << child.message;
  EXPECT_HAS(child.message, "gave up after");
  EXPECT_HAS(child.message, "held by pid " + std::to_string(::getpid()));
  EXPECT_HAS(child.message, "writes sweep.json");
}

// A lock nobody holds is taken at once, without a word.
TEST(SweepLock, WaitOnAFreeLockTakesItAtOnce) {
  testing::TempDir dir;
  std::ostringstream logs;
  core::Logger log(core::LogLevel::kInfo, logs);
  const SweepLock lock = SweepLock::wait(dir.path().string(), ".lock-prepare", "writes x", 60, log);
  EXPECT_EQ(logs.str(), "");
  const ChildResult child = run_in_child([&](std::string&) {
    try {
      SweepLock second(dir.path().string(), ".lock-prepare");
      return 1;
    } catch (const core::ConfigError&) {
      return 0;
    }
  });
  EXPECT_EQ(child.exit_code, 0);
}

TEST(SweepLock, MissingFolderIsAnIoErrorNamingThePath) {
  testing::TempDir dir;
  const std::string missing = (dir.path() / "no" / "such").string();
  try {
    SweepLock lock(missing);
    FAIL() << "no exception";
  } catch (const core::IoError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
}

TEST(Ledger, ASearchsRecordsRoundTripAndStoppedIsFinal) {
  const LedgerOrigin o{1, "h"};
  LedgerRecord started = make_started("j", "v/fold0/seed1/trial0", o, "t1");
  started.params = {{"train.lr", "0.001"}};
  const LedgerRecord result = make_result("j", "v/fold0/seed1/trial0", o, 3, 0.75, "t2");
  const LedgerRecord undefined = make_result("j", "v/fold0/seed1/trial0", o, 4, NAN, "t3");
  const LedgerRecord stopped = make_stopped("j", "v/fold0/seed1/trial0", o, 4, "t4");
  core::Logger log(core::LogLevel::kOff);
  const auto back = parse_ledger(format_ledger_line(started) + format_ledger_line(result) +
                                     format_ledger_line(undefined) + format_ledger_line(stopped),
                                 "l.jsonl", log);
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back[0], started);
  EXPECT_EQ(back[1], result);
  EXPECT_EQ(back[2].event, LedgerEvent::kResult);
  EXPECT_TRUE(std::isnan(back[2].value));  // written as null
  EXPECT_EQ(back[3], stopped);
  auto records = back;
  records.push_back(make_started("j", "v/fold0/seed1/trial0", o, "t5"));
  EXPECT_EQ(summarize(records).jobs.at("j").status, JobStatus::kStopped);
  // Fields that belong to other events are refused, as for the first three kinds.
  EXPECT_THROW(parse_ledger(R"({"event":"finished","job":"j","name":"n","time":"t","rank":0,)"
                            R"("host":"h","metrics":{},"epoch":3})" "\n",
                            "l.jsonl", log),
               core::ConfigError);
  EXPECT_THROW(parse_ledger(R"({"event":"result","job":"j","name":"n","time":"t","rank":0,)"
                            R"("host":"h","epoch":3})" "\n",
                            "l.jsonl", log),
               core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::sweeps
