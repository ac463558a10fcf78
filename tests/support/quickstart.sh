# Sourced by tests/e2e/run.sh and tests/compat/run.sh: builds (unless QUICKSTART_BIN is set) and
# starts the quickstart example on a free port in a temporary directory, waits until it listens,
# and stops it (by pid) when the calling script exits.
# After `start_quickstart <log file>`: BASE_URL (http://localhost:<port>) and SERVER_PID are set.

SERVER_PID=""
QS_WORKDIR=""

stop_quickstart() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  [ -n "$QS_WORKDIR" ] && rm -rf "$QS_WORKDIR"
  exit "$rc"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_quickstart() {
  local log="$1" root target bin port ready=""
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  target="${CARGO_TARGET_DIR:-$root/target}"
  if [ -n "${QUICKSTART_BIN:-}" ]; then
    bin="$QUICKSTART_BIN"
  else
    # --all-features: the same build as `cargo test --all-features`, so nothing is rebuilt.
    echo "quickstart: cargo build --all-features --example quickstart"
    (cd "$root" && cargo build --all-features --example quickstart)
    bin="$target/debug/examples/quickstart"
  fi
  [ -x "$bin" ] || { echo "quickstart: $bin was not built" >&2; return 1; }
  port="$(free_port)"
  QS_WORKDIR="$(mktemp -d)"
  trap stop_quickstart EXIT
  trap 'exit 130' INT TERM
  echo "quickstart: starting $bin on port $port in $QS_WORKDIR"
  (cd "$QS_WORKDIR" && PORT="$port" RUST_LOG="${RUST_LOG:-info}" exec "$bin") >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do  # up to 30 s
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "quickstart: the server exited during start-up" >&2
      return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || (exec 3<>"/dev/tcp/localhost/$port") 2>/dev/null; then
      ready=1
      break
    fi
    sleep 0.1
  done
  [ -n "$ready" ] || { echo "quickstart: no listener on port $port within 30 s" >&2; return 1; }
  # Browsers and clients must use localhost (the rp id), not 127.0.0.1.
  BASE_URL="http://localhost:$port"
}
