#!/usr/bin/env bash
# The network benchmark, side by side in one session: the original's residual U-Net in Keras
# (../shared/bench/peer/bench_segnet.py --part keras: random weights, model.predict exactly as
# Dafne calls it, a tf.function call, batch 8; thigh 250² and leg 216²) and ours
# (crates/ml/examples/forward_time.rs: batches 1, 2, 8 of the same sizes), each under
# /usr/bin/time -v for its peak memory, then bench/ml/compare.py writes the ratios.
#
# Then the incremental-learning half: one training step (forward, the original's weighted loss,
# backward, Adam/AMSGrad) of the full-size thigh network, Keras's train_on_batch
# (../shared/bench/peer/bench_incremental.py --part keras: batches 8 and 5) before and after ours
# (crates/ml/examples/train_step_time.rs: batches 5 and 8), each under /usr/bin/time -v, then
# bench/ml/compare_incremental.py writes the ratios (summary_incremental.md).
#
# Usage: bench/ml/run.sh [REPEAT] [--incremental]   outputs in bench/out/ml/ (summary*.md, *.json,
#        *.log); --incremental runs only the training-step half.
#
# Environment: bench/.venv-ml (gitignored; made here: tensorflow-cpu + numpy, scipy, pydicom,
# nibabel for the peer's make_inputs.py). The PyTorch twin needs the CPU wheel from
# download.pytorch.org (the PyPI wheel is the CUDA build, ~3 GB with its libraries): it runs
# only when that index is reachable. Inputs are generated into a scratch folder outside the
# repository and deleted at the end. Not timed here: the peer's whole-slice pipeline (needs the
# apply pipeline and the dafne-dl wheel). Without the dafne-dl wheel (DAFNE_DL_SRC)
# bench_incremental.py uses its keras.ops rewrite of Dafne's weighted loss (same arithmetic).
set -euo pipefail
cd "$(dirname "$0")/../.."
repeat=5
only_incremental=0
for arg in "$@"; do
  case "$arg" in
    --incremental) only_incremental=1 ;;
    *) repeat="$arg" ;;
  esac
done
peer="${DAFNE_PEER_BENCH:-$PWD/../shared/bench/peer}"
out=bench/out/ml
venv=bench/.venv-ml
mkdir -p "$out"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import tensorflow, pydicom, nibabel, scipy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check tensorflow-cpu numpy scipy pydicom nibabel
fi
torch_ok=0
if [ "$only_incremental" = 1 ]; then
  :
elif "$venv/bin/python" -c "import torch" 2>/dev/null; then
  torch_ok=1
elif curl -fsS -m 15 -o /dev/null https://download.pytorch.org/whl/cpu/torch/ 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check torch --index-url https://download.pytorch.org/whl/cpu && torch_ok=1
else
  echo "download.pytorch.org is not reachable: the PyTorch twin is skipped" >&2
fi

data=$(mktemp -d /tmp/dafne-bench-ml.XXXXXX)
trap 'rm -rf "$data"' EXIT
echo "inputs: make_inputs.py into $data" >&2
"$venv/bin/python" "$peer/make_inputs.py" --out "$data" >/dev/null 2>"$out/make_inputs.log"

# Incremental learning: Keras's train step, ours, Keras again (the machine's load changes).
incremental() {
  CARGO_INCREMENTAL=0 cargo build -q -p dafne-ml --example train_step_time
  local keras_il=("$venv/bin/python" "$peer/bench_incremental.py" --data "$data" --part keras --repeat 3)
  echo "incremental: keras (1/2)..." >&2
  /usr/bin/time -v -o "$out/incremental_keras1.time" "${keras_il[@]}" \
    >"$out/incremental_keras1.json" 2>"$out/incremental_keras1.log"
  for b in 5 8; do
    echo "incremental: ours, batch $b..." >&2
    /usr/bin/time -v -o "$out/incremental_rust_b$b.time" target/debug/examples/train_step_time \
      --steps 4 --batch "$b" --json >"$out/incremental_rust_b$b.log" 2>&1
    tail -n 1 "$out/incremental_rust_b$b.log" >"$out/incremental_rust_b$b.json"
  done
  echo "incremental: keras (2/2)..." >&2
  /usr/bin/time -v -o "$out/incremental_keras2.time" "${keras_il[@]}" \
    >"$out/incremental_keras2.json" 2>"$out/incremental_keras2.log"
  "$venv/bin/python" bench/ml/compare_incremental.py "$out" | tee "$out/summary_incremental.md"
}
if [ "$only_incremental" = 1 ]; then
  incremental
  exit 0
fi

CARGO_INCREMENTAL=0 cargo build -q -p dafne-ml --example forward_time
rust=(target/debug/examples/forward_time "$repeat" --batches 1,2,8 --leg --no-narrow --json)
keras=("$venv/bin/python" "$peer/bench_segnet.py" --data "$data" --part keras --skip-pipeline
       --repeat "$repeat" --repeat8 3)

# Keras, ours, then Keras again: the machine's load changes; the summary shows every run.
echo "keras (1/2)..." >&2
/usr/bin/time -v -o "$out/keras1.time" "${keras[@]}" >"$out/keras1.json" 2>"$out/keras1.log"
echo "ours..." >&2
/usr/bin/time -v -o "$out/rust.time" "${rust[@]}" >"$out/rust.log" 2>&1
tail -n 1 "$out/rust.log" >"$out/rust.json"
echo "keras (2/2)..." >&2
/usr/bin/time -v -o "$out/keras2.time" "${keras[@]}" >"$out/keras2.json" 2>"$out/keras2.log"
# CPU seconds per forward, Keras and ours (ours are in rust.json): steadier than wall time when
# the machine is shared.
echo "keras CPU time..." >&2
"$venv/bin/python" bench/ml/keras_cpu_time.py "$peer" "$repeat" >"$out/keras_cpu.json" 2>"$out/keras_cpu.log"
if [ "$torch_ok" = 1 ]; then
  torch=("$venv/bin/python" "$peer/bench_segnet.py" --data "$data" --part torch --repeat "$repeat" --repeat8 3)
  /usr/bin/time -v -o "$out/torch.time" "${torch[@]}" >"$out/torch.json" 2>"$out/torch.log"
fi

"$venv/bin/python" bench/ml/compare.py "$out" | tee "$out/summary.md"
incremental
