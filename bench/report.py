#!/usr/bin/env python3
"""Writes RESULTS.md (stdout) from one bench/run.sh run: report.py OUT_DIR REPO_ROOT.

Reads OUT_DIR/meta.json (the load gate and the knobs), runs.tsv (one line per load run, with the
load average before and after it), runs/*.json (the load generator's results, and the per-round
ES256 verify floor from criterion), criterion/, openssl.txt, soak.json and loadavg.tsv.
"""
import datetime
import glob
import json
import os
import re
import statistics
import subprocess
import sys

out, root = sys.argv[1], sys.argv[2]
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return ""


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def lock_version(crate):
    text = open(os.path.join(root, "Cargo.lock")).read()
    found = re.findall(r'name = "%s"\nversion = "([^"]+)"' % re.escape(crate), text)
    return ", ".join(found) or "?"


def pip_version(pkg):
    venv = os.path.join(target, "bench-venv", "bin", "pip")
    line = sh(f"{venv} show {pkg} 2>/dev/null | grep ^Version")
    return line.split(":", 1)[1].strip() if line else "?"


def npm_version(pkg):
    lock = read_json(os.path.join(root, "bench", "node", "package-lock.json")) or {}
    return (lock.get("packages", {}).get(f"node_modules/{pkg}") or {}).get("version", "?")


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def f0(x):
    return f"{x:,.0f}" if isinstance(x, (int, float)) else "–"


def f1(x):
    return f"{x:.1f}" if isinstance(x, (int, float)) else "–"


def f2(x):
    return f"{x:.2f}" if isinstance(x, (int, float)) else "–"


def mb(kib):
    return f"{kib / 1024:.1f}" if isinstance(kib, (int, float)) else "–"


meta = read_json(os.path.join(out, "meta.json")) or {}
NAMES = {
    "py": f"fastapi-passkeys {pip_version('fastapi-passkeys')}",
    "rs": "actix-passkeys",
    "node": f"@simplewebauthn/server {npm_version('@simplewebauthn/server')}",
}
STORAGE = {"memory": "in memory", "pg": "PostgreSQL + Redis"}
MODES = ["username", "usernameless"]
systems = meta.get("systems") or ["py", "rs", "node"]
storages = meta.get("storages") or ["memory", "pg"]
peers = [s for s in systems if s != "rs"]

# One record per load run: runs.tsv + the generator's JSON.
runs = []
try:
    for line in open(os.path.join(out, "runs.tsv")):
        label, rnd, sys_, storage, mode, kind, before, after = line.rstrip("\n").split("\t")
        r = read_json(os.path.join(out, "runs", label + ".json"))
        if r:
            runs.append(dict(label=label, round=int(rnd), sys=sys_, storage=storage, mode=mode,
                             kind=kind, before=before, after=after, r=r))
except OSError:
    pass
rounds = sorted({x["round"] for x in runs})


def pick(sys_, storage, mode, kind="max"):
    """{round: result} for one cell."""
    return {x["round"]: x["r"] for x in runs
            if (x["sys"], x["storage"], x["mode"], x["kind"]) == (sys_, storage, mode, kind)}


def tput(cell):
    return {k: v["throughput"] for k, v in cell.items()}


def ratio(a, b):
    """Median over rounds of a[round] / b[round] (each pair ran in the same round), and the range."""
    rs = [a[k] / b[k] for k in a if k in b and b[k]]
    return (median(rs), min(rs), max(rs)) if rs else (None, None, None)


def verify_ns(path):
    e = read_json(path)
    return e["mean"]["point_estimate"] if e else None


verify = {int(re.search(r"r(\d+)\.json$", p).group(1)): verify_ns(p)
          for p in glob.glob(os.path.join(out, "runs", "verify-r*.json"))}
verify = {k: v for k, v in verify.items() if v}
verify_rate = {k: 1e9 / v for k, v in verify.items()}

crit = {}
for est in glob.glob(os.path.join(out, "criterion", "**", "new", "estimates.json"), recursive=True):
    d = os.path.dirname(est)
    try:
        bid = json.load(open(os.path.join(d, "benchmark.json")))["full_id"]
        e = json.load(open(est))
        crit[bid] = (e["mean"]["point_estimate"], e["median"]["point_estimate"])
    except (OSError, ValueError, KeyError):
        continue

ossl_verify = None
try:
    for line in open(os.path.join(out, "openssl.txt")):
        if "nistp256" in line:
            ossl_verify = float(line.split()[-1])
except OSError:
    pass

