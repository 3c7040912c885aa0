//! One `gasclaw run` against the fake Bot API and the fake stack: what the
//! end-to-end test files share — starting it, what the bot sent, waiting
//! for a message, pressing a button, stopping it. Each file adds its own
//! defaults (a `start` of its own) and helpers in an `impl World` of its own.

use std::time::{Duration, Instant};

use gasclaw_fakes::bot_api::updates::{self, Chat, User};
use gasclaw_fakes::bot_api::{Call, FakeBotApi, SentMessage};
use serde_json::{Value, json};

use super::*;

/// How long the waits below wait unless told otherwise.
pub const WAIT_DEFAULT: Duration = Duration::from_secs(30);

pub const OWNER: i64 = OWNER_ID as i64;
/// The people and chats the tests speak for (a file may name its own).
pub const OPERATOR: u64 = 7002;
pub const MEMBER: u64 = 7003;
pub const STRANGER: u64 = 7666;
pub const GROUP: i64 = -1001234567890;
pub const FORUM: i64 = -1009876543210;
pub const UNLISTED: i64 = -1005555555555;

pub fn owner() -> User {
    User::new(OWNER_ID, "Owner")
}

impl TestEnv {
    /// A monitor cycle every `interval`; reminders and healing out of the
    /// way unless a test turns them on.
    pub fn monitor_every(&mut self, interval: &str) -> &mut Self {
        self.set("MONITOR_INTERVAL", interval)
            .set("ALERT_REPEAT", "1h")
            .set("AUTO_HEAL", "off")
    }

    /// [`OPERATOR`] and the groups `groups` (`:`-separated) allowed besides
    /// the owner.
    pub fn allow(&mut self, groups: &str) -> &mut Self {
        self.set("TELEGRAM_ALLOW_IDS", &OPERATOR.to_string())
            .set("TELEGRAM_GROUP_IDS", groups)
    }
}

/// A fake Kimi on which both agent keys fail at their first request: the
/// first is refused as invalid, the second answers 429 (every agent key
/// cooling).
pub async fn kimi_with_every_agent_key_failing() -> gasclaw_fakes::kimi::FakeKimi {
    use gasclaw_fakes::kimi::{FakeKimi, Reply};
    let kimi = FakeKimi::start().await.expect("kimi");
    kimi.script(AGENT_KEYS[0], "A", vec![Reply::Unauthorized]);
    kimi.script(
        AGENT_KEYS[1],
        "B",
        vec![Reply::RateLimited { retry_after: None }],
    );
    kimi
}

/// `HH:MM-HH:MM` (`QUIET_HOURS`) around the present in `tz`, or away from it.
pub fn quiet_range(tz: chrono_tz::Tz, around_now: bool) -> String {
    let now = chrono::Utc::now().with_timezone(&tz);
    let (a, b) = if around_now {
        (
            now - chrono::Duration::hours(1),
            now + chrono::Duration::hours(1),
        )
    } else {
        (
            now + chrono::Duration::hours(2),
            now + chrono::Duration::hours(3),
        )
    };
    format!("{}-{}", a.format("%H:%M"), b.format("%H:%M"))
}

pub struct World {
    pub env: TestEnv,
    pub tg: FakeBotApi,
    pub run: Option<tokio::process::Child>,
}

impl World {
    /// A fake Bot API, a test environment pointed at it and changed by
    /// `tweak`, and `gasclaw run` started in it and bootstrapped.
    pub async fn launch(tweak: impl FnOnce(&mut TestEnv)) -> World {
        let tg = fake_telegram(false).await;
        let mut env = TestEnv::new();
        env.use_telegram(&tg);
        tweak(&mut env);
        let run = Some(env.start_run(&tg).await);
        World { env, tg, run }
    }

    /// SIGTERM (gasclaw must exit 0), then `gasclaw run` again, bootstrapped.
    pub async fn restart(&mut self) {
        let run = self.run.take().expect("running");
        assert_eq!(sigterm(run).await, Some(0));
        self.run = Some(self.env.start_run(&self.tg).await);
    }

    /// SIGTERM; the exit code. The fake Bot API stops too.
    pub async fn stop(mut self) -> Option<i32> {
        let code = sigterm(self.run.take().expect("running")).await;
        self.tg.stop();
        code
    }

