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
# verify_asan_link_order=0: keep_modules.so (below) is preloaded ahead of the ASan runtime.
export ASAN_OPTIONS="protect_shadow_gap=0:detect_odr_violation=0:abort_on_error=0:exitcode=86:verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:exitcode=86${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
# The thread tree builds only the executables whose tests it runs (and the binaries they start).
[[ $sanitize == thread ]] &&
  export FRACSWEEP_BUILD_TARGETS="fracsweep_datastore_tests fracsweep_sweeps_tests fracsweep_mpi_tests"
# The build runs the test binaries too (to list their tests): the options come first.
FRACSWEEP_BUILD_DIR=build-sanitize-$sanitize FRACSWEEP_SANITIZE=$sanitize scripts/setup.sh
cd "build-sanitize-$sanitize"
if [[ $sanitize == address ]]; then
  # Open MPI unloads its plug-ins at MPI_Finalize; what they keep would be reported from
  # "<unknown module>", which no suppression can name. A dlclose that does nothing keeps
  # them mapped (uninstrumented: it must not need the ASan runtime).
  gcc -shared -fPIC -O2 -o keep_modules.so ../scripts/sanitizers/keep_modules.c
  export LD_PRELOAD=$PWD/keep_modules.so${LD_PRELOAD:+:$LD_PRELOAD}
fi
args=(--output-on-failure -j "${FRACSWEEP_TEST_JOBS:-2}" -LE gpu)
if [[ $sanitize == thread ]]; then
  args+=(-R '^(Loader|LoaderTest|Ledger|SweepLedger|SweepLock)\.|^mpi_tests_np2$')
fi
exec ctest "${args[@]}" "$@"
