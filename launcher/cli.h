// Flag parsing shared by the subcommands.
#pragma once

#include <boost/program_options.hpp>
#include <string>

#include "launcher/commands.h"

namespace fracsweep::launcher {

// Parses `args` against `options` (which must declare "help") plus one
// positional argument stored in `positional_value`. Returns false after
// printing the help text when --help was given; throws
// core::ConfigError naming `usage` when the positional argument is missing.
// `parsed`, when given, receives the parsed values (to ask which flags were set).
bool parse_with_positional(const Args& args, const boost::program_options::options_description& options,
                           std::string& positional_value, const std::string& usage,
                           boost::program_options::variables_map* parsed = nullptr);

// The same for a command that takes flags only.
bool parse_flags(const Args& args, const boost::program_options::options_description& options,
                 boost::program_options::variables_map* parsed = nullptr);

}  // namespace fracsweep::launcher
