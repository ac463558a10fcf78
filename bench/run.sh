#!/usr/bin/env bash
# One benchmark run on this machine; writes bench/RESULTS.md (see bench/README.md).
#
# Needs: PostgreSQL at 127.0.0.1:5432 (user postgres), Redis at 127.0.0.1:6379, python3 (venv),
# openssl, taskset, and the package registries (crates.io, PyPI) on the first run.
# Every server runs on core 0 (`taskset -c 0`), the load generator on core 1.
# Knobs: BENCH_DURATION (s per load run, default 15), BENCH_CONCURRENCY (32), BENCH_USERS (256),
# BENCH_SOAK (1000000 begin calls, in two rounds), BENCH_SETTLE (s after each round, default 68 =
# TTL 5 + grace 60 + margin), BENCH_SKIP_PY=1 (skip fastapi-passkeys), BENCH_OUT (scratch dir).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TERM_COLOR=never
OUT=${BENCH_OUT:-$CARGO_TARGET_DIR/bench-run}
DURATION=${BENCH_DURATION:-15}
CONC=${BENCH_CONCURRENCY:-32}
USERS=${BENCH_USERS:-256}
SOAK=${BENCH_SOAK:-1000000}
SETTLE=${BENCH_SETTLE:-68}
PORT_RS=${BENCH_PORT_RS:-18080}
PORT_PY=${BENCH_PORT_PY:-18000}
RUN_ID=$$
DB=passkeys_bench_$RUN_ID
PREFIX=bench:$RUN_ID:
REDIS_DB=${BENCH_REDIS_DB:-9}
REDIS_URL=redis://127.0.0.1:6379/$REDIS_DB
PG="psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qtA"
FEATURES=testing,session,redis,postgres

