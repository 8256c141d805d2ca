// `fracsweep bench allreduce`: what the CPU gradient all-reduce (MpiGradientSync)
// costs in a data-parallel training step, for several bucket sizes.
//
// Run under mpirun, e.g. `mpirun -np 2 fracsweep bench allreduce`. Every rank
// builds the same ResNet-18 classifier and trains it on its own random batch;
// rank 0 prints a Markdown table of the mean step time (forward, backward,
// all-reduce, Adam step; the slowest rank's) and the mean time inside the
// all-reduce (the least over the ranks: the others include waiting for the
// last rank to arrive), per bucket size and once without any all-reduce.
#pragma once

#include <string>
#include <vector>

namespace fracsweep::launcher {

// `args` are the flags after `bench allreduce` (--help lists them). Starts MPI
// for its own duration unless it is running already. Returns the process exit
// code; throws core::ConfigError for bad flag values and core::CommError when
// MPI fails. Only rank 0 writes to stdout.
int bench_allreduce(const std::vector<std::string>& args);

}  // namespace fracsweep::launcher
