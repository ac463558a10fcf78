//! Load generator for the passkey wire contract (`bench/README.md`).
//!
//! ```text
//! cargo run --release --example loadgen --features testing -- run \
//!     --base http://127.0.0.1:8080 --origin http://localhost:8080 --users 256 \
//!     --concurrency 32 --duration 10 --mode username [--rate 2000] [--pid 1234] [--json out.json]
//! cargo run --release --example loadgen --features testing -- soak \
//!     --base http://127.0.0.1:8080 --count 1000000 --concurrency 64 --pid 1234 \
//!     --stats /bench/stats --settle 70 [--json out.json]
//! ```
//!
//! `run` signs N users up (`POST /signup {"username"}` with cookies, then `register/begin` +
//! `register/finish` under the scope), then runs closed-loop sign-ins (`authenticate/begin` +
//! `authenticate/finish`) for a duration: username-first (`{"userId"}`) or usernameless (`{}`).
//! `soak` sends `authenticate/begin` calls that are never finished and reports the server's
//! challenge count (from a bench-only stats route) and RSS before, after, and after expiry.
//!
//! The client side is cheap on purpose: credentials are plain P-256 keys made here, the
//! attestation is `none`, and each assertion is one ES256 signature (like
//! `SoftAuthenticator::forge_assertion`). Only loopback targets are accepted; every run is bounded
//! in count and time. It runs on one thread (pin it with `taskset`).

use std::{
    cell::RefCell,
    collections::BTreeMap,
    rc::Rc,
    time::{Duration, Instant},
};

use awc::{
    http::{header, StatusCode},
    Client, Connector,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use p256::ecdsa::{signature::Signer as _, Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

type Error = Box<dyn std::error::Error>;

const MAX_DURATION_S: f64 = 600.0;
const MAX_USERS: usize = 100_000;
const MAX_CONCURRENCY: usize = 1024;
const MAX_SOAK: u64 = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Username,
    Usernameless,
}

#[derive(Debug, Clone)]
struct Args {
    cmd: String,
    base: String,
    origin: String,
    rp_id: String,
    scope: String,
    signup: String,
    users: usize,
    concurrency: usize,
    duration: f64,
    warmup: f64,
    mode: Mode,
    rate: Option<f64>,
    pid: Option<u32>,
    json: Option<String>,
    count: u64,
    stats: Option<String>,
    settle: f64,
    rounds: u32,
    label: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen run|soak --base http://127.0.0.1:PORT [--origin URL] [--rp-id ID] \
         [--scope /auth/passkeys] [--signup /signup] [--users N] [--concurrency C] \
         [--duration S] [--warmup S] [--mode username|usernameless] [--rate R] [--pid PID] \
         [--json FILE] [--count N] [--rounds N] [--stats PATH] [--settle S] [--label TEXT]"
    );
    std::process::exit(2)
}

