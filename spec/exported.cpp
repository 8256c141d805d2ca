// See exported.h.
#include "spec/exported.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/seed.h"

namespace fracsweep::spec {
namespace {

using core::ConfigError;

constexpr char kFormat[] = "fracsweep-exported/1";
constexpr char kHowToMake[] = "make one with `fracsweep export MODEL.py --task vertebra|pelvis`";

uint32_t le32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return u[0] | (u[1] << 8) | (u[2] << 16) | (static_cast<uint32_t>(u[3]) << 24);
}
uint16_t le16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(u[0] | (u[1] << 8));
}

std::string read_at(std::ifstream& in, uint64_t offset, size_t n, const std::string& path) {
  std::string buf(n, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(buf.data(), static_cast<std::streamsize>(n));
  CHECK_OR_THROW(ConfigError, in.gcount() == static_cast<std::streamsize>(n), path,
                 ": is not a fracsweep package (a truncated zip archive); ", kHowToMake);
  return buf;
}

std::vector<int64_t> shape_of(const nlohmann::json& j) {
  return j.get<std::vector<int64_t>>();
}

ExportedTensor tensor_of(const nlohmann::json& j) {
  ExportedTensor t;
  t.name = j.at("name").get<std::string>();
  t.shape = shape_of(j.at("shape"));
  if (j.contains("dtype")) t.dtype = j.at("dtype").get<std::string>();
  return t;
}

std::string major_minor(const std::string& version) {
  const size_t first = version.find('.');
  if (first == std::string::npos) return version;
  const size_t second = version.find_first_of(".+", first + 1);
  return version.substr(0, second);
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + (s[i] < 0 ? std::string("B") : std::to_string(s[i]));
  return out + "]";
}

}  // namespace

std::string read_stored_zip_entry(const std::string& path, const std::string& suffix) {
  std::ifstream in(path, std::ios::binary);
  CHECK_OR_THROW(ConfigError, in.good(), path, ": cannot be read; give an exported package (.pt2)");
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  const std::string not_zip =
      core::str_cat(path, ": is not a fracsweep package (no zip archive); ", kHowToMake);
  CHECK_OR_THROW(ConfigError, size >= 22, not_zip);
  // The end-of-central-directory record: in the last 22 bytes plus a comment.
  const uint64_t tail = std::min<uint64_t>(size, 22 + 65535);
  const std::string end = read_at(in, size - tail, tail, path);
  size_t at = std::string::npos;
  for (size_t i = end.size() - 22 + 1; i-- > 0;)
    if (le32(&end[i]) == 0x06054b50) {
      at = i;
      break;
    }
  CHECK_OR_THROW(ConfigError, at != std::string::npos, not_zip);
  const uint16_t entries = le16(&end[at + 10]);
  const uint32_t dir_size = le32(&end[at + 12]);
  const uint32_t dir_offset = le32(&end[at + 16]);
  CHECK_OR_THROW(ConfigError, dir_offset != 0xffffffffu && uint64_t{dir_offset} + dir_size <= size,
                 path, ": is not a fracsweep package (a zip64 or damaged archive); ", kHowToMake);
  const std::string dir = read_at(in, dir_offset, dir_size, path);
  size_t p = 0;
  for (uint16_t e = 0; e < entries && p + 46 <= dir.size(); ++e) {
    CHECK_OR_THROW(ConfigError, le32(&dir[p]) == 0x02014b50, not_zip);
    const uint16_t method = le16(&dir[p + 10]);
    const uint32_t stored_size = le32(&dir[p + 20]);
    const uint16_t name_len = le16(&dir[p + 28]), extra_len = le16(&dir[p + 30]),
                   comment_len = le16(&dir[p + 32]);
    const uint32_t local = le32(&dir[p + 42]);
    const std::string name = dir.substr(p + 46, name_len);
    p += 46 + name_len + extra_len + comment_len;
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0 ||
        name[name.size() - suffix.size() - 1] != '/')
      continue;
    CHECK_OR_THROW(ConfigError, method == 0, path, ": its ", suffix,
                   " is compressed; fracsweep reads the stored archives PyTorch writes; ",
                   kHowToMake);
    const std::string header = read_at(in, local, 30, path);
    CHECK_OR_THROW(ConfigError, le32(&header[0]) == 0x04034b50, not_zip);
    return read_at(in, uint64_t{local} + 30 + le16(&header[26]) + le16(&header[28]), stored_size,
                   path);
  }
  throw ConfigError(core::str_cat(path, ": is not a fracsweep package (a zip archive without ",
                                  suffix, "); ", kHowToMake));
}

ExportedManifest read_exported_manifest(const std::string& path) {
  const std::string text = read_stored_zip_entry(path, "extra/manifest.json");
  ExportedManifest m;
  m.package = path;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    const std::string format = j.at("format").get<std::string>();
    CHECK_OR_THROW(ConfigError, format == kFormat, path, ": manifest format '", format,
                   "' is not ", kFormat, "; export the model again with this fracsweep");
    m.name = j.at("name").get<std::string>();
    const std::string task = j.at("task").get<std::string>();
    const std::optional<Task> t = parse_task(task);
    CHECK_OR_THROW(ConfigError, t.has_value(), path, ": manifest task '", task,
                   "' is unknown (vertebra, pelvis)");
    m.task = *t;
    const std::string input = j.at("input").get<std::string>();
    m.input = input == "patch+neighbours" ? Input::kPatchWithNeighbours
              : input == "image"          ? Input::kImage
                                          : Input::kPatch;
    m.output = j.at("output").get<std::string>() == "heatmap" ? Output::kHeatmap
                                                              : Output::kClassScores;
    const nlohmann::json& inputs = j.at("inputs");
    CHECK_OR_THROW(ConfigError, inputs.size() == 2, path,
                   ": manifest inputs: expected the image and the target, found ", inputs.size());
    m.image = tensor_of(inputs[0]);
    m.target = tensor_of(inputs[1]);
    m.eval_output = tensor_of(j.at("outputs").at("eval").at(0));
    for (const auto& p : j.at("parameters")) m.parameters.push_back(tensor_of(p));
    for (const auto& b : j.at("buffers")) m.buffers.push_back(tensor_of(b));
    m.libtorch = j.at("libtorch").get<std::string>();
    m.device = j.at("device").get<std::string>();
    m.hash = j.at("hash").get<std::string>();
    m.source = j.value("source", "");
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(core::str_cat(path, ": its manifest (extra/manifest.json) is malformed (",
                                    e.what(), "); export the model again"));
  }
  CHECK_OR_THROW(ConfigError, m.image.shape.size() == 4 && m.image.shape[0] == -1, path,
                 ": manifest inputs[0].shape ", shape_text(m.image.shape),
                 " is not [B, views, H, W]; export the model again");
  return m;
}

