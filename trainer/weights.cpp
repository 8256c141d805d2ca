// See weights.h.
#include "trainer/weights.h"

#include <torch/script.h>

#include <set>
#include <utility>

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

void load_by_name(torch::nn::Module& net, const NamedLoad& l) {
  const auto theirs = torchscript_tensors(l.path, l.prefix);
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // ours, theirs
  std::set<std::string> taken;
  const auto take = [&](const std::string& name, const torch::Tensor& ours) {
    const auto it = theirs.find(name);
    CHECK_OR_THROW(core::ConfigError, it != theirs.end(), "'", l.path, "' has no tensor '",
                   l.prefix, name, "' for ", l.owner, "'s '", name, "'");
    const torch::Tensor source = l.adapt ? l.adapt(name, ours, it->second) : it->second;
    CHECK_OR_THROW(core::ConfigError, source.sizes() == ours.sizes(), "'", l.path, "': tensor '",
                   l.prefix, name, "' has shape ", it->second.sizes(), " but ", l.owner, "'s '",
                   name, "' ", l.shape_context, l.shape_context.empty() ? "" : " ", "has shape ",
                   ours.sizes());
    copies.emplace_back(ours, source);
    taken.insert(name);
  };
  for (const auto& item : net.named_parameters(/*recurse=*/true)) take(item.key(), item.value());
  for (const auto& item : net.named_buffers(/*recurse=*/true)) take(item.key(), item.value());
  std::vector<std::string> unexpected;
  for (const auto& [name, tensor] : theirs)
    if (!taken.count(name) && !(l.skip && l.skip(name))) unexpected.push_back(l.prefix + name);
  CHECK_OR_THROW(core::ConfigError, unexpected.empty(), "'", l.path, "' holds tensors that ",
                 l.architecture, " does not have: ", join_first(unexpected, 5),
                 " (another architecture, or the wrong prefix '", l.prefix, "'?)");
  torch::NoGradGuard no_grad;
  for (auto& [ours, source] : copies) ours.copy_(source.to(ours.dtype()));
}

std::string join_first(const std::vector<std::string>& names, size_t limit) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > limit) out += core::str_cat(", ... (", names.size(), " in all)");
  return out;
}

}  // namespace fracsweep::trainer
