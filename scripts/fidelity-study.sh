#!/usr/bin/env bash
# The fidelity study of FIDELITY.md, outside the test suite: TSCCN's Table III at CPU
# size on the vertebra phantom at difficulties 0.5 and 0.75 (examples/sweeps/
# tsccn-fidelity-d050.yaml and -d075.yaml: six rows x 5 repeated 3:1:1 splits, 60 jobs),
# then the report of each, with its paired tests of every row against the best one.
# First, the model-free probe of the same phantom. Resumable like any sweep: run it
# again after an interruption. --followup runs only the follow-up at 0.75 with twice the
# epochs (examples/sweeps/tsccn-fidelity-followup.yaml: 25 jobs, about an hour);
# --aasn only the pelvis half: the pelvis probe and AASN's Table 2 at CPU size, first
# where no row learns (examples/sweeps/aasn-fidelity.yaml: 240 images at difficulty 0.5,
# 30 jobs, about 20 minutes), then where the vanilla row does (aasn-fidelity-d0.yaml:
# 960 images at difficulty 0, 30 jobs, under 2 hours), each with its loss terms, then how
# far the warped twin sits from the image (bench/twin_alignment.py) and three of the rows
# again with exact landmarks (aasn-fidelity-d0-exact.yaml: 15 jobs, about 40 minutes).
#
#   scripts/fidelity-study.sh [--followup | --aasn] [NP]     NP: MPI ranks (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
part=tsccn
if [[ ${1:-} == --followup || ${1:-} == --aasn ]]; then part=${1#--}; shift; fi
np=${1:-2}
if [[ $part == aasn ]]; then scripts/setup.sh --with-bench; else scripts/setup.sh; fi  # h5py
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE

study() {  # sweep name, table: run it, then its table and paired tests
  mpirun --oversubscribe -np "$np" build/fracsweep run "examples/sweeps/$1.yaml"
  build/fracsweep report "runs/$1" --table "$2" --format md,csv --no-curves
  cat "runs/$1/report/table.md" "runs/$1/report/significance.md"
}

# Per row, each training loss term (log.jsonl) at the first and the last epoch, the mean
# over the row's jobs: whether a term was learned, or still dominates at the end.
loss_terms() {
  .venv/bin/python - "runs/$1" <<'PY'
import glob, json, os, statistics, sys
rows = {}
for log in sorted(glob.glob(os.path.join(sys.argv[1], "*", "*", "*", "log.jsonl"))):
    lines = [json.loads(l) for l in open(log) if l.strip()]
    row = os.path.relpath(log, sys.argv[1]).split(os.sep)[0]
    rows.setdefault(row, []).append((lines[0]["train"], lines[-1]["train"]))
print("| row | term | first epoch | last epoch |")
print("|---|---|---:|---:|")
for row, jobs in rows.items():
    for term in jobs[0][1]:
        first = statistics.mean(j[0][term] for j in jobs)
        last = statistics.mean(j[1][term] for j in jobs)
        print(f"| {row} | {term} | {first:.3f} | {last:.3f} |")
PY
}

if [[ $part == followup ]]; then
  echo "== the follow-up at difficulty 0.75, 16 epochs"
  study tsccn-fidelity-followup tsccn-3
  loss_terms tsccn-fidelity-followup
  exit 0
fi
if [[ $part == aasn ]]; then
  echo "== the pelvis probe (240 images of 128x256, and of 256x512)"
  build/fracsweep bench probe pelvis --images 240
  build/fracsweep bench probe pelvis --images 240 --height 256 --width 512
  echo "== AASN Table 2 at difficulty 0.5, 240 images"
  study aasn-fidelity aasn-2
  loss_terms aasn-fidelity
  echo "== AASN Table 2 at difficulty 0, 960 images"
  study aasn-fidelity-d0 aasn-2
  loss_terms aasn-fidelity-d0
  echo "== AASN Table 2's vanilla, FF-FA and full rows with exact landmarks"
  study aasn-fidelity-d0-exact aasn-2
  loss_terms aasn-fidelity-d0-exact
  echo "== the warped twin against the image, at the default landmark error and exact"
  .venv/bin/python bench/twin_alignment.py runs/aasn-fidelity-d0/phantom.h5 \
    runs/aasn-fidelity-d0-exact/phantom.h5
  exit 0
fi
echo "== the probe (patch size 64, 239 patients per difficulty)"
build/fracsweep bench probe vcf --patients 239 --patch-size 64
for d in 050 075; do
  echo "== Table III at difficulty ${d:0:1}.${d:1}"
  study "tsccn-fidelity-d$d" tsccn-3
done
