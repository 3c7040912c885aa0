//! One GitHub poll of a busy repository (50 open pull requests with two
//! checks each, 20 issues, 30 items a page) against the fake GitHub on
//! 127.0.0.1: the cold poll, then unchanged polls, which must cost no rate
//! limit (every answer a 304) — target: 0 rate limit per unchanged poll and
//! under 100 ms each on loopback.
//!
//! Run: `cargo bench --bench github`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic on the unexpected

use std::time::{Duration, Instant};

use gasclaw_core::config::Config;
use gasclaw_core::core::Core;
use gasclaw_fakes::github::{FakeGithub, FakeGithubOptions, NewPull};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let fake = FakeGithub::start(FakeGithubOptions::default())
            .await
            .expect("fake GitHub");
        for i in 0..50 {
            let n = fake.open_pull(NewPull::new(&format!("change {i}"), "nux", "polecat/nux/x"));
            fake.set_check(n, "ci", Some("success"));
            fake.set_check(n, "lint", Some("success"));
        }
        for i in 0..20 {
            fake.open_issue(&format!("bug {i}"), "dave");
        }
        let home = tempfile::tempdir().expect("tempdir");
        // The core as gasclaw run builds it, pointed at the fake GitHub.
        let env: std::collections::BTreeMap<String, String> = [
            ("GASTOWN_KIMI_KEYS", "sk-kimi-aaaaaaaaaaaaaaaaaaaa1111"),
            ("OPENCLAW_KIMI_KEY", "sk-kimi-oooooooooooooooooooo9999"),
            ("TELEGRAM_BOT_TOKEN", "123456:AAbbCCddEEff_gg-hh"),
            ("TELEGRAM_OWNER_ID", "42"),
            ("GITHUB_TOKEN", fake.token()),
            ("GITHUB_REPO", fake.repo()),
            ("GITHUB_API_URL", &fake.url()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([
            ("HOME".to_string(), home.path().display().to_string()),
            (
                "GASCLAW_HOME".to_string(),
                home.path().join("gasclaw").display().to_string(),
            ),
            (
                "GT_ROOT".to_string(),
                home.path().join("none").display().to_string(),
            ),
        ])
        .collect();
        let core = Core::new(Config::load(&env).expect("config")).expect("core");
        let watch = core.github().expect("GitHub on").clone();

        let start = Instant::now();
        watch.poll(|_| {}).await.expect("cold poll");
        let cold = start.elapsed();
        let cold_requests = fake.requests().len();
        let remaining_before = watch.client.stats().remaining;

        let rounds = 50u32;
        let floor = fake.last_seq();
        let start = Instant::now();
        for _ in 0..rounds {
            let events = watch.poll(|_| {}).await.expect("poll");
            assert!(events.is_empty());
        }
        let per_poll = start.elapsed() / rounds;
        let later: Vec<_> = fake
            .requests()
            .into_iter()
            .filter(|r| r.seq > floor)
            .collect();
        let not_modified = later.iter().filter(|r| r.status == 304).count();
        let spent = remaining_before
            .zip(watch.client.stats().remaining)
            .map(|(a, b)| a.saturating_sub(b))
            .unwrap_or(0);
        println!(
            "cold poll (50 PRs, 20 issues): {:.1} ms, {cold_requests} requests",
            cold.as_secs_f64() * 1000.0
        );
        println!(
            "unchanged poll: {:.1} ms each (target < 100 ms), {} requests each, {not_modified}/{} answered 304, rate limit spent over {rounds} polls: {spent} (target 0)",
            per_poll.as_secs_f64() * 1000.0,
            later.len() / rounds as usize,
            later.len()
        );
        assert!(per_poll < Duration::from_millis(100) || cfg!(debug_assertions));
        fake.stop();
    });
}
