#!/usr/bin/env bash
# The GPU checks, in one call on a machine with a GPU: the GPU tests, the GPU
# benchmarks against PyTorch eager and, with --fidelity, AASN's fidelity rows
# trained for 30 epochs; one table last. Meant to finish within 10 minutes on a
# 16-core GPU node.
#
#   scripts/gpu-check.sh --pack DIR          here, after scripts/setup.sh: DIR/fracsweep-gpu.tar.xz
#                                            holds this build's fracsweep, fracsweep-train and GPU
#                                            tests with every library they load that a GPU machine
#                                            may lack (not glibc, libstdc++, LibTorch or CUDA), and
#                                            Open MPI's plug-ins
#   scripts/gpu-check.sh --prebuilt DIR [--fidelity SECONDS] [--out DIR]
#                                            on the GPU machine: unpack DIR's archive and check
#                                            with those binaries, against that machine's own
#                                            PyTorch 2.11 libraries (no build: minutes saved)
#   scripts/gpu-check.sh --fetch-debs DIR    here: the Debian packages a build on the GPU machine
#                                            needs, as .deb files in DIR
#   scripts/gpu-check.sh [--debs DIR] [--fidelity SECONDS] [--out DIR]
#                                            on the GPU machine: unpack DIR's .deb files into
#                                            /tmp/deps, build against that machine's PyTorch, check
#
# --rehearse runs the same steps on a machine without a GPU at toy sizes (the CPU,
# 40 pelvis images, one epoch), so that a call on a GPU machine does not find a
# fault that a CPU could have: the GPU tests skip there. The benchmarks run `python3`,
# which on a GPU machine has PyTorch; here rehearse after `scripts/setup.sh --with-bench`
# with the venv first: PATH=$PWD/.venv/bin:$PATH scripts/gpu-check.sh --prebuilt DIR --rehearse
#
# --budget SECONDS (560) is when no further benchmark starts.
#
# --sweep-budget SECONDS (200): sweeps per hour (bench/sweep_vs_ray.py --gpu, under MPS):
# TSCCN's Table III (paper preset, trimmed to one split, one epoch) on 4, 1, 2 and 8 ranks
# against Ray Tune with 1/N GPU per trial, eager and torch.compile(mode="reduce-overhead"),
# then AASN's fidelity rows on fracsweep with train.cuda_graphs off and on; half each, no
# configuration started after its half. Their tables come last.
#
# --fidelity SECONDS runs examples/sweeps/aasn-fidelity-d0-gpu.yaml (FIDELITY.md) beside
# the tests and stops it after SECONDS; finished jobs stay finished, and running it
# again resumes the rest. --out DIR receives the logs, the report and the run's
# results without checkpoints or heatmaps.
#
# GPU machines often reach no package registry: libraries travel as files and are
# unpacked into a prefix under /tmp, never into /, and only the processes this
# script starts through the wrappers in $wrap see them.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly debs=(libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common libpmix2 libhwloc15
  libevent-core-2.1-7 libevent-pthreads-2.1-7 libfabric1 libucx0 libpsm2-2 libibverbs1
  librdmacm1 libnl-3-200 libnl-route-3-200 libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libsz2
  libaec0 libcurl4 libdeflate-dev libdeflate0 libpng-dev libboost-program-options-dev
  libboost-program-options1.74.0 libboost1.74-dev libboost-dev libfmt-dev libfmt9
  libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev libgtest-dev libgmock-dev googletest
  ninja-build)
fidelity_sweep=examples/sweeps/aasn-fidelity-d0-gpu.yaml
fidelity_ranks=12
device=cuda
bench_size=(--patch-size 224 --batch 64 --steps 20 --warmup 5)
exported_args=(--size 224 --batch 64 --threads 8 --rounds 5 --steps 5)
sweep_tsccn=(--sweep examples/sweeps/tsccn-table3.yaml --patients 60 --split-repeats 1 --epochs 1
  --ranks-list 4,1,2,8)
