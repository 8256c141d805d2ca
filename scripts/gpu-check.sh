#!/usr/bin/env bash
# The GPU checks, in one call on a machine with a GPU: builds fracsweep against
# that machine's own PyTorch 2.11 (its python3's torch.utils.cmake_prefix_path),
# runs the GPU tests (`ctest -L gpu`) and the GPU benchmarks, and prints one
# table last. Meant to finish within 10 minutes on a 16-core GPU node.
#
#   scripts/gpu-check.sh --fetch-debs DIR   on a machine with apt: download the Debian
#                                           libraries the build needs into DIR
#   scripts/gpu-check.sh [DIR]              on the GPU machine: unpack DIR's .deb files
#                                           (if given) into /tmp/deps, build, test, bench
#
# GPU machines often reach no package registry: Debian's libraries (Open MPI, HDF5,
# Boost, fmt, yaml-cpp, nlohmann-json, libdeflate, libpng, GoogleTest) travel as
# .deb files and are unpacked into a prefix, never into /.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly debs=(libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common libpmix2 libhwloc15
  libevent-core-2.1-7 libevent-pthreads-2.1-7 libfabric1 libucx0 libpsm2-2 libibverbs1
  librdmacm1 libnl-3-200 libnl-route-3-200 libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libsz2
  libaec0 libcurl4 libdeflate-dev libdeflate0 libpng-dev libboost-program-options-dev
  libboost-program-options1.74.0 libboost1.74-dev libboost-dev libfmt-dev libfmt9
  libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev libgtest-dev libgmock-dev googletest
  ninja-build)

if [[ "${1:-}" == "--fetch-debs" ]]; then
  out=${2:?usage: scripts/gpu-check.sh --fetch-debs DIR}
  mkdir -p "$out"
  (cd "$out" && apt-get download "${debs[@]}")
  du -sh "$out"
  exit 0
fi

deps=/tmp/deps
if [[ -n "${1:-}" ]]; then
  echo "gpu-check: unpacking $(ls "$1"/*.deb | wc -l) packages into $deps"
  for f in "$1"/*.deb; do dpkg -x "$f" "$deps"; done
  export PATH=$deps/usr/bin:$PATH
  export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
  export OPAL_PREFIX=$deps/usr  # a relocated Open MPI finds its own files here
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE

torch_prefix=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch; print("gpu-check: torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")'

start=$SECONDS
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr" -DFRACSWEEP_WITH_NCCL=ON >build-gpu.configure.log
NINJA_STATUS="[%f/%t %es] " cmake --build build-gpu -j "$(nproc)" | sed -u -E 's/ .* (\S+)$/ \1/'
build_s=$((SECONDS - start))
build-gpu/fracsweep version

start=$SECONDS
(cd build-gpu && ctest -L gpu --output-on-failure -j 4) | tee build-gpu/gpu-tests.log || true
tests_s=$((SECONDS - start))
tests_line=$(grep -E "tests passed|tests failed" build-gpu/gpu-tests.log | tail -1)

# Benchmarks: ResNet-18 and TSCCN at 224x224, batch 64, bf16 and channels-last,
# end to end from the HDF5 store of a paper-size phantom.
bench=build-gpu/bench
mkdir -p "$bench"
[[ -f $bench/vcf224.h5 ]] || build-gpu/fracsweep synth vcf "$bench/vcf224.h5" --patients 60 --patch-size 224
rows=()
for variant in resnet18 tsccn; do
  for precision in fp32 bf16; do
    job=$bench/$variant-$precision.yaml
    cat >"$job" <<EOF
preset: paper
output: $bench/$variant-$precision
data: {store: $bench/vcf224.h5}
model: {variant: $variant}
train: {device: cuda, precision: $precision, channels_last: true, batch_size: 64, loader_workers: 6}
EOF
    json=$(build-gpu/fracsweep bench train "$job" --steps 30 --warmup 5 --json)
    rows+=("$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("| %s | %s | %.0f | %.0f | %.1f %% |" % (r["variant"], r["device"], r["compute_samples_per_s"], r["end_to_end_samples_per_s"], 100*r["data_wait_share"]))' "$json")")
  done
done

echo
echo "## GPU check ($(date -u +%F), $(python3 -c 'import torch; print(torch.cuda.get_device_name(0))'))"
echo
echo "| what | result |"
echo "|---|---|"
echo "| build (s) | $build_s |"
echo "| ctest -L gpu | ${tests_line:-no summary} ($tests_s s) |"
echo
echo "| model | device | compute img/s | end-to-end img/s | data wait |"
echo "|---|---|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
