#!/usr/bin/env bash
# What tracking costs an epoch of the tiny Table III sweep: the sweep
# (examples/sweeps/tsccn-table3-tiny.yaml, on ROWS of its rows, one rank) run with
# tracking off (tracking: {tensorboard: false}), with TensorBoard's files alone (the
# default), and with TensorBoard and an MLflow run per job sent to a local `mlflow
# server` (SQLite store), alternating, TRIALS times each, each in a fresh folder (the
# phantom copied in, not timed). Per run, two figures over its epochs: the jobs' own
# seconds (from each job's start to its end in the ledger: training, evaluation, the
# trackers' calls and the sender thread beside them) and the whole `fracsweep run`
# (start-up and the end's wait for the MLflow server included). Prints each run's
# figures and the medians.
#
#   bench/tracking_overhead.sh [TRIALS] [ROWS]       (defaults 5 and 2)
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-5} rows=${2:-2}
venv=${FRACSWEEP_VENV:-.venv}
tmp=$(mktemp -d)
server=
cleanup() { [[ -n $server ]] && kill -TERM -- "-$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setsid "$venv/bin/mlflow" server --host 127.0.0.1 --port "$port" --workers 1 \
  --backend-store-uri "sqlite:///$tmp/mlflow.db" --artifacts-destination "$tmp/artifacts" \
  >"$tmp/server.log" 2>&1 &
server=$!
until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.5; done
# The sweep's first ROWS rows.
"$venv/bin/python" - "$rows" examples/sweeps/tsccn-table3-tiny.yaml "$tmp/base.yaml" <<'PY'
import sys
rows, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out, in_variants, kept = [], False, 0
for line in open(src):
    if line.startswith("variants:"):
        in_variants = True
    elif in_variants and line.startswith("  "):
        kept += 1
        if kept > rows:
            continue
    else:
        in_variants = False
    if not line.startswith("output:"):
        out.append(line)
open(dst, "w").write("".join(out))
PY
epochs=$(( rows * 2 * 2 ))  # rows x 2 repeats x 2 epochs
# Seconds per epoch of a run's jobs: the sum of their ledger's started-to-finished spans.
job_seconds() {  # job_seconds SWEEP_DIR EPOCHS
  "$venv/bin/python" - "$1" "$2" <<'PY'
import datetime, glob, json, sys
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
start, span = {}, 0.0
for line in (l for f in glob.glob(sys.argv[1] + "/ledger.d/*.jsonl") for l in open(f)):
    r = json.loads(line)
    if r["event"] == "started":
        start[r["job"]] = t(r["time"])
    elif r["event"] == "finished":
        span += t(r["time"]) - start.pop(r["job"])
print(f"{span / int(sys.argv[2]):.4f}")
PY
}
run() {  # run off|tb|mlflow TRIAL -> "JOB_SECONDS WHOLE_SECONDS" per epoch
  local dir=$tmp/$1-$2
  mkdir -p "$dir"
  { cat "$tmp/base.yaml"; echo "output: $dir"
    case $1 in
      mlflow) echo "tracking: {mlflow: {uri: http://127.0.0.1:$port, experiment: bench-$2}}" ;;
      off) echo "tracking: {tensorboard: false}" ;;
    esac; } >"$dir.yaml"
  [[ -f $tmp/phantom.h5 ]] && cp "$tmp"/phantom.h5* "$dir/"
  local t0=$(date +%s.%N)
  OMP_WAIT_POLICY=PASSIVE build/fracsweep run "$dir.yaml" --log-level warn >"$dir.log" 2>&1 || {
    echo "tracking_overhead: $1 run $2 failed:" >&2; tail -5 "$dir.log" >&2; exit 1; }
  local t1=$(date +%s.%N)
  [[ -f $tmp/phantom.h5 ]] || cp "$dir"/phantom.h5* "$tmp/"
  echo "$(job_seconds "$dir" "$epochs") $(echo "scale=4; ($t1 - $t0) / $epochs" | bc)"
}
run off warmup >/dev/null  # writes the phantom once; the later runs copy it
declare -A fig  # fig[MODE-KIND-TRIAL], KIND job or whole
for t in $(seq "$trials"); do
  for mode in off tb mlflow; do
    r=$(run "$mode" "$t") || exit 1
    read -r "fig[$mode-job-$t]" "fig[$mode-whole-$t]" <<<"$r"
  done
  echo "trial $t (job s/epoch, whole run s/epoch): off ${fig[off-job-$t]} ${fig[off-whole-$t]};" \
       "tensorboard ${fig[tb-job-$t]} ${fig[tb-whole-$t]}; tensorboard+mlflow ${fig[mlflow-job-$t]} ${fig[mlflow-whole-$t]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "medians over $trials trials, $epochs epochs a run (seconds per epoch; change against off):"
for kind in job whole; do
  declare -A m=()
  for mode in off tb mlflow; do
    vals=(); for t in $(seq "$trials"); do vals+=("${fig[$mode-$kind-$t]}"); done
    m[$mode]=$(median "${vals[@]}")
  done
  pct() { echo "scale=2; 100 * (${m[$1]} - ${m[off]}) / ${m[off]}" | bc; }
  echo "  $kind: off ${m[off]}; tensorboard ${m[tb]} ($(pct tb) %); tensorboard+mlflow ${m[mlflow]} ($(pct mlflow) %)"
done
