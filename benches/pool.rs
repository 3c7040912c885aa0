//! Pool selection throughput on one thread with 8 keys (target ≥ 1,000,000
//! selections/s), and a select + report mix.
//!
//! Run: `cargo bench --bench pool`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

use std::sync::Arc;
use std::time::{Duration, Instant};

use gasclaw_core::keys::{KeyPools, Outcome, PoolKind, PoolSettings, Selection, SystemClock};
use secrecy::SecretString;

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys: Vec<SecretString> = (0..8)
        .map(|i| SecretString::from(format!("sk-kimi-bench-key-{i:04}-xxxxxxxxxxxx")))
        .collect();
    let overseer = vec![SecretString::from(
        "sk-kimi-bench-overseer-xxxxxxxxxxxx".to_string(),
    )];
    let pools = KeyPools::open(
        dir.path(),
        &keys,
        &overseer,
        PoolSettings::default(),
        Arc::new(SystemClock),
        Arc::new(|_| {}),
    )
    .expect("pools");
    let pool = pools.pool(PoolKind::Agents);
    let agents: Vec<String> = (0..6).map(|i| format!("agent-{i}")).collect();

    // Warm up, then measure for about a second per scenario.
    for i in 0..100_000 {
        std::hint::black_box(pool.select(&agents[i % agents.len()]));
    }
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        for a in &agents {
            std::hint::black_box(pool.select(a));
        }
        n += agents.len() as u64;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "select (sticky agents, 8 keys, 1 thread): {:.0} selections/s (target ≥ 1,000,000)",
        rate
    );

    let mut n = 0u64;
    let start = Instant::now();
    let mut i = 0usize;
    while start.elapsed() < Duration::from_secs(1) {
        // A new agent every time: the LRU scan, never the sticky shortcut.
        i += 1;
        std::hint::black_box(pool.select(&agents[i % agents.len()][..]));
        if let Selection::Key(l) = pool.select("rotating") {
            pool.report(&l, Outcome::Success);
        }
        n += 2;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    println!("select + report mix: {:.0} operations/s", rate);
    let t = Instant::now();
    pools.flush().expect("flush");
    println!(
        "one coalesced state write: {:.2} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
}
