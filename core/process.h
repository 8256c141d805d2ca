// Runs a program with arguments (no shell) and collects what it prints.
#pragma once

#include <string>
#include <vector>

namespace fracsweep::core {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out, err;
};

// Runs argv[0] (looked up in PATH) with argv, waits for it, and returns its
// exit code and output. Throws core::IoError when it cannot be started
// (e.g. "sbatch: not found: is it installed and on PATH?").
ProcessResult run_process(const std::vector<std::string>& argv);

}  // namespace fracsweep::core