predict_args=(--patients 60 --patch-size 224 --width 16 --repeats 3 --threads 8)
sweep_aasn=(--sweep examples/sweeps/aasn-fidelity-d0-gpu.yaml --patients 240 --split-repeats 1
  --epochs 2 --variants aasn,vanilla --ranks-list 4,1)

# --- here: pack the binaries and what they load -------------------------------------

# The libraries a GPU machine brings itself: glibc's, the compiler's runtime (the GPU
# machine's is as new or newer), and LibTorch's and CUDA's (that machine's own wheel).
is_brought_by_the_gpu_machine() {
  case "$1" in
    */torch/lib/* | */nvidia/* | */cuda*/*) return 0 ;;
  esac
  case "$(basename "$1")" in
    ld-linux* | libc.so* | libm.so* | libmvec.so* | libdl.so* | libpthread.so* | librt.so* | \
      libutil.so* | libresolv.so* | libstdc++.so* | libgcc_s.so*) return 0 ;;
  esac
  return 1
}

pack() {
  local out=$1 stage
  for b in build/fracsweep build/fracsweep-train build/tests/fracsweep_gpu_tests; do
    [[ -x $b ]] || { echo "gpu-check: $b is missing: build first (scripts/setup.sh)" >&2; exit 2; }
  done
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN
  mkdir -p "$stage/bin" "$stage/lib" "$out"
  cp build/fracsweep build/fracsweep-train build/tests/fracsweep_gpu_tests "$stage/bin/"
  # Open MPI keeps its layout under usr/ (OPAL_PREFIX relocates it); its plug-ins'
  # libraries join the flat lib/ with everything else.
  local mpiexec pkglib pmix
  mpiexec=$(readlink -f "$(command -v mpiexec)")
  pkglib=$(ompi_info --path pkglibdir --parsable | sed 's/.*://')
  pmix=$(dirname "$(readlink -f "$(ldconfig -p | awk '/libpmix.so.2 / {print $NF; exit}')")")/..
  pmix=$(readlink -f "$pmix")
  for d in "$pkglib" /usr/share/openmpi "$pmix/lib/pmix" "$pmix/share"; do
    [[ -d $d ]] && { mkdir -p "$stage/usr$(dirname "${d#/usr}")"; cp -r "$d" "$stage/usr${d#/usr}"; }
  done
  mkdir -p "$stage/usr/bin"
  cp "$mpiexec" "$stage/usr/bin/orterun"
  # A singleton (a process started without mpirun) spawns orted to host its runtime.
  cp "$(readlink -f "$(dirname "$mpiexec")/orted")" "$stage/usr/bin/orted"
  ln -s orterun "$stage/usr/bin/mpirun"
  ln -s orterun "$stage/usr/bin/mpiexec"
  local lib
  while read -r lib; do
    is_brought_by_the_gpu_machine "$lib" || cp -L "$lib" "$stage/lib/"
  done < <(for f in "$stage"/bin/* "$stage"/usr/bin/orte* $(find "$stage/usr" -name '*.so'); do
             ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}'
           done | sort -u)
  tar -C "$stage" -cJf "$out/fracsweep-gpu.tar.xz" .
  # PyYAML (pure Python) for bench/sweep_vs_ray.py, which a GPU machine's python3 may lack.
  rm -rf "$out/pylib" && mkdir -p "$out/pylib"
  cp -r "$(.venv/bin/python -c 'import os, yaml; print(os.path.dirname(yaml.__file__))')" "$out/pylib/"
  echo "gpu-check: packed $(ls "$stage/lib" | wc -l) libraries, $(find "$stage/usr" -name '*.so' | wc -l) Open MPI plug-ins: $(du -h "$out/fracsweep-gpu.tar.xz" | cut -f1) in $out/fracsweep-gpu.tar.xz"
}

# --- there: the binaries, through wrappers that alone see the carried libraries ----

torch_libs() {
  python3 - <<'EOF'
import glob, os, torch
site = os.path.dirname(os.path.dirname(torch.__file__))
dirs = [os.path.join(os.path.dirname(torch.__file__), "lib")]
dirs += sorted(glob.glob(os.path.join(site, "nvidia", "*", "lib")))
print(":".join(dirs))
EOF
}

# Writes $wrap/NAME for each program: it sets the carried libraries' paths and execs.
make_wrappers() {
  local root=$1 libs=$2 bin_dir=$3 mpiexec=$4
  wrap=$root/wrap
  mkdir -p "$wrap"
  local env_lines="export LD_LIBRARY_PATH=$libs
export FRACSWEEP_TEST_BINARY=$bin_dir/fracsweep FRACSWEEP_TEST_MPIEXEC=$mpiexec"
  # Open MPI and PMIx look for their plug-ins where they were installed, unless told.
  local pmix
  pmix=$(find "$root/usr" -maxdepth 4 -type d -name pmix2 2>/dev/null | head -1)
  [[ -d $root/usr ]] && env_lines+="
export OPAL_PREFIX=$root/usr"
  [[ -n $pmix ]] && env_lines+="
export PMIX_INSTALL_PREFIX=$pmix PMIX_MCA_mca_base_component_path=$pmix/lib/pmix"
  for p in "$bin_dir/fracsweep" "$bin_dir/fracsweep_gpu_tests" "$mpiexec"; do
    printf '#!/bin/sh\n%s\nexec %s "$@"\n' "$env_lines" "$p" >"$wrap/$(basename "$p")"
    chmod +x "$wrap/$(basename "$p")"
  done
}

prepare_prebuilt() {
  local archive=$1/fracsweep-gpu.tar.xz root=/tmp/fracsweep-gpu
  [[ -f $archive ]] || { echo "gpu-check: $archive not found: make it with --pack $1" >&2; exit 2; }
  rm -rf "$root" && mkdir -p "$root" && tar -C "$root" -xJf "$archive"
  make_wrappers "$root" "$root/lib:$(torch_libs)" "$root/bin" "$root/usr/bin/orterun"
  gpu_tests=$wrap/fracsweep_gpu_tests
  [[ ! -d $1/pylib ]] || export PYTHONPATH=$(readlink -f "$1/pylib")${PYTHONPATH:+:$PYTHONPATH}
  echo "gpu-check: unpacked $(ls "$root/lib" | wc -l) libraries from $archive (${SECONDS} s)"
}

prepare_build() {
  local deps=/tmp/deps
  if [[ -n ${1:-} ]]; then
    echo "gpu-check: unpacking $(ls "$1"/*.deb | wc -l) packages into $deps"
    for f in "$1"/*.deb; do dpkg -x "$f" "$deps"; done
    export PATH=$deps/usr/bin:$PATH
    export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
    export OPAL_PREFIX=$deps/usr  # a relocated Open MPI finds its own files here
  fi
  local torch_prefix start=$SECONDS
  torch_prefix=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr" -DFRACSWEEP_WITH_NCCL=ON >build-gpu.configure.log
  NINJA_STATUS="[%f/%t %es] " cmake --build build-gpu -j "$(nproc)" \
    --target fracsweep fracsweep-train fracsweep_gpu_tests | sed -u -E 's/ .* (\S+)$/ \1/'
  build_s=$((SECONDS - start))
  make_wrappers "$PWD/build-gpu" "${LD_LIBRARY_PATH:-}" "$PWD/build-gpu" \
    "$(command -v mpiexec)"
  gpu_tests=$wrap/fracsweep_gpu_tests
}

# Many small processes on one GPU run side by side under MPS; without it they take
# turns. Used only where a client can start under it.
start_mps() {
  command -v nvidia-cuda-mps-control >/dev/null || { echo "gpu-check: no MPS (not installed)"; return 0; }
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  if nvidia-cuda-mps-control -d && timeout 60 python3 -c 'import torch; torch.ones(1, device="cuda").sum().item()'; then
    mps=on
    echo "gpu-check: MPS on"
  else
    echo quit | nvidia-cuda-mps-control 2>/dev/null || true
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    echo "gpu-check: MPS would not start; ranks take turns on the GPU"
  fi
}

stop_mps() {
  [[ $mps != on ]] || echo quit | nvidia-cuda-mps-control || true
}

# The GPU tests in 4 shards side by side; prints the shards' summary lines.
run_gpu_tests() {
  local limit=$1 i pids=()
  for i in 0 1 2 3; do
    GTEST_TOTAL_SHARDS=4 GTEST_SHARD_INDEX=$i timeout "$limit" "$gpu_tests" --gtest_brief=1 \
      >"$out/gpu-tests-$i.log" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  cat "$out"/gpu-tests-?.log >"$out/gpu-tests.log"
  rm -f "$out"/gpu-tests-?.log
}

run_fidelity() {
  local limit=$1
  echo "gpu-check: $fidelity_sweep on $fidelity_ranks ranks, stopped after $limit s"
  # SIGTERM: ranks checkpoint and stop; the ledger keeps what finished.
  timeout -s TERM -k 30 "$limit" "$wrap/orterun" --oversubscribe -np "$fidelity_ranks" \
    "$wrap/fracsweep" run "$fidelity_sweep" --log-level warn >"$out/fidelity.log" 2>&1 || true
  local run
  run=$(sed -n 's/^output: *//p' "$fidelity_sweep")
  "$wrap/fracsweep" report "$run" --table aasn-2 --format md,csv --no-curves \
    >"$out/fidelity-report.log" 2>&1 || true
  tar -czf "$out/fidelity-run.tar.gz" --exclude='*.pt' --exclude='*.pt.sum' \
    --exclude='heatmaps_*.h5' --exclude='*.png' --exclude=phantom.h5 "$run"
}

