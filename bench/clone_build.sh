#!/usr/bin/env bash
# What a fresh clone costs to build, first and second, as CI and a researcher's second
# checkout meet it: clones this checkout's HEAD twice into a scratch folder and times
#   1. the first clone's main job (scripts/main.sh: set-up, building fracsweep and
#      fracsweep-train, the tiny Table III sweep on 2 ranks),
#   2. the rest of the first clone's build (scripts/setup.sh: the tests, the fuzz tree),
#   3. the second clone's whole build (scripts/setup.sh), from the cache the first filled,
# with ccache's hits and misses for each. Prints a table.
#
#   bench/clone_build.sh [--cache DIR] [--keep]
#
# --cache DIR  the ccache folder the clones share (default: a new, empty one, so the
#              first clone starts cold as on a new machine; the wheels are reused)
# --keep       leave the scratch folder (its path is printed)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache="" keep=0
while (($#)); do
  case $1 in
    --cache) cache=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "clone_build.sh: unknown option '$1' (--cache DIR, --keep)" >&2; exit 2 ;;
  esac
done
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fracsweep-clones.XXXXXX")
((keep)) || trap 'rm -rf "$scratch"' EXIT
[[ -n $cache ]] || cache=$scratch/ccache
export FRACSWEEP_CCACHE_DIR=$cache
echo "clone_build: scratch $scratch, ccache $cache"

stats() { CCACHE_DIR=$cache ccache --print-stats | awk '$1 ~ /^(direct_cache_hit|preprocessed_cache_hit)$/ {h += $2}
                                                   $1 == "cache_miss" {m += $2} END {print h + 0, m + 0}'; }
# Seconds of the last build step printed in a log ("[12/97 181.3s] ...").
build_seconds() { grep -oE '^\[[0-9]+/[0-9]+ [0-9.]+s\]' "$1" | tail -1 | grep -oE '[0-9.]+s' | tr -d s || echo 0; }
rows=()
phase() {  # phase NAME LOG COMMAND...: runs it, timed, and adds a row
  local name=$1 log=$2; shift 2
  local before after start end
  read -r -a before < <(stats)
  start=$(date +%s%N)
  "$@" >"$log" 2>&1 || { echo "clone_build: '$name' failed; its log: $log" >&2; keep=1; exit 1; }
  end=$(date +%s%N)
  read -r -a after < <(stats)
  local hits=$((after[0] - before[0])) misses=$((after[1] - before[1]))
  rows+=("$(printf '| %s | %d | %s | %d | %d | %s |' "$name" "$(((end - start) / 1000000000))" \
            "$(build_seconds "$log")" "$hits" "$misses" \
            "$( ((hits + misses)) && echo "$((100 * hits / (hits + misses))) %" || echo -)")")
  echo "clone_build: $name done"
}

for c in first second; do git clone -q "$repo" "$scratch/$c"; done
phase "first clone: scripts/main.sh" "$scratch/first-main.log" "$scratch/first/scripts/main.sh"
phase "first clone: the rest of the build (scripts/setup.sh)" "$scratch/first-rest.log" "$scratch/first/scripts/setup.sh"
phase "second clone: scripts/setup.sh" "$scratch/second.log" "$scratch/second/scripts/setup.sh"

echo
echo "| phase | wall s | build s | ccache hits | misses | hit rate |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
