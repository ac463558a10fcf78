#!/usr/bin/env bash
# Real-browser end-to-end tests of the quickstart example (Debian Chromium + virtual authenticator).
# Installs what is missing (chromium, node modules), builds and starts the example on a free port in a
# temporary directory, runs tests/e2e/e2e.js against it and always stops the server.
# Screenshots and the server log go to target/e2e/. Exit code is non-zero if any scenario fails.
# Environment: E2E_ONLY=<scenario> runs one scenario; E2E_VERBOSE=1 prints every click and its result;
# E2E_SERVER_BIN=<path> skips the cargo build and tests that server binary instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
E2E="$ROOT/tests/e2e"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET/e2e"
mkdir -p "$OUT"
rm -f "$OUT"/*.png

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

if [ ! -x /usr/bin/chromium ]; then
  echo "e2e: installing chromium (Debian package)"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "e2e: node and npm are needed (Node.js >= 20)" >&2
  exit 1
fi
if [ ! -d "$E2E/node_modules/playwright-core" ]; then
  echo "e2e: npm ci"
  (cd "$E2E" && npm ci --no-audit --no-fund)
fi

# shellcheck source=../support/quickstart.sh
. "$ROOT/tests/support/quickstart.sh"
LOG="$OUT/server.log"
QUICKSTART_BIN="${E2E_SERVER_BIN:-}" start_quickstart "$LOG"

# The browser must use localhost (the RP id), not 127.0.0.1.
rc=0
BASE_URL="$BASE_URL" E2E_OUT="$OUT" node "$E2E/e2e.js" 2>&1 | tee "$OUT/e2e.log" || rc=$?
if [ "$rc" != 0 ]; then
  echo "e2e: last lines of the server log ($LOG):"
  tail -n 40 "$LOG" | cut -c1-300 || true
  echo "e2e: screenshots in $OUT"
  grep -E '^(FAIL |[0-9]+ passed, [0-9]+ failed)' "$OUT/e2e.log" || echo "0 passed, 1 failed"
  exit "$rc"
fi
