// See exported.h.
#include "trainer/models/exported.h"

#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/csrc/inductor/aoti_runner/model_container_runner.h>
#include <torch/torch.h>

#include <algorithm>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/fs.h"

namespace fracsweep::trainer {
namespace {

using core::ConfigError;

// The package's graphs name the PyTorch module's tensors under the wrapper that made the
// training step ("m.conv.weight").
const std::string kPrefix = "m.";

// Forward: the package's loss. Backward: each parameter receives the gradient the package
// computed with that loss, scaled by the loss's incoming gradient, so loss.backward()
// fills .grad as autograd would have.
struct CarryGradients : torch::autograd::Function<CarryGradients> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& loss,
                               at::TensorList params, const std::vector<torch::Tensor>* grads) {
    INTERNAL_ASSERT(grads->size() == params.size());
    ctx->saved_data["grads"] = c10::List<torch::Tensor>(*grads);
    return loss.detach().clone();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    std::vector<torch::Tensor> grads = ctx->saved_data["grads"].toTensorList().vec();
    ctx->saved_data.erase("grads");
    const torch::Tensor& scale = grad_out[0];
    const bool one = scale.numel() == 1 && scale.item<double>() == 1.0;
    torch::autograd::variable_list out;
    out.reserve(grads.size() + 2);
    out.emplace_back();  // the loss came from the package: nothing flows into it
    for (torch::Tensor& g : grads) out.push_back(one ? std::move(g) : g * scale);
    out.emplace_back();  // the gradients' pointer
    return out;
  }
};

// The module of `root` at the dotted path `path` (made on the way), and the last name.
std::pair<torch::nn::Module*, std::string> owner_of(torch::nn::Module& root,
                                                   const std::string& path) {
  torch::nn::Module* at = &root;
  size_t start = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
    const std::string part = path.substr(start, dot - start);
    std::shared_ptr<torch::nn::Module> child;
    for (const auto& item : at->named_children())
      if (item.key() == part) child = item.value();
    if (!child) child = at->register_module(part, std::make_shared<torch::nn::Module>(part));
    at = child.get();
    start = dot + 1;
  }
  return {at, path.substr(start)};
}

// `runners`: the model's instances in the package's container, so many calls at once.
std::unique_ptr<torch::inductor::AOTIModelPackageLoader> load(const std::string& package,
                                                              const std::string& model,
                                                              size_t runners = 1) {
  try {
    return std::make_unique<torch::inductor::AOTIModelPackageLoader>(package, model, false, runners);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    what = what.substr(0, what.find('\n'));
    throw ConfigError(core::str_cat(package, ": its ", model,
                                    " model cannot be loaded by this build (", what,
                                    "); export the model again here with `fracsweep export`"));
  }
}

}  // namespace

ExportedModel::ExportedModel(const std::string& package, const std::string& device)
    : manifest_(spec::read_exported_manifest(package)),
      module_(std::make_shared<torch::nn::Module>("ExportedModel")) {
  spec::ExportedTarget target;
  target.task = manifest_.task;
  target.libtorch = TORCH_VERSION;
  target.device = device;
  spec::check_exported(manifest_, target, "");
  train_ = load(package, "train");
  // Inference streams (trainer/evaluate.h) call the evaluation forward from a thread per
  // core on the CPU.
  eval_ = load(package, "eval",
               manifest_.device == "cpu" ? std::max(1u, std::thread::hardware_concurrency()) : 1);
  // The initial weights: the train model's constants, copied into tensors we own.
  torch::inductor::AOTIModelContainerRunner* runner = train_->get_runner();
  const auto fqn_of = runner->getConstantNamesToOriginalFQNs();
  std::unordered_map<std::string, torch::Tensor> initial;
  for (const auto& [name, tensor] : runner->extract_constants_map(false)) {
    auto it = fqn_of.find(name);
    initial[it == fqn_of.end() ? name : it->second] = tensor;
  }
  const auto take = [&](const spec::ExportedTensor& t, bool parameter) {
    auto it = initial.find(kPrefix + t.name);
    CHECK_OR_THROW(ConfigError, it != initial.end(), package, ": manifest names ",
                   parameter ? "parameter '" : "buffer '", t.name,
                   "' but the train model has no such constant; export the model again");
    torch::Tensor mine = it->second.detach().clone().contiguous();
    auto [owner, leaf] = owner_of(*module_, t.name);
    if (parameter) {
      mine = owner->register_parameter(leaf, mine, true);
      params_.push_back(mine);
    } else {
      mine = owner->register_buffer(leaf, mine);
      if (leaf == "num_batches_tracked") counters_.push_back(mine);
    }
    named_.emplace_back(kPrefix + t.name, mine);
  };
  for (const auto& p : manifest_.parameters) take(p, true);
  for (const auto& b : manifest_.buffers) take(b, false);
  bind();
}

