#!/usr/bin/env bash
# One benchmark run on this machine; writes bench/RESULTS.md (see bench/README.md).
#
# Three systems speak the same wire contract and are driven by the same load generator:
#   py   = fastapi-passkeys 0.1.2 (bench/fastapi_app.py; uvicorn + uvloop + httptools)
#   rs   = actix-passkeys (examples/bench_server.rs)
#   node = @simplewebauthn/server (bench/node/server.js)
# each in memory and on PostgreSQL + Redis, each in both sign-in modes (username-first and
# usernameless). The systems are interleaved: every round runs every system once per storage,
# so a noisy minute hits all of them; the report gives medians over the rounds.
#
# Needs: PostgreSQL at 127.0.0.1:5432 (user postgres), Redis at 127.0.0.1:6379, python3 (venv),
# node + npm (v20), openssl, taskset, and the package registries (crates.io, PyPI, npm) on the
# first run. Every server runs on core 0 (`taskset -c 0`), the load generator on core 1.
#
# It refuses to measure while the 1-minute load average is above BENCH_MAX_LOAD (0.5): it waits
# up to BENCH_LOAD_WAIT minutes (15) for it to fall, then exits 3. BENCH_ALLOW_LOAD=1 skips the
# wait (smoke runs); the report is then stamped NOT A RESULT and written to $OUT/RESULTS.md,
# not bench/RESULTS.md.
#
# Knobs: BENCH_ROUNDS (3), BENCH_DURATION (s per measured window, 15), BENCH_WARMUP (s, 3),
# BENCH_CONCURRENCY (32), BENCH_USERS (256), BENCH_PG_POOL (10, every system's pool),
# BENCH_SYSTEMS ("py rs node"), BENCH_STORAGES ("memory pg"), BENCH_SOAK (1000000 begin calls
# in two rounds, 0 = skip), BENCH_SETTLE (s after each soak round, 68 = TTL 5 + grace 60 +
# margin), BENCH_CRIT_TIME (criterion measurement time in s; default: each bench's own),
# BENCH_OUT (scratch dir), BENCH_RESULTS (where the report goes).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TERM_COLOR=never
OUT=${BENCH_OUT:-$CARGO_TARGET_DIR/bench-run}
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-15}
WARMUP=${BENCH_WARMUP:-3}
CONC=${BENCH_CONCURRENCY:-32}
USERS=${BENCH_USERS:-256}
POOL=${BENCH_PG_POOL:-10}
SYSTEMS=(${BENCH_SYSTEMS:-py rs node})
STORAGES=(${BENCH_STORAGES:-memory pg})
SOAK=${BENCH_SOAK:-1000000}
SETTLE=${BENCH_SETTLE:-68}
MAX_LOAD=${BENCH_MAX_LOAD:-0.5}
LOAD_WAIT=${BENCH_LOAD_WAIT:-15}
ALLOW_LOAD=${BENCH_ALLOW_LOAD:-0}
CRIT_TIME=${BENCH_CRIT_TIME:-}
if [ "$ALLOW_LOAD" = 1 ]; then
  RESULTS=${BENCH_RESULTS:-$OUT/RESULTS.md}
else
  RESULTS=${BENCH_RESULTS:-bench/RESULTS.md}
fi
declare -A PORT=([py]=${BENCH_PORT_PY:-18000} [rs]=${BENCH_PORT_RS:-18080} [node]=${BENCH_PORT_NODE:-18070})
RUN_ID=$$
DB=passkeys_bench_$RUN_ID
PREFIX=bench:$RUN_ID:
REDIS_DB=${BENCH_REDIS_DB:-9}
REDIS_URL=redis://127.0.0.1:6379/$REDIS_DB
PG="psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qtA"
PG_URL=postgres://postgres@127.0.0.1:5432
FEATURES=testing,session,redis,postgres

LOADGEN=$CARGO_TARGET_DIR/release/examples/loadgen
SERVER=$CARGO_TARGET_DIR/release/examples/bench_server
VENV=$CARGO_TARGET_DIR/bench-venv
T0=$(date +%s)

