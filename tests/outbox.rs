//! The outbox against a fake Bot API that enforces Telegram's limits: a
//! burst of 100 alerts to one group draws no 429 and arrives complete and in
//! order.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::sync::Arc;
use std::time::Duration;

use gasclaw::notify::Outbox;
use gasclaw_core::config::ChatTarget;
use teloxide::prelude::*;

#[test]
fn a_burst_of_100_alerts_to_one_group_draws_no_429() {
    common::run_test(Duration::from_secs(120), async {
        let tg = common::fake_telegram(true).await;
        let bot = gasclaw::telegram::Tg::new(
            Bot::new(tg.token()).set_api_url(tg.url().parse().expect("url")),
            true,
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = Arc::new(Outbox::open(dir.path()).expect("outbox"));
        let group = ChatTarget {
            chat_id: -1001234567890,
            thread_id: None,
        };
        for i in 0..100 {
            outbox
                .enqueue(
                    group,
                    format!("🔴 <b>check{i:03}</b> down: detail number {i}"),
                )
                .expect("enqueue");
        }
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(outbox.clone().run(bot, stop.clone()));
        let start = std::time::Instant::now();
        while !outbox.is_empty() {
            assert!(start.elapsed() < Duration::from_secs(90), "not delivered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.cancel();
        let _ = task.await;
        assert_eq!(tg.rate_limited_count(), 0, "the fake had to answer 429");
        let sent: Vec<String> = tg
            .sent_messages(group.chat_id)
            .into_iter()
            .map(|m| m.text)
            .collect();
        let all = sent.join("\n\n");
        let mut last = 0;
        for i in 0..100 {
            let at = all
                .find(&format!("check{i:03}"))
                .unwrap_or_else(|| panic!("alert {i} lost"));
            assert!(at >= last, "alert {i} out of order");
            last = at;
        }
        assert!(
            sent.len() < 20,
            "{} sends for 100 alerts: they should be merged",
            sent.len()
        );
        tg.stop();
    });
}