soak = read_json(os.path.join(out, "soak.json"))
p = print
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
not_a_result = meta.get("allow_load", True)

if not_a_result:
    p("# NOT A RESULT\n")
    p("**This run was made with `BENCH_ALLOW_LOAD=1`: it did not wait for a quiet machine, and its")
    p("numbers are noise. It shows only that the harness works. Do not quote it.**\n")
# A measured window is disturbed when processes outside the benchmark, or other guests of the
# hypervisor (steal), took more than this many cores on average.
DISTURBED = 0.1


def foreign(r):
    c = r.get("cpu") or {}
    if not c.get("window_s"):
        return None
    return (c.get("other_s", 0) + c.get("steal_s", 0)) / c["window_s"]


disturbed = [x["label"] for x in runs if (foreign(x["r"]) or 0) > DISTURBED]
p("# Benchmark results\n")
if disturbed:
    p(f"**Warning: in {len(disturbed)} of {len(runs)} measured windows, processes outside the benchmark "
      f"(or steal) used more than {DISTURBED} cores; they are marked ⚠ under \"Every run\".**\n")
p(f"One run of `bench/run.sh` on {now}: {len(rounds)} interleaved round(s), {len(systems)} systems, "
  f"{len(storages)} storage setups, both sign-in modes.")
p("Compare ratios within this run; absolute figures depend on the machine.\n")

p("## How it is measured\n")
p(f"- **Quiet machine.** The run starts measuring only once the 1-minute load average is at most "
  f"{meta.get('max_load', '?')} (it waits up to {meta.get('load_wait_min', '?')} min, then refuses). "
  f"Gate: {meta.get('gate') or '?'}; load average (1, 5, 15 min) then: {meta.get('load_at_gate', '?')}.")
p("  During the run the load average is about 2 by construction (the server saturates core 0 and the")
p("  generator core 1), so the load average of every step and run is recorded below, and the generator")
p("  also reports the CPU time *not* spent by the benchmark during each measured window (`other`: all")
p("  cores' busy time from `/proc/stat` minus the server, the generator, and every `postgres` and")
p("  `redis-server` process, plus the hypervisor's steal). A quiet run has `other` near 0; a window with")
p(f"  more than {DISTURBED} cores of it is marked ⚠.")
p(f"- **Interleaved rounds.** Each round runs every system once per storage setup, in memory first, then")
p(f"  on PostgreSQL + Redis; the order of the systems rotates by one every round (round 1: "
  f"{', '.join(NAMES[s] for s in systems)}), and the order of the two modes alternates, so no system always runs first or")
p("  after the same neighbour. Each server start gets a fresh database and Redis key prefix. The tables")
p(f"  give the **median over the {len(rounds)} round(s)** and the range; a ratio is the median of the")
p("  per-round ratios (the two systems of a pair ran minutes apart in the same round).")
p(f"- **Pinning.** Every server runs on core 0 (`taskset -c 0`; actix with 1 worker, uvicorn with 1 process,")
p("  node with its one event loop and libuv's pool), the load generator (`examples/loadgen.rs`, one thread)")
p("  on core 1. PostgreSQL and Redis are not pinned: they share both cores, the same for every system.")
p(f"- **Load.** Each run signs up and registers {meta.get('users', '?')} users over HTTP (`POST /signup`, `register/begin`,")
p(f"  `register/finish`), then runs closed-loop sign-ins (`authenticate/begin` + `authenticate/finish`, ES256)")
p(f"  with {meta.get('concurrency', '?')} concurrent clients, each owning its users: {meta.get('warmup_s', '?')} s warm-up, "
  f"then a {meta.get('duration_s', '?')} s measured window.")
p("  One sign-in = both requests; latency is begin → finish response. Username-first sends `{\"userId\"}`;")
p("  usernameless sends `{}` and a `userHandle`. \"half\" runs (PostgreSQL + Redis, username-first) pace the")
p("  same clients to half the saturated rate of that system in that round (no catch-up bursts).")
p(f"- **Pools.** Every system's PostgreSQL pool has {meta.get('pg_pool', '?')} connections.")
p("- **The systems** (bench/README.md says how each is set up):")
p("  - actix-passkeys: `examples/bench_server.rs`, the quickstart app (cookie sessions: a sign-in writes")
p("    the encrypted session cookie), `PgCredentialStore` (diesel-async, bb8) and `RedisChallengeStore`.")
p("  - fastapi-passkeys: `bench/fastapi_app.py`, its SQLAlchemy repository on asyncpg")
p("    (`async_sessionmaker(engine, expire_on_commit=False)` as its docs show, pool as large as ours, no")
p("    overflow) and its Redis challenge store; uvicorn `--loop uvloop --http httptools --no-access-log`.")
p("  - @simplewebauthn/server: `bench/node/server.js` on `node:http`, `pg` (named prepared statements) and")
p("    `redis` (SET PX + GETDEL); challenges server-side and single-use, counter compare-and-swap, an")
p("    AES-256-GCM session cookie on sign-in.")
p("  All three require user verification.")
p("- **Crypto floor.** Criterion's `es256_verify/webauthn_rs_core` (the check webauthn-rs-core runs in")
p("  `authenticate/finish`, RustCrypto p256) on core 0, once per round; `openssl speed ecdsap256` once.\n")

