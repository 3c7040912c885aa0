//! `gasclaw status` with every fake check taking 300 ms: checks run
//! concurrently, so the report must come back within 1.5 × the slowest
//! single check (compared with the serial sum of the checks). Also the cold
//! start of `gasclaw --version`.
//!
//! Run: `cargo bench --bench status`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;

const DELAY: &str = "0.3";

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    run_test(Duration::from_secs(600), async {
        let env = TestEnv::new();
        let out = env.gasclaw(&["bootstrap"], Duration::from_secs(120)).await;
        assert_eq!(out.code, Some(0), "bootstrap: {out:?}");
        // Every check waits 300 ms at the fake: gt's status commands, the
        // Dolt greeting and the gateway's /health.
        env.fault(
            "GT_SLOW",
            &format!("daemon status={DELAY},mayor status={DELAY},status={DELAY}"),
        );
        env.fault("DOLT_GREETING_DELAY", DELAY);
        env.fault("OPENCLAW_HEALTH_DELAY", DELAY);

        let runs = 15;
        let mut totals = Vec::new();
        let mut slowest = Vec::new();
        let mut serial = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            let out = env
                .gasclaw(&["status", "--json"], Duration::from_secs(30))
                .await;
            let total = start.elapsed().as_secs_f64() * 1000.0;
            let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("status json");
            let lat: Vec<f64> = v["checks"]
                .as_array()
                .expect("checks")
                .iter()
                .map(|c| c["latency_ms"].as_f64().unwrap_or(0.0))
                .collect();
            assert!(
                lat.iter().all(|l| *l >= 300.0),
                "every check must include the 300 ms delay: {lat:?}"
            );
            totals.push(total);
            slowest.push(lat.iter().cloned().fold(0.0, f64::max));
            serial.push(lat.iter().sum());
        }
        let p50_total = percentile(&mut totals, 0.5);
        let max_total = percentile(&mut totals, 1.0);
        let p50_slowest = percentile(&mut slowest, 0.5);
        let p50_serial = percentile(&mut serial, 0.5);
        println!("gasclaw status --json, {runs} runs, each check delayed {DELAY} s at the fake:");
        println!(
            "  whole command (process start to exit): p50 {p50_total:.0} ms, max {max_total:.0} ms"
        );
        println!("  slowest single check (its latency_ms): p50 {p50_slowest:.0} ms");
        println!("  serial sum of the five checks:         p50 {p50_serial:.0} ms");
        println!(
            "  ratio whole / slowest check: {:.2} (target ≤ 1.5)",
            p50_total / p50_slowest
        );
        println!(
            "  ratio serial sum / whole:    {:.2}",
            p50_serial / p50_total
        );

        // Cold start of --version.
        let mut v = Vec::new();
        for _ in 0..50 {
            let start = Instant::now();
            let status = std::process::Command::new(gasclaw_bin())
                .arg("--version")
                .stdout(std::process::Stdio::null())
                .status()
                .expect("--version");
            assert!(status.success());
            v.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "gasclaw --version cold start, 50 runs: p50 {:.2} ms, p95 {:.2} ms (target < 20 ms)",
            percentile(&mut v, 0.5),
            percentile(&mut v, 0.95)
        );
    });
}
