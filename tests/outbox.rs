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

/// Sets or clears the immutable attribute (root only, ext4 and friends):
/// the one way to make removing or writing a file fail for root.
fn chattr(path: &std::path::Path, flag: &str) -> bool {
    std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

fn bot(tg: &gasclaw_fakes::bot_api::FakeBotApi) -> gasclaw::telegram::Tg {
    gasclaw::telegram::Tg::new(
        Bot::new(tg.token()).set_api_url(tg.url().parse().expect("url")),
        false,
    )
}

const OWNER: ChatTarget = ChatTarget {
    chat_id: common::OWNER_ID as i64,
    thread_id: None,
};

#[test]
fn a_delivered_alert_whose_file_cannot_be_removed_is_never_sent_again() {
    common::run_test(Duration::from_secs(60), async {
        let dir = tempfile::tempdir().expect("tempdir");
        let probe = dir.path().join("probe");
        std::fs::write(&probe, "x").expect("probe");
        if !chattr(&probe, "+i") {
            println!("SKIPPED: chattr +i is not available here (needs root on ext4/xfs/btrfs)");
            return;
        }
        chattr(&probe, "-i");
        let tg = common::fake_telegram(false).await;
        let sends = || tg.calls_of("sendmessage").len();

        // 1. The file itself cannot be removed, renamed or emptied.
        let outbox = Arc::new(Outbox::open(&dir.path().join("a")).expect("outbox"));
        outbox.enqueue(OWNER, "🔴 first".into()).expect("enqueue");
        let entry = std::fs::read_dir(dir.path().join("a"))
            .expect("dir")
            .next()
            .expect("an entry")
            .expect("entry")
            .path();
        assert!(chattr(&entry, "+i"));
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(outbox.clone().run(bot(&tg), stop.clone()));
        tokio::time::sleep(Duration::from_secs(3)).await;
        outbox.enqueue(OWNER, "🔴 second".into()).expect("enqueue");
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.cancel();
        let _ = task.await;
        chattr(&entry, "-i");
        let texts: Vec<String> = tg
            .calls_of("sendmessage")
            .iter()
            .map(|c| c.text().to_string())
            .collect();
        assert!(
            texts == ["🔴 first", "🔴 second"],
            "sent once each, not {} times",
            texts.len()
        );

        // 2. The directory refuses removals, the file can be emptied: the
        // tombstone also holds across a restart.
        let b = dir.path().join("b");
        let outbox = Arc::new(Outbox::open(&b).expect("outbox"));
        outbox.enqueue(OWNER, "🔴 third".into()).expect("enqueue");
        assert!(chattr(&b, "+i"));
        let before = sends();
        outbox.drain(bot(&tg), Duration::from_secs(3)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(sends(), before + 1);
        let reopened = Arc::new(Outbox::open(&b).expect("reopen"));
        assert!(reopened.is_empty(), "a delivered entry came back");
        reopened.drain(bot(&tg), Duration::from_secs(2)).await;
        chattr(&b, "-i");
        assert_eq!(sends(), before + 1, "sent again after a restart");
        tg.stop();
    });
}

#[test]
fn a_disk_that_refuses_alerts_keeps_them_in_memory_and_retries() {
    common::run_test(Duration::from_secs(60), async {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("outbox");
        let outbox = Arc::new(Outbox::open(&d).expect("outbox"));
        if !chattr(&d, "+i") {
            println!("SKIPPED: chattr +i is not available here (needs root on ext4/xfs/btrfs)");
            return;
        }
        let seq = outbox.enqueue(OWNER, "🔴 kept in memory".into());
        assert!(seq.is_ok(), "a full disk is not an error for the caller");
        assert_eq!(outbox.in_memory(), 1);
        assert_eq!(outbox.len(), 1, "counted as waiting");
        assert_eq!(std::fs::read_dir(&d).expect("dir").count(), 0);
        // The disk takes it once it can.
        outbox.persist_memory();
        assert_eq!(outbox.in_memory(), 1);
        chattr(&d, "-i");
        outbox.persist_memory();
        assert_eq!(outbox.in_memory(), 0);
        assert_eq!(std::fs::read_dir(&d).expect("dir").count(), 1);

        // Sent from memory while the disk is still full.
        assert!(chattr(&d, "+i"));
        outbox
            .enqueue(OWNER, "🔴 also in memory".into())
            .expect("enqueue");
        let tg = common::fake_telegram(false).await;
        outbox.drain(bot(&tg), Duration::from_secs(5)).await;
        chattr(&d, "-i");
        let texts: Vec<String> = tg
            .calls_of("sendmessage")
            .iter()
            .map(|c| c.text().to_string())
            .collect();
        assert_eq!(texts.len(), 1, "{texts:?}");
        assert!(
            texts[0].contains("kept in memory") && texts[0].contains("also in memory"),
            "{texts:?}"
        );
        assert_eq!(outbox.in_memory(), 0);
        tg.stop();
    });
}