    /// SIGTERM, then the exit code and everything `gasclaw run` logged.
    pub async fn stop_with_log(&mut self) -> (Option<i32>, String) {
        let code = sigterm(self.run.take().expect("running")).await;
        let out = (code, self.env.run_log());
        self.tg.stop();
        out
    }

    /// The barrier for "nothing more happens": `n` monitor cycles that began
    /// after now have finished (each checks, alerts and heals), and the outbox
    /// has delivered everything they queued.
    pub async fn settled(&self, n: usize) {
        for _ in 0..n {
            let after = chrono::Utc::now();
            let url = format!("{}/healthz", self.env.http_url());
            let done = tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    if let Ok(r) = reqwest::get(&url).await
                        && let Ok(v) = r.json::<serde_json::Value>().await
                        && let Some(at) = v["monitor"]["last_cycle"]["at"].as_str()
                        && chrono::DateTime::parse_from_rfc3339(at).is_ok_and(|t| t > after)
                    {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await;
            assert!(
                done.is_ok(),
                "no monitor cycle within 30 s\n{}",
                self.env.diagnosis()
            );
        }
        let outbox = self.env.gasclaw_home.join("outbox");
        self.env
            .wait_until(
                "the outbox to be delivered",
                Duration::from_secs(30),
                || {
                    // Pending entries are `*.json`; `messages.state` (the ids
                    // of sent alerts) stays.
                    std::fs::read_dir(&outbox)
                        .map(|d| {
                            !d.flatten()
                                .any(|f| f.path().extension().is_some_and(|e| e == "json"))
                        })
                        .unwrap_or(true)
                },
            )
            .await;
    }

    /// Waits until a monitor cycle that began after `after` saw `service` down.
    pub async fn cycle_saw_down(&self, service: &str, after: chrono::DateTime<chrono::Utc>) {
        let url = format!("{}/healthz", self.env.http_url());
        let seen = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if let Ok(r) = reqwest::get(&url).await
                    && let Ok(v) = r.json::<serde_json::Value>().await
                    && let Some(at) = v["monitor"]["last_cycle"]["at"].as_str()
                    && chrono::DateTime::parse_from_rfc3339(at).is_ok_and(|t| t > after)
                    && v["monitor"]["last_cycle"]["report"]["checks"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["name"] == service && c["status"] != "ok")
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        assert!(
            seen.is_ok(),
            "no monitor cycle saw {service} down within 30 s"
        );
    }

    /// Every text Telegram accepted for `chat`, in order.
    pub fn texts(&self, chat: i64) -> Vec<String> {
        self.tg
            .calls_of("sendmessage")
            .into_iter()
            .filter(|c| c.chat_id() == Some(chat) && c.response_status == 200)
            .map(|c| c.text().to_string())
            .collect()
    }

    /// How often `needle` stands in the texts accepted for `chat` (the
    /// outbox may merge several alerts into one message).
    pub fn count(&self, chat: i64, needle: &str) -> usize {
        self.texts(chat)
            .iter()
            .map(|t| t.matches(needle).count())
            .sum()
    }

    /// Waits until `needle` was accepted for `chat` `n` times in all.
    pub async fn wait_count(&self, chat: i64, needle: &str, n: usize) {
        self.wait_count_within(chat, needle, n, WAIT_DEFAULT).await
    }

    pub async fn wait_count_within(&self, chat: i64, needle: &str, n: usize, timeout: Duration) {
        let start = Instant::now();
        while self.count(chat, needle) < n {
            assert!(
                start.elapsed() < timeout,
                "{needle:?} not sent {n} times to {chat}; sent: {:#?}\nrefused: {:#?}",
                self.texts(chat),
                self.tg
                    .calls()
                    .into_iter()
                    .filter(|c| c.method != "getupdates" && c.response_status != 200)
                    .map(|c| format!("{} {} {}", c.method, c.response_status, c.body))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The messages the bot sent to `chat` whose text (as it reads now,
    /// after edits) contains `needle`.
    pub fn sent(&self, chat: i64, needle: &str) -> Vec<SentMessage> {
        self.tg
            .sent_messages(chat)
            .into_iter()
            .filter(|m| m.text.contains(needle))
            .collect()
    }

    /// Waits until a message to `chat` reads with `needle`; the newest.
    pub async fn wait_sent(&self, chat: i64, needle: &str) -> SentMessage {
        self.wait_sent_within(chat, needle, WAIT_DEFAULT).await
    }

    pub async fn wait_sent_within(
        &self,
        chat: i64,
        needle: &str,
        timeout: Duration,
    ) -> SentMessage {
        let start = Instant::now();
        loop {
            if let Some(m) = self.sent(chat, needle).pop() {
                return m;
            }
            assert!(
                start.elapsed() < timeout,
                "no message in {chat} containing {needle:?}; sent: {:#?}",
                self.tg
                    .sent_messages(chat)
                    .iter()
                    .map(|m| &m.text)
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Pushes an update and waits for the bot's next message to `chat`.
    pub async fn say(&self, update: Value, chat: i64) -> Call {
        let floor = self.tg.last_seq();
        self.tg.push_update(update);
        self.tg
            .wait_for(
                |c| c.seq > floor && c.method == "sendmessage" && c.chat_id() == Some(chat),
                WAIT_DEFAULT,
            )
            .await
            .unwrap_or_else(|| panic!("no reply in chat {chat}"))
    }

    /// The bot's newest message in `chat`, with the text of `call`, as
    /// Telegram delivers it back in a callback or a reply.
    pub fn bot_message(&self, chat: &Chat, call: &Call) -> Value {
        let sent = self.tg.sent_messages(chat.id());
        let id = sent.last().expect("sent").message_id;
        json!({"message_id": id, "date": 1_767_300_000, "chat": chat.0, "text": call.text(),
            "from": {"id": self.tg.bot_id(), "is_bot": true, "first_name": "Gas", "username": "gas_bot"}})
    }

    /// Message `m` as a client sees it (plain text, from the bot).
    pub fn as_seen(&self, m: &SentMessage, chat: &Chat) -> Value {
        json!({
            "message_id": m.message_id,
            "date": 1_767_300_000,
            "chat": chat.0,
            "from": {"id": self.tg.bot_id(), "is_bot": true, "first_name": "Gas", "username": "gas_bot"},
            "text": gasclaw::telegram::render::plain(&m.text),
        })
    }

    /// `who` presses the button with `data` under message `m` in `chat`.
    pub fn press(&self, who: &User, chat: &Chat, m: &SentMessage, data: &str) {
        let msg = self.as_seen(m, chat);
        self.tg.push_update(updates::callback(who, &msg, data));
    }

    /// `who` presses the button with `data` under the bot's message `msg`;
    /// the answer to the press.
    pub async fn answer_to(&self, who: &User, msg: &Value, data: &str) -> Call {
        let floor = self.tg.last_seq();
        self.tg.push_update(updates::callback(who, msg, data));
        self.tg
            .wait_for(
                |c| c.seq > floor && c.method == "answercallbackquery",
                WAIT_DEFAULT,
            )
            .await
            .expect("the press is answered")
    }

    /// The owner sends `command` in the DM and presses the first button
    /// (confirm) of the prompt that reads with `prompt`.
    pub async fn owner_confirms(&self, command: &str, prompt: &str) {
        let o = owner();
        let floor = self.tg.last_seq();
        self.tg.push_update(updates::private_text(&o, command));
        let asked = self
            .tg
            .wait_for(
                |c| {
                    c.seq > floor
                        && c.method == "sendmessage"
                        && c.chat_id() == Some(OWNER)
                        && c.text().contains(prompt)
                },
                WAIT_DEFAULT,
            )
            .await
            .unwrap_or_else(|| panic!("no prompt {prompt:?} after {command}"));
        let m = self
            .sent(OWNER, prompt)
            .pop()
            .expect("the prompt among the sent messages");
        self.press(&o, &Chat::private(&o), &m, &button_data(&asked, 0));
    }
}

/// The callback data of button `index` in the first row of a sent message.
pub fn button_data(call: &Call, index: usize) -> String {
    button_at(call, 0, index)
}

/// The callback data of button `index` in row `row`.
pub fn button_at(call: &Call, row: usize, index: usize) -> String {
    call.body["reply_markup"]["inline_keyboard"][row][index]["callback_data"]
        .as_str()
        .expect("a button")
        .to_string()
}

/// The callback data of every button of a message, row by row.
pub fn buttons(m: &SentMessage) -> Vec<String> {
    m.reply_markup
        .as_ref()
        .and_then(|r| r["inline_keyboard"].as_array())
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["callback_data"].as_str().map(str::to_string))
        .collect()
}
