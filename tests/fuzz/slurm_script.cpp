// The SLURM batch script generator (cluster/slurm_script.h) on hostile names, paths and
// option values. Options validate() refuses are skipped; for the rest the script must
// pass `bash -n`, and run under stub srun and scontrol it must hand srun the paths
// verbatim, exit 0 and leave nothing behind but the stub's log: no text from the input
// ever runs as code.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "cluster/shell.h"
#include "cluster/slurm_script.h"
#include "core/fs.h"
#include "core/process.h"
#include "fuzz_target.h"

namespace {

namespace fs = std::filesystem;
using namespace fracsweep;

[[noreturn]] void finding(const std::string& what, const std::string& script) {
  std::fprintf(stderr, "%s\n--- the script:\n%s\n", what.c_str(), script.c_str());
  std::abort();
}

// A folder with the stubs, made once per process and emptied of all else per input.
struct Sandbox {
  fs::path root = fs::temp_directory_path() / ("fracsweep-fuzz-slurm-" + std::to_string(::getpid()));
  fs::path bin = root / "bin", log = root / "srun.args";

  Sandbox() {
    fs::create_directories(bin);
    stub("srun", "printf '%s\\0' \"$@\" > " + cluster::shell_quote(log.string()) + "\nexit 0\n");
    stub("scontrol", "exit 0\n");
  }
  ~Sandbox() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  void stub(const std::string& name, const std::string& body) const {
    core::write_file_atomic((bin / name).string(), "#!/bin/bash\n" + body);
    fs::permissions(bin / name, fs::perms::owner_all);
  }
  void clear() const {
    for (const auto& e : fs::directory_iterator(root))
      if (e.path() != bin) fs::remove_all(e.path());
  }
  // Every path under root except the stubs.
  std::vector<std::string> left_behind() const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (e.path().parent_path() != bin && e.path() != bin) out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

// A string that can be a path component: no '/' and no NUL, not "." or "..".
std::string component(FuzzedDataProvider& in, size_t max) {
  std::string s = in.ConsumeRandomLengthString(max);
  std::replace(s.begin(), s.end(), '/', '_');
  std::replace(s.begin(), s.end(), '\0', '_');
  return "c" + s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Sandbox box;
  FuzzedDataProvider in(data, size);
  cluster::SlurmOptions o;
  o.nodes = in.ConsumeIntegralInRange(-1, 5000);
  o.gpus_per_node = in.ConsumeIntegralInRange(-1, 20);
  o.tasks_per_node = in.ConsumeIntegralInRange(-1, 300);
  o.cpus_per_task = in.ConsumeIntegralInRange(-1, 300);
  o.signal_lead_s = in.ConsumeIntegralInRange(-1, 100000);
  o.max_requeues = in.ConsumeIntegralInRange(-1, 100);
  o.ranks_per_job = in.ConsumeIntegralInRange(-1, 64);
  o.array = in.ConsumeIntegralInRange(-1, 100);
  o.time = in.ConsumeRandomLengthString(24);
  o.partition = in.ConsumeRandomLengthString(24);
  o.account = in.ConsumeRandomLengthString(24);
  o.mem = in.ConsumeRandomLengthString(12);
  o.mpi = in.ConsumeRandomLengthString(12);
  cluster::SweepPaths p;
  p.name = in.ConsumeRandomLengthString(80);
  p.binary = "/opt/" + component(in, 80) + "/fracsweep";
  p.sweep = (box.root / "w" / component(in, 80)).string();
  p.output = (box.root / ("o" + component(in, 80))).string();
  p.workdir = (box.root / ("w" + component(in, 80))).string();
  try {
    cluster::validate(o);
  } catch (const core::ConfigError& e) {
    if (std::string_view(e.what()).empty()) finding("validate: an empty message", "");
    return 0;
  }
  std::string script;
  try {
    script = cluster::batch_script(o, p);
  } catch (const std::exception& e) {
    finding(std::string("batch_script threw after validate() passed: ") + e.what(), "");
  }
  box.clear();
  fs::create_directories(p.workdir);
  const std::string file = (box.root / "job.sh").string();
  core::write_file_atomic(file, script);
  if (const auto r = core::run_process({"bash", "-n", file}); r.exit_code != 0)
    finding("bash -n refuses the script: " + r.err, script);
  std::vector<std::string> argv = {"env", "-i", "PATH=" + box.bin.string() + ":/usr/bin:/bin",
                                   "SLURM_JOB_ID=42", "SLURM_ARRAY_JOB_ID=42", "bash", file};
  if (o.array > 0) argv.insert(argv.begin() + 4, "SLURM_ARRAY_TASK_ID=1");
  const auto r = core::run_process(argv);
  if (r.exit_code != 0) finding("the script exited with " + std::to_string(r.exit_code) + ": " + r.err, script);
  std::vector<std::string> want = {"--mpi=" + o.mpi, p.binary, "run", p.sweep};
  if (o.cpus_per_task > 0) want.insert(want.begin() + 1, "--cpus-per-task=" + std::to_string(o.cpus_per_task));
  if (o.ranks_per_job > 0) want.insert(want.end(), {"--ranks-per-job", std::to_string(o.ranks_per_job)});
  if (o.array > 0) want.insert(want.end(), {"--shard", "1/" + std::to_string(o.array)});
  std::vector<std::string> got;
  const std::string args = core::read_file(box.log.string());
  for (size_t at = 0; at < args.size();) {
    const size_t end = args.find('\0', at);
    got.push_back(args.substr(at, end - at));
    at = end + 1;
  }
  if (got != want) finding("srun was not given the paths verbatim", script);
  std::vector<std::string> expected = {file, box.log.string(), p.workdir};
  std::sort(expected.begin(), expected.end());
  if (const auto left = box.left_behind(); left != expected) {
    std::string all;
    for (const auto& s : left) all += s + "\n";
    finding("the script left behind more than srun's log:\n" + all, script);
  }
  return 0;
}
