#!/usr/bin/env bash
# The whole per-slice AutoSegment pipeline side by side, same slice, same session: the
# original's (../shared/bench/peer/bench_segnet.py --part keras: a mirror of coscia_apply with
# Dafne's own padorcut and split_mirror from the dafne-dl wheel, SimpleITK N4 8 × 50, two Keras
# predicts) and ours (crates/ml/examples/pipeline_time.rs: resample, our N4, split_mirror, both
# crops in one batch, back to the slice grid), both the full-size Thigh network with random
# weights on slice 40 of make_inputs.py's volume.npy, 432² at 1.037 mm.
#
# Usage: bench/ml/pipeline.sh [REPEAT]   outputs in bench/out/ml/pipeline_{keras,rust}.{json,log}
# Environment: bench/.venv-ml as bench/ml/run.sh makes it, plus SimpleITK and scikit-image;
# the dafne-dl 2.0.2b2 wheel (PyPI, no dependencies) is unpacked under bench/.venv-ml/wheels.
set -euo pipefail
cd "$(dirname "$0")/../.."
repeat="${1:-3}"
peer="${DAFNE_PEER_BENCH:-$PWD/../shared/bench/peer}"
out=bench/out/ml
venv=bench/.venv-ml
mkdir -p "$out"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import tensorflow, SimpleITK, skimage, pydicom, nibabel" 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check tensorflow-cpu numpy scipy pydicom nibabel SimpleITK scikit-image
fi
dl="$venv/wheels/dafne_dl-2.0.2b2-py3-none-any"
if [ ! -d "$dl" ]; then
  mkdir -p "$venv/wheels"
  "$venv/bin/pip" download -q --disable-pip-version-check --no-deps dafne-dl==2.0.2b2 -d "$venv/wheels"
  "$venv/bin/python" -m zipfile -e "$venv/wheels/dafne_dl-2.0.2b2-py3-none-any.whl" "$dl"
fi
data=$(mktemp -d /tmp/dafne-bench-pipeline.XXXXXX)
trap 'rm -rf "$data"' EXIT
"$venv/bin/python" "$peer/make_inputs.py" --out "$data" >/dev/null 2>"$out/pipeline_inputs.log"
CARGO_INCREMENTAL=0 cargo build -q -p dafne-ml --example pipeline_time

echo "original's pipeline (Keras)..." >&2
"$venv/bin/python" "$peer/bench_segnet.py" --data "$data" --part keras --skip-leg --repeat 1 --repeat8 "$repeat" \
  --dafne-dl-src "$PWD/$dl" >"$out/pipeline_keras.json" 2>"$out/pipeline_keras.log"
echo "ours..." >&2
target/debug/examples/pipeline_time "$data" --slice 40 --repeat "$repeat" >"$out/pipeline_rust.json" 2>"$out/pipeline_rust.log"
"$venv/bin/python" - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
k = json.loads(open(os.path.join(out, "pipeline_keras.json")).read().strip().splitlines()[-1])
r = json.loads(open(os.path.join(out, "pipeline_rust.json")).read().strip().splitlines()[-1])
if "pipeline_error" in k:
    sys.exit("the original's pipeline failed: " + k["pipeline_error"])
t = k["timings"]
orig, n4 = t["dafne_thigh_slice_pipeline"]["median_ms"], t["n4_biascorrection"]["median_ms"]
print("| per slice | original (Keras, SimpleITK N4) | ours | ours / original |")
print("|---|---:|---:|---:|")
print(f"| whole pipeline | {orig / 1e3:.2f} s | {r['pipeline_median_ms'] / 1e3:.2f} s | {r['pipeline_median_ms'] / orig:.3f} |")
print(f"| N4 bias correction | {n4 / 1e3:.2f} s | {r['n4_median_ms'] / 1e3:.2f} s | {r['n4_median_ms'] / n4:.3f} |")
print(f"\nload average before the original's pipeline: {t['dafne_thigh_slice_pipeline'].get('loadavg_before')}")
PY