fn parse_args() -> Result<Args, Error> {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_else(|| usage());
    if cmd != "run" && cmd != "soak" {
        usage()
    }
    let mut a = Args {
        cmd,
        base: "http://127.0.0.1:8080".into(),
        origin: String::new(),
        rp_id: "localhost".into(),
        scope: "/auth/passkeys".into(),
        signup: "/signup".into(),
        users: 256,
        concurrency: 32,
        duration: 10.0,
        warmup: 2.0,
        mode: Mode::Username,
        rate: None,
        pid: None,
        json: None,
        count: 1_000_000,
        stats: None,
        settle: 0.0,
        rounds: 1,
        label: String::new(),
    };
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--base" => a.base = val(),
            "--origin" => a.origin = val(),
            "--rp-id" => a.rp_id = val(),
            "--scope" => a.scope = val(),
            "--signup" => a.signup = val(),
            "--users" => a.users = val().parse()?,
            "--concurrency" => a.concurrency = val().parse()?,
            "--duration" => a.duration = val().parse()?,
            "--warmup" => a.warmup = val().parse()?,
            "--mode" => {
                a.mode = match val().as_str() {
                    "username" => Mode::Username,
                    "usernameless" => Mode::Usernameless,
                    _ => usage(),
                }
            }
            "--rate" => a.rate = Some(val().parse()?),
            "--pid" => a.pid = Some(val().parse()?),
            "--json" => a.json = Some(val()),
            "--count" => a.count = val().parse()?,
            "--stats" => a.stats = Some(val()),
            "--settle" => a.settle = val().parse()?,
            "--rounds" => a.rounds = val().parse()?,
            "--label" => a.label = val(),
            _ => usage(),
        }
    }
    let base = url::Url::parse(&a.base)?;
    let loopback = match base.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if !loopback || base.scheme() != "http" {
        return Err(format!(
            "refusing {}: only http://127.0.0.1, [::1] or localhost",
            a.base
        )
        .into());
    }
    a.base = a.base.trim_end_matches('/').to_owned();
    if a.origin.is_empty() {
        let port = base.port_or_known_default().unwrap_or(80);
        a.origin = format!("http://localhost:{port}");
    }
    let durations_ok = (f64::MIN_POSITIVE..=MAX_DURATION_S).contains(&a.duration)
        && (0.0..=60.0).contains(&a.warmup)
        && (0.0..=MAX_DURATION_S).contains(&a.settle);
    if !durations_ok {
        return Err(format!("durations must be within 0..{MAX_DURATION_S} s").into());
    }
    if a.users == 0 || a.users > MAX_USERS {
        return Err(format!("--users must be 1..={MAX_USERS}").into());
    }
    if a.concurrency == 0 || a.concurrency > MAX_CONCURRENCY {
        return Err(format!("--concurrency must be 1..={MAX_CONCURRENCY}").into());
    }
    if a.rounds == 0 || a.rounds > 10 {
        return Err("--rounds must be 1..=10".into());
    }
    if a.count == 0 || a.count > MAX_SOAK {
        return Err(format!("--count must be 1..={MAX_SOAK}").into());
    }
    if a.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err("--rate must be > 0".into());
    }
    Ok(a)
}

/// A registered user: the name, the WebAuthn user handle, the key and its counter.
struct User {
    name: String,
    handle: Vec<u8>,
    cred_id: String,
    key: SigningKey,
    counter: u32,
}

/// Deterministic-per-run key material: SHA-256 of (seed, index, attempt).
fn make_key(seed: u64, index: usize) -> (SigningKey, Vec<u8>) {
    let mut attempt = 0u32;
    loop {
        let mut h = Sha256::new();
        h.update(seed.to_be_bytes());
        h.update((index as u64).to_be_bytes());
        h.update(attempt.to_be_bytes());
        let d = h.finalize();
        if let Ok(key) = SigningKey::from_slice(&d) {
            let id = Sha256::digest(d)[..16].to_vec();
            return (key, id);
        }
        attempt += 1;
    }
}

