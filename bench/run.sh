#!/usr/bin/env bash
# One command for the benchmarks: prepares the peers' Python environment and inputs, then runs,
# in the same session and on the same files,
#   load:       the original Dafne's loader, pydicom, SimpleITK and nibabel, and our loader;
#   morphology: scipy.ndimage / skimage as the original's mask tools call them, and dafne-roi;
#   stats:      ROI statistics as the original's saveStats and three numpy ways, and dafne-roi;
# (peers in ../shared/bench/peer) and prints the ratios.
# Usage: bench/run.sh [REPEAT] [all|load|morphology|stats]   (outputs in bench/out/)
# The peer's 80-slice loops (area opening/closing take ~25 s each) run
# DAFNE_PEER_REPEAT3D times (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
repeat="${1:-5}"
part="${2:-all}"
case "$part" in all|load|morphology|stats) ;; *) echo "usage: bench/run.sh [REPEAT] [all|load|morphology|stats]" >&2; exit 2;; esac
peer="${DAFNE_PEER_BENCH:-$PWD/../shared/bench/peer}"
out=bench/out
mkdir -p "$out"

bash scripts/setup.sh --test >/dev/null
if [ ! -x .venv-bench/bin/python ] || ! .venv-bench/bin/python -c "import pydicom, SimpleITK, nibabel, voxel, scipy" 2>/dev/null; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q --disable-pip-version-check numpy scipy scikit-image pydicom SimpleITK nibabel ormir-pyvoxel
fi
wheel_dir="$out/wheels"
src="$wheel_dir/dafne_dicomutils-0.2.1-py3-none-any"
if [ ! -d "$src" ]; then
  .venv-bench/bin/pip download -q --no-deps dafne-dicomutils==0.2.1 -d "$wheel_dir"
  .venv-bench/bin/python -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$wheel_dir"/dafne_dicomutils-0.2.1-*.whl "$src"
fi
export DAFNE_DICOMUTILS_SRC="$PWD/$src"
if [ ! -f "$out/inputs/manifest.json" ]; then
  .venv-bench/bin/python "$peer/make_inputs.py" --out "$out/inputs" >&2
fi

cargo build -q --release -p dafne-bench
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE || true
if [ "$part" = all ] || [ "$part" = load ]; then
  echo "bench: our loader" >&2
  ./target/release/dafne-bench load --data "$out/inputs" --repeat "$repeat" > "$out/dafne.json"
  echo "bench: peers (DICOM)" >&2
  .venv-bench/bin/python "$peer/bench_dicom_load.py" --data "$out/inputs" --repeat "$repeat" --cold-repeat 1 > "$out/peer_dicom.json"
  echo "bench: peers (NIfTI)" >&2
  .venv-bench/bin/python "$peer/bench_nifti.py" --data "$out/inputs" --repeat "$repeat" > "$out/peer_nifti.json"
  echo "bench: our loader again (load may have changed while the peers ran)" >&2
  ./target/release/dafne-bench load --data "$out/inputs" --repeat "$repeat" > "$out/dafne2.json"
fi
if [ "$part" = all ] || [ "$part" = morphology ]; then
  echo "bench: our morphology" >&2
  ./target/release/dafne-bench morphology --data "$out/inputs" --repeat "$repeat" > "$out/dafne_morphology.json"
  echo "bench: peer morphology (scipy, skimage)" >&2
  .venv-bench/bin/python "$peer/bench_morphology.py" --data "$out/inputs" --repeat "$repeat" \
    --repeat3d "${DAFNE_PEER_REPEAT3D:-1}" > "$out/peer_morphology.json"
  echo "bench: our morphology again" >&2
  ./target/release/dafne-bench morphology --data "$out/inputs" --repeat "$repeat" > "$out/dafne_morphology2.json"
fi
if [ "$part" = all ] || [ "$part" = stats ]; then
  echo "bench: our ROI statistics" >&2
  ./target/release/dafne-bench stats --data "$out/inputs" --repeat "$repeat" > "$out/dafne_stats.json"
  echo "bench: peer ROI statistics (numpy)" >&2
  .venv-bench/bin/python "$peer/bench_roi_stats.py" --data "$out/inputs" --repeat "$repeat" > "$out/peer_stats.json"
  echo "bench: our ROI statistics again" >&2
  ./target/release/dafne-bench stats --data "$out/inputs" --repeat "$repeat" > "$out/dafne_stats2.json"
fi
python3 bench/compare.py "$out" "$part"