p("## Machine and versions\n")
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
ram = sh("free -m | awk '/Mem:/{print $2}'")
commit = sh("git -C " + root + " rev-parse --short HEAD")
dirty = " (with uncommitted changes)" if sh("git -C " + root + " status --porcelain --untracked-files=no") else ""
pg_version = sh("psql -h 127.0.0.1 -U postgres -qtAc 'show server_version'")
redis_version = sh("redis-cli -h 127.0.0.1 info server | grep ^redis_version | cut -d: -f2")
p(f"- CPU: {cpu}, {os.cpu_count()} cores visible; RAM {ram} MiB; kernel {sh('uname -r')}")
p(f"- actix-passkeys {commit}{dirty}; {sh('rustc --version')}; "
  f"webauthn-rs-core {lock_version('webauthn-rs-core')}; p256 {lock_version('p256')}; "
  f"actix-web {lock_version('actix-web')}")
p(f"- {sh('python3 --version')}; fastapi-passkeys {pip_version('fastapi-passkeys')}, "
  f"webauthn (py_webauthn) {pip_version('webauthn')}, fastapi {pip_version('fastapi')}, "
  f"uvicorn {pip_version('uvicorn')} (uvloop {pip_version('uvloop')}, httptools {pip_version('httptools')}), "
  f"SQLAlchemy {pip_version('SQLAlchemy')}, asyncpg {pip_version('asyncpg')}, redis-py {pip_version('redis')}")
p(f"- Node {sh('node --version')}; @simplewebauthn/server {npm_version('@simplewebauthn/server')}, "
  f"pg {npm_version('pg')}, redis {npm_version('redis')} (bench/node/package-lock.json)")
p(f"- {sh('openssl version')}; PostgreSQL {pg_version}; Redis {redis_version}\n")

p("## Sign-ins per second (median over rounds)\n")
head = "| storage | mode | " + " | ".join(NAMES[s] for s in systems) + " |"
p(head)
p("|---|---|" + "---|" * len(systems))
for storage in storages:
    for mode in MODES:
        cells = []
        for s in systems:
            t = tput(pick(s, storage, mode))
            m = median(t.values())
            cells.append(f"**{f0(m)}** ({f0(min(t.values()))}–{f0(max(t.values()))})" if t else "–")
        p(f"| {STORAGE[storage]} | {mode} | " + " | ".join(cells) + " |")
p("\nIn parentheses: the lowest and highest round.\n")

if peers:
    p("## actix-passkeys ÷ each peer (median of the per-round ratios)\n")
    p("| storage | mode | " + " | ".join(f"÷ {NAMES[s]}" for s in peers) + " |")
    p("|---|---|" + "---|" * len(peers))
    for storage in storages:
        for mode in MODES:
            ours = tput(pick("rs", storage, mode))
            cells = []
            for s in peers:
                m, lo, hi = ratio(ours, tput(pick(s, storage, mode)))
                cells.append(f"**{m:.2f}×** ({lo:.2f}–{hi:.2f})" if m else "–")
            p(f"| {STORAGE[storage]} | {mode} | " + " | ".join(cells) + " |")
    p("")

p("## Latency (median over rounds of each run's percentile, ms)\n")
p("| storage | mode | load | system | p50 | p90 | p99 | max |")
p("|---|---|---|---|---|---|---|---|")
for storage in storages:
    for mode, kind in [(m, "max") for m in MODES] + ([("username", "half")] if storage == "pg" else []):
        for s in systems:
            cell = pick(s, storage, mode, kind)
            if not cell:
                continue
            lat = lambda q: median(v["latency_ms"][q] for v in cell.values())
            target_rate = median(v.get("rate_target") for v in cell.values())
            load_txt = "saturated" if kind == "max" else f"half (≈ {f0(target_rate)}/s)"
            p(f"| {STORAGE[storage]} | {mode} | {load_txt} | {NAMES[s]} | {f2(lat('p50'))} | {f2(lat('p90'))} "
              f"| {f2(lat('p99'))} | {f1(lat('max'))} |")
