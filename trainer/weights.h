// Reading pretrained weights that users export from Python as TorchScript
// (torch.jit.script(model).save(path)): no download, no pickle of arbitrary
// classes, and the names are the exporting model's.
#pragma once

#include <torch/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>

namespace fracsweep::trainer {

// Every parameter and buffer of the TorchScript module in `path` whose name
// starts with `prefix`, keyed by the rest of its name. Throws core::IoError
// when the file cannot be read, core::ConfigError naming the file when nothing
// has the prefix.
std::map<std::string, torch::Tensor> torchscript_tensors(const std::string& path,
                                                         const std::string& prefix);

// How one model takes a file's tensors by name (load_by_name).
struct NamedLoad {
  std::string path;    // the TorchScript file
  std::string prefix;  // of the file's names, e.g. "backbone."
  std::string owner;   // for messages: "the backbone", "the DenseNet"
  std::string shape_context;  // appended to a shape mismatch, e.g. "(width 64)"
  std::string architecture;   // for messages: "a torchvision ResNet-18"
  // The file's tensor as ours takes it (e.g. RGB kernels summed for grey input).
  std::function<torch::Tensor(const std::string& name, const torch::Tensor& ours,
                              const torch::Tensor& theirs)>
      adapt;
  // File tensors the model has no place for on purpose (a classifier, unbuilt stages).
  std::function<bool(const std::string& name)> skip;
};

// Copies every parameter and buffer of `net` from the file's tensor of the same
// name (below the prefix). All or nothing: everything is checked first. Throws
// core::ConfigError naming the file and the tensor when one of ours is missing
// or misshapen, or the file holds a tensor that is neither ours nor skipped.
void load_by_name(torch::nn::Module& net, const NamedLoad& load);

// "a, b, c and 4 more": the first `limit` names, for error messages.
std::string join_first(const std::vector<std::string>& names, size_t limit);

}  // namespace fracsweep::trainer
