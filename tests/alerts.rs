//! Alerts people act on (issue 17), end to end: the real `gasclaw run`, the
//! fake stack and the fake Bot API. Buttons on the alert (Ack, Mute 1h,
//! Restart), authorized at the press, working across a restart of gasclaw;
//! incidents resolved in place with a silent recovery line.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::time::Duration;

use common::*;
use gasclaw_fakes::bot_api::updates::{self, Chat, User};
use gasclaw_fakes::bot_api::{Call, FakeBotApi, SentMessage};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(180);
const WAIT: Duration = Duration::from_secs(20);
const OWNER: i64 = OWNER_ID as i64;
const OPERATOR: u64 = 7002;
const MEMBER: u64 = 7003;
const GROUP: i64 = -1001234567890;

struct World {
    env: TestEnv,
    tg: FakeBotApi,
    run: Option<tokio::process::Child>,
}

impl World {
    async fn start(tweak: impl FnOnce(&mut TestEnv)) -> World {
        let tg = fake_telegram(false).await;
        let mut env = TestEnv::new();
        env.use_telegram(&tg);
        env.set("MONITOR_INTERVAL", "1")
            .set("ALERT_REPEAT", "1h")
            .set("AUTO_HEAL", "off")
            .set("TELEGRAM_ALLOW_IDS", &OPERATOR.to_string())
            .set("TELEGRAM_GROUP_IDS", &GROUP.to_string());
        tweak(&mut env);
        let run = Some(env.start_run(&tg).await);
        World { env, tg, run }
    }

    /// Stops gasclaw and starts it again with the mayor unable to start
    /// (bootstrap fails at it, so the mayor's incident stays open).
    async fn restart_with_mayor_broken(&mut self) {
        assert_eq!(sigterm(self.run.take().expect("running")).await, Some(0));
        self.env.fault("GT_FAIL", "mayor start");
        let floor = self.tg.last_seq();
        self.run = Some(
            self.env
                .command(&["run"])
                .spawn()
                .expect("spawn gasclaw run"),
        );
        let up = self
            .tg
            .wait_for(
                |c| c.seq > floor && c.method == "sendmessage" && c.text().contains("Gasclaw "),
                Duration::from_secs(60),
            )
            .await;
        assert!(up.is_some(), "no start-up message after the restart");
    }

    /// The messages the bot sent to `chat` whose text (as it reads now)
    /// contains `needle`.
    fn sent(&self, chat: i64, needle: &str) -> Vec<SentMessage> {
        self.tg
            .sent_messages(chat)
            .into_iter()
            .filter(|m| m.text.contains(needle))
            .collect()
    }