p("")

sanity = {}
for path in sorted(glob.glob(os.path.join(out, "sanity-*.txt"))):
    key = tuple(os.path.basename(path)[len("sanity-"):-len(".txt")].split("-", 1))
    for line in open(path):
        m = re.match(r"\s+(ok|FAIL|no)\s+(.+?): (\d+)", line)
        if m:
            sanity.setdefault(m.group(2), {})[key] = f"{m.group(1).lower()} ({m.group(3)})"
if sanity:
    cols = [(s, st) for st in storages for s in systems]
    p("## What each server was checked to do (bench/sanity.py, round 1, before measuring)\n")
    p("`ok`: as expected; `no`: the server does not make this check (not fatal); a `fail` stops the run.\n")
    p("| check | " + " | ".join(f"{NAMES[s]}, {STORAGE[st]}" for s, st in cols) + " |")
    p("|---|" + "---|" * len(cols))
    for check, got in sanity.items():
        p(f"| {check} | " + " | ".join(got.get(c, "–") for c in cols) + " |")
    p("")

p("## Crypto floor (one core)\n")
p("| what | time per verify | verifies/s |")
p("|---|---|---|")
if verify:
    vs = sorted(verify.items())
    m = median(v for _, v in vs)
    p(f"| webauthn-rs-core ES256 (RustCrypto p256 {lock_version('p256')}), median of {len(vs)} round(s) "
      f"({', '.join(f'{v / 1000:.1f}' for _, v in vs)} µs) | {m / 1000:.1f} µs | {f0(1e9 / m)} |")
if ossl_verify:
    p(f"| `openssl speed ecdsap256` | {1e6 / ossl_verify:.1f} µs | {f0(ossl_verify)} |")
p("")

p("## Targets (issue 15)\n")
p("| target | measured | met |")
p("|---|---|---|")


def row(name, value, ok):
    p(f"| {name} | {value} | {'yes' if ok else 'no' if ok is not None else '–'} |")


for mode in MODES:
    ours = tput(pick("rs", "memory", mode))
    m, lo, hi = ratio(ours, verify_rate)
    if m:
        row(f"in memory, {mode}: sign-ins/s ≥ 90 % of the ES256 verify rate of webauthn-rs-core (same round)",
            f"{m:.0%} ({lo:.0%}–{hi:.0%})", m >= 0.9)
if "py" in systems:
    for mode in MODES:
        m, lo, hi = ratio(tput(pick("rs", "pg", mode)), tput(pick("py", "pg", mode)))
        if m:
            row(f"PostgreSQL + Redis, {mode}: ≥ 5× fastapi-passkeys", f"{m:.2f}× ({lo:.2f}–{hi:.2f})", m >= 5)
half = pick("rs", "pg", "username", "half")
if half:
    p99s = [v["latency_ms"]["p99"] for v in half.values()]
    m = median(p99s)
    row("PostgreSQL + Redis: p99 < 10 ms at half the saturated rate (username-first)",
        f"median {m:.2f} ms (rounds: {', '.join(f'{x:.2f}' for x in p99s)})", m < 10)
peak = max((v["rss"][k]["rss_kib"] for x in runs if x["sys"] == "rs" for v in [x["r"]]
            for k in ("mid", "end") if (v.get("rss") or {}).get(k)), default=None)
if peak:
    row("RSS under load < 50 MB (actix-passkeys, every run)", f"peak {mb(peak)} MB", peak < 50 * 1024)
if soak and soak.get("rounds") and soak["before"]["rss"]:
    last = soak["rounds"][-1]
    cb = (soak["before"]["stats"] or {}).get("challenges")
    cs = (last["settled"]["stats"] or {}).get("challenges")
    row("after the soak: challenge store back to its start",
        f"{cb} → peak {max(r['peak_challenges'] for r in soak['rounds'])} → {cs}",
        cs is not None and cb is not None and cs <= max(cb, 1) * 1.1 + 1)
    if len(soak["rounds"]) > 1:
        h1 = soak["rounds"][0]["after"]["rss"]["hwm_kib"]
        h2 = soak["rounds"][-1]["after"]["rss"]["hwm_kib"]
        row("no growth after the soak beyond the first flood's peak (VmHWM after round 2 ≤ round 1 + 10 %)",
            f"{mb(h1)} → {mb(h2)} MB", h2 <= h1 * 1.1)
