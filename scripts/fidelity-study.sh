#!/usr/bin/env bash
# The fidelity study of FIDELITY.md, outside the test suite: TSCCN's Table III at CPU
# size on the vertebra phantom at difficulties 0.5 and 0.75 (examples/sweeps/
# tsccn-fidelity-d050.yaml and -d075.yaml: six rows x 5 repeated 3:1:1 splits, 60 jobs),
# then the report of each, with its paired tests of every row against the best one.
# First, the model-free probe of the same phantom. Resumable like any sweep: run it
# again after an interruption.
#
#   scripts/fidelity-study.sh [NP]     NP: MPI ranks (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
np=${1:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE
echo "== the probe (patch size 64, 239 patients per difficulty)"
build/fracsweep bench probe --patients 239 --patch-size 64
for d in 050 075; do
  echo "== Table III at difficulty ${d:0:1}.${d:1}"
  mpirun --oversubscribe -np "$np" build/fracsweep run "examples/sweeps/tsccn-fidelity-d$d.yaml"
  build/fracsweep report "runs/tsccn-fidelity-d$d" --format md,csv --no-curves
  cat "runs/tsccn-fidelity-d$d/report/table.md" "runs/tsccn-fidelity-d$d/report/significance.md"
done
