#!/usr/bin/env bash
# Installs what fracsweep needs (only what is missing), then configures and
# builds it (Release) into build/, showing the build's progress. Safe to run
# again: a finished set-up costs a few seconds.
#
#   scripts/setup.sh [--with-bench]   --with-bench adds the Python peers the benchmarks use
#
# Phases: Debian packages (apt) -> LibTorch 2.11 in the project's virtual
# environment (pip) -> CMake configure -> build.
#
# Environment:
#   FRACSWEEP_VENV        the virtual environment (default: .venv in the checkout)
#   FRACSWEEP_WHEELS      where the downloaded wheels are kept (default ~/.cache/fracsweep/wheels)
#   FRACSWEEP_CCACHE_DIR  ccache's cache, shared by every checkout on the machine (default
#                         ~/.cache/fracsweep/ccache; `rm -rf` it to start afresh)
#   FRACSWEEP_LIBTORCH    a LibTorch to build against instead of the venv's (a folder
#                         holding share/cmake/Torch, e.g. a cluster's own install)
#   FRACSWEEP_BUILD_JOBS  parallel compile jobs (default 2)
#   FRACSWEEP_BUILD_DIR   the build folder (default build)
#   FRACSWEEP_SANITIZE    address or thread: an instrumented build (scripts/test.sh --sanitize)
#   FRACSWEEP_BUILD_TARGETS  build only these targets (space-separated) and what they need
set -euo pipefail
cd "$(dirname "$0")/.."

readonly torch_version=2.11.0
with_bench=0
[[ "${1:-}" == "--with-bench" ]] && with_bench=1

sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)

apt_install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- Debian packages --------------------------------------------------------
packages=(cmake ninja-build g++ ccache pkg-config
          libopenmpi-dev openmpi-bin libhdf5-dev libdeflate-dev libpng-dev
          libboost-program-options-dev libboost-dev libfmt-dev libgtest-dev libyaml-cpp-dev
          libprotobuf-dev protobuf-compiler libcurl4-openssl-dev
          nlohmann-json3-dev libeigen3-dev slurm-wlm munge gnuplot-nox chromium
          clang libclang-rt-dev libinsighttoolkit5-dev
          texlive-latex-base texlive-latex-recommended poppler-utils)
# A python3 without venv/ensurepip (Debian's own) needs python3-venv.
python3 -c 'import venv, ensurepip' 2>/dev/null || packages+=(python3 python3-venv)
apt_install_missing "${packages[@]}"

# --- LibTorch ---------------------------------------------------------------
# The torch wheel carries the CUDA LibTorch (headers, libraries, TorchConfig.cmake)
# and the CUDA libraries it needs. The wheels are kept in a wheelhouse outside the
# checkout (the registry's answers may forbid pip's HTTP cache), so a second venv
# (a fresh clone, a deleted .venv) installs them without downloading them again.
venv=${FRACSWEEP_VENV:-.venv}
wheels=${FRACSWEEP_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/fracsweep/wheels}
venv_has() {  # venv_has MODULE [VERSION]
  "$venv/bin/python" - "$@" <<'EOF' 2>/dev/null
import importlib, sys
m = importlib.import_module(sys.argv[1])
sys.exit(len(sys.argv) > 2 and m.__version__.split("+")[0] != sys.argv[2])
EOF
}
if [[ -n "${FRACSWEEP_LIBTORCH:-}" ]]; then
  torch_prefix=$FRACSWEEP_LIBTORCH/share/cmake
  [[ -d "$torch_prefix/Torch" ]] || {
    echo "setup: FRACSWEEP_LIBTORCH=$FRACSWEEP_LIBTORCH holds no share/cmake/Torch;" \
         "point it at an unpacked LibTorch (the folder with include/, lib/, share/)" >&2
    exit 2; }
