//! One GitHub poll of a busy repository (50 open pull requests with two
//! checks each, 20 issues, 30 items a page) against the fake GitHub on
//! 127.0.0.1: the cold poll, then unchanged polls, which must cost no rate
//! limit (every answer a 304) — target: 0 rate limit per unchanged poll and
//! under 100 ms each on loopback.
//!
//! Run: `cargo bench --bench github`.

use std::time::{Duration, Instant};

use gasclaw::core::github::GithubWatch;
use gasclaw::fakes::github::{FakeGithub, FakeGithubOptions, NewPull};
use gasclaw::stack::beads::Beads;
use gasclaw::stack::github::{Github, Timing};
use gasclaw::stack::{Redactor, Runner};
use secrecy::SecretString;

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
        let client = Github::new(
            url::Url::parse(&fake.url()).expect("url"),
            fake.repo(),
            SecretString::from(fake.token().to_string()),
            Timing::default(),
        )
        .expect("client");
        let runner = Runner::new(Redactor::new(vec![]), &[]);
        let beads = Beads::new(runner, home.path().join("none/.beads"), 1);
        let watch = GithubWatch::new(client, home.path(), beads);

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
