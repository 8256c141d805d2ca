#!/usr/bin/env bash
# Sets up (installs, configures, builds) and runs the main job on the built-in
# phantom data: the tiny TSCCN Table III sweep (examples/sweeps/
# tsccn-table3-tiny.yaml: the six ablation rows x 2 random splits) on 2 MPI
# ranks. The phantom data set is written on first use. It prints the results
# table and where the results are. Run it again after an interruption (or a
# kill) and it resumes; once finished, it only prints the table.
#
#   scripts/main.sh [NP]     NP: MPI ranks (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
# The two programs the job runs, and what they need; scripts/test.sh builds the rest.
FRACSWEEP_BUILD_TARGETS=${FRACSWEEP_BUILD_TARGETS:-fracsweep fracsweep-train} scripts/setup.sh
np=${1:-2}
# Open MPI refuses root unless told; ranks share the cores, so OpenMP threads
# must sleep, not spin, while they wait.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE
mpirun --oversubscribe -np "$np" build/fracsweep run examples/sweeps/tsccn-table3-tiny.yaml
echo
build/fracsweep status runs/tsccn-table3-tiny
echo
echo "The paper's Table III, its tests, curves and an HTML page, from the predictions:"
echo "  build/fracsweep report runs/tsccn-table3-tiny"