ExportedModel::~ExportedModel() = default;

namespace {

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

// The tensors of a state dict saved by torch.save, by name.
std::unordered_map<std::string, torch::Tensor> read_state_dict(const std::string& path) {
  const std::string bytes = core::read_file(path);
  c10::IValue loaded;
  try {
    loaded = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    // An OrderedDict, as model.state_dict() returns, fails here with "got None".
    std::string why = e.what_without_backtrace();
    why = why.substr(0, why.find('\n'));
    throw ConfigError(core::str_cat(
        path, ": cannot be read as a dict of names to tensors (", why,
        "); LibTorch reads a plain dict, not the OrderedDict that model.state_dict() returns: "
        "save it with torch.save(dict(model.state_dict()), PATH)"));
  }
  CHECK_OR_THROW(ConfigError, loaded.isGenericDict(), path, ": holds a ",
                 loaded.tagKind(), ", not a state dict; save torch.save(dict(model.state_dict()), PATH)");
  std::unordered_map<std::string, torch::Tensor> tensors;
  for (const auto& item : loaded.toGenericDict()) {
    CHECK_OR_THROW(ConfigError, item.key().isString() && item.value().isTensor(), path,
                   ": is a dict but not of names to tensors; save "
                   "torch.save(dict(model.state_dict()), PATH)");
    tensors.emplace(item.key().toStringRef(), item.value().toTensor());
  }
  return tensors;
}

}  // namespace

void ExportedModel::load_state_dict(const std::string& path) {
  std::unordered_map<std::string, torch::Tensor> given = read_state_dict(path);
  torch::NoGradGuard no_grad;
  for (auto& [prefixed, tensor] : named_) {
    const std::string name = prefixed.substr(kPrefix.size());
    auto it = given.find(name);
    CHECK_OR_THROW(ConfigError, it != given.end(), path, ": the state dict has no '", name,
                   "', which the package's model has; save the state dict of the model the "
                   "package was exported from");
    CHECK_OR_THROW(ConfigError, it->second.sizes() == tensor.sizes(), path, ": '", name, "' is ",
                   shape_of(it->second), " in the state dict but ", shape_of(tensor),
                   " in the package's model");
    tensor.copy_(it->second);
    given.erase(it);
  }
  CHECK_OR_THROW(ConfigError, given.empty(), path, ": the state dict has '",
                 given.empty() ? "" : given.begin()->first, "' and ", given.size() - 1,
                 " more names that the package's model lacks; save the state dict of the model "
                 "the package was exported from");
}

void ExportedModel::to(const torch::Device& device) {
  module_->to(device);
  bind();
}

void ExportedModel::bind() {
  std::unordered_map<std::string, torch::Tensor> all;
  bound_.clear();
  for (auto& [name, tensor] : named_) {
    CHECK_OR_THROW(ConfigError, tensor.is_contiguous(), manifest_.package, ": '",
                   name.substr(kPrefix.size()),
                   "' is no longer contiguous; an exported model takes its tensors as the package "
                   "was compiled for them: set train.channels_last to false");
    all[name] = tensor;
    bound_.push_back(tensor.data_ptr());
  }
  for (auto* loader : {train_.get(), eval_.get()}) {
    std::unordered_map<std::string, torch::Tensor> mine;
    for (const std::string& fqn : loader->get_constant_fqns()) {
      auto it = all.find(fqn);
      if (it == all.end() && fqn.rfind(kPrefix, 0) != 0)
        continue;  // a tensor the model's code makes (a loss weight): the package keeps it
      CHECK_OR_THROW(ConfigError, it != all.end(), manifest_.package, ": its model needs '", fqn,
                     "', which the manifest does not list; export the model again");
      mine.emplace(fqn, it->second);
    }
    loader->load_constants(mine, /*use_inactive=*/false, /*check_full_update=*/false,
                           /*user_managed=*/true);
  }
  eval_folded_ = false;
}

