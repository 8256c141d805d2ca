// `fracsweep variants`: every model.variant a job or sweep may name, from the
// variant registry (spec/variants.h), with its task, inputs, outputs, loss
// terms, paper tables and defaults; as a Markdown table or as JSON. With a sweep
// file, the models exported from PyTorch that it names join the list.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "spec/exported.h"
#include "spec/variants.h"
#include "sweeps/sweep.h"

namespace fracsweep::cli {
namespace {

namespace po = boost::program_options;

nlohmann::json defaults_json(const spec::VariantDefaults& d) {
  nlohmann::json j = nlohmann::json::object();
  if (d.width) j["model.width"] = *d.width;
  if (d.in_channels) j["model.in_channels"] = *d.in_channels;
  if (d.lr) j["train.lr"] = *d.lr;
  if (d.sampler) j["train.sampler"] = *d.sampler;
  if (d.augment && !*d.augment) j["train.rotation"] = j["train.hflip"] = j["train.vflip"] = 0;
  if (d.selection_metric) j["train.selection_metric"] = *d.selection_metric;
  j["train.sampler=auto"] = d.paper_sampler;
  return j;
}

nlohmann::json registry_json(const spec::VariantRegistry& registry) {
  nlohmann::json variants = nlohmann::json::array();
  for (const spec::Variant& v : registry.variants()) {
    nlohmann::json tables = nlohmann::json::array();
    for (const spec::TableRow& r : v.tables) {
      nlohmann::json flags = nlohmann::json::object();
      for (const auto& [header, note] : r.flags) flags[header] = note;
      tables.push_back({{"table", r.table}, {"row", r.row}, {"flags", flags}});
    }
    variants.push_back({{"name", v.name},
                        {"summary", v.summary},
                        {"task", std::string(spec::task_name(v.task))},
                        {"input", std::string(spec::input_name(v.input))},
                        {"output", std::string(spec::output_name(v.output))},
                        {"loss_terms", v.loss_terms},
                        {"tables", tables},
                        {"headline", v.headline},
                        {"val_metrics", v.val_metrics},
                        {"defaults", defaults_json(v.defaults)},
                        {"trains", v.trains},
                        {"source", v.source}});
  }
  nlohmann::json tables = nlohmann::json::array();
  for (const spec::PaperTable& t : registry.tables())
    tables.push_back({{"id", t.id},
                      {"task", std::string(spec::task_name(t.task))},
                      {"title", t.title},
                      {"per_class", t.per_class},
                      {"by_data_size", t.by_data_size},
                      {"gains", t.gains},
                      {"flag_headers", t.flag_headers}});
  return {{"variants", variants}, {"tables", tables}};
}

std::string joined(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

void print_markdown(const spec::VariantRegistry& registry) {
  std::cout << "| variant | task | input | output | loss terms | tables | defaults |\n"
            << "|---|---|---|---|---|---|---|\n";
  for (const spec::Variant& v : registry.variants()) {
    std::vector<std::string> tables, defaults;
    for (const spec::TableRow& r : v.tables) tables.push_back(r.table + ": " + r.row);
    const nlohmann::json settings = defaults_json(v.defaults);  // items() does not own it
    for (const auto& [key, value] : settings.items())
      defaults.push_back(key + " " + (value.is_string() ? value.get<std::string>() : value.dump()));
    std::cout << "| " << v.name << " | " << spec::task_name(v.task) << " | "
              << spec::input_name(v.input) << " | " << spec::output_name(v.output) << " | "
              << (v.loss_terms.empty() ? "-" : joined(v.loss_terms, ", ")) << " | "
              << (tables.empty() ? "-" : joined(tables, "; ")) << " | " << joined(defaults, ", ")
              << " |\n";
  }
  std::cout << "\n| table | task | title |\n|---|---|---|\n";
  for (const spec::PaperTable& t : registry.tables())
    std::cout << "| " << t.id << " | " << spec::task_name(t.task) << " | " << t.title << " |\n";
}

// The built-in variants and those a sweep's jobs name by model.package.
spec::VariantRegistry with_sweeps_exported(const std::string& sweep_path) {
  spec::VariantRegistry registry = spec::VariantRegistry::built_in();
  if (sweep_path.empty()) return registry;
  for (const sweeps::SweepJob& job : sweeps::load_sweep(sweep_path).jobs) {
    const spec::ModelConfig& m = job.config.model;
    if (!m.package.empty()) registry = spec::with_exported(registry, m.variant, m.package, sweep_path);
  }
  return registry;
}

}  // namespace

int run_variants(const Args& args) {
  std::string format = "md", sweep_path;
  po::options_description options(
      "usage: fracsweep variants [--format md|json] [--sweep SWEEP.yaml]\n\n"
      "Lists every model.variant a job or sweep may name: its task (vertebra or pelvis),\n"
      "what it takes in and puts out, its loss terms, the paper tables and rows it belongs\n"
      "to, its headline metric and the settings it defaults to; then the paper tables\n"
      "`fracsweep report --table` knows.\n\noptions");
  options.add_options()("help,h", "print this help")(
      "format", po::value(&format)->default_value(format), "md (a table) or json")(
      "sweep", po::value(&sweep_path),
      "also the models exported from PyTorch that this sweep file names (model.package)");
  if (!parse_flags(args, options)) return kExitOk;
  CHECK_OR_THROW(core::ConfigError, format == "md" || format == "json", "--format '", format,
                 "' is unknown: use md or json");
  const spec::VariantRegistry registry = with_sweeps_exported(sweep_path);
  if (format == "json")
    std::cout << registry_json(registry).dump(2) << "\n";
  else
    print_markdown(registry);
  return kExitOk;
}

}  // namespace fracsweep::cli
