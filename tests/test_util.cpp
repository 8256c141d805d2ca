#include "test_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/fs.h"
#include "core/error.h"
#include "datastore/patch_store.h"
#include "datastore/synth_pelvis.h"
#include "datastore/synth_vcf.h"
#include "spec/job_config.h"

namespace fracsweep::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "fracsweep-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;  // a leftover temp folder must not fail a test
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string full = (path_ / name).string();
  std::ofstream(full, std::ios::binary) << content;
  return full;
}

// The build's paths reach this file alone (tests/CMakeLists.txt): compile lines with
// absolute paths in them would keep every test's object out of a second clone's cache.
std::string fixture(const std::string& relative) {
  return std::string(FRACSWEEP_FIXTURES) + "/" + relative;
}

InCheckout::InCheckout() : previous_(std::filesystem::current_path()) {
  std::filesystem::current_path(fixture("../.."));
}

InCheckout::~InCheckout() {
  std::error_code ignored;  // a destructor must not throw; the folder was there before
  std::filesystem::current_path(previous_, ignored);
}

std::string test_artifacts() { return FRACSWEEP_TEST_ARTIFACTS; }

namespace {

// The programs the tests run: those of this build, unless the environment names others,
// as where a built test executable runs on another machine (scripts/gpu-check.sh).
std::string program_path(const char* variable, const char* built) {
  const char* named = std::getenv(variable);
  return named != nullptr && *named != 0 ? std::string(named) : std::string(built);
}


// No command a test runs may hang the suite: past this it is killed, with its children.
constexpr auto kCommandTimeout = std::chrono::minutes(10);

CommandResult run_program(const std::string& program, const std::vector<std::string>& args,
                          bool mpi, const std::function<void(int pid)>& while_running,
                          const std::vector<std::pair<std::string, std::string>>& env = {},
                          std::chrono::seconds timeout = kCommandTimeout) {
  TempDir dir;
  const std::string out_path = (dir.path() / "out").string();
  const std::string err_path = (dir.path() / "err").string();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (mpi) {
      ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
      ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
      ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    }
    for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> argv;
    std::string binary = program;
    argv.push_back(binary.data());
    std::vector<std::string> copy(args);
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  if (while_running) while_running(pid);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  bool timed_out = false;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      kill_tree(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = core::read_file(out_path);
  result.err = core::read_file(err_path);
  if (timed_out) {
    result.exit_code = CommandResult::kTimedOut;
    result.err += "\n[test] " + program + " killed after " + std::to_string(timeout.count()) +
                  " s: it hung\n";
  }
  return result;
}

// The parent pid of `pid` from /proc, or -1.
int parent_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  char state = 0;
  int ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

}  // namespace

std::string fracsweep_binary() { return program_path("FRACSWEEP_TEST_BINARY", FRACSWEEP_BINARY); }

namespace {

std::string mpiexec_binary() { return program_path("FRACSWEEP_TEST_MPIEXEC", FRACSWEEP_MPIEXEC); }

// mpiexec's arguments that run build/fracsweep `args` on `ranks` ranks.
std::vector<std::string> mpi_args(int ranks, const std::vector<std::string>& args) {
  std::vector<std::string> full = {"--oversubscribe", "-np", std::to_string(ranks), fracsweep_binary()};
  full.insert(full.end(), args.begin(), args.end());
  return full;
}

}  // namespace

CommandResult run_fracsweep(const std::vector<std::string>& args,
                            const std::function<void(int pid)>& while_running) {
  return run_program(fracsweep_binary(), args, false, while_running);
}

CommandResult run_fracsweep_failing(const DiskFault& fault, const std::vector<std::string>& args,
                                    std::chrono::seconds timeout) {
  // A preload already in force (the sanitizer runs keep Open MPI's plug-ins mapped with
  // one) stays, after the fault injector.
  const char* preload = std::getenv("LD_PRELOAD");
  std::vector<std::pair<std::string, std::string>> env = {
      {"LD_PRELOAD", std::string(FRACSWEEP_EIO_PRELOAD) +
                         (preload != nullptr && *preload != 0 ? std::string(":") + preload : "")},
      {"FRACSWEEP_EIO", fault.call + ":" + std::to_string(fault.probability) + ":" +
                            std::to_string(fault.seed)},
      {"FRACSWEEP_EIO_PATH", fault.path},
      // The singleton's daemon would inherit the faults and fail where fracsweep did not.
      {"OMPI_MCA_ess_singleton_isolated", "1"}};
  // An instrumented build insists that its runtime comes first among the libraries.
  const char* asan = std::getenv("ASAN_OPTIONS");
  env.emplace_back("ASAN_OPTIONS", std::string("verify_asan_link_order=0") +
                                       (asan != nullptr ? std::string(":") + asan : ""));
  if (fault.mpi_ranks <= 0) return run_program(fracsweep_binary(), args, false, {}, env, timeout);
  return run_program(mpiexec_binary(), mpi_args(fault.mpi_ranks, args), true, {}, env, timeout);
}

CommandResult run_fracsweep_failing(const std::string& call, double probability, uint64_t seed,
                                    const std::vector<std::string>& args,
                                    std::chrono::seconds timeout) {
  return run_fracsweep_failing(DiskFault{call, probability, seed}, args, timeout);
}

CommandResult run_fracsweep_mpi(int ranks, const std::vector<std::string>& args,
                                const std::function<void(int pid)>& while_running) {
  return run_program(mpiexec_binary(), mpi_args(ranks, args), true, while_running);
}

std::vector<int> process_tree(int pid) {
  std::vector<int> tree = {pid};
  for (size_t k = 0; k < tree.size(); ++k)
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      const int child = std::stoi(name);
      if (parent_of(child) == tree[k]) tree.push_back(child);
    }
  return tree;
}

