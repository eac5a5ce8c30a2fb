#!/usr/bin/env bash
# Regenerates docs/screenshots/ from the end-to-end tests of the real app: each main state
# (empty, loaded, painting, contour mode, preferences) as the Toolbox and the Image Window side
# by side. Usage: scripts/screenshots.sh [--no-run]  (--no-run: reuse tests/e2e/artifacts/)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = "--no-run" ] || bash scripts/e2e.sh
out=docs/screenshots
mkdir -p "$out"
a=tests/e2e/artifacts
status=0
while read -r name source; do
  toolbox="$a/$source-toolbox.png"
  image="$a/$source-image.png"
  if [ ! -f "$toolbox" ] || [ ! -f "$image" ]; then
    echo "screenshots: $source is missing (did the e2e step run?)" >&2
    status=1
    continue
  fi
  # Toolbox on the left, Image Window on the right, top-aligned on a dark background.
  convert "$toolbox" "$image" -background '#202020' -gravity north +append -strip "$out/$name.png"
  echo "screenshots: $out/$name.png"
done <<'LIST'
empty app/01-empty
loaded app/03-loaded
painting app/painting
contour-mode app/contour-mode
preferences files/preferences
LIST
exit "$status"