Variant exported_variant(const ExportedManifest& m, const std::string& name) {
  Variant v = variant_for_task(name, m.task);
  v.summary = core::str_cat("exported from ", m.source.empty() ? m.name : m.source,
                            " (PyTorch, AOTInductor)");
  v.input = m.input;
  v.output = m.output;
  v.loss_terms = {"total"};
  v.source = m.package;
  return v;
}

std::string exported_cache_path(const std::string& model_file) {
  const std::filesystem::path file(model_file);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(core::hash_string(
                    core::str_cat(kFormat, "\n", core::read_file(model_file)))));
  return (file.parent_path() / "__pycache__" /
          core::str_cat(file.stem().string(), ".fracsweep-", hash, ".pt2"))
      .string();
}

std::string resolve_package(const std::string& package, const std::string& where) {
  if (std::filesystem::path(package).extension() != ".py") return package;
  CHECK_OR_THROW(ConfigError, std::filesystem::exists(package), where, ": model.package: '",
                 package, "' does not exist");
  const std::string cached = exported_cache_path(package);
  CHECK_OR_THROW(ConfigError, std::filesystem::exists(cached), where, ": model.package: ",
                 package, " has not been exported (`fracsweep run` exports it before any job "
                 "starts; or run `fracsweep export ", package, " --task T --out ", cached, "`)");
  return cached;
}

std::string seed_weights_path(const std::string& package, uint64_t seed) {
  const std::filesystem::path p(package);
  return (p.parent_path() / core::str_cat(p.stem().string(), ".seed-", seed, ".pt")).string();
}

std::string exported_initial_weights(const JobConfig& job) {
  if (!job.model.init_weights.empty()) return job.model.init_weights;
  const std::string mine =
      seed_weights_path(resolve_package(job.model.package, job.output), job.train.seed);
  return std::filesystem::exists(mine) ? mine : std::string();
}

Variant exported_job_variant(const std::string& name, const std::string& package,
                             const std::string& where) {
  if (std::filesystem::path(package).extension() == ".py" &&
      std::filesystem::exists(package) && !std::filesystem::exists(exported_cache_path(package))) {
    Variant v = variant_for_task(name, Task::kVertebra);
    v.summary = core::str_cat("a model file, exported when the sweep runs (", package, ")");
    v.loss_terms = {"total"};
    v.source = package;
    return v;
  }
  Variant v = exported_variant(read_exported_manifest(resolve_package(package, where)), name);
  v.source = package;
  return v;
}

VariantRegistry with_exported(const VariantRegistry& variants, const std::string& name,
                              const std::string& package, const std::string& where) {
  const Variant* known = variants.find(name);
  if (known != nullptr && known->source == package) return variants;
  return variants.with(exported_job_variant(name, package, where));
}

Variant job_variant(const JobConfig& job, const VariantRegistry& variants) {
  if (job.model.package.empty()) return variants.at(job.model.variant, job.output);
  const Variant* known = variants.find(job.model.variant);
  if (known != nullptr && known->source == job.model.package) return *known;
  return exported_job_variant(job.model.variant, job.model.package, job.output);
}

void check_exported(const ExportedManifest& m, const ExportedTarget& target,
                    const std::string& where) {
  const std::string at = core::str_cat(where, where.empty() ? "" : ": ", m.package);
  CHECK_OR_THROW(ConfigError, m.task == target.task, at, ": manifest task is '",
                 task_name(m.task), "' but the job trains the ", task_name(target.task),
                 " task; export the model with --task ", task_name(target.task));
  if (!target.libtorch.empty())
    CHECK_OR_THROW(ConfigError, major_minor(m.libtorch) == major_minor(target.libtorch), at,
                   ": manifest libtorch is '", m.libtorch, "' but this fracsweep runs LibTorch ",
                   target.libtorch, "; export the model again with this build's venv");
  if (!target.device.empty())
    CHECK_OR_THROW(ConfigError, m.device == target.device, at, ": manifest device is '",
                   m.device, "' but the job trains on the ", target.device,
                   "; export it with --device ", target.device, " on a machine with that device");
  if (target.height > 0) {
    const std::vector<int64_t> want = {-1, target.views, target.height, target.width};
    CHECK_OR_THROW(ConfigError, m.image.shape == want, at, ": manifest inputs[0].shape ",
                   shape_text(m.image.shape), " disagrees with the store's samples ",
                   shape_text(want), "; export the model with --size ", target.height,
                   target.height == target.width ? "" : core::str_cat(",", target.width),
                   target.views == 3 ? " --neighbours" : "");
  }
}

}  // namespace fracsweep::spec