    /// Waits until a message to `chat` reads with `needle`.
    async fn wait_sent(&self, chat: i64, needle: &str) -> SentMessage {
        let start = std::time::Instant::now();
        loop {
            if let Some(m) = self.sent(chat, needle).pop() {
                return m;
            }
            assert!(
                start.elapsed() < WAIT,
                "no message with {needle:?} in {chat}: {:#?}",
                self.tg
                    .sent_messages(chat)
                    .iter()
                    .map(|m| &m.text)
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until message `id` in `chat` reads with `needle`.
    async fn wait_edit(&self, chat: i64, id: i64, needle: &str) -> SentMessage {
        let start = std::time::Instant::now();
        loop {
            if let Some(m) = self
                .sent(chat, needle)
                .into_iter()
                .find(|m| m.message_id == id)
            {
                return m;
            }
            assert!(start.elapsed() < WAIT, "message {id} never read {needle:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `who` presses the button whose data starts with `prefix` on `m`;
    /// the answer to the press.
    async fn press(&self, who: &User, m: &SentMessage, prefix: &str) -> Call {
        let data = buttons(m)
            .into_iter()
            .find(|d| d.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} button on {:?}", m.text));
        self.press_data(who, m, &data).await
    }

    async fn press_data(&self, who: &User, m: &SentMessage, data: &str) -> Call {
        let chat = if m.chat_id > 0 {
            Chat::private(who)
        } else {
            Chat::supergroup(m.chat_id, "Town")
        };
        let msg = json!({"message_id": m.message_id, "date": 1_767_300_000, "chat": chat.0, "text": m.text});
        let floor = self.tg.last_seq();
        let id = updates::callback(who, &msg, data)["callback_query"]["id"]
            .as_str()
            .expect("id")
            .to_string();
        let update = json!({"callback_query": {
            "id": id, "from": who.json(), "chat_instance": "ci-1", "data": data, "message": msg,
        }});
        self.tg.push_update(update);
        self.tg
            .wait_for(
                |c| {
                    c.seq > floor
                        && c.method == "answercallbackquery"
                        && c.body["callback_query_id"] == json!(id)
                },
                WAIT,
            )
            .await
            .expect("the press is answered")
    }

    async fn stop(mut self) {
        assert_eq!(sigterm(self.run.take().expect("running")).await, Some(0));
        self.tg.stop();
    }
}

/// The callback data of a message's buttons.
fn buttons(m: &SentMessage) -> Vec<String> {
    m.reply_markup
        .as_ref()
        .and_then(|r| r["inline_keyboard"].as_array())
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["callback_data"].as_str().map(str::to_string))
        .collect()
}

fn answer_text(c: &Call) -> String {
    c.body["text"].as_str().unwrap_or("").to_string()
}

/// Ack on the alert stops its reminders and says who acknowledged; the
/// recovery edits the alert in place (how long, who acked, no buttons) and
/// the recovery line makes no sound; a press after the end says so.
#[test]
fn ack_stops_the_reminders_and_the_end_is_told_in_place() {
    run_test(T, async {
        let w = World::start(|e| {
            e.set("ALERT_REPEAT", "2");
        })
        .await;
        assert_eq!(w.env.gt(&["mayor", "stop"]).code, Some(0));
        let alert = w.wait_sent(OWNER, "<b>mayor</b> down").await;
        assert!(!alert.silent, "a critical alert makes a sound");
        let data = buttons(&alert);
        assert_eq!(data.len(), 3, "{data:?}");
        assert!(data[0].starts_with("al:") && data[0].ends_with(":ack"));
        assert!(data[1].ends_with(":mute:3600"));
        assert!(data[2].ends_with(":restart:mayor"));
        assert!(data.iter().all(|d| d.len() <= 64));

        let owner = User::new(OWNER_ID, "Owner");
        let answer = w.press(&owner, &alert, "al:").await;
        assert!(answer_text(&answer).contains("Acknowledged"), "{answer:?}");
        w.wait_sent(OWNER, "acknowledged by Owner").await;
        // Two reminder periods pass: no reminder.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(w.sent(OWNER, "still down").is_empty());
        let acked = w.sent(OWNER, "acknowledged by Owner");
        assert_eq!(acked.len(), 1);
        assert_eq!(acked[0].message_id, alert.message_id, "edited in place");
        assert_eq!(buttons(&acked[0]).len(), 3, "the buttons stay while open");

        assert_eq!(w.env.gt(&["mayor", "start"]).code, Some(0));
        let resolved = w.wait_edit(OWNER, alert.message_id, "Resolved after").await;
        assert_eq!(resolved.message_id, alert.message_id);
        assert!(resolved.text.contains("acknowledged by Owner"));
        assert!(buttons(&resolved).is_empty(), "buttons removed");
        let recovery = w.wait_sent(OWNER, "<b>mayor</b> recovered after").await;
        assert!(recovery.silent, "the recovery line makes no sound");

        let late = w.press_data(&owner, &alert, &data[0]).await;
        assert_eq!(answer_text(&late), "This incident has ended.");
        assert_eq!(w.sent(OWNER, "<b>mayor</b> down").len(), 1);
        w.stop().await;
    });
}

/// A member's press on Restart is refused; an operator's asks for the same
/// confirmation as `/restart`, and confirming restarts the service through
/// the core and the audit log.
#[test]
fn restart_from_the_alert_is_authorized_confirmed_and_audited() {
    run_test(T, async {
        let w = World::start(|e| {
            e.set("ALERT_CHAT_IDS", &GROUP.to_string());
        })
        .await;
        assert_eq!(w.env.gt(&["mayor", "stop"]).code, Some(0));
        let alert = w.wait_sent(GROUP, "<b>mayor</b> down").await;
        let member = User::new(MEMBER, "Mem");
        let answer = w.press_data(&member, &alert, &buttons(&alert)[2]).await;
        assert_eq!(answer_text(&answer), "Your role cannot do that.");
        assert!(w.sent(GROUP, "Restart mayor?").is_empty());

        let operator = User::new(OPERATOR, "Op");
        w.press_data(&operator, &alert, &buttons(&alert)[2]).await;
        let prompt = w.wait_sent(GROUP, "Restart mayor?").await;
        let ok = buttons(&prompt)
            .into_iter()
            .find(|d| d.starts_with("ok:"))
            .expect("confirm button");
        w.press_data(&operator, &prompt, &ok).await;
        w.wait_sent(GROUP, "mayor").await;
        let start = std::time::Instant::now();
        while w.env.gt(&["mayor", "status", "--running"]).stdout.trim() != "true" {
            assert!(start.elapsed() < WAIT, "the mayor was not restarted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let audit = w.env.read(w.env.gasclaw_home.join("audit.log"));
        let lines: Vec<Value> = audit
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let of = |user: u64, cmd: &str, outcome: &str| {
            lines.iter().any(|l| {
                l["user_id"] == json!(user)
                    && l["command"] == json!(cmd)
                    && l["outcome"] == json!(outcome)
            })
        };
        assert!(of(MEMBER, "alert-restart", "refused"), "{audit}");
        assert!(of(OPERATOR, "restart", "asked"), "{audit}");
        assert!(of(OPERATOR, "restart", "confirmed"), "{audit}");
        w.stop().await;
    });
}

/// The buttons of an alert sent before a restart of gasclaw still work
/// after it; the incident continues (no second "down" alert).
#[test]
fn buttons_work_after_a_restart_of_gasclaw() {
    run_test(T, async {
        let mut w = World::start(|_| {}).await;
        assert_eq!(w.env.gt(&["mayor", "stop"]).code, Some(0));
        let alert = w.wait_sent(OWNER, "<b>mayor</b> down").await;
        w.restart_with_mayor_broken().await;
        // A few cycles of the new gasclaw see the mayor still down.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let owner = User::new(OWNER_ID, "Owner");
        let answer = w.press(&owner, &alert, "al:").await;
        assert!(answer_text(&answer).contains("Acknowledged"), "{answer:?}");
        let acked = w.wait_sent(OWNER, "acknowledged by Owner").await;
        assert_eq!(
            acked.message_id, alert.message_id,
            "the old message is edited"
        );
        assert_eq!(
            w.sent(OWNER, "<b>mayor</b> down").len(),
            1,
            "the incident continued: no second alert"
        );
        w.env.clear_fault("GT_FAIL");
        assert_eq!(w.env.gt(&["mayor", "start"]).code, Some(0));
        let resolved = w.wait_edit(OWNER, alert.message_id, "Resolved after").await;
        assert_eq!(resolved.message_id, alert.message_id);
        w.stop().await;
    });
}

/// Dolt down: one critical alert naming what it took down, no separate
/// alerts for those; the Mayor still down once Dolt is back is alerted then.
#[test]
fn the_root_cause_is_alerted_once_with_its_consequences() {
    run_test(T, async {
        let w = World::start(|e| {
            e.set("ACTIVITY_DEADLINE", "3");
        })
        .await;
        // Fresh work, then Dolt goes down and takes the town with it: the
        // commits stop too.
        git(
            &w.env.project,
            &["commit", "-q", "--allow-empty", "-m", "work"],
            None,
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let floor = w.tg.last_seq();
        assert_eq!(w.env.gt(&["dolt", "stop"]).code, Some(0));
        assert_eq!(w.env.gt(&["mayor", "stop"]).code, Some(0));
        assert_eq!(w.env.gt(&["daemon", "stop"]).code, Some(0));
        let alert = w
            .wait_sent(
                OWNER,
                "Also down because of this: daemon, mayor, agents, activity",
            )
            .await;
        assert!(
            alert.text.starts_with("🔴 <b>dolt</b> down"),
            "{}",
            alert.text
        );
        let sends_after = |needle: &str| {
            w.tg.calls_of("sendmessage")
                .iter()
                .filter(|c| c.seq > floor && c.text().contains(needle))
                .count()
        };
        // A few more cycles: still nothing on its own for the consequences.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(sends_after("<b>mayor</b> down"), 0);
        assert_eq!(sends_after("<b>daemon</b> down"), 0);
        assert_eq!(sends_after("no commit for"), 0);
        assert_eq!(sends_after("<b>dolt</b> down"), 1);

        assert_eq!(w.env.gt(&["dolt", "start"]).code, Some(0));
        assert_eq!(w.env.gt(&["daemon", "start"]).code, Some(0));
        w.wait_edit(OWNER, alert.message_id, "Resolved after").await;
        let mayor = w.wait_sent(OWNER, "<b>mayor</b> down").await;
        assert_eq!(buttons(&mayor).len(), 3, "alerted on its own, with buttons");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            w.sent(OWNER, "<b>daemon</b> down").is_empty(),
            "the daemon came back with Dolt"
        );
        w.stop().await;
    });
}
