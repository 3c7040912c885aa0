//! The Telegram bot end to end: the real `gasclaw run` binary, the fake
//! stack on PATH, and the in-repo fake Bot API on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::time::Duration;

use common::*;
use gasclaw_fakes::bot_api::updates::{self, Chat, User};
use gasclaw_fakes::bot_api::{Call, Fault};
use serde_json::Value;

const T: Duration = Duration::from_secs(120);
const WAIT: Duration = Duration::from_secs(20);

impl World {
    async fn start() -> World {
        World::start_with(|_| {}).await
    }

    /// `gasclaw run` with an operator, a group and a forum, and one monitor
    /// cycle at start, then quiet: replies are the tests'.
    async fn start_with(tweak: impl FnOnce(&mut TestEnv)) -> World {
        World::launch(|env| {
            env.allow(&format!("{GROUP}:{FORUM}"))
                .set("MONITOR_INTERVAL", "1h");
            tweak(env);
        })
        .await
    }

    async fn reply(&self, chat: i64, after: usize) -> Option<Call> {
        let seq_floor = self
            .tg
            .calls()
            .get(after.saturating_sub(1))
            .map(|c| c.seq)
            .unwrap_or(0);
        self.tg
            .wait_for(
                |c| c.seq > seq_floor && c.method == "sendmessage" && c.chat_id() == Some(chat),
                WAIT,
            )
            .await
    }

    /// Pushes an update and waits for the first message to `chat` that
    /// Telegram accepts after it (retries and resends included); returns the
    /// floor the wait started from and that message.
    async fn delivered(&self, update: Value, chat: i64) -> (u64, Call) {
        let floor = self.tg.last_seq();
        self.tg.push_update(update);
        let call = self
            .tg
            .wait_for(
                |c| {
                    c.seq > floor
                        && c.method == "sendmessage"
                        && c.chat_id() == Some(chat)
                        && c.response_status == 200
                },
                Duration::from_secs(40),
            )
            .await
            .unwrap_or_else(|| panic!("nothing delivered to {chat} after call {floor}"));
        (floor, call)
    }

    /// Pushes an update and asserts the bot sends nothing to `chat` for a while.
    async fn silent(&self, update: Value, chat: i64) {
        let floor = self.tg.last_seq();
        self.tg.push_update(update);
        let got = self
            .tg
            .wait_for(
                |c| c.seq > floor && c.chat_id() == Some(chat) && c.method != "getupdates",
                Duration::from_secs(3),
            )
            .await;
        assert!(got.is_none(), "expected silence, got {got:?}");
    }

    /// Pushes an update the bot must ignore, then a marker, `/help` from the
    /// owner in the same chat, and asserts that the first thing the bot sends
    /// to `chat` is the marker's answer. Updates of one chat are handled in
    /// order and a command's answer comes from the chat's lane, so anything
    /// `update` made the bot say on the lane would come first; no fixed wait.
    async fn ignored(&self, update: Value, chat: &Chat) {
        let floor = self.tg.last_seq();
        self.tg.push_update(update);
        let o = owner();
        let marker = if chat.id() > 0 {
            updates::private_text(&o, "/help")
        } else {
            updates::group_text(&o, chat, "/help")
        };
        self.tg.push_update(marker);
        let first = self
            .tg
            .wait_for(
                |c| c.seq > floor && c.chat_id() == Some(chat.id()) && c.method != "getupdates",
                WAIT,
            )
            .await
            .expect("the marker's answer");
        assert!(
            first.text().contains("Commands you may use"),
            "expected silence before the marker's answer, got {first:?}"
        );
    }

    /// The owner asks for `/restart <service>` in the DM and confirms; returns
    /// once the bot says it is restarting.
    async fn owner_restarts(&self, service: &str) {
        let o = owner();
        let chat = Chat::private(&o);
        let prompt = self
            .say(
                updates::private_text(&o, &format!("/restart {service}")),
                OWNER_ID as i64,
            )
            .await;
        let msg = self.bot_message(&chat, &prompt);
        let floor = self.tg.last_seq();
        self.tg
            .push_update(updates::callback(&o, &msg, &button_data(&prompt, 0)));
        let started = format!("Restarting {service}");
        self.tg
            .wait_for(|c| c.seq > floor && c.text().contains(&started), WAIT)
            .await
            .expect("started");
    }
}

