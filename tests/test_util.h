// Helpers shared by the tests: temporary folders, fixture paths, and running
// the fracsweep binary with its output captured.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

// Expects `haystack` (a std::string) to contain `needle`, printing it if not.
#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "text: " << (haystack)

namespace fracsweep::testing {

// A fresh folder under the system temp dir, removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

// tests/fixtures/<relative>.
std::string fixture(const std::string& relative);

// The rest of a scope runs in the checkout's root, where the README's commands run
// (the example sweeps name their files relative to it); the previous current
// directory comes back at its end.
class InCheckout {
 public:
  InCheckout();
  ~InCheckout();
  InCheckout(const InCheckout&) = delete;
  InCheckout& operator=(const InCheckout&) = delete;

 private:
  std::filesystem::path previous_;
};

// The fracsweep binary the tests run: this build's, unless FRACSWEEP_TEST_BINARY names another.
std::string fracsweep_binary();

// build/tests/artifacts: where tests leave files for a person to look at.
std::string test_artifacts();

// A vertebra phantom of 12 patients (7 benign, 5 malignant), 32x32 patches,
// one slice each: about 140 vertebrae. Written once per test process into a
// folder that lives as long as the process.
const std::string& tiny_vcf_store();

// A pelvis phantom of 30 images of 64x128 (10 with fractures), written once per
// test process like tiny_vcf_store().
const std::string& tiny_pelvis_store();

// A sweep file's text: variants tsccn and resnet (resnet18), then `extra_variants` (YAML
// lines under `variants:`), on two random 3:1:1 splits of a 12-patient phantom of 32x32
// patches, seed 1, `epochs` epochs on one thread: jobs of a few seconds each, into `output`.
std::string mini_sweep(const std::filesystem::path& output, int epochs,
                       const std::string& extra_variants = "");

// Every regular file below `dir` whose file name `keep` accepts (every one without `keep`),
// by its path relative to `dir`, with its bytes.
std::map<std::string, std::string> files_below(
    const std::filesystem::path& dir, const std::function<bool(const std::string&)>& keep = {});

// The tiny store a model variant trains on: pelvis for AASN's rows, else vertebrae.
const std::string& tiny_store_for(const std::string& variant);

// The message PatchStore::open throws for `path`; a test failure (and "") when
// the store opens.
std::string store_open_error(const std::string& path);

struct CommandResult {
  static constexpr int kTimedOut = 124;  // exit_code of a command killed for hanging
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs build/fracsweep with `args` (no shell involved) and captures its output. A
// command still running after 10 minutes is killed with its children (exit_code
// CommandResult::kTimedOut), so that a hang fails its test instead of the suite.
// `while_running`, when given, is called with the child's pid before waiting
// for it (to send it signals).
CommandResult run_fracsweep(const std::vector<std::string>& args,
                            const std::function<void(int pid)>& while_running = {});

// A disk that fails, for run_fracsweep_failing (tests/faults/eio_preload.c).
struct DiskFault {
  // The system call that fails with EIO on regular files: "fsync", "pwrite" or "write".
  std::string call;
  // Of each such call failing; the same calls fail for the same `seed`.
  double probability = 1;
  uint64_t seed = 1;
  // Only files whose path contains this can fail (FRACSWEEP_EIO_PATH); "": every file.
  std::string path;
  // More than 0: `mpirun -np mpi_ranks build/fracsweep args`, every rank (and mpirun)
  // on the failing disk, as run_fracsweep_mpi runs it.
  int mpi_ranks = 0;
};

// Runs build/fracsweep with `args` on a disk that fails as `fault` says (the preloaded
// tests/faults/eio_preload.c). Killed (exit_code CommandResult::kTimedOut) after `timeout`.
CommandResult run_fracsweep_failing(const DiskFault& fault, const std::vector<std::string>& args,
                                    std::chrono::seconds timeout);

// The same, on one process: `call` fails with `probability`, for `seed`, on every file.
CommandResult run_fracsweep_failing(const std::string& call, double probability, uint64_t seed,
                                    const std::vector<std::string>& args,
                                    std::chrono::seconds timeout);

// Runs `mpirun -np ranks build/fracsweep args` (allowed to run as root,
// OMP_WAIT_POLICY=PASSIVE), like run_fracsweep.
CommandResult run_fracsweep_mpi(int ranks, const std::vector<std::string>& args,
                                const std::function<void(int pid)>& while_running = {});

// Sends `signal` to `pid` and every process descending from it (mpirun and
// its ranks), as a scheduler killing a job would.
void kill_tree(int pid, int signal);

// `pid` and every process descending from it.
std::vector<int> process_tree(int pid);

// The process of MPI rank `rank` under the mpirun `mpirun_pid` (by its
// OMPI_COMM_WORLD_RANK), or -1 while there is none yet.
int mpi_rank_pid(int mpirun_pid, int rank);

}  // namespace fracsweep::testing
