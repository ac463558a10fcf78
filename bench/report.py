#!/usr/bin/env python3
"""Writes bench/RESULTS.md (stdout) from one bench/run.sh run: report.py OUT_DIR REPO_ROOT."""
import datetime
import glob
import json
import os
import re
import subprocess
import sys

out, root = sys.argv[1], sys.argv[2]
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return ""


def load(name):
    try:
        with open(os.path.join(out, name + ".json")) as f:
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


# Criterion: mean of every benchmark.
crit = {}
for est in glob.glob(os.path.join(target, "criterion", "**", "new", "estimates.json"), recursive=True):
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

verify_ns = crit.get("es256_verify/webauthn_rs_core", (None, None))[0]
verify_rate = 1e9 / verify_ns if verify_ns else None

runs = [(n, load(n)) for n in [
    "rs-memory-username", "rs-memory-usernameless", "rs-redis-username", "rs-redis-half",
    "rs-pg-username", "rs-pg-usernameless", "rs-pg-half",
    "py-pg-username", "py-pg-half", "py-memory-username"]]
runs = [(n, r) for n, r in runs if r]
by = dict(runs)
soak = load("soak")


def mb(kib):
    return f"{kib / 1024:.1f}" if isinstance(kib, (int, float)) else "–"


def rss(r, at):
    v = (r.get("rss") or {}).get(at)
    return mb(v["rss_kib"]) if v else "–"


def f0(x):
    return f"{x:,.0f}" if isinstance(x, (int, float)) else "–"


SERVERS = {
    "rs-memory": ("actix-passkeys", "memory / memory"),
    "rs-redis": ("actix-passkeys", "memory / Redis"),
    "rs-pg": ("actix-passkeys", "PostgreSQL / Redis"),
    "py-pg": ("fastapi-passkeys 0.1.2", "PostgreSQL (SQLAlchemy) / Redis"),
    "py-memory": ("fastapi-passkeys 0.1.2", "memory / memory"),
}

p = print
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
p("# Benchmark results\n")
p(f"One run of `bench/run.sh` on {now}. Numbers from a shared, noisy machine: compare the ratios")
p("within this run, not the absolute figures across machines.\n")
p("## Machine and versions\n")
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
ram = sh("free -m | awk '/Mem:/{print $2}'")
loadavg = sh("cut -d' ' -f1-3 /proc/loadavg")
commit = sh("git -C " + root + " rev-parse --short HEAD")
pg_version = sh("psql -h 127.0.0.1 -U postgres -qtAc 'show server_version'")
redis_version = sh("redis-cli -h 127.0.0.1 info server | grep ^redis_version | cut -d: -f2")
p(f"- CPU: {cpu}, {os.cpu_count()} cores visible; RAM {ram} MiB; kernel {sh('uname -r')}")
p(f"- Load average when the report was written: {loadavg} (other builds and a fuzzer share the machine)")
try:
    steps = [l.rstrip("\n").split("\t", 1) for l in open(os.path.join(out, "loadavg.txt"))]
    p("- Load average (1, 5, 15 min) at each step: " + "; ".join(f"{n} {a}" for a, n in steps))
except OSError:
    pass
p(f"- actix-passkeys {commit}; {sh('rustc --version')}; "
  f"webauthn-rs-core {lock_version('webauthn-rs-core')}; p256 {lock_version('p256')}; "
  f"actix-web {lock_version('actix-web')}")
p(f"- {sh('openssl version')}; PostgreSQL {pg_version}; Redis {redis_version}")
p(f"- {sh('python3 --version')}; fastapi-passkeys {pip_version('fastapi-passkeys')}, "
  f"webauthn (py_webauthn) {pip_version('webauthn')}, fastapi {pip_version('fastapi')}, "
  f"uvicorn {pip_version('uvicorn')} (uvloop {pip_version('uvloop')}, httptools {pip_version('httptools')}), "
  f"SQLAlchemy {pip_version('SQLAlchemy')}, asyncpg {pip_version('asyncpg')}, redis-py {pip_version('redis')}")
