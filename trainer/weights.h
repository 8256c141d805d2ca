// Reading pretrained weights that users export from Python as TorchScript
// (torch.jit.script(model).save(path)): no download, no pickle of arbitrary
// classes, and the names are the exporting model's.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

namespace fracsweep::trainer {

// Every parameter and buffer of the TorchScript module in `path` whose name
// starts with `prefix`, keyed by the rest of its name. Throws core::IoError
// when the file cannot be read, core::ConfigError naming the file when nothing
// has the prefix.
std::map<std::string, torch::Tensor> torchscript_tensors(const std::string& path,
                                                         const std::string& prefix);

// "a, b, c and 4 more": the first `limit` names, for error messages.
std::string join_first(const std::vector<std::string>& names, size_t limit);

}  // namespace fracsweep::trainer