LOADGEN=$CARGO_TARGET_DIR/release/examples/loadgen
SERVER=$CARGO_TARGET_DIR/release/examples/bench_server
VENV=$CARGO_TARGET_DIR/bench-venv
T0=$(date +%s)

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.txt "$OUT"/*.log
PIDS=()
DB_MADE=0
step() {
  printf '\n==> [%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"
  printf '%s\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$*" >>"$OUT/loadavg.txt"
}

stop_all() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() {
  stop_all
  if [ "$DB_MADE" = 1 ]; then
    for db in "${DB}_rs" "${DB}_py" "${DB}_crit"; do
      $PG -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
  fi
  redis-cli -h 127.0.0.1 -n "$REDIS_DB" --scan --pattern "$PREFIX*" 2>/dev/null \
    | xargs -r -n 1000 redis-cli -h 127.0.0.1 -n "$REDIS_DB" DEL >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME PORT CMD...: starts CMD on core 0, logs to $OUT/NAME.log, waits for the port.
start_server() {
  local name=$1 port=$2
  shift 2
  taskset -c 0 "$@" >"$OUT/$name.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "server $name did not come up:" >&2
  cat "$OUT/$name.log" >&2
  exit 1
}

# load NAME PORT ARGS...: the load generator on core 1 against the server just started.
load() {
  local name=$1 port=$2
  shift 2
  timeout 300 taskset -c 1 "$LOADGEN" run --base "http://127.0.0.1:$port" \
    --origin "http://localhost:$port" --users "$USERS" --concurrency "$CONC" \
    --duration "$DURATION" --warmup 3 --pid "$SERVER_PID" --label "$name" \
    --json "$OUT/$name.json" "$@" | tee -a "$OUT/load.txt"
}

half_rate() { python3 -c "import json,sys; print(max(1.0, json.load(open(sys.argv[1]))['throughput'] / 2))" "$1"; }

step "services"
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not running at 127.0.0.1:5432" >&2; exit 1; }
redis-cli -h 127.0.0.1 ping >/dev/null || { echo "Redis is not running at 127.0.0.1:6379" >&2; exit 1; }
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || echo "warning: fewer than 2 cores; server and load generator share one" >&2

step "build (release)"
timeout 1800 cargo build --release --no-default-features --features "$FEATURES" --example loadgen --example bench_server
timeout 1800 cargo bench --no-run --no-default-features --features "$FEATURES" --bench ceremonies --bench stores 2>&1 | tail -3

step "databases ${DB}_rs, ${DB}_py, ${DB}_crit"
DB_MADE=1
for db in "${DB}_rs" "${DB}_py" "${DB}_crit"; do $PG -c "CREATE DATABASE $db" >/dev/null; done

step "criterion micro-benchmarks (core 0)"
rm -rf "$CARGO_TARGET_DIR/criterion"
timeout 300 taskset -c 0 cargo bench --no-default-features --features "$FEATURES" --bench ceremonies 2>&1 \
  | tee "$OUT/criterion.txt" | grep -E '^[a-z_0-9/]+ *$|time:' || true
REDIS_URL=$REDIS_URL BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:5432/${DB}_crit" timeout 300 taskset -c 0 cargo bench --no-default-features --features "$FEATURES" --bench stores 2>&1 \
  | tee -a "$OUT/criterion.txt" | grep -E '^[a-z_0-9/]+ *$|time:|skipping' || true

step "openssl speed ecdsap256 (core 0)"
timeout 120 taskset -c 0 openssl speed -seconds 3 ecdsap256 2>/dev/null | tee "$OUT/openssl.txt" | tail -2

step "(a) actix-passkeys, in-memory stores"
start_server rs-memory "$PORT_RS" env BENCH_STORE=memory PORT="$PORT_RS" "$SERVER"
load rs-memory-username "$PORT_RS" --mode username
load rs-memory-usernameless "$PORT_RS" --mode usernameless
stop_all

step "(b) actix-passkeys, PostgreSQL credentials + Redis challenges"
start_server rs-pg "$PORT_RS" env BENCH_STORE=pg PORT="$PORT_RS" REDIS_URL="$REDIS_URL" \
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/${DB}_rs" BENCH_REDIS_PREFIX="${PREFIX}rs:" "$SERVER"
load rs-pg-username "$PORT_RS" --mode username
load rs-pg-usernameless "$PORT_RS" --mode usernameless
load rs-pg-half "$PORT_RS" --mode username --rate "$(half_rate "$OUT/rs-pg-username.json")"
stop_all

if [ "${BENCH_SKIP_PY:-0}" != 1 ]; then
  step "python venv (PyPI): bench/requirements.txt"
  [ -x "$VENV/bin/uvicorn" ] || python3 -m venv "$VENV"
  timeout 600 "$VENV/bin/pip" install -q -r bench/requirements.txt

  step "(c) fastapi-passkeys 0.1.2, SQLAlchemy/PostgreSQL + Redis (uvicorn, 1 process)"
  start_server py-pg "$PORT_PY" env BENCH_STORE=pg PORT="$PORT_PY" \
    DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/${DB}_py" REDIS_URL="$REDIS_URL" \
    BENCH_REDIS_PREFIX="${PREFIX}py:" \
    "$VENV/bin/uvicorn" --app-dir bench fastapi_app:app --host 127.0.0.1 --port "$PORT_PY" \
    --no-access-log --log-level warning
  load py-pg-username "$PORT_PY" --mode username
  load py-pg-half "$PORT_PY" --mode username --rate "$(half_rate "$OUT/py-pg-username.json")"
  stop_all

  step "(c') fastapi-passkeys 0.1.2, in-memory stores (reference)"
  start_server py-memory "$PORT_PY" env BENCH_STORE=memory PORT="$PORT_PY" \
    "$VENV/bin/uvicorn" --app-dir bench fastapi_app:app --host 127.0.0.1 --port "$PORT_PY" \
    --no-access-log --log-level warning
  load py-memory-username "$PORT_PY" --mode username
  stop_all
fi

step "soak: $SOAK authenticate/begin never finished (in-memory, challenge TTL 5 s)"
start_server rs-soak "$PORT_RS" env BENCH_STORE=memory PORT="$PORT_RS" PASSKEYS_CHALLENGE_TTL=5 "$SERVER"
timeout 900 taskset -c 1 "$LOADGEN" soak --base "http://127.0.0.1:$PORT_RS" --count "$SOAK" \
  --rounds 2 --concurrency 64 --pid "$SERVER_PID" --stats /bench/stats --settle "$SETTLE" --label soak \
  --json "$OUT/soak.json" | tail -1
stop_all

step "report"
python3 bench/report.py "$OUT" "$ROOT" > bench/RESULTS.md
echo "wrote bench/RESULTS.md in $(( $(date +%s) - T0 )) s"