p("")
p("## Method\n")
p("- Every server is pinned to core 0 (`taskset -c 0`; actix with 1 worker, uvicorn with 1 process);")
p("  the load generator (`examples/loadgen.rs`, one thread) to core 1. Loopback HTTP/1.1 keep-alive.")
p(f"- Each run signs up and registers users over HTTP (`POST /signup`, `register/begin`, `register/finish`),")
p(f"  then runs closed-loop sign-ins (`authenticate/begin` + `authenticate/finish`, ES256) with "
  f"{runs[0][1]['concurrency'] if runs else '?'} concurrent clients, each owning its users,")
p("  3 s warm-up then the measured window. One sign-in = both requests; latency is begin→finish response.")
p("- \"half\" runs pace the same clients to half the saturated rate of the run before (closed loop with a")
p("  schedule; a client that falls behind does not burst).")
p("- Username-first sends `{\"userId\"}`; usernameless sends `{}` and a `userHandle`.")
p("- Our server: `examples/bench_server.rs` = the quickstart app (passkey scope, `/signup`, cookie sessions;")
p("  a sign-in also writes the encrypted session cookie) with the stores named; logs at `warn`.")
p("- fastapi-passkeys: `bench/fastapi_app.py` (its SQLAlchemy repository on asyncpg, its Redis challenge")
p("  store; `user_verification=required` like ours), uvicorn with uvloop/httptools, access log off.")
p("- Crypto floor: criterion bench `es256_verify/webauthn_rs_core` (the COSE key check webauthn-rs-core")
p("  runs in `authenticate/finish`, RustCrypto p256) and `openssl speed ecdsap256`, both on core 0.\n")

p("## Crypto floor (one core)\n")
p("| what | time per verify | verifies/s |")
p("|---|---|---|")
if verify_ns:
    p(f"| webauthn-rs-core ES256 (RustCrypto p256 {lock_version('p256')}) | {verify_ns / 1000:.1f} µs | {f0(verify_rate)} |")
if ossl_verify:
    p(f"| `openssl speed ecdsap256` | {1e6 / ossl_verify:.1f} µs | {f0(ossl_verify)} |")
p("")

p("## Sign-ins over HTTP\n")
p("| run | server | credentials / challenges | mode | target rate | sign-ins/s | p50 ms | p90 ms | p99 ms | max ms | errors | RSS MB start → mid → end |")
p("|---|---|---|---|---|---|---|---|---|---|---|---|")
for n, r in runs:
    key = "-".join(n.split("-")[:2])
    server, stores = SERVERS.get(key, ("?", "?"))
    lat = r["latency_ms"]
    errs = ", ".join(f"{k}: {v}" for k, v in r["error_codes"].items()) or "0"
    p(f"| {n} | {server} | {stores} | {r['mode']} | {f0(r['rate_target']) if r['rate_target'] else 'max'} "
      f"| **{f0(r['throughput'])}** | {lat['p50']:.2f} | {lat['p90']:.2f} | {lat['p99']:.2f} | {lat['max']:.1f} "
      f"| {errs} | {rss(r, 'start')} → {rss(r, 'mid')} → {rss(r, 'end')} |")
p("")

p("## Targets\n")
p("| target | measured | met |")
p("|---|---|---|")


def row(name, value, ok):
    p(f"| {name} | {value} | {'yes' if ok else 'no' if ok is not None else '–'} |")


mem = by.get("rs-memory-username")
if mem and verify_rate:
    ratio = mem["throughput"] / verify_rate
    row("in-memory sign-ins/s ≥ 60 % of one core's ES256 verify rate",
        f"{f0(mem['throughput'])} / {f0(verify_rate)} = {ratio:.0%}", ratio >= 0.6)
