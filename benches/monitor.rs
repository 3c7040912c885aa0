//! The monitor's cost, measured on the real `gasclaw run` against the fake
//! stack: CPU while idle between cycles (target < 0.5 % of one core) and
//! CPU per cycle with every check answering (target < 50 ms). gasclaw's own
//! CPU is reported apart from its children's (the checks run gt, git … —
//! here Python fakes, whose interpreter start-up dominates theirs).
//!
//! Run: `cargo bench --bench monitor`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;

/// (own, children) CPU seconds of `pid` so far.
fn cpu(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = &stat[stat.rfind(')').map(|i| i + 2).unwrap_or(0)..];
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14–17 (utime, stime, cutime, cstime) sit at 11–14 after the state.
    let tick = 100.0;
    ((f[11] + f[12]) / tick, (f[13] + f[14]) / tick)
}

async fn started(
    interval: &str,
) -> (
    TestEnv,
    tokio::process::Child,
    gasclaw_fakes::bot_api::FakeBotApi,
) {
    let tg = fake_telegram(false).await;
    let mut env = TestEnv::new();
    env.use_telegram(&tg);
    env.set("MONITOR_INTERVAL", interval)
        .set("LOG_LEVEL", "warn")
        .set("AUTO_HEAL", "off");
    let run = env.start_run(&tg).await;
    (env, run, tg)
}

fn main() {
    run_test(Duration::from_secs(600), async {
        // Idle: no cycle due for an hour.
        let (env, run, tg) = started("1h").await;
        let pid = run.id().expect("pid");
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (a0, _) = cpu(pid);
        let t = Instant::now();
        tokio::time::sleep(Duration::from_secs(30)).await;
        let (a1, _) = cpu(pid);
        let idle = (a1 - a0) / t.elapsed().as_secs_f64();
        println!(
            "idle between cycles (30 s): {:.3} % of one core (target < 0.5 %)",
            idle * 100.0
        );
        let _ = sigterm(run).await;
        drop(env);
        tg.stop();

        // Cycling every 2 s, every check answering.
        let (env, run, tg) = started("2").await;
        let pid = run.id().expect("pid");
        tokio::time::sleep(Duration::from_secs(5)).await;
        let count = |env: &TestEnv| {
            env.call_lines()
                .iter()
                .filter(|l| l.starts_with("gt status --json"))
                .count()
        };
        let (s0, c0) = cpu(pid);
        let n0 = count(&env);
        let t = Instant::now();
        tokio::time::sleep(Duration::from_secs(30)).await;
        let (s1, c1) = cpu(pid);
        let cycles = (count(&env) - n0).max(1) as f64;
        let own = ((s1 - s0) - idle * t.elapsed().as_secs_f64()) / cycles;
        let children = (c1 - c0) / cycles;
        println!(
            "one cycle, every check answering ({cycles} cycles in 30 s): gasclaw's own CPU {:.1} ms per cycle (target < 50 ms); its children (fake gt/git/python) {:.0} ms",
            own * 1000.0,
            children * 1000.0
        );
        let _ = sigterm(run).await;
        drop(env);
        tg.stop();
    });
}