# ResNet-18 and TSCCN at 224x224, batch 64: fracsweep against PyTorch eager, each
# run given at most 75 s, none started after the script's --budget.
run_benchmarks() {
  local deadline=$1 model precision limit
  for model in resnet18 tsccn; do
    for precision in bf16 fp32; do
      limit=$((deadline - SECONDS < 75 ? deadline - SECONDS : 75))
      if [[ $limit -lt 20 ]]; then
        echo "machine: $model $precision not run: the budget was spent" >>"$out/bench-$model-$precision.log"
        continue
      fi
      timeout "$limit" python3 bench/train_vs_pytorch.py --binary "$wrap/fracsweep" \
        --model "$model" --device "$device" --precision "$precision" "${bench_size[@]}" \
        --repeats 1 --threads 4 --workers 6 \
        >"$out/bench-$model-$precision.log" 2>&1 || echo "(stopped or failed)" >>"$out/bench-$model-$precision.log"
    done
  done
  cat "$out"/bench-*.log >"$out/bench.log"
  rm -f "$out"/bench-*-*.log
}

# A model exported from PyTorch (fracsweep export, AOTInductor): the package compiled here,
# on the GPU, for ResNet-18 at 224x224, batch 64; one training step from the package
# against eager and torch.compile, bf16 then fp32 (bench/exported_vs_pytorch.py). Each
# precision gets at most 200 s (its compile included), none started after --budget.
run_exported_bench() {
  local deadline=$1 precision limit
  for precision in bf16 fp32; do
    limit=$((deadline - SECONDS < 200 ? deadline - SECONDS : 200))
    if [[ $limit -lt 60 ]]; then
      echo "exported $precision not run: the budget was spent" >"$out/exported-$precision.log"
      continue
    fi
    timeout -k 10 "$limit" python3 bench/exported_vs_pytorch.py --device "$device" \
      $([[ $precision == bf16 ]] && echo --bf16) "${exported_args[@]}" --recompile \
      --package "build-gpu/exported-$precision.pt2" >"$out/exported-$precision.log" 2>&1 ||
      echo "(stopped or failed)" >>"$out/exported-$precision.log"
  done
  cat "$out"/exported-*.log >"$out/exported.log"
}

