#!/usr/bin/env bash
# Sets up (installs, configures, builds) and runs the main job on the built-in
# phantom data: writes a vertebra phantom store (and a PNG preview), validates
# and describes it, trains and evaluates a small TSCCN on it
# (examples/jobs/tsccn-tiny.yaml), and prints the test part's per-class table.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p build/main
build/fracsweep synth vcf build/main/vcf.h5 --patients 40 --patch-size 64 --seed 1 -q \
  --preview build/main/vcf-preview.png
build/fracsweep inspect build/main/vcf.h5
echo
rm -rf build/main/runs/tsccn-tiny
build/fracsweep train examples/jobs/tsccn-tiny.yaml
echo
build/fracsweep metrics build/main/runs/tsccn-tiny/predictions_test.csv
