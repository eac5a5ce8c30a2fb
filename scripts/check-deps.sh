#!/usr/bin/env bash
# Fails when a crate depends against the direction ARCHITECTURE.md allows
# (e.g. dafne-core pulling in tokio or dicom). Uses `cargo tree` on normal dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

# crate => forbidden dependency name patterns (regex on package names)
declare -A forbidden=(
  [dafne-core]='^(tauri|axum|candle-.*|tokio|dicom-.*|reqwest|nifti|zip|flate2)$'
  [dafne-io]='^(tauri|axum|candle-.*|tokio|reqwest)$'
  [dafne-roi]='^(tauri|axum|candle-.*|tokio|reqwest|dicom-.*)$'
  [dafne-session]='^(tauri|axum)$'
  [dafne-phantom]='^(tauri|axum|candle-.*|tokio|reqwest|dicom-.*)$'
  [dafne-cli]='^(tauri|axum)$'
  # ml reads the original's files through io and uses roi's N4/Otsu; never the app-level crates.
  [dafne-ml]='^(tauri|axum|dafne-(session|cli))$'
  # The app runs models in-process through dafne-session (which pulls in candle via dafne-ml);
  # it never builds networks itself: no direct candle dependency (checked below).
  [dafne-app]='^(axum)$'
)
status=0
for crate in "${!forbidden[@]}"; do
  cargo metadata --format-version 1 --no-deps >/dev/null 2>&1 || true
  if ! cargo tree -p "$crate" -e normal --prefix none --format '{p}' >/dev/null 2>&1; then
    continue  # crate not in the workspace (yet)
  fi
  bad=$(cargo tree -p "$crate" -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u | grep -E "${forbidden[$crate]}" || true)
  if [ -n "$bad" ]; then
    echo "check-deps: $crate must not depend on: $(echo "$bad" | tr '\n' ' ')" >&2
    status=1
  fi
done
# The app reaches candle only through dafne-session: no direct dependency on it.
if cargo tree -p dafne-app -e normal --depth 1 --prefix none --format '{p}' | awk '{print $1}' | grep -qE '^candle-'; then
  echo "check-deps: dafne-app must not depend on candle directly (go through dafne-session)" >&2
  status=1
fi
# The check must be able to fail: dafne-io is known to use dicom-object.
if ! cargo tree -p dafne-io -e normal --prefix none --format '{p}' | grep -q '^dicom-object '; then
  echo "check-deps: self-test failed: cargo tree did not list dafne-io's dicom-object" >&2
  status=1
fi
[ $status -eq 0 ] && echo "check-deps: dependency directions OK"
exit $status
