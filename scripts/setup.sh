#!/usr/bin/env bash
# Installs what fracsweep needs from Debian (only what is missing), then
# configures and builds it (Release) into build/. Safe to run again: a
# finished set-up costs a few seconds.
#
#   scripts/setup.sh [--with-bench]   --with-bench adds the Python oracles the benchmarks use
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build g++ ccache pkg-config
          libtorch-dev libopenmpi-dev openmpi-bin libhdf5-dev libdeflate-dev libpng-dev
          libboost-program-options-dev libboost-dev libfmt-dev libgtest-dev libyaml-cpp-dev
          nlohmann-json3-dev slurm-wlm munge gnuplot-nox chromium)
if [[ "${1:-}" == "--with-bench" ]]; then
  packages+=(python3-numpy python3-pandas python3-sklearn python3-h5py python3-torch)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

jobs=${FRACSWEEP_BUILD_JOBS:-2}
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build -j "$jobs" | grep -vE '^\[[0-9]+/[0-9]+\] ' || true
test -x build/fracsweep || { echo "setup: build failed: build/fracsweep is missing" >&2; exit 1; }
