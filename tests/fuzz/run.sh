#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time over its seeds and every regression
# input ever kept, growing a corpus in the build tree between runs.
#
#   tests/fuzz/run.sh FUZZER NAME [SECONDS]
#
# FRACSWEEP_FUZZ_SEED repeats a run (libFuzzer prints the seed it used either way).
# A finding is written under fuzz-findings/NAME/ beside the build's corpus; the
# message says how to reproduce it and where to keep it once fixed.
set -euo pipefail
fuzzer=$1 name=$2 seconds=${3:-${FRACSWEEP_FUZZ_SECONDS:-20}}
here=$(cd "$(dirname "$0")" && pwd)
work=$(dirname "$fuzzer")
corpus=$work/fuzz-corpus/$name findings=$work/fuzz-findings/$name
mkdir -p "$corpus" "$findings"
inputs=("$corpus" "$here/corpus/$name")
[[ -d $here/regressions/$name ]] && inputs+=("$here/regressions/$name")
# HDF5 keeps caches for the life of the process, which LeakSanitizer would count as leaks.
leaks=1
if [[ $name == patch_store || $name == heatmaps ]]; then
  leaks=0
  export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
fi
set +e
"$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
  -detect_leaks=$leaks -artifact_prefix="$findings/" \
  ${FRACSWEEP_FUZZ_SEED:+-seed=$FRACSWEEP_FUZZ_SEED} "${inputs[@]}" 2>"$work/fuzz-$name.log"
code=$?
set -e
grep -E '^(INFO: Seed|stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)' "$work/fuzz-$name.log" || true
if ((code != 0)); then
  tail -n 60 "$work/fuzz-$name.log"
  echo "fuzz $name: a finding (exit $code), input in $findings/." >&2
  echo "  reproduce: $fuzzer $findings/<file>" >&2
  echo "  once fixed, keep it: cp $findings/<file> $here/regressions/$name/" >&2
fi
exit "$code"
