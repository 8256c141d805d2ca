#!/usr/bin/env bash
# Screenshots of TensorBoard's scalar and hparams pages for a sweep's folder, taken with
# headless Chromium: starts the venv's `tensorboard --logdir SWEEP_DIR` on a free port,
# loads each page, writes OUT_PREFIX-scalars.png and OUT_PREFIX-hparams.png, and ends the
# TensorBoard it started (by its PID).
#
#   scripts/tensorboard_screenshot.sh runs/tsccn-table3-tiny docs/tensorboard-table3-tiny
set -euo pipefail
cd "$(dirname "$0")/.."
logdir=${1:?usage: $0 SWEEP_DIR OUT_PREFIX}
prefix=${2:?usage: $0 SWEEP_DIR OUT_PREFIX}
venv=${FRACSWEEP_VENV:-.venv}
chromium=$(command -v chromium || command -v chromium-browser) || {
  echo "tensorboard_screenshot: no chromium (scripts/setup.sh installs it)" >&2; exit 2; }
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/tensorboard" --logdir "$logdir" --host 127.0.0.1 --port "$port" >/dev/null 2>&1 &
tb=$!
trap 'kill "$tb" 2>/dev/null; wait "$tb" 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$port/data/runs" >/dev/null && break
  sleep 0.5
done
mkdir -p "$(dirname "$prefix")"
shot() {  # shot PAGE FILE WIDTH
  "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$3,1100" \
    --virtual-time-budget=15000 --screenshot="$2" "http://127.0.0.1:$port/?darkMode=false#$1" \
    >/dev/null 2>&1
  # A palette of 256 colours: the page is flat colours and lines, and the PNG a third the size.
  "$venv/bin/python" -c 'import sys; from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB"); im.quantize(256).save(sys.argv[1], optimize=True)' "$2" ||
    echo "tensorboard_screenshot: $2 kept unquantized (no Pillow in $venv)" >&2
  echo "wrote $2"
}
# The headline metrics and the loss, per epoch, every job a line.
shot "scalars&tagFilter=%5E(val%2F(aAUC%7CmAP%7CaSE%7CaSP)%7Closs%2Ftotal%7Ctime%2Fsamples_per_s)%24" \
  "$prefix-scalars.png" 1600
shot hparams "$prefix-hparams.png" 1900
