// Picking a subcommand and reporting its errors: the one place that catches.
// A core::ConfigError or a bad flag (bad input) exits with kExitBadInput, any
// other error with kExitFailure, always with one line on stderr that says
// what went wrong and in which command.
#pragma once

#include <cstdio>
#include <span>

#include "cli/commands.h"

namespace fracsweep::cli {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args&);
};

// Runs `command` on `args` and turns what it throws into an exit code.
int run_command(const Command& command, const Args& args);

// The list of commands, for --help and for an unknown command.
void print_usage(std::FILE* out, std::span<const Command> commands);

// argv[1] names the command; the rest are its arguments.
int dispatch(int argc, char** argv, std::span<const Command> commands);

}  // namespace fracsweep::cli
