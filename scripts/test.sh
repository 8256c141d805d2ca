#!/usr/bin/env bash
# Sets up (installs, configures, builds) and runs the whole test suite with CTest.
#
#   scripts/test.sh [ctest options]
#   scripts/test.sh --sanitize[=address|thread] [ctest options]
#
# --sanitize (or --sanitize=address) builds an instrumented tree in
# build-sanitize-address/ (AddressSanitizer and UndefinedBehaviorSanitizer) and runs the
# whole suite there; any report fails its test. --sanitize=thread builds
# build-sanitize-thread/ (ThreadSanitizer) and runs the tests of the threaded parts: the
# batch loader, the ledger (appends from several threads and processes) and the job
# coordinator. The suppressions, each with its reason, are in scripts/sanitizers/.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=""
case "${1:-}" in
  --sanitize|--sanitize=address) sanitize=address; shift ;;
  --sanitize=thread) sanitize=thread; shift ;;
  --sanitize=*) echo "test.sh: unknown sanitizer '${1#--sanitize=}' (use address or thread)" >&2; exit 2 ;;
esac

if [[ -z $sanitize ]]; then
  scripts/setup.sh
  cd build
  exec ctest --output-on-failure -j "${FRACSWEEP_TEST_JOBS:-2}" "$@"
fi

supp=$PWD/scripts/sanitizers
# LibTorch's CUDA libraries map memory where ASan keeps its shadow gap unless it is left open.
# fast_unwind_on_malloc=0: Open MPI's modules lack frame pointers, so the fast unwinder stops
# inside them and a leak they keep would show no library a suppression could name; the
# slow unwinder records the whole stack while the module is still loaded.
export ASAN_OPTIONS="protect_shadow_gap=0:detect_odr_violation=0:abort_on_error=0:exitcode=86:fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:exitcode=86${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
# The build runs the test binaries too (to list their tests): the options come first.
FRACSWEEP_BUILD_DIR=build-sanitize-$sanitize FRACSWEEP_SANITIZE=$sanitize scripts/setup.sh
cd "build-sanitize-$sanitize"
args=(--output-on-failure -j "${FRACSWEEP_TEST_JOBS:-2}" -LE gpu)
if [[ $sanitize == thread ]]; then
  args+=(-R '^(Loader|LoaderTest|Ledger|SweepLedger|SweepLock)\.|^mpi_tests_np2$')
fi
exec ctest "${args[@]}" "$@"
