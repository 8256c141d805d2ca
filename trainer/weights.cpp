// See weights.h.
#include "trainer/weights.h"

#include <torch/script.h>

#include "core/error.h"

namespace fracsweep::trainer {

std::map<std::string, torch::Tensor> torchscript_tensors(const std::string& path,
                                                         const std::string& prefix) {
  torch::jit::Module file;
  try {
    file = torch::jit::load(path);
  } catch (const c10::Error& e) {
    throw core::IoError(
        core::str_cat("cannot read TorchScript file '", path, "': ", e.what_without_backtrace()));
  }
  std::map<std::string, torch::Tensor> theirs;
  const auto add = [&](const std::string& name, const torch::Tensor& value) {
    if (name.compare(0, prefix.size(), prefix) == 0) theirs[name.substr(prefix.size())] = value;
  };
  for (const auto& p : file.named_parameters(/*recurse=*/true)) add(p.name, p.value);
  for (const auto& b : file.named_buffers(/*recurse=*/true)) add(b.name, b.value);
  CHECK_OR_THROW(core::ConfigError, !theirs.empty(), "'", path,
                 "' holds no parameters or buffers whose names start with '", prefix,
                 "'; is the prefix right?");
  return theirs;
}

std::string join_first(const std::vector<std::string>& names, size_t limit) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > limit) out += core::str_cat(", ... (", names.size(), " in all)");
  return out;
}

}  // namespace fracsweep::trainer