#[test]
fn roles_get_what_they_may_have() {
    run_test(T, async {
        let w = World::start().await;
        let o = owner();
        // Owner: everything in /help, /status answered.
        let r = w
            .say(updates::private_text(&o, "/help"), OWNER_ID as i64)
            .await;
        assert!(
            r.text().contains("/stop") && r.text().contains("/restart"),
            "{}",
            r.text()
        );
        assert_eq!(r.body["parse_mode"], "HTML");
        let r = w
            .say(updates::private_text(&o, "/status"), OWNER_ID as i64)
            .await;
        assert!(
            r.text().contains("Stack status") && r.text().contains("mayor"),
            "{}",
            r.text()
        );
        // No GITHUB_TOKEN: /status says the GitHub side is off.
        assert!(r.text().contains("GitHub: off"), "{}", r.text());
        assert!(
            r.text().contains("Agents:") && r.text().contains("available"),
            "pools summary: {}",
            r.text()
        );

        // Operator: no /stop.
        let op = User::new(OPERATOR, "Op");
        let r = w
            .say(updates::private_text(&op, "/help"), OPERATOR as i64)
            .await;
        assert!(
            !r.text().contains("/stop") && r.text().contains("/restart"),
            "{}",
            r.text()
        );
        let r = w
            .say(updates::private_text(&op, "/stop"), OPERATOR as i64)
            .await;
        assert!(
            r.text()
                .contains("/stop needs the owner role; you are operator"),
            "{}",
            r.text()
        );

        // Group member: read-only commands only.
        let m = User::new(MEMBER, "Member");
        let g = Chat::supergroup(GROUP, "ops");
        let r = w.say(updates::group_text(&m, &g, "/agents"), GROUP).await;
        assert!(
            r.text().contains("Agents:") && r.text().contains("mayor"),
            "{}",
            r.text()
        );
        let r = w
            .say(updates::group_text(&m, &g, "/restart mayor"), GROUP)
            .await;
        assert!(
            r.text()
                .contains("needs the operator role; you are group member"),
            "{}",
            r.text()
        );
        let r = w.say(updates::group_text(&m, &g, "/help"), GROUP).await;
        assert!(!r.text().contains("/restart"), "{}", r.text());
        let r = w.say(updates::group_text(&m, &g, "/activity"), GROUP).await;
        assert!(r.text().contains("Last commit"), "{}", r.text());

        // Stranger: one refusal with their id, nothing about the system.
        let s = User::new(STRANGER, "Eve");
        let r = w
            .say(updates::private_text(&s, "/status"), STRANGER as i64)
            .await;
        assert_eq!(
            r.text(),
            format!(
                "This bot is private. Your Telegram id is {STRANGER}: ask the owner to allow it."
            )
        );
        // Again within 10 minutes: nothing. The barrier: a second message
        // from them; their chat's updates are handled in order, each logging
        // "refused a stranger" before deciding whether to answer, so once
        // both have logged, the first was fully handled.
        let refusals = || w.env.run_log().matches("refused a stranger").count();
        let logged_before = refusals();
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::private_text(&s, "/status"));
        w.tg.push_update(updates::private_text(&s, "/help"));
        w.env
            .wait_until("the stranger's two messages handled", WAIT, || {
                refusals() >= logged_before + 2
            })
            .await;
        let got: Vec<_> = w
            .tg
            .calls()
            .into_iter()
            .filter(|c| {
                c.seq > floor && c.chat_id() == Some(STRANGER as i64) && c.method != "getupdates"
            })
            .collect();
        assert!(got.is_empty(), "expected silence, got {got:?}");
        // Unlisted groups get nothing, even from the owner (no one can write
        // a marker there: this one waits 3 s).
        w.silent(
            updates::group_text(&o, &Chat::supergroup(UNLISTED, "x"), "/status"),
            UNLISTED,
        )
        .await;
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn every_role_against_every_command_of_the_catalogue() {
    run_test(T, async {
        let w = World::start_with(|e| {
            e.set("TELEGRAM_RATE_LIMIT", "off");
            // The member asks for every command within a minute.
            e.set("TELEGRAM_MEMBER_RATE", "1000");
        })
        .await;
        // The least role of each built-in command, as the issue grants them:
        // members read, operators act, only the owner stops.
        let expected = |name: &str| match name {
            "stop" | "merge" | "pause" | "resume" => "owner",
            "ask" | "bootstrap" | "done" | "logs" | "mute" | "newtask" | "restart" | "take"
            | "unmute" | "peek" | "nudge" | "mail" | "pin" => "operator",
            _ => "member",
        };
        let mut names: Vec<String> = std::fs::read_dir(repo_root().join("commands"))
            .expect("commands/")
            .filter_map(|e| {
                let p = e.ok()?.path();
                (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(String::from))?
            })
            .collect();
        names.sort();
        assert!(names.len() >= 18, "{names:?}");
        let owner = owner();
        let operator = User::new(OPERATOR, "Op");
        let member = User::new(MEMBER, "Member");
        let group = Chat::supergroup(GROUP, "ops");
        for name in &names {
            let command = format!("/{name}");
            let least = expected(name);
            // (who, their role's rank, the update, the chat it answers in)
            let cases = [
                (
                    "owner",
                    3,
                    updates::private_text(&owner, &command),
                    OWNER_ID as i64,
                ),
                (
                    "operator",
                    2,
                    updates::private_text(&operator, &command),
                    OPERATOR as i64,
                ),
                (
                    "member",
                    1,
                    updates::group_text(&member, &group, &command),
                    GROUP,
                ),
            ];
            let needed = match least {
                "owner" => 3,
                "operator" => 2,
                _ => 1,
            };
            for (who, rank, update, chat) in cases {
                let r = w.say(update, chat).await;
                let refused = r.text().contains(&format!("{command} needs the"));
                assert_eq!(
                    refused,
                    rank < needed,
                    "{who} → {command} (needs {least}): {}",
                    r.text()
                );
                if refused {
                    assert!(
                        r.text().contains(&format!("needs the {least} role")),
                        "{}",
                        r.text()
                    );
                }
            }
        }
        // A stranger gets one refusal for all of them, and nothing else.
        let stranger = User::new(STRANGER, "Eve");
        let floor = w.tg.last_seq();
        let refusals = || w.env.run_log().matches("refused a stranger").count();
        let logged_before = refusals();
        for name in &names {
            w.tg.push_update(updates::private_text(&stranger, &format!("/{name}")));
        }
        // The barrier: the stranger's updates are handled one after the
        // other on their chat's lane, and each logs "refused a stranger"
        // before deciding whether to answer. (No allowed person can write in
        // the stranger's private chat, so a marker command cannot do this.)
        // Once all have logged, every reply but the last one's has been sent.
        w.env
            .wait_until("every command of the stranger handled", WAIT, || {
                refusals() >= logged_before + names.len()
            })
            .await;
        let to_stranger: Vec<_> =
            w.tg.calls()
                .into_iter()
                .filter(|c| c.seq > floor && c.chat_id() == Some(STRANGER as i64))
                .collect();
        assert_eq!(to_stranger.len(), 1, "{to_stranger:?}");
        assert!(to_stranger[0].text().contains("This bot is private"));
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn only_commands_for_this_bot_from_real_messages_run() {
    run_test(T, async {
        let w = World::start().await;
        let o = owner();
        let g = Chat::supergroup(GROUP, "ops");
        let r = w
            .say(updates::group_text(&o, &g, "/status@gas_bot"), GROUP)
            .await;
        assert!(r.text().contains("Stack status"));
        w.ignored(updates::group_text(&o, &g, "/status@other_bot"), &g)
            .await;
        w.ignored(updates::edited(&o, &g, "/status"), &g).await;
        w.ignored(updates::forwarded(&o, &g, "/status"), &g).await;
        w.ignored(
            updates::channel_post(&Chat::channel(GROUP, "ops"), "/status"),
            &g,
        )
        .await;
        let mut bot_user = User::new(9999, "OtherBot");
        bot_user.is_bot = true;
        w.ignored(updates::group_text(&bot_user, &g, "/status"), &g)
            .await;
        // Unknown commands and bad arguments get a useful answer.
        let r = w
            .say(updates::private_text(&o, "/frobnicate"), OWNER_ID as i64)
            .await;
        assert!(
            r.text().contains("Unknown command /frobnicate"),
            "{}",
            r.text()
        );
        let r = w
            .say(updates::private_text(&o, "/restart"), OWNER_ID as i64)
            .await;
        assert!(
            r.text()
                .contains("Usage: /restart &lt;dolt|daemon|mayor|gateway|agents|agent&gt;"),
            "{}",
            r.text()
        );
        assert!(
            r.text()
                .contains("Valid values: dolt, daemon, mayor, gateway, agents"),
            "{}",
            r.text()
        );
        let r = w
            .say(
                updates::private_text(&o, "/restart -deacon"),
                OWNER_ID as i64,
            )
            .await;
        assert!(r.text().contains("Not understood: -deacon"), "{}", r.text());
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn restart_asks_confirms_once_for_the_asker_only_and_audits() {
    run_test(T, async {
        let w = World::start().await;
        let op = User::new(OPERATOR, "Op");
        let chat = Chat::private(&op);
        let prompt = w
            .say(
                updates::private_text(&op, "/restart mayor"),
                OPERATOR as i64,
            )
            .await;
        assert!(
            prompt
                .text()
                .contains("Restart mayor? Confirm within 60 seconds."),
            "{}",
            prompt.text()
        );
        let yes = button_data(&prompt, 0);
        assert!(yes.starts_with("ok:") && yes.len() <= 64);
        let msg = w.bot_message(&chat, &prompt);
        w.env.clear_calls();

        // Someone else pressing does nothing (and the confirmation stays).
        let other = owner();
        w.tg.push_update(updates::callback(&other, &msg, &yes));
        let ans =
            w.tg.wait_for(|c| c.method == "answercallbackquery", WAIT)
                .await
                .expect("answer");
        assert_eq!(
            ans.body["text"],
            "Only the person who asked can answer this."
        );
        // (The monitor's own probes, `gt mayor status`, may run meanwhile.)
        assert!(
            !w.env
                .call_lines()
                .iter()
                .any(|l| l.starts_with("gt mayor") && !l.starts_with("gt mayor status")),
            "nothing may happen"
        );

        // The asker confirms: "restarting…", then the result, in the same message.
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::callback(&op, &msg, &yes));
        let restarting =
            w.tg.wait_for(
                |c| {
                    c.seq > floor
                        && c.method == "editmessagetext"
                        && c.text().contains("Restarting mayor")
                },
                WAIT,
            )
            .await
            .expect("restarting…");
        let done =
            w.tg.wait_for(
                |c| {
                    c.seq > restarting.seq
                        && c.method == "editmessagetext"
                        && c.text().contains("mayor restarted")
                },
                WAIT,
            )
            .await
            .expect("result");
        assert_eq!(done.body["message_id"], restarting.body["message_id"]);
        assert!(done.text().contains("Check now: ok"), "{}", done.text());
        let lines = w.env.call_lines();
        assert!(
            lines.iter().any(|l| l == "gt mayor stop")
                && lines.iter().any(|l| l == "gt mayor start"),
            "{lines:?}"
        );

        // Pressing again: single use.
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::callback(&op, &msg, &yes));
        let again =
            w.tg.wait_for(|c| c.seq > floor && c.method == "answercallbackquery", WAIT)
                .await
                .expect("answer");
        assert_eq!(again.body["text"], "Already answered.");

        // Cancelling another one.
        let prompt = w
            .say(updates::private_text(&op, "/bootstrap"), OPERATOR as i64)
            .await;
        let no = button_data(&prompt, 1);
        let msg = w.bot_message(&chat, &prompt);
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::callback(&op, &msg, &no));
        let c =
            w.tg.wait_for(|c| c.seq > floor && c.method == "editmessagetext", WAIT)
                .await
                .expect("edit");
        assert_eq!(c.text(), "Cancelled: Run bootstrap.");

        // The audit log has who, chat, command and outcome.
        let audit = w.env.read(w.env.gasclaw_home.join("audit.log"));
        let entries: Vec<Value> = audit
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        let outcomes: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| {
                (
                    e["command"].as_str().unwrap_or(""),
                    e["outcome"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            outcomes,
            [
                ("restart", "asked"),
                ("restart", "confirmed"),
                ("restart", "ok"),
                ("bootstrap", "asked"),
                ("bootstrap", "cancelled")
            ]
        );
        assert!(
            entries.iter().all(|e| e["user_id"] == OPERATOR
                && e["chat_id"] == OPERATOR
                && e["at"].is_string())
        );
        assert_eq!(entries[0]["args"], serde_json::json!(["mayor"]));
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn a_confirmation_expires_after_its_timeout() {
    run_test(T, async {
        // Time injected: half a second of CONFIRM_TIMEOUT stands for the
        // default 60 s.
        let w = World::start_with(|e| {
            e.set("CONFIRM_TIMEOUT", "500ms");
        })
        .await;
        let o = owner();
        let chat = Chat::private(&o);
        let prompt = w
            .say(updates::private_text(&o, "/stop"), OWNER_ID as i64)
            .await;
        let yes = button_data(&prompt, 0);
        let msg = w.bot_message(&chat, &prompt);
        // The timer itself is the behaviour: the confirmation was made before
        // its prompt was sent, so after this it is older than its timeout.
        tokio::time::sleep(Duration::from_millis(600)).await;
        w.env.clear_calls();
        let floor = w.tg.last_seq();
        let ans = w.answer_to(&o, &msg, &yes).await;
        assert_eq!(
            ans.body["text"],
            "This confirmation expired. Send the command again."
        );
        let edit =
            w.tg.wait_for(|c| c.seq > floor && c.method == "editmessagetext", WAIT)
                .await
                .expect("edit");
        assert!(edit.text().contains("expired"));
        // The barrier: a marker command in the same chat runs on its lane
        // after the press, so its answer proves the press was fully handled;
        // a /stop it had started would have shown "⏹ Stopping…" on the lane.
        w.say(updates::private_text(&o, "/version"), OWNER_ID as i64)
            .await;
        let stopping: Vec<_> =
            w.tg.calls()
                .into_iter()
                .filter(|c| c.seq > floor && c.text().contains("⏹"))
                .collect();
        assert!(stopping.is_empty(), "{stopping:?}");
        assert!(
            !w.env.call_lines().iter().any(|l| l.contains(" stop")),
            "an expired /stop stopped something"
        );
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn bootstrap_progress_is_one_message_edited_to_the_outcome() {
    run_test(T, async {
        let w = World::start().await;
        let o = owner();
        let chat = Chat::private(&o);
        let prompt = w
            .say(updates::private_text(&o, "/bootstrap"), OWNER_ID as i64)
            .await;
        let msg = w.bot_message(&chat, &prompt);
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::callback(&o, &msg, &button_data(&prompt, 0)));
        let done =
            w.tg.wait_for(
                |c| {
                    c.seq > floor
                        && c.method == "editmessagetext"
                        && c.text().contains("nothing changed")
                },
                WAIT,
            )
            .await
            .unwrap_or_else(|| {
                panic!(
                    "final edit; edits: {:#?}",
                    w.tg.calls_of("editmessagetext")
                        .iter()
                        .map(|c| c.text().to_string())
                        .collect::<Vec<_>>()
                )
            });
        let edits: Vec<Call> =
            w.tg.calls_of("editmessagetext")
                .into_iter()
                .filter(|c| c.seq > floor)
                .collect();
        assert!(
            edits
                .iter()
                .all(|c| c.body["message_id"] == done.body["message_id"]),
            "all edits hit one message"
        );
        for step in ["keys", "town", "dolt", "gateway", "mayor"] {
            assert!(
                done.text().contains(&format!("<b>{step}</b>")),
                "{}",
                done.text()
            );
        }
        assert!(
            w.tg.calls_of("sendmessage")
                .iter()
                .filter(|c| c.seq > floor)
                .count()
                == 0,
            "no extra messages"
        );
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn forum_topics_and_locales() {
    run_test(T, async {
        let w = World::start().await;
        let o = owner();
        let forum = Chat::forum(FORUM, "ops forum");
        let r = w
            .say(updates::topic_text(&o, &forum, 77, "/status"), FORUM)
            .await;
        assert_eq!(r.thread_id(), Some(77), "the reply goes to the topic");
        // General topic and ordinary groups: no thread id.
        let r = w
            .say(updates::group_text(&o, &forum, "/agents"), FORUM)
            .await;
        assert_eq!(r.thread_id(), None);
        // The person's Telegram language when a locale exists.
        let zh = User::new(OPERATOR, "Op").lang("zh-hans");
        let r = w
            .say(updates::private_text(&zh, "/help"), OPERATOR as i64)
            .await;
        assert!(r.text().contains("你可以使用的命令"), "{}", r.text());
        let de = User::new(OPERATOR, "Op").lang("de");
        let r = w
            .say(updates::private_text(&de, "/help"), OPERATOR as i64)
            .await;
        assert!(r.text().contains("Commands you may use"), "{}", r.text());
        // Menus registered at start, per locale, with valid commands.
        let menus = w.tg.calls_of("setmycommands");
        assert!(menus.iter().all(|c| c.response_status == 200), "{menus:?}");
        assert!(menus.iter().any(|c| c.body["language_code"] == "zh"));
        assert!(menus.iter().any(|c| c.body.get("language_code").is_none()));
        assert_eq!(w.stop().await, Some(0));

        // GASCLAW_LOCALE wins over the person's language.
        let w = World::start_with(|e| {
            e.set("GASCLAW_LOCALE", "zh-CN");
        })
        .await;
        let r = w
            .say(
                updates::private_text(&owner().lang("en"), "/status"),
                OWNER_ID as i64,
            )
            .await;
        assert!(r.text().contains("系统状态"), "{}", r.text());
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn operator_commands_from_the_home_catalogue_and_long_output_is_cut() {
    run_test(T, async {
        let w = World::start_with(|e| {
            let dir = e.gasclaw_home.join("commands");
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(
                dir.join("bigfile.toml"),
                "name = \"bigfile\"\nrole = \"operator\"\naction = \"exec\"\nprogram = \"seq\"\nargv = [\"{n}\"]\n[description]\nen = \"Count\"\n[[args]]\nname = \"n\"\nkind = \"pattern\"\npattern = \"^[0-9]{1,5}$\"\n",
            )
            .expect("write");
        })
        .await;
        let o = owner();
        let r = w
            .say(updates::private_text(&o, "/bigfile 3"), OWNER_ID as i64)
            .await;
        assert!(r.text().contains("<pre>1\n2\n3</pre>"), "{}", r.text());
        let r = w
            .say(updates::private_text(&o, "/bigfile 5000"), OWNER_ID as i64)
            .await;
        assert_eq!(r.response_status, 200, "Telegram accepted it");
        assert!(r.text().chars().count() <= 4096);
        assert!(
            r.text().contains("cut here") && r.text().contains("more characters"),
            "{}",
            &r.text()[r.text().len() - 200..]
        );
        let r = w
            .say(updates::private_text(&o, "/bigfile ;rm"), OWNER_ID as i64)
            .await;
        assert!(r.text().contains("Not understood"), "{}", r.text());
        // The built-in example: /logs <service>.
        let r = w
            .say(updates::private_text(&o, "/logs daemon"), OWNER_ID as i64)
            .await;
        assert!(
            r.text().contains("tail -n 30") && r.text().contains("daemon.log"),
            "{}",
            r.text()
        );
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn telegram_errors_are_survived() {
    run_test(T, async {
        let w = World::start().await;
        let o = owner();
        // 429 on a send: waited out and delivered.
        w.tg.inject("sendMessage", Fault::RetryAfter(1));
        let (floor, ok) = w
            .delivered(updates::private_text(&o, "/activity"), OWNER_ID as i64)
            .await;
        let first =
            w.tg.calls()
                .into_iter()
                .find(|c| c.seq > floor && c.method == "sendmessage")
                .expect("first try");
        assert_eq!(first.response_status, 429);
        assert!(
            ok.at.duration_since(first.at) >= Duration::from_millis(900),
            "retry_after honoured"
        );
        // 5xx on a send: retried.
        w.tg.inject("sendMessage", Fault::ServerError(502));
        let (floor, _) = w
            .delivered(updates::private_text(&o, "/activity"), OWNER_ID as i64)
            .await;
        assert!(
            w.tg.calls_of("sendmessage")
                .iter()
                .any(|c| c.seq > floor && c.response_status == 502),
            "the 502 was met first"
        );
        // Telegram cannot parse a reply's HTML (a bug of ours): the words
        // still arrive, as plain text.
        w.tg.inject(
            "sendMessage",
            Fault::BadRequest(
                "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0"
                    .into(),
            ),
        );
        let (_, plain) = w
            .delivered(updates::private_text(&o, "/activity"), OWNER_ID as i64)
            .await;
        assert!(plain.body.get("parse_mode").is_none(), "{:?}", plain.body);
        assert!(
            plain.text().contains("Last commit") && !plain.text().contains("<i>"),
            "{}",
            plain.text()
        );
        // The forum topic was deleted: the reply goes to the chat itself.
        w.tg.inject(
            "sendMessage",
            Fault::BadRequest("Bad Request: message thread not found".into()),
        );
        let forum = Chat::forum(FORUM, "ops");
        let (_, resent) = w
            .delivered(updates::topic_text(&o, &forum, 77, "/activity"), FORUM)
            .await;
        assert_eq!(resent.thread_id(), None);
        // The group became a supergroup: the reply follows it.
        const UPGRADED: i64 = -1004444444444;
        w.tg.inject("sendMessage", Fault::Migrated(UPGRADED));
        let group = Chat::group(GROUP, "team");
        let (_, moved) = w
            .delivered(updates::group_text(&o, &group, "/activity"), UPGRADED)
            .await;
        assert!(moved.text().contains("Last commit"), "{}", moved.text());
        // 409 on getUpdates: logged, and the bot keeps serving. The update
        // ends the long poll already in flight; the 409s answer the polls
        // after it, and only then is the bot asked again.
        w.tg.inject("getUpdates", Fault::Times(Box::new(Fault::Conflict), 2));
        // The 409s also raise an alert to the owner: wait for the help itself.
        let help = |floor: u64| {
            move |c: &Call| {
                c.seq > floor
                    && c.method == "sendmessage"
                    && c.text().contains("Commands you may use")
            }
        };
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::private_text(&o, "/help"));
        assert!(w.tg.wait_for(help(floor), WAIT).await.is_some());
        let conflicts =
            w.tg.wait_for(
                |c| c.method == "getupdates" && c.response_status == 409 && c.seq > floor,
                WAIT,
            )
            .await
            .expect("the bot met the 409");
        w.tg.push_update(updates::private_text(&o, "/help"));
        assert!(
            w.tg.wait_for(help(conflicts.seq), WAIT).await.is_some(),
            "the bot kept serving after the 409s"
        );
        let mut w = w;
        let out = w.stop_with_log().await;
        assert_eq!(out.0, Some(0));
        assert!(
            out.1.contains("another process is polling this bot token"),
            "409 logged clearly: {}",
            out.1
        );
        assert!(
            !out.1.contains(BOT_TOKEN) && !out.1.contains("AAHtestTOKEN"),
            "the token leaked into the log"
        );
    });
}

#[test]
fn plain_text_goes_to_the_overseer_for_operators_only() {
    run_test(T, async {
        let w = World::start().await;
        let o = owner();
        // The fake gateway echoes the conversation id it was given.
        let r = w
            .say(updates::private_text(&o, "hello overseer"), OWNER_ID as i64)
            .await;
        assert!(
            r.text().contains(&format!("echo(telegram:{OWNER_ID})"))
                && r.text().contains("hello overseer"),
            "{}",
            r.text()
        );
        let forum = Chat::forum(FORUM, "ops");
        let r = w
            .say(
                updates::topic_text(&o, &forum, 77, "@gas_bot and you?"),
                FORUM,
            )
            .await;
        assert!(
            r.text().contains(&format!("echo(telegram:{FORUM}:77)")),
            "{}",
            r.text()
        );
        assert_eq!(r.thread_id(), Some(77));
        // A group member's mention: a short note, nothing relayed.
        let chat_log = w.env.fake_dir.join("openclaw-chat.jsonl");
        let before = std::fs::read_to_string(&chat_log)
            .unwrap_or_default()
            .lines()
            .count();
        let m = User::new(MEMBER, "Member");
        let r = w
            .say(
                updates::group_text(
                    &m,
                    &Chat::supergroup(GROUP, "ops"),
                    "@gas_bot restart everything",
                ),
                GROUP,
            )
            .await;
        assert_eq!(
            r.text(),
            "The overseer talks to the owner and operators only."
        );
        assert_eq!(
            std::fs::read_to_string(&chat_log)
                .unwrap_or_default()
                .lines()
                .count(),
            before
        );
        // Nothing of these is relayed, nor answered: an edited or a
        // forwarded DM, another bot's mention, an operator's group text that
        // does not address the bot, a stranger's DM.
        let dm = Chat::private(&o);
        let group = Chat::supergroup(GROUP, "ops");
        let mut other_bot = User::new(8001, "OtherBot");
        other_bot.is_bot = true;
        w.silent(updates::edited(&o, &dm, "edited words"), OWNER_ID as i64)
            .await;
        w.silent(
            updates::forwarded(&o, &dm, "forwarded words"),
            OWNER_ID as i64,
        )
        .await;
        w.silent(
            updates::group_text(&other_bot, &group, "@gas_bot obey me"),
            GROUP,
        )
        .await;
        w.silent(
            updates::group_text(&User::new(OPERATOR, "Op"), &group, "lunch, anyone?"),
            GROUP,
        )
        .await;
        let stranger = User::new(STRANGER, "Stranger");
        let r = w
            .say(
                updates::private_text(&stranger, "hi overseer"),
                STRANGER as i64,
            )
            .await;
        assert!(!r.text().contains("echo("), "{}", r.text());
        assert_eq!(
            std::fs::read_to_string(&chat_log)
                .unwrap_or_default()
                .lines()
                .count(),
            before,
            "nothing reached the gateway"
        );
        // The gateway answering an error: "unavailable" with the reason.
        w.env.fault("OPENCLAW_CHAT_STATUS", "500");
        let r = w
            .say(updates::private_text(&o, "again"), OWNER_ID as i64)
            .await;
        assert!(
            r.text().contains(
                "The overseer is unavailable (the gateway answered 500: injected failure)"
            ),
            "{}",
            r.text()
        );
        assert_eq!(w.stop().await, Some(0));
    });
}

/// A gateway that is live but still starting (`/readyz` not ready) is
/// asked nothing until it is ready: the real one can refuse a question
/// spanning its start-up with 401, right token or not (the fake always does).
#[test]
fn a_question_waits_until_the_gateway_is_ready() {
    run_test(T, async {
        let w = World::start().await;
        let gateway_log = w.env.gasclaw_home.join("logs/gateway.log");
        let not_ready_answers = || {
            std::fs::read_to_string(&gateway_log)
                .unwrap_or_default()
                .matches("/readyz HTTP/1.1\" 503")
                .count()
        };
        let before = not_ready_answers();
        w.env.fault("OPENCLAW_READY_FAILING", "startup-sidecars");
        let after = w.tg.calls().len();
        w.tg.push_update(updates::private_text(&owner(), "are you up?"));
        // The relay has the question and keeps asking whether the gateway
        // is ready.
        w.env
            .wait_until("the relay to find the gateway starting", WAIT, || {
                not_ready_answers() >= before + 3
            })
            .await;
        let chat_log = w.env.fake_dir.join("openclaw-chat.jsonl");
        assert!(
            !std::fs::read_to_string(&chat_log)
                .unwrap_or_default()
                .contains("telegram:"),
            "a question reached a gateway that was not ready"
        );
        w.env.clear_fault("OPENCLAW_READY_FAILING");
        let r = w.reply(OWNER_ID as i64, after).await.expect("an answer");
        assert!(
            r.text().contains("echo(") && r.text().contains("are you up?"),
            "{}",
            r.text()
        );
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn a_bad_token_fails_run_at_start_with_a_clear_message() {
    run_test(T, async {
        let tg = fake_telegram(false).await;
        let mut env = TestEnv::new();
        env.use_telegram(&tg);
        env.set("TELEGRAM_BOT_TOKEN", "1111111111:AAHwrongTOKENwrongTOKEN");
        let out = env.gasclaw(&["run"], T).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stderr
                .contains("TELEGRAM_BOT_TOKEN was refused by Telegram"),
            "{out:?}"
        );
        assert!(
            !out.stderr.contains("wrongTOKEN"),
            "the token must not be printed"
        );
        assert!(!out.stderr.contains("panicked"));
        tg.stop();
    });
}

#[test]
fn long_work_in_one_chat_never_blocks_another() {
    run_test(T, async {
        let w = World::start().await;
        // Starting the mayor takes 8 s.
        w.env.fault("GT_SLOW", "mayor start=8");
        w.owner_restarts("mayor").await;
        // A member asks in the group while the restart runs.
        let group = Chat::group(GROUP, "team");
        let member = User::new(MEMBER, "Member");
        let asked = std::time::Instant::now();
        let r = w
            .say(updates::group_text(&member, &group, "/activity"), GROUP)
            .await;
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "the group waited {:?} for the DM's restart",
            asked.elapsed()
        );
        assert!(!r.text().is_empty());
        assert!(
            !w.tg
                .calls()
                .iter()
                .any(|c| c.text().contains("mayor restarted:")),
            "the restart was still running when the group was answered"
        );
        w.tg.wait_for(|c| c.text().contains("mayor restarted:"), WAIT)
            .await
            .expect("the restart finished");
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn a_failing_command_is_a_short_reply_and_a_log_line() {
    run_test(T, async {
        let mut w = World::start().await;
        w.env.fault("GT_FAIL", "daemon start");
        let o = owner();
        let chat = Chat::private(&o);
        let prompt = w
            .say(
                updates::private_text(&o, "/restart daemon"),
                OWNER_ID as i64,
            )
            .await;
        let msg = w.bot_message(&chat, &prompt);
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::callback(&o, &msg, &button_data(&prompt, 0)));
        let failed =
            w.tg.wait_for(
                |c| c.seq > floor && c.text().contains("Restarting daemon failed"),
                Duration::from_secs(40),
            )
            .await
            .expect("the failure was reported to the person");
        assert!(
            failed.text().contains("`gt daemon start` failed")
                && failed.text().chars().count() < 600,
            "short, with the program's error: {}",
            failed.text()
        );
        // The bot still answers.
        let r = w
            .say(updates::private_text(&o, "/activity"), OWNER_ID as i64)
            .await;
        assert!(!r.text().is_empty());
        let (code, log) = w.stop_with_log().await;
        assert_eq!(code, Some(0));
        assert!(
            log.contains("restart failed") && log.contains("`gt daemon start` failed"),
            "the cause is logged: {log}"
        );
        assert!(!log.contains("panicked"), "{log}");
    });
}

#[test]
fn sigterm_during_a_running_command_exits_cleanly() {
    run_test(T, async {
        let w = World::start().await;
        w.env.fault("GT_SLOW", "mayor start=3");
        w.owner_restarts("mayor").await;
        let start = std::time::Instant::now();
        assert_eq!(w.stop().await, Some(0));
        assert!(
            start.elapsed() < Duration::from_secs(25),
            "bounded shutdown"
        );
    });
}

#[test]
fn chatter_in_a_forum_topic_the_bot_created_is_not_a_reply_to_the_bot() {
    run_test(T, async {
        let w = World::start().await;
        let forum = Chat::forum(FORUM, "ops forum");
        let bot = serde_json::json!({"id": w.tg.bot_id(), "is_bot": true, "first_name": "Gas", "username": "gas_bot"});
        let chat_log = w.env.fake_dir.join("openclaw-chat.jsonl");
        let relayed = || {
            std::fs::read_to_string(&chat_log)
                .unwrap_or_default()
                .lines()
                .count()
        };
        let before = relayed();
        // Telegram sets reply_to_message to the topic's creation message.
        let member = User::new(MEMBER, "Member");
        w.silent(
            updates::topic_chatter(&member, &forum, 91, &bot, "deploy went fine"),
            FORUM,
        )
        .await;
        let op = User::new(OPERATOR, "Op");
        w.silent(
            updates::topic_chatter(&op, &forum, 91, &bot, "lunch, anyone?"),
            FORUM,
        )
        .await;
        assert_eq!(relayed(), before, "nothing reached the overseer");
        // A real reply to one of the bot's messages in the topic still is.
        let mut answer = updates::topic_text(&op, &forum, 91, "how is the town?");
        answer["message"]["reply_to_message"] = serde_json::json!({
            "message_id": 5000, "date": 1_767_300_000, "chat": forum.0,
            "from": bot, "text": "earlier answer",
            "message_thread_id": 91, "is_topic_message": true,
        });
        let r = w.say(answer, FORUM).await;
        assert!(
            r.text().contains(&format!("echo(telegram:{FORUM}:91)")),
            "{}",
            r.text()
        );
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn a_mute_beyond_30_days_is_a_clear_error_and_the_bot_goes_on() {
    run_test(T, async {
        let mut w = World::start().await;
        let o = owner();
        // Today's main panicked here (DateTime + TimeDelta overflow) and the
        // dispatcher died on the next update.
        let r = w
            .say(
                updates::private_text(&o, "/mute all 1000000000000000"),
                OWNER_ID as i64,
            )
            .await;
        assert!(
            r.text().contains("Too long: at most 30 days"),
            "{}",
            r.text()
        );
        let r = w
            .say(updates::private_text(&o, "/mute all 31d"), OWNER_ID as i64)
            .await;
        assert!(r.text().contains("at most 30 days"), "{}", r.text());
        let r = w
            .say(updates::private_text(&o, "/mute all 30d"), OWNER_ID as i64)
            .await;
        assert!(r.text().contains("all"), "{}", r.text());
        let r = w
            .say(updates::private_text(&o, "/status"), OWNER_ID as i64)
            .await;
        assert!(r.text().contains("Stack status"), "{}", r.text());
        let (code, log) = w.stop_with_log().await;
        assert_eq!(code, Some(0));
        assert!(!log.contains("panicked"), "{log}");
    });
}

#[test]
fn exec_commands_take_no_options_from_chat() {
    run_test(T, async {
        let w = World::start_with(|e| {
            let dir = e.gasclaw_home.join("commands");
            std::fs::create_dir_all(&dir).expect("mkdir");
            // As an operator would write it: an unanchored pattern that
            // allows `-` and `=` somewhere.
            std::fs::write(
                dir.join("gitlog.toml"),
                format!(
                    "name = \"gitlog\"\nrole = \"operator\"\naction = \"exec\"\nprogram = \"git\"\nargv = [\"-C\", \"{}\", \"log\", \"--oneline\", \"-n\", \"3\", \"{{rev}}\"]\n[description]\nen = \"Recent commits\"\n[[args]]\nname = \"rev\"\nkind = \"pattern\"\npattern = \"[A-Za-z0-9._/=-]+\"\n",
                    e.project.display()
                ),
            )
            .expect("write");
        })
        .await;
        let o = owner();
        let r = w
            .say(updates::private_text(&o, "/gitlog main"), OWNER_ID as i64)
            .await;
        assert!(r.text().contains("git -C"), "{}", r.text());
        let written = w.env.dir.path().join("pwned.txt");
        let r = w
            .say(
                updates::private_text(&o, &format!("/gitlog --output={}", written.display())),
                OWNER_ID as i64,
            )
            .await;
        assert!(r.text().contains("may not start with"), "{}", r.text());
        // Unanchored patterns are full-match all the same.
        let r = w
            .say(
                updates::private_text(&o, "/gitlog main;id"),
                OWNER_ID as i64,
            )
            .await;
        assert!(r.text().contains("Not understood"), "{}", r.text());
        assert!(!written.exists(), "git wrote {}", written.display());
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn an_overseer_answer_holding_a_secret_is_posted_with_hints_only() {
    run_test(T, async {
        // At debug, the log carries the questions and answers too.
        let mut w = World::start_with(|e| {
            e.set("LOG_LEVEL", "debug");
        })
        .await;
        let home = w.env.gasclaw_home.clone();
        let gateway = std::fs::read_to_string(home.join("gateway-token")).expect("gateway token");
        let local: Value = serde_json::from_str(
            &std::fs::read_to_string(home.join("local-tokens.json")).expect("local tokens"),
        )
        .expect("json");
        let local = local["overseer"]
            .as_str()
            .expect("overseer token")
            .to_string();
        let secrets = [
            AGENT_KEYS[0],
            AGENT_KEYS[1],
            OVERSEER_KEY,
            BOT_TOKEN,
            gateway.trim(),
            local.as_str(),
        ];
        // The gateway's answer quotes every secret gasclaw holds.
        w.env.fault(
            "OPENCLAW_CHAT_REPLY",
            &format!("I found these: {}", secrets.join(" ; ")),
        );
        let o = owner();
        let r = w
            .say(
                updates::private_text(&o, "what keys do we use?"),
                OWNER_ID as i64,
            )
            .await;
        assert!(r.text().contains("I found these"), "{}", r.text());
        for s in secrets {
            assert!(!r.text().contains(s), "{s} was posted: {}", r.text());
            let tail: String = s
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            assert!(
                r.text().contains(&format!("…{tail}")),
                "hint of {s}: {}",
                r.text()
            );
        }
        // Replies and alerts pass the same step: the owner's own words
        // echoed back by the gateway are redacted too.
        w.env.clear_fault("OPENCLAW_CHAT_REPLY");
        let r = w
            .say(
                updates::private_text(&o, &format!("is {} valid?", AGENT_KEYS[1])),
                OWNER_ID as i64,
            )
            .await;
        assert!(!r.text().contains(AGENT_KEYS[1]), "{}", r.text());
        let (code, log) = w.stop_with_log().await;
        assert_eq!(code, Some(0));
        assert!(
            log.contains("overseer answer"),
            "the answer is logged at debug"
        );
        for s in secrets {
            assert!(!log.contains(s), "{s} reached the log");
        }
    });
}

#[test]
fn a_flood_in_a_group_never_stalls_the_owner_and_an_eager_member_is_told_once() {
    run_test(T, async {
        let tg = fake_telegram(true).await;
        let mut env = TestEnv::new();
        env.use_telegram(&tg);
        env.set("TELEGRAM_ALLOW_IDS", &OPERATOR.to_string());
        env.set("TELEGRAM_GROUP_IDS", &format!("{GROUP}:{FORUM}"));
        env.set("MONITOR_INTERVAL", "1h");
        let run = Some(env.start_run(&tg).await);
        let w = World { env, tg, run };
        // One member sends 20 commands at once in the forum's General topic.
        let forum = Chat::forum(FORUM, "ops forum");
        let eager = User::new(MEMBER, "Eager");
        let floor = w.tg.last_seq();
        for _ in 0..20 {
            w.tg.push_update(updates::group_text(&eager, &forum, "/help"));
        }
        // Busy chatter in the same chat crowds out no command.
        for i in 0..100u64 {
            let m = User::new(MEMBER + 1000 + i % 7, "Chatty");
            w.tg.push_update(updates::group_text(&m, &forum, "ship it!"));
        }
        w.tg.push_update(updates::group_text(
            &User::new(OPERATOR, "Op"),
            &forum,
            "/help",
        ));
        let took = flood_group_then_owner_status(&w.tg, GROUP, MEMBER + 100).await;
        assert!(
            took < Duration::from_secs(5),
            "the owner waited {took:?} behind the group's flood"
        );
        // The eager member: 5 answers (TELEGRAM_MEMBER_RATE), one "slow
        // down", then silence.
        w.tg.wait_for(
            |c| c.seq > floor && c.chat_id() == Some(FORUM) && c.text().contains("Slow down"),
            WAIT,
        )
        .await
        .expect("told to slow down");
        // The barrier: the operator's /help came after the member's 20 in
        // the same chat, so it is handled after all of them on the chat's
        // lane (and their rate decided before it): once it is answered,
        // every answer to the member has been sent.
        w.tg.wait_for(
            |c| c.seq > floor && c.chat_id() == Some(FORUM) && c.text().contains("/restart"),
            WAIT,
        )
        .await
        .unwrap_or_else(|| {
            panic!(
                "the operator's /help after the chatter was not answered: {:#?}",
                w.texts(FORUM)
            )
        });
        let to_forum: Vec<Call> = w
            .tg
            .calls()
            .into_iter()
            .filter(|c| c.seq > floor && c.method == "sendmessage" && c.chat_id() == Some(FORUM))
            .collect();
        let slow: Vec<_> = to_forum
            .iter()
            .filter(|c| c.text().contains("Slow down"))
            .collect();
        assert_eq!(slow.len(), 1, "{slow:?}");
        assert!(
            slow[0].text().contains("at most 5 commands a minute"),
            "{}",
            slow[0].text()
        );
        let to_forum: Vec<Call> = w
            .tg
            .calls()
            .into_iter()
            .filter(|c| c.seq > floor && c.method == "sendmessage" && c.chat_id() == Some(FORUM))
            .collect();
        assert_eq!(
            to_forum.len(),
            7,
            "5 answers, one slow down, the operator's answer"
        );
        assert_eq!(w.tg.rate_limited_count(), 0, "no 429 from Telegram");
        // The group's flood beyond its lane's depth was dropped and counted.
        let metrics = reqwest::get(format!("{}/metrics", w.env.http_url()))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("gasclaw_commands_total{")
                    && l.contains("command=\"lane\"")
                    && l.contains("outcome=\"dropped\"")),
            "{metrics}"
        );
        assert_eq!(w.stop().await, Some(0));
    });
}
