#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected
//! The town's work end to end (issue 14, the agents half): `gasclaw run`
//! with a one-second monitor, the fake stack (its `AGENT_HOOK` knob ages an
//! agent bead instead of waiting real minutes) and the fake Bot API. A stuck
//! agent is alerted once per episode with buttons that act (a member is
//! refused, an operator may, Restart is confirmed and audited), `/peek` is
//! redacted, `/pause` freezes (ESTOP) and holds the alerts off, `/resume`
//! thaws, AUTO_PAUSE pauses and resumes with the key pool.

mod common;

use std::time::Duration;

use common::*;
use gasclaw_fakes::bot_api::updates::{self, Chat, User};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(240);
const OPERATOR_ID: u64 = 7002;
const MEMBER_ID: u64 = 7003;
const GROUP: i64 = -100_777;
/// The witness of rig `project` (beads prefix `pr`).
const WITNESS_BEAD: &str = "pr-project-witness";
const STUCK: &str = "<code>project/witness</code> — stuck";

impl World {
    /// `gasclaw run` with a one-second monitor, no healing, an operator, a
    /// group that also gets the alerts, and a nudge text.
    async fn start(tweak: impl FnOnce(&mut TestEnv)) -> World {
        World::launch(|env| {
            env.monitor_every("1")
                .allow(&GROUP.to_string())
                .set("ALERT_CHAT_IDS", &GROUP.to_string())
                .set("NUDGE_TEXT", "gasclaw: carry on please");
            tweak(env);
        })
        .await
    }

    async fn answered(&self, floor: u64, text: &str) {
        let t = text.to_string();
        let found = self
            .tg
            .wait_for(
                |c| {
                    c.seq > floor
                        && c.method == "answercallbackquery"
                        && c.body["text"].as_str() == Some(&t)
                },
                Duration::from_secs(10),
            )
            .await;
        assert!(found.is_some(), "no callback answer {text:?}");
    }

