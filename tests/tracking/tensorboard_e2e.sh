#!/usr/bin/env bash
# A tiny sweep (two TSCCN rows, one split, three epochs), killed with SIGKILL after
# its first epoch and run again to the end, then read by TensorBoard itself
# (tensorboard_check.py): every scalar's steps and values against the jobs' own
# log.jsonl, no step twice, the hparams plugin's data. Exit 77 (skipped) where the
# Python has no tensorboard.
#
# usage: tensorboard_e2e.sh FRACSWEEP PYTHON
set -euo pipefail
bin=$1 py=$2
here=$(cd "$(dirname "$0")" && pwd)
"$py" -c 'import tensorboard' 2>/dev/null || {
  echo "SKIPPED: $py has no tensorboard (scripts/setup.sh installs it into .venv)"; exit 77; }
tmp=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cat >"$tmp/sweep.yaml" <<YAML
name: tb-tiny
output: $tmp/out
preset: tiny
dataset: {phantom: {patients: 12, patch_size: 32, seed: 1}}
protocol: {split: random, repeats: [0]}
seeds: [1]
variants:
  single-stream: {model: {variant: single-stream}}
  tsccn: {model: {variant: tsccn}}
train: {epochs: 3}
YAML
"$bin" run "$tmp/sweep.yaml" --log-level warn >"$tmp/first.log" 2>&1 &
pid=$!
# Killed once the first job has logged an epoch: it resumes from its checkpoint.
for _ in $(seq 600); do
  compgen -G "$tmp/out/*/repeat0/seed1/log.jsonl" >/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=
"$bin" run "$tmp/sweep.yaml" --log-level warn
"$py" "$here/tensorboard_check.py" "$tmp/out" 2 aAUC
