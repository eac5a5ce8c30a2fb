#!/usr/bin/env bash
# Runs every test: formatting, lints, the dependency-direction check, the UI's type check and
# unit tests, the Rust test suite (the app's IPC bindings included), the comparisons with
# reference tools (nibabel, dcm2niix, the original's code), the end-to-end tests of the real
# desktop app under Xvfb, and a short fuzz smoke run.
# Installs what is missing first (scripts/setup.sh --test --app).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

bash scripts/setup.sh --test --app
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

# The app embeds the built UI (ui/dist), so the UI is built before any cargo build.
echo "== UI: type check, build, unit tests"
(cd ui && npm run --silent build && npm test --silent)

echo "== format"
cargo fmt --all -- --check

echo "== dependency directions"
bash scripts/check-deps.sh

echo "== clippy"
cargo clippy --workspace --all-targets -q -- -D warnings

echo "== cargo test"
cargo test --workspace

echo "== reference comparisons (nibabel, dcm2niix)"
cargo build -q -p dafne-cli
DAFNE_BIN="$PWD/target/debug/dafne" .venv/bin/python -m pytest -q tests/reference

echo "== end-to-end: the real app under Xvfb"
cargo build -q -p dafne-app
bash scripts/e2e.sh --no-build

if [ "${DAFNE_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke (${DAFNE_FUZZ_SECONDS:-20} s per target)"
  bash scripts/fuzz.sh "${DAFNE_FUZZ_SECONDS:-20}"
fi
echo "== all tests passed"
