#!/usr/bin/env bash
# Re-makes models/thigh-phantom-demo: synthetic thigh phantoms of domain A (seeds 12-15 for
# training, 11 for validation, 16 slices of 432 x 432 at 1.037 mm each), trained by the
# make_demo_model example (the original's Thigh design: L/R split, 12 muscles, here at 2.074 mm
# and base width 8), then the Dice and learning-loop measurement (learning_loop example) into
# WORK_DIR. Usage: models/make-thigh-phantom-demo.sh [WORK_DIR] [EPOCHS]
# (~40-60 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
epochs="${2:-60}"
out=models/thigh-phantom-demo
export CARGO_INCREMENTAL=0
cargo build -q -p dafne-ml --example make_demo_model --example learning_loop
mkdir -p "$work"
target/debug/examples/make_demo_model --out "$work/model" --epochs "$epochs" \
  --train-seeds 12,13,14,15 --val-seed 11 --slices 16 --width 8
rm -rf "$out.new" && mkdir -p "$out.new"
cp "$work/model/manifest.json" "$work/model/weights.safetensors" "$work/model/loss.csv" "$work/model/loss.png" "$out.new/"
cp "$out/README.md" "$out.new/" 2>/dev/null || true
rm -rf "$out" && mv "$out.new" "$out"
target/debug/examples/learning_loop --model "$out" --out "$work/learning-loop"
echo "model in $out (README.md: update its figures from $work/learning-loop/*.md)"
