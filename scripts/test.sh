#!/usr/bin/env bash
# Sets up (installs, configures, builds) and runs the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd build
ctest --output-on-failure -j "${FRACSWEEP_TEST_JOBS:-2}" "$@"