fn cbor_bytes(out: &mut Vec<u8>, b: &[u8]) {
    // Major type 2 (byte string), length up to 65535.
    if b.len() < 24 {
        out.push(0x40 | b.len() as u8);
    } else if b.len() < 256 {
        out.extend_from_slice(&[0x58, b.len() as u8]);
    } else {
        out.push(0x59);
        out.extend_from_slice(&(b.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(b);
}

/// `RegistrationResponseJSON` with a `none` attestation for `key`.
fn attestation(
    rp_id: &str,
    origin: &str,
    challenge: &str,
    key: &SigningKey,
    cred_id: &[u8],
) -> Value {
    let point = key.verifying_key().to_sec1_point(false);
    let xy = point.as_bytes();
    let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
    cbor_bytes(&mut cose, &xy[1..33]);
    cose.push(0x22);
    cbor_bytes(&mut cose, &xy[33..65]);
    let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
    auth_data.push(0x01 | 0x04 | 0x40); // UP | UV | AT
    auth_data.extend_from_slice(&0u32.to_be_bytes());
    auth_data.extend_from_slice(&[0u8; 16]); // AAGUID
    auth_data.extend_from_slice(&(cred_id.len() as u16).to_be_bytes());
    auth_data.extend_from_slice(cred_id);
    auth_data.extend_from_slice(&cose);
    let mut att = vec![0xa3, 0x63];
    att.extend_from_slice(b"fmt");
    att.push(0x64);
    att.extend_from_slice(b"none");
    att.push(0x67);
    att.extend_from_slice(b"attStmt");
    att.push(0xa0);
    att.push(0x68);
    att.extend_from_slice(b"authData");
    cbor_bytes(&mut att, &auth_data);
    let client_data = json!({
        "type": "webauthn.create", "challenge": challenge, "origin": origin, "crossOrigin": false,
    })
    .to_string();
    let id = B64.encode(cred_id);
    json!({
        "id": id, "rawId": id, "type": "public-key",
        "response": {
            "clientDataJSON": B64.encode(client_data.as_bytes()),
            "attestationObject": B64.encode(&att),
            "transports": ["internal", "hybrid"],
        },
        "authenticatorAttachment": "platform",
        "clientExtensionResults": { "credProps": { "rk": true } },
    })
}

/// `AuthenticationResponseJSON` signed with the user's key (ES256), counter incremented.
fn assertion(rp_id: &str, origin: &str, challenge: &str, user: &mut User) -> Value {
    user.counter += 1;
    let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
    auth_data.push(0x01 | 0x04); // UP | UV
    auth_data.extend_from_slice(&user.counter.to_be_bytes());
    let client_data = format!(
        r#"{{"type":"webauthn.get","challenge":"{challenge}","origin":"{origin}","crossOrigin":false}}"#
    );
    let mut signed = auth_data.clone();
    signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
    let sig: Signature = user.key.sign(&signed);
    json!({
        "id": user.cred_id, "rawId": user.cred_id, "type": "public-key",
        "response": {
            "clientDataJSON": B64.encode(client_data.as_bytes()),
            "authenticatorData": B64.encode(&auth_data),
            "signature": B64.encode(sig.to_der().as_bytes()),
            "userHandle": B64.encode(&user.handle),
        },
        "authenticatorAttachment": "platform",
        "clientExtensionResults": {},
    })
}

/// One HTTP exchange's outcome: the JSON body, or an error code for the tally.
async fn post(
    client: &Client,
    url: &str,
    cookie: Option<&str>,
    body: &Value,
) -> Result<(Value, Vec<String>), String> {
    let mut req = client.post(url);
    if let Some(c) = cookie {
        req = req.insert_header((header::COOKIE, c.to_owned()));
    }
    let mut rsp = req
        .send_json(body)
        .await
        .map_err(|e| format!("transport: {}", short(&e.to_string())))?;
    let status = rsp.status();
    let cookies = rsp
        .headers()
        .get_all(header::SET_COOKIE)
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next().map(str::to_owned))
        .collect();
    let bytes = rsp
        .body()
        .limit(1 << 20)
        .await
        .map_err(|e| format!("transport: {}", short(&e.to_string())))?;
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status != StatusCode::OK {
        let code = json
            .pointer("/error/code")
            .and_then(Value::as_str)
            .map(str::to_owned)
            // fastapi's validation errors have `detail`.
            .unwrap_or_else(|| format!("http_{}", status.as_u16()));
        return Err(format!("{} {code}", status.as_u16()));
    }
    Ok((json, cookies))
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

struct Ctx {
    args: Args,
    client: Client,
}

/// Merges `Set-Cookie` pairs into a `Cookie` header value.
fn merge_cookies(jar: &mut BTreeMap<String, String>, set: Vec<String>) -> String {
    for pair in set {
        if let Some((k, v)) = pair.split_once('=') {
            jar.insert(k.trim().to_owned(), v.to_owned());
        }
    }
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn register(ctx: &Ctx, seed: u64, index: usize) -> Result<User, String> {
    let a = &ctx.args;
    let name = format!("bench-{seed:x}-{index}");
    let mut jar = BTreeMap::new();
    let (_, set) = post(
        &ctx.client,
        &format!("{}{}", a.base, a.signup),
        None,
        &json!({ "username": name }),
    )
    .await?;
    let cookie = merge_cookies(&mut jar, set);
    let (begin, set) = post(
        &ctx.client,
        &format!("{}{}/register/begin", a.base, a.scope),
        Some(&cookie),
        &json!({}),
    )
    .await?;
    let cookie = merge_cookies(&mut jar, set);
    let challenge = begin
        .pointer("/publicKey/challenge")
        .and_then(Value::as_str)
        .ok_or("register/begin: no challenge")?;
    let handle = begin
        .pointer("/publicKey/user/id")
        .and_then(Value::as_str)
        .and_then(|h| B64.decode(h).ok())
        .ok_or("register/begin: no user id")?;
    let state = begin["state"].clone();
    let (key, cred_id) = make_key(seed, index);
    let credential = attestation(&a.rp_id, &a.origin, challenge, &key, &cred_id);
    post(
        &ctx.client,
        &format!("{}{}/register/finish", a.base, a.scope),
        Some(&cookie),
        &json!({ "credential": credential, "state": state, "deviceName": "loadgen" }),
    )
    .await?;
    Ok(User {
        name,
        handle,
        cred_id: B64.encode(&cred_id),
        key,
        counter: 0,
    })
}

async fn sign_in(ctx: &Ctx, user: &mut User) -> Result<(), String> {
    let a = &ctx.args;
    let begin_body = match a.mode {
        Mode::Username => json!({ "userId": user.name }),
        Mode::Usernameless => json!({}),
    };
    let (begin, _) = post(
        &ctx.client,
        &format!("{}{}/authenticate/begin", a.base, a.scope),
        None,
        &begin_body,
    )
    .await?;
    let challenge = begin
        .pointer("/publicKey/challenge")
        .and_then(Value::as_str)
        .ok_or("no_challenge")?;
    let credential = assertion(&a.rp_id, &a.origin, challenge, user);
    let (done, _) = post(
        &ctx.client,
        &format!("{}{}/authenticate/finish", a.base, a.scope),
        None,
        &json!({ "credential": credential, "state": begin["state"] }),
    )
    .await?;
    if done.get("userId").and_then(Value::as_str) != Some(user.name.as_str()) {
        return Err("wrong_user".into());
    }
    Ok(())
}

#[derive(Default)]
struct Stats {
    latencies_us: Vec<u32>,
    ok: u64,
    errors: BTreeMap<String, u64>,
}

impl Stats {
    fn error(&mut self, code: String) {
        *self.errors.entry(code).or_default() += 1;
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

/// `VmRSS` and `VmHWM` of `pid`, in KiB.
fn rss(pid: Option<u32>) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn rss_json(r: Option<(u64, u64)>) -> Value {
    match r {
        Some((rss, hwm)) => json!({ "rss_kib": rss, "hwm_kib": hwm }),
        None => Value::Null,
    }
}

/// Linux `USER_HZ`: the unit of the CPU times in `/proc` (100 on every mainstream architecture).
const CLOCK_TICKS: f64 = 100.0;

/// Ticks of all cores (`/proc/stat`): (user + nice + system, irq + softirq, steal).
fn system_ticks() -> Option<(u64, u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is counted in user already).
    let tasks = v.first()? + v.get(1)? + v.get(2)?;
    Some((tasks, v.get(5)? + v.get(6)?, *v.get(7)?))
}

/// `(comm, utime + stime)` of one process, from `/proc/<pid>/stat`.
fn process_ticks(pid: &str) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, tail) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let f: Vec<&str> = tail.split_whitespace().collect();
    // Fields 14 and 15 of proc(5); `tail` starts at field 3.
    Some((
        comm,
        f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?,
    ))
}

/// CPU ticks so far: all cores' task time, interrupts, steal, the server, this process, and
/// PostgreSQL + Redis (every process named `postgres` or `redis-server`).
#[derive(Clone, Copy)]
struct CpuSample {
    busy: u64,
    irq: u64,
    steal: u64,
    server: u64,
    me: u64,
    stores: u64,
}

fn cpu_sample(pid: Option<u32>) -> Option<CpuSample> {
    let (busy, irq, steal) = system_ticks()?;
    let server = pid
        .and_then(|p| process_ticks(&p.to_string()))
        .map_or(0, |p| p.1);
    let me = process_ticks("self").map_or(0, |p| p.1);
    let stores = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|n| process_ticks(&n))
        .filter(|(comm, _)| comm == "postgres" || comm == "redis-server")
        .map(|(_, t)| t)
        .sum();
    Some(CpuSample {
        busy,
        irq,
        steal,
        server,
        me,
        stores,
    })
}

/// CPU seconds spent in the measured window: by the server, the load generator, PostgreSQL +
/// Redis, and every other process on the machine (`other`: what the benchmark did not run);
/// `busy` is all processes' time, `irq` the (soft)interrupt time (loopback networking, mostly),
/// `steal` what the hypervisor gave to other guests.
fn cpu_json(from: Option<CpuSample>, to: Option<CpuSample>, window_s: f64) -> Value {
    let (Some(a), Some(b)) = (from, to) else {
        return Value::Null;
    };
    let s = |x: u64, y: u64| y.saturating_sub(x) as f64 / CLOCK_TICKS;
    let busy = s(a.busy, b.busy);
    let (server, me, stores) = (s(a.server, b.server), s(a.me, b.me), s(a.stores, b.stores));
    json!({
        "window_s": window_s,
        "busy_s": busy,
        "irq_s": s(a.irq, b.irq),
        "steal_s": s(a.steal, b.steal),
        "server_s": server,
        "loadgen_s": me,
        "stores_s": stores,
        "other_s": (busy - server - me - stores).max(0.0),
    })
}

fn client(concurrency: usize) -> Client {
    Client::builder()
        .connector(Connector::new().limit(concurrency + 8))
        .timeout(Duration::from_secs(30))
        .disable_redirects()
        .finish()
}

async fn run(args: Args) -> Result<Value, Error> {
    let ctx = Rc::new(Ctx {
        client: client(args.concurrency),
        args: args.clone(),
    });
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    let users = args.users.max(args.concurrency);
    let rss_start = rss(args.pid);

    // Registration, `concurrency` at a time; worker w registers users w, w + C, ….
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let ctx = ctx.clone();
        tasks.push(actix_rt::spawn(async move {
            let mut mine = Vec::new();
            let mut i = w;
            while i < users {
                mine.push(register(&ctx, seed, i).await);
                i += args.concurrency;
            }
            mine
        }));
    }
    let mut per_worker: Vec<Vec<User>> = Vec::new();
    let mut reg_errors = BTreeMap::<String, u64>::new();
    for t in tasks {
        let mut mine = Vec::new();
        for r in t.await? {
            match r {
                Ok(u) => mine.push(u),
                Err(e) => *reg_errors.entry(e).or_default() += 1,
            }
        }
        per_worker.push(mine);
    }
    let reg_s = t0.elapsed().as_secs_f64();
    let registered: usize = per_worker.iter().map(Vec::len).sum();
    eprintln!("registered {registered}/{users} users in {reg_s:.2} s; errors {reg_errors:?}");
    if per_worker.iter().any(Vec::is_empty) {
        return Err("registration failed: a worker has no user".into());
    }
    let rss_registered = rss(args.pid);

    // Closed-loop sign-ins: warm-up, then the measured window.
    let stats = Rc::new(RefCell::new(Stats::default()));
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let end = measure_from + Duration::from_secs_f64(args.duration);
    let interval = args
        .rate
        .map(|r| Duration::from_secs_f64(args.concurrency as f64 / r));
    let mut tasks = Vec::new();
    for (w, mut mine) in per_worker.into_iter().enumerate() {
        let ctx = ctx.clone();
        let stats = stats.clone();
        let conc = args.concurrency;
        tasks.push(actix_rt::spawn(async move {
            let mut next = interval.map(|i| start + i.mul_f64(w as f64 / conc as f64));
            let mut k = 0usize;
            loop {
                if let (Some(n), Some(i)) = (next.as_mut(), interval) {
                    let now = Instant::now();
                    if *n > now {
                        actix_rt::time::sleep_until((*n).into()).await;
                    } else if now - *n > i {
                        *n = now; // behind schedule: do not burst to catch up
                    }
                    *n += i;
                }
                let t = Instant::now();
                if t >= end {
                    break;
                }
                let idx = k % mine.len();
                k += 1;
                let r = sign_in(&ctx, &mut mine[idx]).await;
                let done = Instant::now();
                if t >= measure_from && done <= end {
                    let mut s = stats.borrow_mut();
                    match r {
                        Ok(()) => {
                            s.ok += 1;
                            s.latencies_us
                                .push((done - t).as_micros().min(u32::MAX as u128) as u32);
                        }
                        Err(e) => s.error(e),
                    }
                }
            }
        }));
    }
    // CPU at the start and end of the measured window; RSS in its middle.
    actix_rt::time::sleep_until(measure_from.into()).await;
    let cpu_from = cpu_sample(args.pid);
    actix_rt::time::sleep_until(
        (measure_from + Duration::from_secs_f64(args.duration / 2.0)).into(),
    )
    .await;
    let rss_mid = rss(args.pid);
    actix_rt::time::sleep_until(end.into()).await;
    let cpu = cpu_json(cpu_from, cpu_sample(args.pid), args.duration);
    for t in tasks {
        t.await?;
    }
    let rss_end = rss(args.pid);
    let mut s = stats.borrow_mut();
    s.latencies_us.sort_unstable();
    let lat = &s.latencies_us;
    let errors: u64 = s.errors.values().sum();
    let result = json!({
        "label": args.label,
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "base": args.base,
        "concurrency": args.concurrency,
        "rate_target": args.rate,
        "users": registered,
        "registration_s": reg_s,
        "registration_errors": reg_errors,
        "duration_s": args.duration,
        "ok": s.ok,
        "errors": errors,
        "error_codes": s.errors,
        "throughput": s.ok as f64 / args.duration,
        "latency_ms": {
            "p50": percentile(lat, 0.50), "p90": percentile(lat, 0.90),
            "p99": percentile(lat, 0.99), "max": percentile(lat, 1.0),
            "mean": if lat.is_empty() { 0.0 } else {
                lat.iter().map(|&v| f64::from(v)).sum::<f64>() / lat.len() as f64 / 1000.0 },
        },
        "cpu": cpu,
        "rss": {
            "start": rss_json(rss_start), "registered": rss_json(rss_registered),
            "mid": rss_json(rss_mid), "end": rss_json(rss_end),
        },
    });
    println!(
        "{} {:?} c={} rate={:?}: {:.0} sign-ins/s (ok {}, errors {} {:?}); latency ms p50 {:.2} \
         p90 {:.2} p99 {:.2} max {:.2}; RSS KiB start {:?} mid {:?} end {:?}",
        args.label,
        args.mode,
        args.concurrency,
        args.rate,
        result["throughput"].as_f64().unwrap_or(0.0),
        s.ok,
        errors,
        s.errors,
        percentile(lat, 0.5),
        percentile(lat, 0.9),
        percentile(lat, 0.99),
        percentile(lat, 1.0),
        rss_start.map(|r| r.0),
        rss_mid.map(|r| r.0),
        rss_end.map(|r| r.0),
    );
    Ok(result)
}

async fn stats(ctx: &Ctx) -> Value {
    let Some(path) = &ctx.args.stats else {
        return Value::Null;
    };
    let Ok(mut rsp) = ctx
        .client
        .get(format!("{}{}", ctx.args.base, path))
        .send()
        .await
    else {
        return Value::Null;
    };
    rsp.json::<Value>().await.unwrap_or(Value::Null)
}

async fn soak(args: Args) -> Result<Value, Error> {
    let ctx = Rc::new(Ctx {
        client: client(args.concurrency),
        args: args.clone(),
    });
    let before = json!({ "rss": rss_json(rss(args.pid)), "stats": stats(&ctx).await });
    let mut rounds = Vec::new();
    let per_round = args.count / u64::from(args.rounds);
    for round in 0..args.rounds {
        let count = if round + 1 == args.rounds {
            args.count - per_round * u64::from(args.rounds - 1)
        } else {
            per_round
        };
        rounds.push(soak_round(&ctx, count).await?);
    }
    let total: u64 = rounds.iter().filter_map(|r| r["count"].as_u64()).sum();
    let result = json!({
        "label": args.label,
        "count": total,
        "concurrency": args.concurrency,
        "settle_s": args.settle,
        "before": before,
        "rounds": rounds,
    });
    println!("{result}");
    Ok(result)
}

/// One flood of `count` never-finished begins, then `--settle` seconds and one more begin.
async fn soak_round(ctx: &Rc<Ctx>, count: u64) -> Result<Value, Error> {
    let args = &ctx.args;
    let url = format!("{}{}/authenticate/begin", args.base, args.scope);
    let sent = Rc::new(RefCell::new(0u64));
    let outcome = Rc::new(RefCell::new(BTreeMap::<String, u64>::new()));
    let deadline = Instant::now() + Duration::from_secs_f64(MAX_DURATION_S);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (ctx, sent, outcome, url) = (ctx.clone(), sent.clone(), outcome.clone(), url.clone());
        tasks.push(actix_rt::spawn(async move {
            loop {
                {
                    let mut n = sent.borrow_mut();
                    if *n >= count || Instant::now() >= deadline {
                        break;
                    }
                    *n += 1;
                }
                let key = match post(&ctx.client, &url, None, &json!({})).await {
                    Ok(_) => "200 ok".to_owned(),
                    Err(e) => e,
                };
                *outcome.borrow_mut().entry(key).or_default() += 1;
            }
        }));
    }
    let mut peak_rss = 0u64;
    let mut peak_challenges = 0u64;
    loop {
        actix_rt::time::sleep(Duration::from_millis(500)).await;
        if let Some((r, _)) = rss(args.pid) {
            peak_rss = peak_rss.max(r);
        }
        if let Some(n) = stats(ctx).await.get("challenges").and_then(Value::as_u64) {
            peak_challenges = peak_challenges.max(n);
        }
        if tasks.iter().all(|t| t.is_finished()) {
            break;
        }
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let after = (rss(args.pid), stats(ctx).await);
    let sent = *sent.borrow();
    eprintln!(
        "soak: {sent} begins in {elapsed:.1} s; waiting {} s for expiry",
        args.settle
    );
    actix_rt::time::sleep(Duration::from_secs_f64(args.settle)).await;
    // One more insert makes the memory store evict what has expired.
    let poke = post(&ctx.client, &url, None, &json!({})).await.is_ok();
    let settled = (rss(args.pid), stats(ctx).await);
    let outcomes = outcome.borrow().clone();
    Ok(json!({
        "count": sent,
        "elapsed_s": elapsed,
        "rate": sent as f64 / elapsed,
        "outcomes": outcomes,
        "peak_rss_kib": peak_rss,
        "peak_challenges": peak_challenges,
        "after": { "rss": rss_json(after.0), "stats": after.1 },
        "poke_ok": poke,
        "settled": { "rss": rss_json(settled.0), "stats": settled.1 },
    }))
}

fn main() -> Result<(), Error> {
    let args = parse_args()?;
    let json_path = args.json.clone();
    let result = actix_rt::System::new().block_on(async move {
        match args.cmd.as_str() {
            "soak" => soak(args).await,
            _ => run(args).await,
        }
    })?;
    if let Some(path) = json_path {
        std::fs::write(path, format!("{result}\n"))?;
    }
    Ok(())
}
