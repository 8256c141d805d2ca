// `fracsweep bench handout`: what the dynamic hand-out of jobs costs per job.
//
// Run under mpirun, e.g. `mpirun -np 2 fracsweep bench handout --jobs 2000`.
// The real Coordinator and CoordinatorClient (schedule/coordinator.h) hand out
// jobs that do nothing, so a leader's whole time is the round trip of asking
// for a job and reporting the last one; rank 0 prints per-request latencies
// (mean, median, 99th percentile, maximum, over all leaders) and jobs per second.
#pragma once

#include <string>
#include <vector>

namespace fracsweep::launcher {

// `args` are the flags after `bench handout` (--help lists them). Returns the
// exit code; only rank 0 writes to stdout.
int bench_handout(const std::vector<std::string>& args);

}  // namespace fracsweep::launcher
