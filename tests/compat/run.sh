#!/usr/bin/env bash
# Wire compatibility with fastapi-passkeys 0.1.2: its own software authenticator (installed from
# PyPI into a venv under target/) drives the quickstart example. See compat.py.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="$TARGET/compat-venv"
mkdir -p "$TARGET/compat"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import fastapi_passkeys' 2>/dev/null; then
  echo "compat: installing fastapi-passkeys into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/tests/compat/requirements.txt"
fi

# shellcheck source=../support/quickstart.sh
. "$ROOT/tests/support/quickstart.sh"
LOG="$TARGET/compat/server.log"
start_quickstart "$LOG"
if ! BASE_URL="$BASE_URL" "$VENV/bin/python" "$ROOT/tests/compat/compat.py"; then
  echo "compat: last lines of the server log ($LOG):"
  tail -n 30 "$LOG" | cut -c1-300 || true
  exit 1
fi