# `fracsweep predict` against PyTorch eager inference of the same TSCCN checkpoint reading
# the same store with h5py (bench/predict_vs_pytorch.py), on the GPU; at most 120 s.
run_predict_bench() {
  local deadline=$1 limit
  limit=$((deadline - SECONDS < 120 ? deadline - SECONDS : 120))
  if [[ $limit -lt 40 ]]; then
    echo "predict benchmark not run: the budget was spent" >"$out/predict-bench.log"
    return 0
  fi
  timeout -k 10 "$limit" python3 bench/predict_vs_pytorch.py --binary "$wrap/fracsweep" \
    --device "$device" "${predict_args[@]}" --workdir build-gpu/predict \
    >"$out/predict-bench.log" 2>&1 || echo "(stopped or failed)" >>"$out/predict-bench.log"
}

# Sweeps per hour against Ray Tune on this GPU; see --sweep-budget in the header.
run_sweep_bench() {
  local budget=$1 half
  half=$((budget / 2))
  if [[ $half -lt 30 ]]; then
    echo "sweep benchmark not run: the budget was spent" >"$out/sweep-bench.log"
    return 0
  fi
  local name args
  for name in tsccn aasn; do
    local -n sweep_args="sweep_$name"
    timeout -k 10 $((half + 90)) python3 bench/sweep_vs_ray.py --gpu --binary "$wrap/fracsweep" \
      --mpirun "$wrap/orterun" "${sweep_args[@]}" "${sweep_extra[@]}" --budget "$half" \
      --workdir "build-gpu/sweep-$name" >"$out/sweep-bench-$name.log" 2>&1 ||
      echo "(stopped or failed)" >>"$out/sweep-bench-$name.log"
  done
  cat "$out"/sweep-bench-*.log >"$out/sweep-bench.log"
}

