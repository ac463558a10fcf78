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

if [ -n "${E2E_SERVER_BIN:-}" ]; then  # test another build of the server (it must honour PORT)
  BIN="$E2E_SERVER_BIN"
else
  echo "e2e: cargo build --example quickstart"
  (cd "$ROOT" && cargo build --example quickstart)
  BIN="$TARGET/debug/examples/quickstart"
fi
[ -x "$BIN" ] || { echo "e2e: $BIN was not built" >&2; exit 1; }

PORT="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
WORKDIR="$(mktemp -d)"
LOG="$OUT/server.log"
SERVER_PID=""
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORKDIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "e2e: starting $BIN on port $PORT in $WORKDIR"
(cd "$WORKDIR" && PORT="$PORT" RUST_LOG="${RUST_LOG:-info}" exec "$BIN") >"$LOG" 2>&1 &
SERVER_PID=$!

ready=""
for _ in $(seq 300); do  # up to 30 s
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "e2e: the quickstart server exited during start-up" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || (exec 3<>"/dev/tcp/localhost/$PORT") 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.1
done
[ -n "$ready" ] || { echo "e2e: the quickstart server did not listen on port $PORT within 30 s" >&2; exit 1; }

# The browser must use localhost (the RP id), not 127.0.0.1.
rc=0
BASE_URL="http://localhost:$PORT" E2E_OUT="$OUT" node "$E2E/e2e.js" 2>&1 | tee "$OUT/e2e.log" || rc=$?
if [ "$rc" != 0 ]; then
  echo "e2e: last lines of the server log ($LOG):"
  tail -n 40 "$LOG" | cut -c1-300 || true
  echo "e2e: screenshots in $OUT"
  grep -E '^(FAIL |[0-9]+ passed, [0-9]+ failed)' "$OUT/e2e.log" || echo "0 passed, 1 failed"
  exit "$rc"
fi
