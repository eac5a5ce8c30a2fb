#!/usr/bin/env bash
# Frame times in the real app (scroll, window/level, brush) on a 512 x 512 x 80 phantom with
# 30 ROIs, and the same redraws done the original's way (matplotlib) on the same slices.
# Usage: bench/app/run.sh [REPEAT]   (needs scripts/setup.sh --app; prints JSON lines)
set -euo pipefail
cd "$(dirname "$0")/../.."
repeat="${1:-60}"
out=bench/out/app
mkdir -p "$out"
(cd ui && npm run --silent build)
cargo build -q -p dafne-app -p dafne-cli
data="$out/phantom-512x80.nii"
masks="$out/phantom-512x80-labels.nii.gz"
[ -f "$masks" ] || ./target/debug/dafne phantom "$data" --masks "$masks" --size 512 --slices 80 --seed 3 >&2
DAFNE_BENCH_DATA="$PWD/$data" DAFNE_BENCH_MASKS="$PWD/$masks" DAFNE_BENCH_REPEAT="$repeat" bash scripts/e2e.sh --no-build bench/app/frame_time.mjs \
  | tee "$out/app.log"
if [ ! -x .venv-bench/bin/python ] || ! .venv-bench/bin/python -c "import matplotlib, nibabel" 2>/dev/null; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q --disable-pip-version-check numpy matplotlib nibabel
fi
.venv-bench/bin/python bench/app/peer_matplotlib.py "$data" --repeat "$repeat" | tee "$out/peer.json"