rehearse() {
  device=cpu
  sweep_tsccn=(--sweep examples/sweeps/tsccn-table3-tiny.yaml --patients 12 --patch-size 32
    --split-repeats 1 --epochs 1 --variants single-stream,tsccn --ranks-list 2,1)
  sweep_aasn=(--sweep examples/sweeps/aasn-table2-tiny.yaml --patients 20 --split-repeats 1
    --epochs 1 --variants aasn --ranks-list 1)
  sweep_extra=(--rehearse)
  fidelity_ranks=2
  bench_size=(--patch-size 64 --batch 8 --steps 2 --warmup 1)
  predict_args=(--patients 8 --patch-size 32 --repeats 1 --threads 2)
  exported_args=(--model tests/fixtures/exported/tiny_cnn.py --size 16 --batch 4 --threads 2
    --rounds 2 --steps 1)
  local toy=build-gpu/rehearse/aasn-fidelity-d0-gpu.yaml
  mkdir -p "$(dirname "$toy")"
  sed -e 's/images: 960/images: 40/' -e 's/epochs: 30/epochs: 1/' -e 's/device: cuda/device: cpu/' \
    -e 's/run_folds: \[0, 1, 2, 3, 4\]/run_folds: [0]/' \
    -e "s|^output: .*|output: $(dirname "$toy")/run|" "$fidelity_sweep" >"$toy"
  fidelity_sweep=$toy
}

