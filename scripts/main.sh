#!/usr/bin/env bash
# Sets up (installs, configures, builds) and runs the main job: the metrics of
# the bundled example predictions of a three-class vertebra model, printed
# as the papers' per-class table.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/fracsweep metrics examples/predictions_vcf.csv
