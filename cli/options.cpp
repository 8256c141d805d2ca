// See options.h.
#include "cli/options.h"

#include <iostream>

#include "core/error.h"

namespace fracsweep::cli {

bool parse_with_positional(const Args& args, const boost::program_options::options_description& options,
                           std::string& positional_value, const std::string& usage,
                           boost::program_options::variables_map* parsed) {
  return parse_with_positionals(args, options, {&positional_value}, usage, parsed);
}

bool parse_with_positionals(const Args& args,
                            const boost::program_options::options_description& options,
                            const std::vector<std::string*>& positional_values,
                            const std::string& usage,
                            boost::program_options::variables_map* parsed) {
  namespace po = boost::program_options;
  std::vector<std::string> values;
  po::options_description hidden;
  hidden.add_options()("positional", po::value(&values));
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("positional", static_cast<int>(positional_values.size()));
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << options << "\n";
    return false;
  }
  po::notify(vm);
  if (parsed) *parsed = vm;
  CHECK_OR_THROW(core::ConfigError, values.size() == positional_values.size(),
                 "missing argument (usage: ", usage, ")");
  for (size_t i = 0; i < values.size(); ++i) {
    CHECK_OR_THROW(core::ConfigError, !values[i].empty(), "empty argument (usage: ", usage, ")");
    *positional_values[i] = values[i];
  }
  return true;
}

bool parse_flags(const Args& args, const boost::program_options::options_description& options,
                 boost::program_options::variables_map* parsed) {
  namespace po = boost::program_options;
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(options).run(), vm);
  if (vm.count("help")) {
    std::cout << options << "\n";
    return false;
  }
  po::notify(vm);
  if (parsed) *parsed = vm;
  return true;
}

void print_measures(const nlohmann::json& row, bool json) {
  if (json) {
    std::cout << row.dump() << "\n";
    return;
  }
  std::cout << "| measure | value |\n|---|---|\n";
  for (const auto& [k, v] : row.items()) std::cout << "| " << k << " | " << v.dump() << " |\n";
}

}  // namespace fracsweep::cli
