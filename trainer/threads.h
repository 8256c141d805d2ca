// The intra-op thread count of a rank: a job's `train.threads`, or when it is
// 0, the machine's cores divided among the ranks launched on this node (from
// Open MPI's or SLURM's environment), at least 1. LibTorch's own default here
// is 1, which leaves cores idle; more threads than cores per rank make
// OpenMP's spinning threads fight (run ranks with OMP_WAIT_POLICY=PASSIVE).
#pragma once

namespace fracsweep::trainer {

// `configured` > 0 is returned as is. Reads OMPI_COMM_WORLD_LOCAL_SIZE, then
// SLURM_NTASKS_PER_NODE (its first number), else assumes one rank per node.
int intra_op_threads(int configured, unsigned cores);

}  // namespace fracsweep::trainer