ExportedModel::StepResult ExportedModel::train_step(const torch::Tensor& input,
                                                    const torch::Tensor& target) {
  for (size_t i = 0; i < named_.size(); ++i)
    if (named_[i].second.data_ptr() != bound_[i]) {  // moved or reloaded: bind again
      bind();
      break;
    }
  std::vector<torch::Tensor> out;
  {
    torch::NoGradGuard no_grad;
    // BatchNorm's step counters: Inductor reads a 0-dim buffer's value as a constant of the
    // compile, so the package writes 1 on every step; the count is kept here instead.
    std::vector<int64_t> counts;
    for (const torch::Tensor& c : counters_) counts.push_back(c.item<int64_t>());
    out = train_->run({input.contiguous(), target.contiguous()});
    for (size_t i = 0; i < counters_.size(); ++i) counters_[i].fill_(counts[i] + 1);
  }
  INTERNAL_ASSERT(out.size() == params_.size() + 2);
  std::vector<torch::Tensor> grads(std::make_move_iterator(out.begin() + 2),
                                   std::make_move_iterator(out.end()));
  return {CarryGradients::apply(out[0], at::TensorList(params_), &grads), out[1]};
}

torch::Tensor ExportedModel::forward(const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  std::unique_lock lock(forward_mutex_);
  for (size_t i = 0; i < named_.size(); ++i)
    if (named_[i].second.data_ptr() != bound_[i]) {
      bind();
      break;
    }
  if (eval_folded_) {
    lock.unlock();
    return eval_->run({input.contiguous()}).at(0);
  }
  // The first run after binding folds the constants under the container's write lock,
  // which a concurrent run holding its read lock while it waits for a free model instance
  // keeps off for good (AOTInductor 2.11): that run goes alone.
  torch::Tensor out = eval_->run({input.contiguous()}).at(0);
  eval_folded_ = true;
  return out;
}

// ---------------------------------------------------------------- the job's model

namespace {

class ExportedJobModel final : public JobModel {
 public:
  explicit ExportedJobModel(const spec::JobConfig& job)
      : model_(spec::resolve_package(job.model.package, job.output),
               job.train.device == "auto" ? "" : job.train.device) {
    const std::string initial = spec::exported_initial_weights(job);
    if (!initial.empty()) model_.load_state_dict(initial);
  }
  torch::nn::Module& module() override { return model_.module(); }
  void to(const torch::Device& device) override { model_.to(device); }
  bool uses_neighbours() const override {
    return model_.manifest().input == spec::Input::kPatchWithNeighbours;
  }
  bool binary() const override { return model_.manifest().task == spec::Task::kPelvis; }
  std::array<const char*, kLossTerms> term_names() const override {
    return {nullptr, nullptr, nullptr, nullptr, nullptr, "total"};
  }

  LossTerms loss(const BatchTensors& b, int) override {
    LossTerms t;
    t.total = model_.train_step(input(b), target(b)).loss;
    return t;
  }

  torch::Tensor probabilities(const BatchTensors& b) override {
    return scores(model_.forward(input(b)));
  }

  std::pair<torch::Tensor, torch::Tensor> scores_and_heatmaps(const BatchTensors& b) override {
    if (model_.manifest().output != spec::Output::kHeatmap) return {};
    const torch::Tensor out = model_.forward(input(b));
    return {scores(out), torch::sigmoid(out.squeeze(1))};
  }

 private:
  // The batch as the package takes it: the current vertebra, the three views, or the
  // pelvis image without its twin.
  torch::Tensor input(const BatchTensors& b) const {
    const torch::Tensor& x = b.images;
    switch (model_.manifest().input) {
      case spec::Input::kPatchWithNeighbours:
        return x.size(1) == 3 ? x : x.expand({x.size(0), 3, x.size(2), x.size(3)});
      case spec::Input::kImage:
        return x.narrow(1, 0, 1);
      default:
        return current_view(x);
    }
  }
  torch::Tensor target(const BatchTensors& b) const {
    if (model_.manifest().task == spec::Task::kVertebra) return b.labels;
    if (model_.manifest().output == spec::Output::kHeatmap) return b.masks;
    return b.labels.to(torch::kFloat32).view({-1, 1});
  }
  // Class probabilities [B, 3]; or the image's fracture score [B, 1] (a heatmap's maximum).
  torch::Tensor scores(const torch::Tensor& out) const {
    if (model_.manifest().task == spec::Task::kVertebra) return torch::softmax(out, 1);
    if (out.dim() == 4) return torch::sigmoid(out.flatten(1).amax(1, true));
    return torch::sigmoid(out);
  }

  ExportedModel model_;
};

}  // namespace

std::unique_ptr<JobModel> make_exported_job_model(const spec::JobConfig& job) {
  return std::make_unique<ExportedJobModel>(job);
}

}  // namespace fracsweep::trainer