else
  [[ -x "$venv/bin/python" ]] || { echo "setup: creating $venv"; python3 -m venv "$venv"; }
  if ! venv_has torch "$torch_version"; then
    echo "setup: installing torch==$torch_version into $venv (about 3 GB on first download, kept in $wheels)"
    mkdir -p "$wheels"
    "$venv/bin/pip" download --disable-pip-version-check -q --dest "$wheels" "torch==$torch_version"
    "$venv/bin/pip" install --disable-pip-version-check --no-index --find-links "$wheels" \
      "torch==$torch_version"
  fi
  torch_prefix=$("$venv/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
fi
# pydicom's bundled DICOM files (MR, CT, big-endian, RLE-compressed) are the real DICOM
# that the ingest tests read and compare against pydicom's reading (tests/fixtures/ingest).
pydicom_version=3.0.2
[[ -x "$venv/bin/python" ]] || { echo "setup: creating $venv"; python3 -m venv "$venv"; }
venv_has pydicom "$pydicom_version" || {
  echo "setup: installing pydicom==$pydicom_version into $venv (test data)"
  "$venv/bin/pip" install --disable-pip-version-check -q "pydicom==$pydicom_version"; }
pydicom_data=$("$venv/bin/python" -c 'import os, pydicom.data as d; print(os.path.join(os.path.dirname(d.__file__), "test_files"))')
# TensorBoard and MLflow read what the jobs track (tests/tracking: TensorBoard's event
# reader, a real `mlflow server`); also what a person runs to look at a sweep.
tensorboard_version=2.21.0 mlflow_version=3.17.2
venv_has tensorboard "$tensorboard_version" && venv_has mlflow "$mlflow_version" || {
  echo "setup: installing tensorboard==$tensorboard_version mlflow==$mlflow_version into $venv"
  "$venv/bin/pip" install --disable-pip-version-check -q "tensorboard==$tensorboard_version" \
    "mlflow==$mlflow_version"; }
if ((with_bench)); then
  # ray[tune] and pyyaml: bench/sweep_vs_ray.py's peer (Ray Tune trials) and its sweep files.
  # torchvision: the full-size equality cases of exported models (its ResNet-18, DenseNet-121).
  bench=(numpy scipy pandas scikit-learn h5py "ray[tune]==2.60.0" pyyaml torchvision==0.26.0)
  venv_has numpy && venv_has scipy && venv_has pandas && venv_has sklearn && venv_has h5py &&
    venv_has ray && venv_has yaml && venv_has torchvision ||
    "$venv/bin/pip" install --disable-pip-version-check -q "${bench[@]}"
fi

# --- Configure and build ----------------------------------------------------
# "hits misses" of the cache so far, to say what one build took from it.
ccache_counts() {
  command -v ccache >/dev/null || { echo "0 0"; return; }
  CCACHE_DIR=$ccache_dir ccache --print-stats 2>/dev/null |
    awk '$1 ~ /^(direct_cache_hit|preprocessed_cache_hit)$/ {h += $2}
         $1 ~ /^cache_miss$/ {m += $2} END {print h + 0, m + 0}'
}
report_ccache() {  # report_ccache "HITS MISSES" (before) "HITS MISSES" (after)
  local b=($1) a=($2)
  local hits=$((a[0] - b[0])) misses=$((a[1] - b[1]))
  ((hits + misses)) || return 0
  echo "setup: ccache: $hits of $((hits + misses)) compilations from the cache ($ccache_dir)"
}
jobs=${FRACSWEEP_BUILD_JOBS:-2}
# Beside the wheels, outside any checkout: a second clone (CI's, a branch's) compiles
# only what differs from what some checkout here compiled before (CMakeLists.txt: ccache).
ccache_dir=${FRACSWEEP_CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fracsweep/ccache}
mkdir -p "$ccache_dir"
build=${FRACSWEEP_BUILD_DIR:-build}
sanitize=${FRACSWEEP_SANITIZE:-}
mkdir -p "$build"
if [[ ! -f $build/build.ninja ]] ||
   ! grep -qF "CMAKE_PREFIX_PATH:UNINITIALIZED=$torch_prefix" "$build/CMakeCache.txt" ||
   ! grep -qxF "FRACSWEEP_SANITIZE:STRING=$sanitize" "$build/CMakeCache.txt" ||
   ! grep -qxF "FRACSWEEP_PYDICOM_DATA:PATH=$pydicom_data" "$build/CMakeCache.txt" ||
   ! grep -qxF "FRACSWEEP_CCACHE_DIR:PATH=$ccache_dir" "$build/CMakeCache.txt"; then
  echo "setup: configuring $build/ against $torch_prefix${sanitize:+ (sanitizer: $sanitize)}"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix" \
        -DFRACSWEEP_SANITIZE="$sanitize" -DFRACSWEEP_PYDICOM_DATA:PATH="$pydicom_data" \
        -DFRACSWEEP_CCACHE_DIR:PATH="$ccache_dir" >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; echo "setup: configure failed (log: $build/configure.log)" >&2; exit 1; }
fi
# Ninja's status line, one per finished step: "[12/97 3m05s] Building CXX object ...".
# FRACSWEEP_BUILD_TARGETS (space-separated) builds those targets alone (and what they need).
targets=()
for t in ${FRACSWEEP_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
ccache_before=$(ccache_counts)
NINJA_STATUS="[%f/%t %es] " cmake --build "$build" -j "$jobs" "${targets[@]}" | sed -u -E 's/^(\[[0-9]+\/[0-9]+ [0-9.]+s\]) .* (\S+)$/\1 \2/'
test -x "$build/fracsweep" || { echo "setup: build failed: $build/fracsweep is missing" >&2; exit 1; }
report_ccache "$ccache_before" "$(ccache_counts)"
