#!/usr/bin/env bash
# Installs what building and testing Dafne needs on Debian/Ubuntu, skipping what is present.
# Usage: scripts/setup.sh [--test] [--app]
#   --test adds the reference tools the test suite compares with;
#   --app adds what the desktop app (src-tauri + ui) builds with and its end-to-end tests run with.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_app=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --app) want_app=1 ;;
    *) echo "setup: unknown option $arg (expected --test, --app)" >&2; exit 2 ;;
  esac
done

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(build-essential cmake pkg-config)
if [ "$want_test" -eq 1 ]; then
  packages+=(python3-venv dcm2niix dicom3tools)
fi
if [ "$want_app" -eq 1 ]; then
  # Tauri v2 on WebKitGTK, and Xvfb + WebKitWebDriver (+ screenshots) for the end-to-end tests.
  packages+=(libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev
    libsoup-3.0-dev libxdo-dev libssl-dev xvfb webkit2gtk-driver dbus-x11 xdotool imagemagick)
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: Rust is missing; installing it with rustup (https://rustup.rs)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt -c clippy
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

if [ "$want_test" -eq 1 ]; then
  # Reference implementations the tests compare against (test-time only; the product needs no Python).
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import nibabel, pydicom, pytest, scipy, skimage, SimpleITK, highdicom, dcmqi" 2>/dev/null; then
    echo "setup: creating .venv with the Python reference tools"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r tests/reference/requirements.txt
  fi
  # The original Dafne itself, whose spline, tracing and snapping functions the contour tests
  # run module by module (its own dependencies are not needed, hence --no-deps).
  if ! .venv/bin/python -c "import importlib.metadata as m; m.version('dafne')" 2>/dev/null; then
    .venv/bin/pip install -q --disable-pip-version-check --no-deps dafne==2.1.0a0
  fi
  if ! command -v cargo-fuzz >/dev/null 2>&1 && [ "${DAFNE_SKIP_FUZZ:-0}" != 1 ]; then
    echo "setup: installing cargo-fuzz"
    cargo install -q --locked cargo-fuzz
  fi
fi

if [ "$want_app" -eq 1 ]; then
  # The UI's build tools and the Tauri CLI (npm's @tauri-apps/cli ships a prebuilt binary;
  # `cargo install tauri-cli` takes ~40 min here).
  if [ ! -x ui/node_modules/.bin/tauri ] || [ ! -x ui/node_modules/.bin/vite ]; then
    echo "setup: installing the UI's npm packages"
    (cd ui && npm ci --no-audit --no-fund)
  fi
  if ! command -v tauri-driver >/dev/null 2>&1; then
    echo "setup: installing tauri-driver (~3 min)"
    cargo install -q --locked tauri-driver
  fi
fi
