//! The `/pin` status card under churn: the real `gasclaw run` against the
//! fake stack with 20 polecats whose hooks change every 2 s, for a minute.
//! Telegram allows about 20 messages a minute in a group and one a second
//! in a chat; edits of one message should stay far below that. The card is
//! edited at most once per `PIN_INTERVAL` (here 5 s, the default is 60 s)
//! and only when its text changed.
//!
//! Run: `cargo bench --bench card` (or `cargo test --bench card`: the
//! figures are counts, not CPU).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use gasclaw_fakes::bot_api::updates::{self, User};

fn main() {
    run_test(Duration::from_secs(600), async {
        let tg = fake_telegram(false).await;
        let mut env = TestEnv::new();
        env.use_telegram(&tg);
        env.set("MONITOR_INTERVAL", "1h")
            .set("LOG_LEVEL", "warn")
            .set("AUTO_HEAL", "off")
            .set("PIN_INTERVAL", "5");
        let names: Vec<String> = (1..=18).map(|i| format!("p{i}")).collect();
        // 18 polecats + witness + refinery = 20 rig agents.
        env.fault(
            "GT_POLECATS",
            &names
                .iter()
                .map(|n| format!("project/{n}"))
                .collect::<Vec<_>>()
                .join(","),
        );
        let mut run = Some(env.start_run(&tg).await);
        let owner = User::new(OWNER_ID, "Owner");
        tg.push_update(updates::private_text(&owner, "/pin"));
        tg.wait_for(
            |c| c.method == "sendmessage" && c.text().contains("Town status (kept current)"),
            Duration::from_secs(30),
        )
        .await
        .expect("card");
        let id = tg
            .sent_messages(OWNER_ID as i64)
            .into_iter()
            .find(|m| m.text.contains("Town status (kept current)"))
            .expect("card message")
            .message_id;
        let floor = tg.last_seq();
        let t0 = Instant::now();
        let mut round = 0u64;
        let mut changes = 0u64;
        while t0.elapsed() < Duration::from_secs(60) {
            // Every 2 s a different half of the agents has work hooked, some
            // of it stale (stuck): 20 agents changing state.
            round += 1;
            let hooks: Vec<String> = names
                .iter()
                .enumerate()
                .filter(|(i, _)| (*i as u64 + round).is_multiple_of(2))
                .map(|(i, n)| {
                    let age = if i % 3 == 0 { 2400 } else { 60 };
                    format!("pr-project-polecat-{n}=hq-w{round}-{i}@{age}")
                })
                .collect();
            env.fault("AGENT_HOOK", &hooks.join(","));
            changes += 1;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let elapsed = t0.elapsed().as_secs_f64();
        let edits: Vec<_> = tg
            .calls_of("editmessagetext")
            .into_iter()
            .filter(|c| c.seq > floor && c.body["message_id"].as_i64() == Some(id))
            .collect();
        let mut gaps: Vec<f64> = edits
            .windows(2)
            .map(|w| w[1].at.duration_since(w[0].at).as_secs_f64())
            .collect();
        gaps.sort_by(|a, b| a.total_cmp(b));
        let per_minute = edits.len() as f64 * 60.0 / elapsed;
        let not_modified = edits.iter().filter(|c| c.response_status != 200).count();
        println!(
            "status card, 20 agents changing every 2 s for {elapsed:.0} s: {} state changes, {} edits ({per_minute:.1}/min, {} refused as unchanged), shortest gap between edits {:.2} s (PIN_INTERVAL 5 s; Telegram: ~20/min per group, ~1/s per chat)",
            changes,
            edits.len(),
            not_modified,
            gaps.first().copied().unwrap_or(0.0)
        );
        // At most one edit per PIN_INTERVAL (5 s: 12 a minute), well inside
        // a group's ~20 a minute.
        assert!(
            edits.len() as f64 <= elapsed / 5.0 + 1.0,
            "{per_minute} edits a minute"
        );
        assert!(per_minute < 20.0, "{per_minute} edits a minute");
        assert_eq!(not_modified, 0, "an edit without a change");
        assert_eq!(
            tg.sent_messages(OWNER_ID as i64)
                .iter()
                .filter(|m| m.text.contains("Town status (kept current)"))
                .count(),
            1
        );
        let _ = sigterm(run.take().unwrap()).await;
        tg.stop();
    });
}
