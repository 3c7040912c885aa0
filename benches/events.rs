//! Following the town's event log, measured on the real `gasclaw run`
//! against the fake stack and the fake Bot API: a town writing 50 events/s
//! for a minute (one in 20 is news: a crashed session; the rest routine),
//! with the log rewritten by rename half-way (the KRC prune). Reports
//! gasclaw's own CPU while idle and while following (target < 1 % of one
//! core), the CPU per event, and the latency from an event's line to the
//! Bot API receiving its message (target p99 < 2 s; gasclaw's outgoing rate
//! limiter is off, as Telegram's limits are excluded). Every news event
//! must arrive exactly once.
//!
//! Run: `cargo bench --bench events`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;

const RATE: u64 = 50;
const SECONDS: u64 = 60;
const NEWS_EVERY: u64 = 20;

/// (own, children) CPU seconds of `pid` so far.
fn cpu(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = &stat[stat.rfind(')').map(|i| i + 2).unwrap_or(0)..];
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let tick = 100.0;
    ((f[11] + f[12]) / tick, (f[13] + f[14]) / tick)
}

/// One line as gt's events.go writes it, appended under its flock.
fn append(town: &std::path::Path, line: &str) {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(town.join(".events.jsonl.lock"))
        .unwrap();
    let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(town.join(".events.jsonl"))
        .unwrap();
    f.write_all(format!("{line}\n").as_bytes()).unwrap();
}

/// The KRC prune: the whole file rewritten to `.tmp` and renamed over.
fn krc_rewrite(town: &std::path::Path) {
    let p = town.join(".events.jsonl");
    let text = std::fs::read(&p).unwrap();
    let tmp = town.join(".events.jsonl.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &p).unwrap();
}

fn event(i: u64) -> (String, Option<String>) {
    let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    if i.is_multiple_of(NEWS_EVERY) {
        let name = format!("N{i}");
        (
            format!(
                r#"{{"ts":"{ts}","source":"gt","type":"session_death","actor":"project/{name}","payload":{{"agent":"project/{name}","caller":"daemon","reason":"crash detected by daemon health check","session":"pr-{name}"}},"visibility":"feed"}}"#
            ),
            Some(format!("project/{name}: session died")),
        )
    } else {
        let kind = ["sling", "hook", "nudge", "mail", "done"][(i % 5) as usize];
        (
            format!(
                r#"{{"ts":"{ts}","source":"gt","type":"{kind}","actor":"project/Toast","payload":{{"bead":"pr-{i}","target":"project/Toast"}},"visibility":"feed"}}"#
            ),
            None,
        )
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    run_test(Duration::from_secs(600), async {
        let tg = fake_telegram(false).await;
        let mut env = TestEnv::new();
        env.use_telegram(&tg);
        env.set("MONITOR_INTERVAL", "1h")
            .set("LOG_LEVEL", "warn")
            .set("AUTO_HEAL", "off")
            .set("TELEGRAM_RATE_LIMIT", "off");
        let run = env.start_run(&tg).await;
        let pid = run.id().expect("pid");
        tokio::time::sleep(Duration::from_secs(5)).await;

        let (i0, _) = cpu(pid);
        let t = Instant::now();
        tokio::time::sleep(Duration::from_secs(20)).await;
        let (i1, _) = cpu(pid);
        let idle = (i1 - i0) / t.elapsed().as_secs_f64();
        println!(
            "idle, following a quiet log (20 s): {:.3} % of one core",
            idle * 100.0
        );

        let town = env.town.clone();
        let (c0, _) = cpu(pid);
        let start = Instant::now();
        let writer = std::thread::spawn(move || {
            let mut sent: Vec<(String, Instant)> = Vec::new();
            let total = RATE * SECONDS;
            for i in 0..total {
                let due = Duration::from_micros(i * 1_000_000 / RATE);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
                if i == total / 2 {
                    krc_rewrite(&town);
                }
                let (line, news) = event(i);
                append(&town, &line);
                if let Some(n) = news {
                    sent.push((n, Instant::now()));
                }
            }
            sent
        });
        let sent = tokio::task::spawn_blocking(move || writer.join().unwrap())
            .await
            .unwrap();
        let wrote_for = start.elapsed();
        // The last messages: give them up to 5 s.
        let deadline = Instant::now() + Duration::from_secs(5);
        let calls = loop {
            let calls: Vec<_> = tg
                .calls_of("sendmessage")
                .into_iter()
                .filter(|c| c.response_status == 200)
                .collect();
            let done = sent
                .iter()
                .all(|(n, _)| calls.iter().any(|c| c.text().contains(n.as_str())));
            if done || Instant::now() > deadline {
                break calls;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let (c1, _) = cpu(pid);
        let busy = (c1 - c0) / wrote_for.as_secs_f64();
        let events = (RATE * SECONDS) as f64;
        let per_event_us = ((c1 - c0) - idle * wrote_for.as_secs_f64()) / events * 1e6;
        let mut lat: Vec<f64> = Vec::new();
        let mut missing = 0;
        let mut twice = 0;
        for (needle, at) in &sent {
            let hits: Vec<_> = calls
                .iter()
                .filter(|c| c.text().contains(needle.as_str()))
                .collect();
            match hits.first() {
                None => missing += 1,
                Some(c) => lat.push(c.at.duration_since(*at).as_secs_f64()),
            }
            if hits.len() > 1 {
                twice += 1;
            }
        }
        lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "following {RATE} events/s for {SECONDS} s ({} events, {} news, one KRC rewrite): gasclaw's own CPU {:.3} % of one core (target < 1 %), {:.1} µs per event above idle",
            events as u64,
            sent.len(),
            busy * 100.0,
            per_event_us
        );
        println!(
            "event → message latency over {} news: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (target p99 < 2 s); missing {missing}, sent twice {twice}; {} sendMessage calls",
            lat.len(),
            percentile(&lat, 0.5) * 1000.0,
            percentile(&lat, 0.99) * 1000.0,
            lat.last().copied().unwrap_or(f64::NAN) * 1000.0,
            calls.len()
        );
        assert_eq!((missing, twice), (0, 0), "every news event exactly once");
        let _ = sigterm(run).await;
        drop(env);
        tg.stop();
    });
}
