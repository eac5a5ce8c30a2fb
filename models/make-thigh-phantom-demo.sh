#!/usr/bin/env bash
# Re-makes models/thigh-phantom-demo: 3 synthetic thigh phantoms of domain A (seeds 11-13, 16
# slices of 432 x 432 at 1.037 mm each; the first is the validation set), then `dafne train`
# with the settings below, then the Dice and learning-loop measurement (learning_loop example).
# Usage: models/make-thigh-phantom-demo.sh [WORK_DIR]   (~20 min on 2 busy cores)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
out=models/thigh-phantom-demo
cargo build -q -p dafne-cli
mkdir -p "$work/bundles"
for seed in 11 12 13; do
  ./target/debug/dafne phantom "$work/bundles/thigh_a_seed$seed.npz" --slices 16 --size 432 --seed "$seed" --domain a
done
./target/debug/dafne train "$work/bundles" --out "$out" \
  --name "Thigh (phantom demo)" --epochs 10 --patience 4 --min-epochs 10 \
  --base-width 8 --levels 4 --max-input-px 128 --validation-fraction 0.34 --seed 1 --licence GPL-3.0-or-later \
  --description "PHANTOM demo model: trained on synthetic thigh phantoms (dafne phantom, domain A), not on MRI of people. For trying the app, never for real data."
cargo run -q -p dafne-ml --example learning_loop -- --model "$out" --out "$work/learning-loop"
echo "bundles and measurements in $work"
