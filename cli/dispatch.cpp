// See dispatch.h.
#include "cli/dispatch.h"

#include <boost/program_options/errors.hpp>
#include <exception>
#include <string>

#include "core/error.h"

namespace fracsweep::cli {

int run_command(const Command& c, const Args& args) {
  try {
    return c.run(args);
  } catch (const core::ConfigError& e) {
    std::fprintf(stderr, "fracsweep %s: error: %s\n", c.name, e.what());
    return kExitBadInput;
  } catch (const boost::program_options::error& e) {
    std::fprintf(stderr, "fracsweep %s: error: %s (see fracsweep %s --help)\n", c.name, e.what(),
                 c.name);
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fracsweep %s: error: %s\n", c.name, e.what());
    return kExitFailure;
  }
}

void print_usage(std::FILE* out, std::span<const Command> commands) {
  std::fprintf(out,
               "fracsweep: cross-validation and ablation sweeps of fracture-diagnosis models\n\n"
               "usage: fracsweep <command> [options]   (fracsweep <command> --help for more)\n\n"
               "commands:\n");
  for (const Command& c : commands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

int dispatch(int argc, char** argv, std::span<const Command> commands) {
  if (argc < 2) {
    print_usage(stderr, commands);
    return kExitBadInput;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout, commands);
    return kExitOk;
  }
  for (const Command& c : commands)
    if (name == c.name) return run_command(c, Args(argv + 2, argv + argc));
  std::fprintf(stderr, "fracsweep: unknown command '%s'\n\n", name.c_str());
  print_usage(stderr, commands);
  return kExitBadInput;
}

}  // namespace fracsweep::cli