    fn nudges(&self) -> Vec<Value> {
        std::fs::read_to_string(self.env.fake_dir.join("gt-nudges.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    async fn wait_nudge(&self, needle: &str) -> Value {
        let start = std::time::Instant::now();
        loop {
            if let Some(n) = self
                .nudges()
                .into_iter()
                .find(|n| n["message"].as_str().unwrap_or("").contains(needle))
            {
                return n;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no nudge {needle:?}: {:?}",
                self.nudges()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[test]
fn a_stuck_agent_is_alerted_once_per_episode_with_buttons_that_act() {
    run_test(T, async {
        let w = World::start(|_| {}).await;
        // The witness has work on its hook and its bead has not moved for
        // 40 min (Gastown's GUPP rule: 30); its pane shows a key.
        std::fs::create_dir_all(w.env.fake_dir.join("panes")).unwrap();
        std::fs::write(
            w.env.fake_dir.join("panes/pr-witness"),
            format!(
                "$ echo {}\nDo you want to proceed?\n❯ 1. Yes\n",
                AGENT_KEYS[0]
            ),
        )
        .unwrap();
        w.env
            .fault("AGENT_HOOK", &format!("{WITNESS_BEAD}=hq-work1@2400"));
        let alert = w
            .wait_sent_within(OWNER, STUCK, Duration::from_secs(20))
            .await;
        assert!(alert.text.contains("no progress for 40m"), "{}", alert.text);
        assert!(alert.text.contains("hq-work1"), "{}", alert.text);
        let buttons = alert.reply_markup.clone().expect("buttons");
        let data: Vec<&str> = buttons["inline_keyboard"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["callback_data"].as_str().unwrap())
            .collect();
        assert_eq!(
            data,
            [
                "ag:p:project/witness",
                "ag:n:project/witness",
                "ag:r:project/witness"
            ]
        );
        let in_group = w
            .wait_sent_within(GROUP, STUCK, Duration::from_secs(10))
            .await;
        // Once per episode: more cycles, no second alert.
        w.settled(3).await;
        assert_eq!(w.sent(OWNER, STUCK).len(), 1);
        // The daily digest counts the episode once.
        let log = w.env.read(w.env.gasclaw_home.join("digest-log.jsonl"));
        assert_eq!(log.matches("\"what\":\"stuck\"").count(), 1, "{log}");
        // /agents shows it stuck with its bead and last progress.
        let o = User::new(OWNER_ID, "Owner");
        w.tg.push_update(updates::private_text(&o, "/agents"));
        let agents = w
            .wait_sent_within(OWNER, "<b>Agents:", Duration::from_secs(10))
            .await;
        assert!(
            agents
                .text
                .contains("🧱 <code>project/witness</code> stuck, no progress for 40m")
                && agents.text.contains("on hq-work1")
                && agents.text.contains("last progress 40m"),
            "{}",
            agents.text
        );

        let group = Chat::group(GROUP, "ops");
        let member = User::new(MEMBER_ID, "Member");
        let op = User::new(OPERATOR_ID, "Operator");
        // A member may not press them.
        let floor = w.tg.last_seq();
        w.press(&member, &group, &in_group, "ag:p:project/witness");
        w.answered(floor, "Only operators may do this.").await;
        let floor2 = w.tg.last_seq();
        w.press(&member, &group, &in_group, "ag:n:project/witness");
        w.answered(floor2, "Only operators may do this.").await;
        // Peek: the pane, the key redacted.
        w.press(&op, &group, &in_group, "ag:p:project/witness");
        let peek = w
            .wait_sent_within(
                GROUP,
                "Last lines of project/witness",
                Duration::from_secs(10),
            )
            .await;
        assert!(
            peek.text.contains("Do you want to proceed?"),
            "{}",
            peek.text
        );
        assert!(peek.text.contains("[redacted]"), "{}", peek.text);
        assert!(!peek.text.contains(AGENT_KEYS[0]));
        assert!(w.nudges().is_empty(), "the member's nudge was refused");
        // Nudge: the configured text, attributed.
        w.press(&op, &group, &in_group, "ag:n:project/witness");
        let n = w.wait_nudge("gasclaw: carry on please").await;
        assert_eq!(n["address"], "project/witness");
        assert!(
            n["message"].as_str().unwrap().contains("telegram:Operator"),
            "{n}"
        );
        w.wait_sent_within(GROUP, "project/witness nudged.", Duration::from_secs(10))
            .await;
        // A reply to the alert reaches the agent as a nudge.
        let reply = updates::reply_to(
            updates::group_text(&op, &group, "rebase on main and push"),
            &w.as_seen(&in_group, &group),
        );
        w.tg.push_update(reply);
        w.wait_nudge("rebase on main and push").await;
        // Restart: confirmed first, then the witness's own command, audited.
        w.press(&op, &group, &in_group, "ag:r:project/witness");
        let prompt = w
            .wait_sent_within(GROUP, "Restart project/witness?", Duration::from_secs(10))
            .await;
        let ok = prompt.reply_markup.as_ref().unwrap()["inline_keyboard"][0][0]["callback_data"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(ok.starts_with("ok:"), "{ok}");
        w.press(&op, &group, &prompt, &ok);
        w.wait_sent_within(GROUP, "project/witness restarted", Duration::from_secs(20))
            .await;
        assert!(
            w.env
                .calls()
                .iter()
                .any(|c| c["prog"] == "gt" && c["argv"] == json!(["witness", "restart", "project"])),
            "gt witness restart project was not run"
        );
        let audit = w.env.read(w.env.gasclaw_home.join("audit.log"));
        for outcome in ["asked", "confirmed", "ok"] {
            assert!(
                audit.lines().any(|l| l.contains("\"restart\"")
                    && l.contains("project/witness")
                    && l.contains(&format!("\"{outcome}\""))),
                "no {outcome} restart in the audit log:\n{audit}"
            );
        }
        assert!(
            audit
                .lines()
                .any(|l| l.contains("\"peek\"") && l.contains("\"refused\"")),
            "the member's refusal is audited:\n{audit}"
        );
        // The episode ends when the bead moves; a new one is news again.
        w.env.clear_fault("AGENT_HOOK");
        // Its message says so in place, without its buttons.
        let done = w
            .wait_sent_within(OWNER, "Resolved after", Duration::from_secs(15))
            .await;
        assert_eq!(done.message_id, alert.message_id);
        assert!(
            done.reply_markup.is_none()
                || done.reply_markup == Some(json!({"inline_keyboard": []})),
            "{:?}",
            done.reply_markup
        );
        w.settled(2).await;
        assert_eq!(w.sent(OWNER, STUCK).len(), 1);
        w.env
            .fault("AGENT_HOOK", &format!("{WITNESS_BEAD}=hq-work2@2400"));
        let second = w
            .wait_sent_within(OWNER, "hq-work2", Duration::from_secs(20))
            .await;
        assert!(second.text.contains(STUCK));
        assert_eq!(w.sent(OWNER, STUCK).len(), 2);
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn an_unchanging_pane_with_hooked_work_is_stuck_and_mute_silences_it() {
    run_test(T, async {
        let w = World::start(|e| {
            e.set("STUCK_PANE_AFTER", "2");
        })
        .await;
        std::fs::create_dir_all(w.env.fake_dir.join("panes")).unwrap();
        std::fs::write(
            w.env.fake_dir.join("panes/pr-witness"),
            "Allow this edit? (y/n)\n",
        )
        .unwrap();
        // Fresh progress (1 min): only the pane says it is stuck.
        w.env
            .fault("AGENT_HOOK", &format!("{WITNESS_BEAD}=hq-work1@60"));
        let alert = w
            .wait_sent_within(OWNER, STUCK, Duration::from_secs(20))
            .await;
        assert!(alert.text.contains("the same screen for"), "{}", alert.text);
        assert_eq!(w.sent(OWNER, STUCK).len(), 1);
        // Muted: the next episode (the pane moved, then froze again) is
        // not heard.
        let o = User::new(OWNER_ID, "Owner");
        w.tg.push_update(updates::private_text(&o, "/mute stuck 1h"));
        w.wait_sent_within(OWNER, "stuck muted until", Duration::from_secs(10))
            .await;
        let muted = w.env.read(w.env.gasclaw_home.join("mutes.json"));
        assert!(muted.contains("stuck"), "{muted}");
        std::fs::write(
            w.env.fake_dir.join("panes/pr-witness"),
            "Allow this write? (y/n)\n",
        )
        .unwrap();
        w.settled(6).await;
        assert_eq!(w.sent(OWNER, STUCK).len(), 1);
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn pause_freezes_the_town_holds_off_alerts_and_healing_and_resume_thaws() {
    run_test(T, async {
        let w = World::start(|_| {}).await;
        w.owner_confirms("/pause", "Pause the town").await;
        w.wait_sent_within(OWNER, "Town paused.", Duration::from_secs(20))
            .await;
        let estop = w.env.read(w.env.town.join("ESTOP"));
        assert!(estop.starts_with("manual\t"), "{estop}");
        assert!(
            estop.contains("paused through gasclaw by telegram:Owner"),
            "{estop}"
        );
        // Work hooked and stale while paused: no stuck alert.
        w.env
            .fault("AGENT_HOOK", &format!("{WITNESS_BEAD}=hq-work1@2400"));
        let o = User::new(OWNER_ID, "Owner");
        w.tg.push_update(updates::private_text(&o, "/status"));
        let status = w
            .wait_sent_within(OWNER, "The town is paused since", Duration::from_secs(15))
            .await;
        assert!(status.text.contains("gt estop ("), "{}", status.text);
        // The health the monitor acts on marks the agents stopped on
        // purpose: no alert, no healing for them.
        let url = format!("{}/healthz", w.env.http_url());
        let agents_stopped = async {
            loop {
                if let Ok(r) = reqwest::get(&url).await
                    && let Ok(v) = r.json::<Value>().await
                    && let Some(checks) = v["monitor"]["last_cycle"]["report"]["checks"].as_array()
                    && checks
                        .iter()
                        .any(|c| c["name"] == "agents" && !c["stopped"].is_null())
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), agents_stopped)
            .await
            .expect("the paused agents check is stopped on purpose");
        w.settled(3).await;
        assert!(w.sent(OWNER, STUCK).is_empty(), "alerted while paused");
        // A second pause changes nothing.
        w.owner_confirms("/pause", "Pause the town").await;
        w.wait_sent_within(OWNER, "Already paused.", Duration::from_secs(20))
            .await;
        w.owner_confirms("/resume", "Resume the town").await;
        w.wait_sent_within(OWNER, "Town resumed.", Duration::from_secs(20))
            .await;
        assert!(!w.env.town.join("ESTOP").exists());
        // gt thaw nudged the frozen sessions.
        w.wait_nudge("E-stop cleared. Work may resume.").await;
        // Thawed, the stuck agent is news.
        w.wait_sent_within(OWNER, STUCK, Duration::from_secs(20))
            .await;
        let audit = w.env.read(w.env.gasclaw_home.join("audit.log"));
        for cmd in ["pause", "resume"] {
            assert!(
                audit
                    .lines()
                    .any(|l| l.contains(&format!("\"{cmd}\"")) && l.contains("\"ok\"")),
                "{cmd} not audited:\n{audit}"
            );
        }
        // Operators may not pause.
        let op = User::new(OPERATOR_ID, "Operator");
        w.tg.push_update(updates::private_text(&op, "/pause"));
        w.wait_sent_within(
            OPERATOR_ID as i64,
            "/pause needs the owner role",
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn peek_nudge_and_mail_from_the_chat() {
    run_test(T, async {
        let w = World::start(|_| {}).await;
        let o = User::new(OWNER_ID, "Owner");
        let chat = Chat::private(&o);
        std::fs::create_dir_all(w.env.fake_dir.join("panes")).unwrap();
        std::fs::write(
            w.env.fake_dir.join("panes/hq-mayor"),
            format!("token {BOT_TOKEN}\nkey {}\n❯ \n", OVERSEER_KEY),
        )
        .unwrap();
        w.tg.push_update(updates::private_text(&o, "/peek mayor 5"));
        let peek = w
            .wait_sent_within(OWNER, "Last lines of mayor", Duration::from_secs(15))
            .await;
        assert!(!peek.text.contains(BOT_TOKEN) && !peek.text.contains(OVERSEER_KEY));
        assert_eq!(peek.text.matches("[redacted]").count(), 2, "{}", peek.text);
        w.tg.push_update(updates::private_text(&o, "/peek project/ghost"));
        w.wait_sent_within(
            OWNER,
            "Cannot peek project/ghost: no agent",
            Duration::from_secs(15),
        )
        .await;
        w.tg.push_update(updates::private_text(&o, "/peek --all"));
        w.wait_sent_within(OWNER, "Not understood: --all", Duration::from_secs(15))
            .await;
        w.tg.push_update(updates::private_text(
            &o,
            "/nudge mayor please check the merge queue",
        ));
        let n = w.wait_nudge("please check the merge queue").await;
        assert_eq!(n["session"], "hq-mayor");
        w.wait_sent_within(OWNER, "mayor nudged.", Duration::from_secs(15))
            .await;
        // The Mayor writes to the humans; /mail shows it; a reply goes back.
        let sent = w.env.gt(&[
            "mail",
            "send",
            "overseer",
            "-s",
            "Need a decision",
            "-m",
            "Merge #12 now or wait?",
            "--from",
            "mayor/",
        ]);
        assert!(
            sent.stdout.contains("✓ Message sent to overseer"),
            "{sent:?}"
        );
        w.tg.push_update(updates::private_text(&o, "/mail"));
        let mail = w
            .wait_sent_within(OWNER, "Need a decision", Duration::from_secs(15))
            .await;
        assert!(mail.text.starts_with("📬 <code>hq-"), "{}", mail.text);
        assert!(mail.text.contains("Merge #12 now or wait?"));
        let reply = updates::reply_to(
            updates::private_text(&o, "Merge it now."),
            &w.as_seen(&mail, &chat),
        );
        w.tg.push_update(reply);
        w.wait_sent_within(OWNER, "Sent to mayor/ as mail.", Duration::from_secs(15))
            .await;
        let inbox = w.env.gt(&["mail", "inbox", "mayor/", "--json"]);
        let inbox: Value = serde_json::from_str(&inbox.stdout).expect("inbox json");
        let m = &inbox[0];
        assert_eq!(m["from"], "overseer");
        assert_eq!(m["subject"], "Re: Need a decision");
        assert!(
            m["body"].as_str().unwrap().starts_with("Merge it now."),
            "{m}"
        );
        assert!(
            m["body"].as_str().unwrap().contains("telegram:Owner"),
            "{m}"
        );
        // Shown once, the humans' mail is read.
        let unread = w
            .env
            .gt(&["mail", "inbox", "overseer", "--unread", "--json"]);
        assert_eq!(unread.stdout.trim(), "[]");
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn auto_pause_when_every_agent_key_cools_and_resume_when_one_returns() {
    run_test(T, async {
        let kimi = kimi_with_every_agent_key_failing().await;
        let w = World::start(|e| {
            e.set("KIMI_BASE_URL", &kimi.base_url())
                .set("KEY_COOLDOWN", "6")
                .set("AUTO_PAUSE", "on")
                .set("AUTO_PAUSE_AFTER", "1");
        })
        .await;
        assert!(!w.env.town.join("ESTOP").exists());
        let r = w.env.ask_model_as_agent().await;
        assert_eq!(r.status(), 429);
        w.wait_sent_within(OWNER, "gasclaw paused the town", Duration::from_secs(20))
            .await;
        let estop = w.env.read(w.env.town.join("ESTOP"));
        assert!(estop.contains("gasclaw-monitor"), "{estop}");
        w.wait_sent_within(OWNER, "gasclaw resumed the town", Duration::from_secs(30))
            .await;
        assert!(!w.env.town.join("ESTOP").exists());
        assert_eq!(w.sent(OWNER, "gasclaw paused the town").len(), 1);
        assert_eq!(w.stop().await, Some(0));
        kimi.stop();
    });
}

#[test]
fn the_command_line_has_agents_peek_nudge_pause_and_resume() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        let t = Duration::from_secs(150);
        let out = env.gasclaw(&["bootstrap"], t).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        env.fault("AGENT_HOOK", &format!("{WITNESS_BEAD}=hq-work1@2400"));
        let out = env.gasclaw(&["agents"], t).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with("project/witness"))
            .expect("the witness");
        assert!(
            line.contains("running") && line.contains("stuck") && line.contains("hq-work1"),
            "{line}"
        );
        assert!(line.contains("last progress 40m"), "{line}");
        let json: Value = serde_json::from_str(&env.gasclaw(&["agents", "--json"], t).await.stdout)
            .expect("json");
        let w = json["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["address"] == "project/witness")
            .expect("witness")
            .clone();
        assert_eq!(w["mark"], "stuck");
        assert_eq!(w["hook_bead"], "hq-work1");

        std::fs::create_dir_all(env.fake_dir.join("panes")).unwrap();
        std::fs::write(
            env.fake_dir.join("panes/hq-mayor"),
            format!("key {}\n❯ \n", AGENT_KEYS[1]),
        )
        .unwrap();
        let out = env.gasclaw(&["peek", "mayor", "5"], t).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stdout.contains("key [redacted]") && !out.all().contains(AGENT_KEYS[1]),
            "{out:?}"
        );
        let out = env.gasclaw(&["peek", "--", "-n"], t).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(out.stderr.contains("is not an agent address"), "{out:?}");
        assert!(
            !env.call_lines().iter().any(|l| l.contains("gt peek -n")),
            "a malformed address reached gt"
        );
        let out = env.gasclaw(&["peek", "project/ghost"], t).await;
        assert!(
            out.stderr.contains("no agent `project/ghost` in this town"),
            "{out:?}"
        );

        let out = env
            .gasclaw(&["nudge", "project/witness", "please", "-", "push"], t)
            .await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stdout.contains("✓ Nudged project/witness (wait-idle)"),
            "{out:?}"
        );
        let nudges = std::fs::read_to_string(env.fake_dir.join("gt-nudges.jsonl")).unwrap();
        assert!(nudges.contains("[gasclaw-cli] please - push"), "{nudges}");

        let out = env.gasclaw(&["pause"], t).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("paused the town"), "{out:?}");
        assert!(env.town.join("ESTOP").exists());
        let out = env.gasclaw(&["agents"], t).await;
        assert!(
            out.stdout
                .starts_with("PAUSED   the town (paused through gasclaw by gasclaw-cli)"),
            "{out:?}"
        );
        let status = env.gasclaw(&["status", "--json"], t).await;
        let v: Value = serde_json::from_str(&status.stdout).expect("status json");
        let agents = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "agents")
            .unwrap()
            .clone();
        assert!(
            agents["stopped"]["by"]
                .as_str()
                .unwrap()
                .starts_with("gt estop ("),
            "{agents}"
        );
        let out = env.gasclaw(&["pause"], t).await;
        assert!(out.stdout.contains("already paused"), "{out:?}");
        let out = env.gasclaw(&["pause", "nosuchrig"], t).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stderr.contains("`nosuchrig` is not a rig of this town"),
            "{out:?}"
        );
        let out = env.gasclaw(&["pause", "project"], t).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(env.town.join("ESTOP.project").exists());
        let out = env.gasclaw(&["resume"], t).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(!env.town.join("ESTOP").exists() && env.town.join("ESTOP.project").exists());
        let out = env.gasclaw(&["resume", "project"], t).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(!env.town.join("ESTOP.project").exists());
        let out = env.gasclaw(&["resume"], t).await;
        assert!(out.stdout.contains("was not paused"), "{out:?}");
        let _ = env.gasclaw(&["stop"], t).await;
    });
}

#[test]
fn the_status_card_is_edited_in_place_only_on_change_and_survives_a_restart() {
    run_test(T, async {
        let mut w = World::start(|e| {
            e.set("PIN_INTERVAL", "1");
        })
        .await;
        let o = User::new(OWNER_ID, "Owner");
        w.tg.push_update(updates::private_text(&o, "/pin"));
        let card = w
            .wait_sent_within(OWNER, "Town status (kept current)", Duration::from_secs(15))
            .await;
        // Pinned right after it was sent.
        let start = std::time::Instant::now();
        while w.tg.pinned(OWNER) != Some(card.message_id) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "not pinned in the DM"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let edits_of = |w: &World| -> Vec<String> {
            w.tg.calls_of("editmessagetext")
                .into_iter()
                .filter(|c| {
                    c.chat_id() == Some(OWNER)
                        && c.body["message_id"].as_i64() == Some(card.message_id)
                })
                .map(|c| c.text().to_string())
                .collect()
        };
        // Nothing changed: never edited (over rounds that began after the
        // card was shown).
        card_rounds_pass(&w, 2).await;
        assert!(edits_of(&w).is_empty(), "{:?}", edits_of(&w));
        // The witness gets stuck: the card says so, in place.
        w.env
            .fault("AGENT_HOOK", &format!("{WITNESS_BEAD}=hq-work1@2400"));
        let start = std::time::Instant::now();
        while !edits_of(&w)
            .iter()
            .any(|t| t.contains("project/witness</code> hq-work1 — stuck"))
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "card not edited: {:?}",
                edits_of(&w)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // An escalation opens: the card lists it.
        let out = w.env.gt(&["escalate", "-s", "high", "Disk is full"]);
        assert_eq!(out.code, Some(0), "{out:?}");
        let start = std::time::Instant::now();
        while !edits_of(&w)
            .iter()
            .any(|t| t.contains("Open escalations (1)") && t.contains("(high) Disk is full"))
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "escalation not on the card: {:?}",
                edits_of(&w)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        card_rounds_pass(&w, 2).await;
        // Every edit changed the text (never the same text twice in a row).
        let mut shown = vec![card.text.clone()];
        shown.extend(edits_of(&w));
        assert!(shown.windows(2).all(|p| p[0] != p[1]), "{shown:#?}");
        // A group where the bot may not pin: the card is there, unpinned, and said so.
        let group = Chat::group(GROUP, "ops");
        let op = User::new(OPERATOR_ID, "Operator");
        w.tg.push_update(updates::group_text(&op, &group, "/pin"));
        w.wait_sent_within(GROUP, "Town status (kept current)", Duration::from_secs(15))
            .await;
        w.wait_sent_within(GROUP, "the bot may not pin here", Duration::from_secs(15))
            .await;
        assert_eq!(w.tg.pinned(GROUP), None);
        // gasclaw restarts: the same message goes on being edited.
        assert_eq!(sigterm(w.run.take().expect("running")).await, Some(0));
        w.run = Some(w.env.start_run(&w.tg).await);
        let before = edits_of(&w).len();
        w.env.clear_fault("AGENT_HOOK");
        let start = std::time::Instant::now();
        while edits_of(&w).len() == before
            || edits_of(&w).last().is_some_and(|t| t.contains("hq-work1"))
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "card not edited after the restart"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            w.sent(OWNER, "Town status (kept current)").len(),
            1,
            "a second card was sent"
        );
        let pins: Value =
            serde_json::from_str(&w.env.read(w.env.gasclaw_home.join("pins.json"))).unwrap();
        assert_eq!(pins["cards"].as_array().map(Vec::len), Some(2), "{pins}");
        assert_eq!(w.stop().await, Some(0));
    });
}

/// The refresh rounds of the status cards so far, from `/metrics`.
async fn card_rounds(w: &World) -> Option<u64> {
    let url = format!("{}/metrics", w.env.http_url());
    let text = reqwest::get(&url).await.ok()?.text().await.ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("gasclaw_status_card_rounds_total "))
        .and_then(|v| v.trim().parse().ok())
}

/// The barrier for "the card was not edited": `n` more refresh rounds
/// finished, so at least `n - 1` of them began after this call.
async fn card_rounds_pass(w: &World, n: u64) {
    let start = std::time::Instant::now();
    let from = card_rounds(w).await.unwrap_or(0);
    while card_rounds(w).await.unwrap_or(0) < from + n {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{n} status card rounds did not pass within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
