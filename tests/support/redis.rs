//! Redis helpers shared by the test binaries: the server URL, per-test key prefixes, and
//! removing what a test wrote.
#![allow(dead_code, unreachable_pub)]

use bb8_redis::redis::{self, Commands as _};

/// The test Redis: `REDIS_URL`, default the local one.
pub fn url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test uses.
pub fn unique_prefix(test: &str) -> String {
    format!("actix_passkeys_test:{test}:{}:", uuid::Uuid::new_v4())
}

/// The keys under `prefix` (SCAN).
pub fn keys(prefix: &str) -> Vec<String> {
    let mut conn = redis::Client::open(url())
        .and_then(|c| c.get_connection())
        .expect("Redis at REDIS_URL (default 127.0.0.1:6379)");
    conn.scan_match::<_, String>(format!("{prefix}*"))
        .map(|iter| iter.collect())
        .expect("SCAN")
}

/// Deletes every key under `prefix` (SCAN + DEL); returns how many there were.
pub fn clean(prefix: &str) -> usize {
    let keys = keys(prefix);
    if !keys.is_empty() {
        let mut conn = redis::Client::open(url())
            .and_then(|c| c.get_connection())
            .expect("Redis");
        let () = redis::cmd("DEL").arg(&keys).query(&mut conn).expect("DEL");
    }
    keys.len()
}