p("")

p("## Every run\n")
p("Load average (1-minute) before → after each run; CPU columns: CPU seconds per second of the measured")
p("window (cores) used by the server, by PostgreSQL + Redis, by interrupts (loopback networking), and by")
p("processes outside the benchmark plus steal (`other`, see above); errors by status and code.\n")
p("| run | round | load avg | sign-ins/s | p50 ms | p99 ms | errors | server CPU | PG + Redis CPU | irq CPU | other CPU | RSS MB start → end |")
p("|---|---|---|---|---|---|---|---|---|---|---|---|")
failed = []
for x in runs:
    r = x["r"]
    lat = r["latency_ms"]
    errs = ", ".join(f"{k}: {v}" for k, v in r["error_codes"].items()) or "0"
    if r["error_codes"] or r.get("registration_errors") or not r["ok"]:
        failed.append(x["label"])
    c = r.get("cpu") or {}
    per_s = lambda k: f2(c[k] / c["window_s"]) if c.get(k) is not None and c.get("window_s") else "–"
    rss = r.get("rss") or {}
    p(f"| {x['label']} | {x['round']} | {x['before'].split()[0]} → {x['after'].split()[0]} | {f0(r['throughput'])} "
      f"| {f2(lat['p50'])} | {f2(lat['p99'])} | {errs} | {per_s('server_s')} | {per_s('stores_s')} "
      f"| {per_s('irq_s')} | {f2(foreign(r))}{' ⚠' if x['label'] in disturbed else ''} | {mb((rss.get('start') or {}).get('rss_kib'))} → {mb((rss.get('end') or {}).get('rss_kib'))} |")
p("")
if failed:
    p(f"**Runs with errors: {', '.join(failed)}.**\n")
try:
    steps = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "loadavg.tsv"))]
    p("Load average (1, 5, 15 min) at each step: " + "; ".join(f"[{t} s] {n}: {a}" for t, a, n in steps) + ".\n")
except (OSError, ValueError):
    pass

if soak and soak.get("rounds"):
    p("## Memory soak (actix-passkeys)\n")
    p(f"{soak['count']:,} `authenticate/begin` calls, never finished, in {len(soak['rounds'])} rounds, "
      f"{soak['concurrency']} at a time, against a fresh")
    p("in-memory server with `PASSKEYS_CHALLENGE_TTL=5` (records are kept 60 s past expiry so a late finish")
    p("is told `challenge_expired`; capacity 65,536). After each round the generator waited "
      f"{soak['settle_s']:.0f} s and sent")
    p("one more begin (the memory store evicts, and shrinks its tables, on insert).\n")
    p("| point | begins | begins/s | challenges held | RSS MB | peak RSS (VmHWM) MB |")
    p("|---|---|---|---|---|---|")
    v = soak["before"]
    p(f"| start | | | {(v['stats'] or {}).get('challenges', '–')} | {mb((v['rss'] or {}).get('rss_kib'))} "
      f"| {mb((v['rss'] or {}).get('hwm_kib'))} |")
    for i, r in enumerate(soak["rounds"], 1):
        for k, label in (("after", f"round {i}: end of the flood"), ("settled", f"round {i}: after expiry + 1 begin")):
            v = r[k]
            extra = (f"{r['count']:,} | {f0(r['rate'])}" if k == "after" else " | ")
            p(f"| {label} | {extra} | {(v['stats'] or {}).get('challenges', '–')} | {mb((v['rss'] or {}).get('rss_kib'))} "
              f"| {mb((v['rss'] or {}).get('hwm_kib'))} |")
    outcomes = {}
    for r in soak["rounds"]:
        for k, n in r["outcomes"].items():
            outcomes[k] = outcomes.get(k, 0) + n
    p("\nOutcomes: " + ", ".join(f"{k}: {v:,}" for k, v in outcomes.items()) +
      " (503 `store_unavailable` is the capacity bound refusing new ceremonies while the store is full).\n")

if crit:
    p("## Micro-benchmarks (criterion, core 0, once before the rounds)\n")
    p("| benchmark | mean | median |")
    p("|---|---|---|")
    for bid, (mean, med) in sorted(crit.items()):
        fmt = lambda ns: f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"
        p(f"| {bid} | {fmt(mean)} | {fmt(med)} |")
    p("")
notes = os.path.join(root, "bench", "NOTES.md")
if os.path.exists(notes):
    p(open(notes).read())