void kill_tree(int pid, int signal) {
  for (int p : process_tree(pid)) ::kill(p, signal);
}

int mpi_rank_pid(int mpirun_pid, int rank) {
  const std::string want = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (int p : process_tree(mpirun_pid)) {
    if (p == mpirun_pid) continue;
    std::ifstream environ("/proc/" + std::to_string(p) + "/environ", std::ios::binary);
    std::string entry;
    while (std::getline(environ, entry, '\0'))
      if (entry == want) return p;
  }
  return -1;
}

std::string store_open_error(const std::string& path) {
  try {
    datastore::PatchStore::open(path);
  } catch (const core::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "opened without error: " << path;
  return "";
}

std::string mini_sweep(const std::filesystem::path& output, int epochs,
                       const std::string& extra_variants) {
  return "name: mini\n"
         "output: " + output.string() + "\n"
         "preset: tiny\n"
         "dataset: {phantom: {patients: 12, patch_size: 32, seed: 1}}\n"
         "protocol: {split: random, repeats: [0, 1]}\n"
         "seeds: [1]\n"
         "variants:\n"
         "  tsccn: {model: {variant: tsccn}}\n"
         "  resnet: {model: {variant: resnet18}}\n" +
         extra_variants +
         "train: {epochs: " + std::to_string(epochs) + ", threads: 1, loader_workers: 1}\n";
}

std::map<std::string, std::string> files_below(
    const std::filesystem::path& dir, const std::function<bool(const std::string&)>& keep) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && (!keep || keep(e.path().filename().string())))
      files[std::filesystem::relative(e.path(), dir).string()] = core::read_file(e.path().string());
  return files;
}

const std::string& tiny_vcf_store() {
  static TempDir dir;
  static const std::string path = [] {
    const std::string p = (dir.path() / "tiny.h5").string();
    datastore::VcfSynthOptions o;
    o.phantom.benign_patients = 7;
    o.phantom.malignant_patients = 5;
    o.phantom.patch_size = 32;
    o.phantom.slices = 1;
    o.phantom.difficulty = 0.2;
    o.phantom.seed = 3;
    datastore::write_vcf_phantom_store(p, o);
    return p;
  }();
  return path;
}

const std::string& tiny_pelvis_store() {
  static TempDir dir;
  static const std::string path = [] {
    const std::string p = (dir.path() / "tiny_pelvis.h5").string();
    datastore::PelvisSynthOptions o;
    o.phantom.images = 30;
    o.phantom.fractured = 10;
    o.phantom.height = 64;
    o.phantom.width = 128;
    o.phantom.seed = 3;
    datastore::write_pelvis_phantom_store(p, o);
    return p;
  }();
  return path;
}

const std::string& tiny_store_for(const std::string& variant) {
  return spec::VariantRegistry::built_in().at(variant).task == spec::Task::kPelvis
             ? tiny_pelvis_store()
             : tiny_vcf_store();
}

}  // namespace fracsweep::testing
