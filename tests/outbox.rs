//! The outbox against a fake Bot API that enforces Telegram's limits: a
//! burst of 100 alerts to one group draws no 429 and arrives complete and in
//! order.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::sync::Arc;
use std::time::Duration;

use gasclaw::telegram::outbox::{Outbox, Renderer};
use gasclaw_core::config::ChatTarget;
use gasclaw_core::core::Service;
use gasclaw_core::core::alerts::{
    Alert, AlertAction, CheckId, Fact, IncidentId, Severity, Subject, Transition,
};
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

/// A chat the outbox serves after the owner's in each pass (chats go in
/// order).
const LATER: ChatTarget = ChatTarget {
    chat_id: common::OWNER_ID as i64 + 1,
    thread_id: None,
};

/// Polls `done` until it holds (at most 20 s).
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

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
        until("the first alert sent", || sends() >= 1).await;
        outbox.enqueue(OWNER, "🔴 second".into()).expect("enqueue");
        until("the second alert sent", || sends() >= 2).await;
        // The barrier: a marker for a later chat goes in a pass that read the
        // outbox after the second was delivered, and a pass serves the chats
        // in order: anything still pending for the owner would go before it.
        outbox.enqueue(LATER, "marker".into()).expect("enqueue");
        until("the marker sent", || {
            tg.calls_of("sendmessage")
                .iter()
                .any(|c| c.chat_id() == Some(LATER.chat_id))
        })
        .await;
        stop.cancel();
        let _ = task.await;
        chattr(&entry, "-i");
        let texts: Vec<String> = tg
            .calls_of("sendmessage")
            .iter()
            .filter(|c| c.chat_id() == Some(OWNER.chat_id))
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
        // `drain` returns once its delivery task has ended: no send of it
        // is still to come.
        outbox.drain(bot(&tg), Duration::from_secs(3)).await;
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

fn mayor_alert(incident: u64, transition: Transition) -> Alert {
    let id = CheckId::Service(Service::Mayor);
    Alert {
        incident: IncidentId(incident),
        subject: Subject::Check(id),
        severity: Severity::Critical,
        fact: Fact::Check {
            id,
            transition,
            detail: "not running".into(),
            word: "down".into(),
        },
        buttons: vec![AlertAction::Ack, AlertAction::Restart(Service::Mayor)],
        consequences: Vec::new(),
        acked_by: None,
        resolved: None,
    }
}

/// Typed alerts are persisted as JSON and rendered at send time in the
/// recipient's language; the message id of a sent alert survives a restart
/// so a later edit and the removal of its buttons find it; a Telegram
/// outage loses and duplicates nothing.
#[test]
fn typed_alerts_are_rendered_at_send_time_and_edited_after_a_restart() {
    common::run_test(Duration::from_secs(60), async {
        let dir = tempfile::tempdir().expect("tempdir");
        let tg = common::fake_telegram(false).await;
        let zh = ChatTarget {
            chat_id: -1009,
            thread_id: None,
        };
        let renderer = || {
            Renderer::new(Arc::new(gasclaw::i18n::Locales::embedded()), "en")
                .with_chat(-1009, "zh-CN")
        };
        let outbox = Arc::new(Outbox::open_with(dir.path(), renderer()).expect("outbox"));
        let alert = mayor_alert(77, Transition::Down);
        outbox.alert(OWNER, alert.clone()).expect("enqueue");
        outbox.alert(zh, alert.clone()).expect("enqueue");
        // Persisted typed, not as text.
        let files: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|f| std::fs::read_to_string(f.expect("entry").path()).expect("read"))
            .collect();
        assert_eq!(files.len(), 2);
        assert!(
            files
                .iter()
                .all(|f| f.contains(r#""op":"alert""#) && !f.contains("<b>")),
            "{files:?}"
        );
        // Telegram is away while they wait.
        tg.set_unreachable(true).await;
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(outbox.clone().run(bot(&tg), stop.clone()));
        tokio::time::sleep(Duration::from_millis(600)).await;
        tg.set_unreachable(false).await;
        let start = std::time::Instant::now();
        while !outbox.is_empty() {
            assert!(start.elapsed() < Duration::from_secs(20), "not delivered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.cancel();
        let _ = task.await;
        let en = tg.sent_messages(OWNER.chat_id);
        let cn = tg.sent_messages(zh.chat_id);
        assert_eq!((en.len(), cn.len()), (1, 1), "sent once each");
        assert!(en[0].text.contains("mayor") && en[0].text.contains("down"));
        assert!(cn[0].text.contains("故障") || cn[0].text != en[0].text);
        assert!(!en[0].silent, "a critical alert makes a sound");
        let data: Vec<String> = en[0].reply_markup.as_ref().expect("buttons")["inline_keyboard"][0]
            .as_array()
            .expect("row")
            .iter()
            .map(|b| b["callback_data"].as_str().expect("data").to_string())
            .collect();
        assert_eq!(data, ["al:77:ack", "al:77:restart:mayor"]);
        drop(outbox);

        // After a restart, the edit and the removal find the messages.
        let outbox = Arc::new(Outbox::open_with(dir.path(), renderer()).expect("reopen"));
        let mut acked = alert.clone();
        acked.acked_by = Some("ann".into());
        outbox.edit_alert(OWNER, acked).expect("edit");
        outbox.remove_buttons(zh, IncidentId(77)).expect("remove");
        outbox.drain(bot(&tg), Duration::from_secs(10)).await;
        assert!(outbox.is_empty());
        let en = tg.sent_messages(OWNER.chat_id);
        let cn = tg.sent_messages(zh.chat_id);
        assert_eq!((en.len(), cn.len()), (1, 1), "edited, not sent again");
        assert!(en[0].text.contains("acknowledged by ann"), "{}", en[0].text);
        assert_eq!(en[0].edits, 1);
        assert!(en[0].reply_markup.is_some(), "still open: buttons stay");
        assert!(cn[0].reply_markup.is_none(), "buttons removed");
        assert_eq!(tg.calls_of("editmessagereplymarkup").len(), 1);
        tg.stop();
    });
}

/// An info alert (a recovery) goes out without a sound.
#[test]
fn info_alerts_are_sent_silently() {
    common::run_test(Duration::from_secs(30), async {
        let dir = tempfile::tempdir().expect("tempdir");
        let tg = common::fake_telegram(false).await;
        let outbox = Arc::new(Outbox::open(dir.path()).expect("outbox"));
        let mut a = mayor_alert(
            5,
            Transition::Recovered {
                after: Duration::from_secs(90),
            },
        );
        a.severity = Severity::Info;
        a.buttons.clear();
        outbox.alert(OWNER, a).expect("enqueue");
        outbox.drain(bot(&tg), Duration::from_secs(5)).await;
        let sent = tg.sent_messages(OWNER.chat_id);
        assert_eq!(sent.len(), 1);
        assert!(sent[0].silent, "an info alert made a sound");
        assert!(sent[0].text.contains("recovered"), "{}", sent[0].text);
        tg.stop();
    });
}
