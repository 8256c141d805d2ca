// See checkpoint.h.
#include "trainer/checkpoint.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/seed.h"
#include "trainer/torch_compat.h"

namespace fracsweep::trainer {

// Note [Checkpoint checksums]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Every checkpoint has a sidecar "<file>.sum" with a 64-bit hash of its bytes,
// and writing checkpoint_last.pt keeps the one it replaces as
// checkpoint_prev.pt. A truncated or bit-flipped checkpoint fails its sum (or,
// without one, fails to load), and the job resumes from the previous one, or
// with none intact starts over, and says which. A crash between the renames
// leaves a file whose sum is missing or stale: the same path.

namespace {

namespace fs = std::filesystem;

void write_scalar(torch::serialize::OutputArchive& a, const std::string& key, double v) {
  a.write(key, torch::tensor(v, torch::kFloat64));
}
double read_scalar(torch::serialize::InputArchive& a, const std::string& key) {
  torch::Tensor t;
  a.read(key, t);
  return t.item<double>();
}

std::string sum_path(const std::string& checkpoint) { return checkpoint + ".sum"; }

std::string sum_of(const std::string& bytes) {
  return fmt::format("{:016x}\n", core::hash_string(bytes));
}

std::string file_sum(const std::string& path) { return sum_of(core::read_file(path)); }

// Moves `from` (and its sum) over `to` (and its sum), each durably.
void move_checkpoint(const std::string& from, const std::string& to) {
  core::rename_durably(from, to);
  if (fs::exists(sum_path(from))) core::rename_durably(sum_path(from), sum_path(to));
  else fs::remove(sum_path(to));
}

}  // namespace

// Why `path` cannot be trusted: "" when its sum matches (or it has none, as
// checkpoints before sums did not).
std::string checkpoint_problem(const std::string& path) {
  if (!fs::exists(sum_path(path))) return "";
  if (core::read_file(sum_path(path)) == file_sum(path)) return "";
  return "its bytes do not match " + fs::path(sum_path(path)).filename().string() +
         ": truncated or corrupted";
}

void save_checkpoint(const std::string& path, JobModel& model, torch::optim::Optimizer* opt,
                     const CheckpointState& s, const std::string& previous) {
  torch::serialize::OutputArchive archive, model_archive;
  model.module().save(model_archive);
  archive.write("model", model_archive);
  if (opt) {
    torch::serialize::OutputArchive opt_archive;
    opt->save(opt_archive);
    archive.write("optimizer", opt_archive);
  }
  write_scalar(archive, "torch_version", kTorchVersion);
  write_scalar(archive, "epoch", static_cast<double>(s.epoch));
  write_scalar(archive, "step", static_cast<double>(s.step));
  write_scalar(archive, "best_score", s.best_score);
  write_scalar(archive, "best_epoch", static_cast<double>(s.best_epoch));
  write_scalar(archive, "samples", static_cast<double>(s.samples));
  archive.write("sums", torch::tensor(std::vector<double>(s.sums.begin(), s.sums.end()),
                                      torch::kFloat64));
  // Serialised in memory, then written by write_file_atomic: LibTorch's own file
  // writer throws from a destructor when the disk fills, which ends the process.
  std::ostringstream bytes;
  archive.save_to(bytes);
  const std::string tmp = path + ".partial";
  const std::string content = std::move(bytes).str();
  core::write_file_atomic(tmp, content);
  core::write_file_atomic(sum_path(tmp), sum_of(content));
  if (!previous.empty() && fs::exists(path)) move_checkpoint(path, previous);
  move_checkpoint(tmp, path);
}

// Tensors are read onto the model's device, whatever device wrote them.
CheckpointState load_checkpoint(const std::string& path, JobModel& model, torch::optim::Optimizer* opt,
                      const torch::Device& device) {
  torch::serialize::InputArchive archive, model_archive;
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    throw UnreadableCheckpoint(core::str_cat(path, ": not a readable checkpoint (",
                                          e.what_without_backtrace(),
                                          "); delete it to restart the job from scratch"));
  }
  archive.read("model", model_archive);
  model.module().load(model_archive);
  if (opt) {
    // Checkpoints from before the version was recorded were all written by 1.13 builds.
    torch::Tensor writer;
    const int written_by =
        archive.try_read("torch_version", writer) ? static_cast<int>(writer.item<double>()) : 113;
    check_optimizer_state_portable(path, written_by);
    torch::serialize::InputArchive opt_archive;
    archive.read("optimizer", opt_archive);
    opt->load(opt_archive);
  }
  CheckpointState s;
  s.epoch = static_cast<int64_t>(read_scalar(archive, "epoch"));
  s.step = static_cast<int64_t>(read_scalar(archive, "step"));
  s.best_score = read_scalar(archive, "best_score");
  s.best_epoch = static_cast<int64_t>(read_scalar(archive, "best_epoch"));
  s.samples = static_cast<int64_t>(read_scalar(archive, "samples"));
  torch::Tensor sums;
  archive.read("sums", sums);
  sums = sums.to(torch::kCPU);
  for (int k = 0; k < kLossTerms; ++k) s.sums[k] = sums[k].item<double>();
  return s;
}

}  // namespace fracsweep::trainer
