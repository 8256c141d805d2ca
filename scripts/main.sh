#!/usr/bin/env bash
# Sets up (installs, configures, builds) and runs the main job on the built-in
# phantom data: writes a vertebra phantom store (and a PNG preview), validates
# and describes it, then prints the per-class results table of the bundled
# example predictions of a three-class vertebra model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p build/main
build/fracsweep synth vcf build/main/vcf.h5 --patients 40 --patch-size 64 --seed 1 \
  --preview build/main/vcf-preview.png
build/fracsweep inspect build/main/vcf.h5
echo
build/fracsweep metrics examples/predictions_vcf.csv
