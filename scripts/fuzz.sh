#!/usr/bin/env bash
# Runs every libFuzzer target for longer than the test suite does and prints a table of
# their execution counts (for RELIABILITY.md). Builds first, as scripts/test.sh does.
#
#   scripts/fuzz.sh [SECONDS-PER-TARGET]     default 600
#
# A finding stops nothing else: each target's findings and log are named at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
scripts/setup.sh
targets=(predictions_csv detections_csv sweep_yaml job_yaml ledger run_json patch_store heatmaps slurm_script)
rows=() failed=0
for t in "${targets[@]}"; do
  echo "fuzz: $t for $seconds s"
  if out=$(tests/fuzz/run.sh "build/fuzz/tests/fuzz/fuzz_$t" "$t" "$seconds" 2>&1); then result=ok
  else result="FINDING (build/fuzz/tests/fuzz/fuzz-findings/$t/)"; failed=1; fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' <<<"$out" | tail -1)
  units=$(ls "build/fuzz/tests/fuzz/fuzz-corpus/$t" | wc -l)
  rows+=("| $t | $seconds | ${runs:-?} | $units | $result |")
done
echo
echo "| target | seconds | inputs run | corpus | result |"
echo "|---|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
exit "$failed"