# The table the call ends with: build, tests, sweep and benchmarks, then the details.
print_summary() {
  local tests_s=$1 fidelity=$2 fidelity_s=$3 bench_s=$4
  echo
  echo "## GPU check ($(date -u +%F), $(python3 -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU: a rehearsal")'))"
  echo
  echo "| what | result |"
  echo "|---|---|"
  echo "| build (s) | $build_s |"
  echo "| GPU tests (4 shards) | $(awk '/^\[  PASSED  \]/ {p += $4} /^\[  SKIPPED \]/ {s += $4} /^\[  FAILED  \].*tests?, listed/ {f += $4} /^\[==========\].*ran/ {r++} END {printf "%d passed, %d skipped, %d failed; %d of 4 shards ended", p, s, f, r}' "$out/gpu-tests.log") ($tests_s s) |"
  if [[ $fidelity -gt 0 ]]; then
    echo "| fidelity sweep | $(cat "$(sed -n 's/^output: *//p' "$fidelity_sweep")"/ledger.d/*.jsonl 2>/dev/null | grep -c '"event":"finished"') jobs finished, MPS $mps ($fidelity_s s) |"
  fi
  echo "| benchmarks (s) | $bench_s |"
  echo
  grep -hE '^(machine|\| )' "$out/bench.log" || true
  echo
  echo "exported model (bench/exported_vs_pytorch.py; ms per step, package vs eager and torch.compile):"
  grep -hE '^\{|not run|stopped' "$out/exported.log" || true
  echo
  echo "predict (bench/predict_vs_pytorch.py; images/s, fracsweep predict vs PyTorch eager):"
  grep -hE '^\{|not run|stopped' "$out/predict-bench.log" || true
  echo
  [[ -f $out/fidelity-report.log ]] && cat "$out/fidelity-report.log"
  grep -h -A3 -E 'FAILED|Failure' "$out/gpu-tests.log" | head -60 || true
  echo
  echo "sweeps per hour (bench/sweep_vs_ray.py --gpu, $sweep_s s):"
  grep -hE '^(\||GPU sweep|not run|ray is|AASN:|machine)' "$out/sweep-bench.log" || true
}

main() {
  local mode=build source="" fidelity=0 budget=560 sweep_budget=200
  out=build-gpu/out
  mps=off
  build_s=0
  sweep_s=0
  sweep_extra=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --pack) pack "${2:?usage: scripts/gpu-check.sh --pack DIR}"; exit 0 ;;
      --fetch-debs)
        mkdir -p "${2:?usage: scripts/gpu-check.sh --fetch-debs DIR}"
        (cd "$2" && apt-get download "${debs[@]}") && du -sh "$2"; exit 0 ;;
      --prebuilt) mode=prebuilt; source=${2:?--prebuilt DIR}; shift 2 ;;
      --debs) source=${2:?--debs DIR}; shift 2 ;;
      --fidelity) fidelity=${2:?--fidelity SECONDS}; shift 2 ;;
      --out) out=${2:?--out DIR}; shift 2 ;;
      --budget) budget=${2:?--budget SECONDS}; shift 2 ;;
      --sweep-budget) sweep_budget=${2:?--sweep-budget SECONDS}; shift 2 ;;
      --rehearse) rehearse; shift ;;
      *) echo "gpu-check: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
  done
  mkdir -p "$out"
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE
  python3 -c 'import torch; print("gpu-check: torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")'
  if [[ $mode == prebuilt ]]; then prepare_prebuilt "$source"; else prepare_build "$source"; fi
  "$wrap/fracsweep" version
  start_mps

  local start=$SECONDS fidelity_pid="" dmon_pid=""
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    nvidia-smi dmon -s um -d 5 >"$out/gpu-use.log" 2>&1 &
    dmon_pid=$!
  fi
  if [[ $fidelity -gt 0 ]]; then
    run_fidelity "$fidelity" &
    fidelity_pid=$!
  fi
  run_gpu_tests 300
  local tests_s=$((SECONDS - start))
  [[ -z $fidelity_pid ]] || wait "$fidelity_pid" || true
  local fidelity_s=$((SECONDS - start))
  [[ -z $dmon_pid ]] || kill "$dmon_pid" 2>/dev/null || true
  start=$SECONDS
  local left=$((budget - SECONDS - 60))
  run_sweep_bench $((sweep_budget < left ? sweep_budget : left))
  sweep_s=$((SECONDS - start))
  stop_mps
  start=$SECONDS
  run_benchmarks "$budget"
  run_exported_bench "$budget"
  run_predict_bench "$budget"
  local bench_s=$((SECONDS - start))

  print_summary "$tests_s" "$fidelity" "$fidelity_s" "$bench_s"
}

main "$@"
