#!/usr/bin/env bash
# The whole per-slice AutoSegment pipeline side by side, same slice, same session: the
# original's (../shared/bench/peer/bench_segnet.py --part keras: a mirror of coscia_apply with
# Dafne's own padorcut and split_mirror from the dafne-dl wheel, SimpleITK N4 8 × 50, two Keras
# predicts) and ours (crates/ml/examples/pipeline_time.rs: resample, our N4, split_mirror, both
# crops in one batch, back to the slice grid), both the full-size Thigh network with random
# weights on slice 40 of make_inputs.py's volume.npy, 432² at 1.037 mm.
#
# Usage: bench/ml/pipeline.sh [REPEAT]   outputs in bench/out/ml/pipeline_{keras,rust}.{json,log}
# Ours is the release build (what the installers ship); DAFNE_BENCH_PROFILE=dev times the dev
# build that `scripts/run.sh` and the tests use.
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
profile="${DAFNE_BENCH_PROFILE:-release}"
case "$profile" in
  release) CARGO_INCREMENTAL=0 cargo build -q --release -p dafne-ml --example pipeline_time; bin=target/release/examples/pipeline_time ;;
  dev) CARGO_INCREMENTAL=0 cargo build -q -p dafne-ml --example pipeline_time; bin=target/debug/examples/pipeline_time ;;
  *) echo "DAFNE_BENCH_PROFILE must be release or dev" >&2; exit 2 ;;
esac

# Ours runs before and after the original's, and the slower of the two is compared: this
# machine's speed drifts by up to a third over minutes.
echo "ours ($profile build)..." >&2
"$bin" "$data" --slice 40 --repeat "$repeat" >"$out/pipeline_rust_before.json" 2>"$out/pipeline_rust_before.log"
echo "original's pipeline (Keras)..." >&2
"$venv/bin/python" "$peer/bench_segnet.py" --data "$data" --part keras --skip-leg --repeat 1 --repeat8 "$repeat" \
  --dafne-dl-src "$PWD/$dl" >"$out/pipeline_keras.json" 2>"$out/pipeline_keras.log"
echo "ours again ($profile build)..." >&2
"$bin" "$data" --slice 40 --repeat "$repeat" >"$out/pipeline_rust.json" 2>"$out/pipeline_rust.log"
PROFILE_NAME="$profile" "$venv/bin/python" - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
def last_json(name):
    return json.loads(open(os.path.join(out, name)).read().strip().splitlines()[-1])
k = last_json("pipeline_keras.json")
runs = [last_json("pipeline_rust_before.json"), last_json("pipeline_rust.json")]
if "pipeline_error" in k:
    sys.exit("the original's pipeline failed: " + k["pipeline_error"])
t = k["timings"]
orig, n4 = t["dafne_thigh_slice_pipeline"]["median_ms"], t["n4_biascorrection"]["median_ms"]
r = max(runs, key=lambda r: r["pipeline_median_ms"])
print("| per slice | original (Keras, SimpleITK N4) | ours (slower of before/after) | ours / original |")
print("|---|---:|---:|---:|")
print(f"| whole pipeline | {orig / 1e3:.2f} s | {r['pipeline_median_ms'] / 1e3:.2f} s | {r['pipeline_median_ms'] / orig:.3f} |")
print(f"| N4 bias correction | {n4 / 1e3:.2f} s | {r['n4_median_ms'] / 1e3:.2f} s | {r['n4_median_ms'] / n4:.3f} |")
print(f"| forward, both crops | {2 * t['keras_thigh_predict_b1']['median_ms'] / 1e3:.2f} s (2 predicts) | {r['forward_two_crops_median_ms'] / 1e3:.2f} s (one batch of 2) | {r['forward_two_crops_median_ms'] / (2 * t['keras_thigh_predict_b1']['median_ms']):.3f} |")
print(f"\nours before / after the original's: {runs[0]['pipeline_median_ms'] / 1e3:.2f} s / {runs[1]['pipeline_median_ms'] / 1e3:.2f} s")
print(f"ours: {os.environ.get('PROFILE_NAME', '?')} build; load average before the original's pipeline: {t['dafne_thigh_slice_pipeline'].get('loadavg_before')}")
PY
