// Flag parsing and benchmark output shared by the subcommands.
#pragma once

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace fracsweep::cli {

// Parses `args` against `options` (which must declare "help") plus one
// positional argument stored in `positional_value`. Returns false after
// printing the help text when --help was given; throws
// core::ConfigError naming `usage` when the positional argument is missing.
// `parsed`, when given, receives the parsed values (to ask which flags were set).
bool parse_with_positional(const Args& args, const boost::program_options::options_description& options,
                           std::string& positional_value, const std::string& usage,
                           boost::program_options::variables_map* parsed = nullptr);

// The same with several positional arguments, all required, in order.
bool parse_with_positionals(const Args& args,
                            const boost::program_options::options_description& options,
                            const std::vector<std::string*>& positional_values,
                            const std::string& usage,
                            boost::program_options::variables_map* parsed = nullptr);

// The same for a command that takes flags only.
bool parse_flags(const Args& args, const boost::program_options::options_description& options,
                 boost::program_options::variables_map* parsed = nullptr);

// A benchmark's measures: a Markdown table of `row`'s keys and values, or the
// object as one JSON line (for the scripts in bench/).
void print_measures(const nlohmann::json& row, bool json);

}  // namespace fracsweep::cli