for n in "$ROUNDS" "$CONC" "$USERS" "$POOL" "$SOAK" "$LOAD_WAIT"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "bench: not a whole number: $n" >&2; exit 2; }
done
for n in "$DURATION" "$WARMUP" "$SETTLE" "$MAX_LOAD" ${CRIT_TIME:+"$CRIT_TIME"}; do
  [[ $n =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "bench: not a number: $n" >&2; exit 2; }
done
[ "$ROUNDS" -ge 1 ] || { echo "bench: BENCH_ROUNDS must be >= 1" >&2; exit 2; }
for s in "${SYSTEMS[@]}"; do [[ $s =~ ^(py|rs|node)$ ]] || { echo "bench: unknown system $s" >&2; exit 2; }; done
for s in "${STORAGES[@]}"; do [[ $s =~ ^(memory|pg)$ ]] || { echo "bench: unknown storage $s" >&2; exit 2; }; done

mkdir -p "$OUT"
rm -rf "$OUT"/runs "$OUT"/*.json "$OUT"/*.txt "$OUT"/*.tsv "$OUT"/*.log "$OUT"/RESULTS.md
mkdir -p "$OUT/runs"
PIDS=()
DBS=()
load1() { cut -d' ' -f1 /proc/loadavg; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
step() {
  printf '\n==> [%4ss] load %s: %s\n' "$(( $(date +%s) - T0 ))" "$(loadavg)" "$*"
  printf '%s\t%s\t%s\n' "$(( $(date +%s) - T0 ))" "$(loadavg)" "$*" >>"$OUT/loadavg.tsv"
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
drop_dbs() {
  for db in "${DBS[@]}"; do
    $PG -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
}
cleanup() {
  stop_all
  drop_dbs
  redis-cli -h 127.0.0.1 -n "$REDIS_DB" --scan --pattern "$PREFIX*" 2>/dev/null \
    | xargs -r -n 1000 redis-cli -h 127.0.0.1 -n "$REDIS_DB" DEL >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# fresh_db NAME: drops and creates database NAME (each server start gets an empty one).
fresh_db() {
  $PG -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1
  $PG -c "CREATE DATABASE $1" >/dev/null
  DBS+=("$1")
}

# start_server NAME PORT CMD...: starts CMD on core 0, logs to $OUT/NAME.log, waits for the port.
start_server() {
  local name=$1 port=$2
  shift 2
  taskset -c 0 "$@" >"$OUT/$name.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "server $name did not come up:" >&2
  cat "$OUT/$name.log" >&2
  exit 1
}

# start_system SYS STORAGE ROUND: starts system SYS on STORAGE (memory | pg) on its port.
start_system() {
  local sys=$1 storage=$2 round=$3 port=${PORT[$1]}
  local envs=(BENCH_STORE="$storage" PORT="$port" BENCH_PG_POOL="$POOL" REDIS_URL="$REDIS_URL"
    BENCH_REDIS_PREFIX="${PREFIX}$sys:r$round:")
  if [ "$storage" = pg ]; then
    fresh_db "${DB}_$sys"
    local url="$PG_URL/${DB}_$sys"
    [ "$sys" = py ] && url="postgresql+asyncpg://postgres@127.0.0.1:5432/${DB}_$sys"
    envs+=(DATABASE_URL="$url")
  fi
  case $sys in
    rs) start_server "$sys-$storage-r$round" "$port" env "${envs[@]}" BENCH_WORKERS=1 "$SERVER" ;;
    py) start_server "$sys-$storage-r$round" "$port" env "${envs[@]}" \
          "$VENV/bin/uvicorn" --app-dir bench fastapi_app:app --host 127.0.0.1 --port "$port" \
          --loop uvloop --http httptools --no-access-log --log-level warning ;;
    node) start_server "$sys-$storage-r$round" "$port" env "${envs[@]}" NODE_ENV=production \
          node bench/node/server.js ;;
  esac
}

# load LABEL SYS STORAGE MODE ROUND KIND [ARGS...]: the load generator on core 1 against the server
# just started; one line per run in runs.tsv with the load average before and after it.
load() {
  local label=$1 sys=$2 storage=$3 mode=$4 round=$5 kind=$6 port=${PORT[$2]}
  shift 6
  local before
  before=$(loadavg)
  timeout 600 taskset -c 1 "$LOADGEN" run --base "http://127.0.0.1:$port" \
    --origin "http://localhost:$port" --users "$USERS" --concurrency "$CONC" \
    --duration "$DURATION" --warmup "$WARMUP" --pid "$SERVER_PID" --label "$label" --mode "$mode" \
    --json "$OUT/runs/$label.json" "$@" | tee -a "$OUT/load.txt"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$round" "$sys" "$storage" "$mode" "$kind" \
    "$before" "$(loadavg)" >>"$OUT/runs.tsv"
}

half_rate() { python3 -c "import json,sys; print(max(1.0, json.load(open(sys.argv[1]))['throughput'] / 2))" "$1"; }

# wait_quiet: waits up to LOAD_WAIT minutes for the 1-minute load average to reach MAX_LOAD.
wait_quiet() {
  local start deadline waited=0
  start=$(date +%s)
  deadline=$(( start + LOAD_WAIT * 60 ))
  if [ "$ALLOW_LOAD" = 1 ]; then
    echo "bench: BENCH_ALLOW_LOAD=1: not waiting for a quiet machine (load $(loadavg)); the report is NOT A RESULT" >&2
    GATE="skipped (BENCH_ALLOW_LOAD=1)"
    return 0
  fi
  while python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$(load1)" "$MAX_LOAD"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      cat >&2 <<EOF

################################################################################
bench: REFUSING TO MEASURE: the 1-minute load average is $(load1) (above $MAX_LOAD)
after waiting $LOAD_WAIT minutes. Other work is running on this machine, and any
number measured now is noise. Stop it, or set BENCH_LOAD_WAIT longer; for a smoke
test of the harness only, BENCH_ALLOW_LOAD=1 (its report says NOT A RESULT).
Top CPU users now:
$(ps -eo pcpu,comm --sort=-pcpu | head -6)
################################################################################
EOF
      exit 3
    fi
    [ "$waited" = 0 ] && echo "bench: load average $(load1) > $MAX_LOAD; waiting up to $LOAD_WAIT min for a quiet machine" >&2
    waited=1
    sleep 10
  done
  GATE="passed: 1-minute load $(load1) <= $MAX_LOAD after $(( $(date +%s) - start )) s of waiting"
}

CRIT_ARGS=()
[ -n "$CRIT_TIME" ] && CRIT_ARGS=(--warm-up-time 0.5 --measurement-time "$CRIT_TIME" --sample-size 10)
# verify_floor FILE: criterion's es256_verify/webauthn_rs_core on core 0, its estimates to FILE.
verify_floor() {
  timeout 300 taskset -c 0 cargo bench -q --no-default-features --features "$FEATURES" --bench ceremonies -- \
    "${CRIT_ARGS[@]}" --exact es256_verify/webauthn_rs_core 2>&1 | grep -E 'time:' || true
  cp "$CARGO_TARGET_DIR/criterion/es256_verify_webauthn_rs_core/new/estimates.json" "$1"
}

step "services and tools"
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not running at 127.0.0.1:5432" >&2; exit 1; }
redis-cli -h 127.0.0.1 ping >/dev/null || { echo "Redis is not running at 127.0.0.1:6379" >&2; exit 1; }
for tool in taskset openssl python3 psql; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done
if [[ " ${SYSTEMS[*]} " == *" node "* ]]; then
  command -v node >/dev/null && command -v npm >/dev/null || { echo "bench: node and npm are needed (BENCH_SYSTEMS without node skips it)" >&2; exit 1; }
fi
[ "$(nproc)" -ge 2 ] || echo "warning: fewer than 2 cores; server and load generator share one" >&2

step "build (release)"
timeout 3600 cargo build --release --no-default-features --features "$FEATURES" --example loadgen --example bench_server
timeout 3600 cargo bench --no-run --no-default-features --features "$FEATURES" --bench ceremonies --bench stores 2>&1 | tail -3

if [[ " ${SYSTEMS[*]} " == *" py "* ]]; then
  step "python venv (PyPI): bench/requirements.txt"
  [ -x "$VENV/bin/uvicorn" ] || python3 -m venv "$VENV"
  timeout 600 "$VENV/bin/pip" install -q -r bench/requirements.txt
fi
if [[ " ${SYSTEMS[*]} " == *" node "* ]]; then
  step "node packages (npm ci): bench/node/package-lock.json"
  (cd bench/node && timeout 600 npm ci --no-audit --no-fund --loglevel=error)
fi

SANITY_PY=python3
[[ " ${SYSTEMS[*]} " == *" py "* ]] && SANITY_PY=$VENV/bin/python
"$SANITY_PY" -c "import cbor2, cryptography" 2>/dev/null || { echo "bench: bench/sanity.py needs cbor2 and cryptography (the bench venv has them)" >&2; exit 1; }

step "waiting for a quiet machine (1-minute load average <= $MAX_LOAD, up to $LOAD_WAIT min)"
GATE=
wait_quiet
python3 - "$OUT/meta.json" <<EOF
import json, sys
json.dump({"allow_load": "$ALLOW_LOAD" == "1", "gate": "$GATE", "max_load": $MAX_LOAD,
           "load_wait_min": $LOAD_WAIT, "rounds": $ROUNDS, "duration_s": $DURATION, "warmup_s": $WARMUP,
           "concurrency": $CONC, "users": $USERS, "pg_pool": $POOL, "systems": "${SYSTEMS[*]}".split(),
           "storages": "${STORAGES[*]}".split(), "load_at_gate": "$(loadavg)"}, open(sys.argv[1], "w"))
EOF

step "criterion micro-benchmarks (core 0)"
rm -rf "$CARGO_TARGET_DIR/criterion"
timeout 600 taskset -c 0 cargo bench --no-default-features --features "$FEATURES" --bench ceremonies -- "${CRIT_ARGS[@]}" 2>&1 \
  | tee "$OUT/criterion.txt" | grep -E '^[a-z_0-9/]+ *$|time:' || true
fresh_db "${DB}_crit"
REDIS_URL=$REDIS_URL BENCH_DATABASE_URL="$PG_URL/${DB}_crit" timeout 600 taskset -c 0 cargo bench --no-default-features --features "$FEATURES" --bench stores -- "${CRIT_ARGS[@]}" 2>&1 \
  | tee -a "$OUT/criterion.txt" | grep -E '^[a-z_0-9/]+ *$|time:|skipping' || true
rm -rf "$OUT/criterion" && cp -a "$CARGO_TARGET_DIR/criterion" "$OUT/criterion"

step "openssl speed ecdsap256 (core 0)"
timeout 120 taskset -c 0 openssl speed -seconds 3 ecdsap256 2>/dev/null | tee "$OUT/openssl.txt" | tail -2

n=${#SYSTEMS[@]}
for round in $(seq 1 "$ROUNDS"); do
  step "round $round/$ROUNDS: ES256 verify floor (criterion, core 0)"
  verify_floor "$OUT/runs/verify-r$round.json"
  # Rotate the order every round, so no system always runs first or after the same neighbour.
  order=()
  for i in $(seq 0 $(( n - 1 ))); do order+=("${SYSTEMS[$(( (i + round - 1) % n ))]}"); done
  modes=(username usernameless)
  [ $(( round % 2 )) = 0 ] && modes=(usernameless username)
  for storage in "${STORAGES[@]}"; do
    for sys in "${order[@]}"; do
      step "round $round/$ROUNDS: $sys on $storage (modes ${modes[*]})"
      start_system "$sys" "$storage" "$round"
      if [ "$round" = 1 ]; then
        # The server must refuse what it claims to (a bad signature, a reused state, …).
        "$SANITY_PY" bench/sanity.py "http://127.0.0.1:${PORT[$sys]}" | tee "$OUT/sanity-$sys-$storage.txt"
      fi
      for mode in "${modes[@]}"; do
        load "$sys-$storage-$mode-r$round" "$sys" "$storage" "$mode" "$round" max
      done
      if [ "$storage" = pg ]; then
        load "$sys-$storage-username-half-r$round" "$sys" "$storage" username "$round" half \
          --rate "$(half_rate "$OUT/runs/$sys-$storage-username-r$round.json")"
      fi
      stop_all
    done
  done
done

if [ "$SOAK" -gt 0 ]; then
  step "soak: $SOAK authenticate/begin never finished (actix-passkeys in memory, challenge TTL 5 s)"
  start_server rs-soak "${PORT[rs]}" env BENCH_STORE=memory PORT="${PORT[rs]}" PASSKEYS_CHALLENGE_TTL=5 "$SERVER"
  timeout 1200 taskset -c 1 "$LOADGEN" soak --base "http://127.0.0.1:${PORT[rs]}" --count "$SOAK" \
    --rounds 2 --concurrency 64 --pid "$SERVER_PID" --stats /bench/stats --settle "$SETTLE" --label soak \
    --json "$OUT/soak.json" | tail -1
  stop_all
fi

step "report"
python3 bench/report.py "$OUT" "$ROOT" > "$RESULTS"
echo "wrote $RESULTS in $(( $(date +%s) - T0 )) s"