rs_db = by.get("rs-pg-username") or by.get("rs-redis-username")
rs_half = by.get("rs-pg-half") or by.get("rs-redis-half")
py = by.get("py-pg-username")
if rs_db and py:
    ratio = rs_db["throughput"] / py["throughput"]
    row(f"{rs_db['label']} ≥ 6× py-pg-username",
        f"{f0(rs_db['throughput'])} / {f0(py['throughput'])} = {ratio:.1f}×", ratio >= 6)
if rs_half:
    row(f"p99 < 10 ms at half the saturated rate ({rs_half['label']})",
        f"{rs_half['latency_ms']['p99']:.2f} ms at {f0(rs_half['throughput'])}/s", rs_half["latency_ms"]["p99"] < 10)
peak = max((r["rss"][k]["rss_kib"] for _, r in runs if r["label"].startswith("rs-")
            for k in ("mid", "end") if r["rss"].get(k)), default=None)
if peak:
    row("RSS under load < 50 MB (our server, all runs)", f"peak {mb(peak)} MB", peak < 50 * 1024)
if soak and soak.get("rounds") and soak["before"]["rss"]:
    b = soak["before"]["rss"]["rss_kib"]
    cb = (soak["before"]["stats"] or {}).get("challenges")
    last = soak["rounds"][-1]
    cs = (last["settled"]["stats"] or {}).get("challenges")
    s = last["settled"]["rss"]["rss_kib"]
    row("after the soak: challenge store back to its start",
        f"{cb} → peak {max(r['peak_challenges'] for r in soak['rounds'])} → {cs}",
        cs is not None and cb is not None and cs <= max(cb, 1) * 1.1 + 1)
    row("after the soak: RSS within 10 % of its start",
        f"{mb(b)} → peak {mb(max(r['peak_rss_kib'] for r in soak['rounds']))} → {mb(s)} MB ({(s - b) / b:+.0%})",
        s <= b * 1.1)
    if len(soak["rounds"]) > 1:
        h1 = soak["rounds"][0]["after"]["rss"]["hwm_kib"]
        h2 = soak["rounds"][-1]["after"]["rss"]["hwm_kib"]
        row("no growth: a second flood peaks no higher than the first (VmHWM after round 2 ≤ round 1 + 10 %)",
            f"{mb(h1)} → {mb(h2)} MB", h2 <= h1 * 1.1)
p("")
if mem and py:
    p(f"Other ratios: in-memory actix-passkeys / fastapi-passkeys on PostgreSQL + Redis = "
      f"{mem['throughput'] / py['throughput']:.1f}×"
      + (f"; fastapi-passkeys in-memory / its PostgreSQL + Redis = "
         f"{by['py-memory-username']['throughput'] / py['throughput']:.1f}×" if by.get("py-memory-username") else "")
      + (f"; in-memory actix-passkeys / fastapi-passkeys in-memory = "
         f"{mem['throughput'] / by['py-memory-username']['throughput']:.1f}×" if by.get("py-memory-username") else "")
      + ".\n")

if soak and soak.get("rounds"):
    p("## Memory soak\n")
    p(f"{soak['count']:,} `authenticate/begin` calls, never finished, in {len(soak['rounds'])} rounds, "
      f"{soak['concurrency']} at a time, against a fresh")
    p("in-memory server with `PASSKEYS_CHALLENGE_TTL=5` (records are kept 60 s past expiry so a late finish")
    p("is told `challenge_expired`; capacity 65,536). After each round the generator waited "
      f"{soak['settle_s']:.0f} s and sent")
    p("one more begin (the memory store evicts, and now shrinks its tables, on insert).\n")
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

p("## Micro-benchmarks (criterion, core 0)\n")
p("| benchmark | mean | median |")
p("|---|---|---|")
for bid, (mean, med) in sorted(crit.items()):
    fmt = lambda ns: f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"
    p(f"| {bid} | {fmt(mean)} | {fmt(med)} |")
p("")
notes = os.path.join(root, "bench", "NOTES.md")
if os.path.exists(notes):
    p(open(notes).read())
