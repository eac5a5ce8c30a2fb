#!/usr/bin/env bash
# Builds the command line and shows it at work on the bundled sample series: the series found,
# then a conversion to NIfTI (until the desktop app lands, this is the program to run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build -q --release -p dafne-cli
sample=samples/dicom/ge_pd_axial_oblique
./target/release/dafne info "$sample"
out="${TMPDIR:-/tmp}/dafne-sample.nii.gz"
./target/release/dafne convert "$sample" "$out"
./target/release/dafne info "$out"
