//! The town's work in Telegram, end to end: the real `gasclaw run`, the fake
//! stack (events written by `gt activity emit`, `gt escalate`, rewritten by
//! `gt krc prune`) and the fake Bot API. A mass death is heard once, an idle
//! reap never; the event cursor survives a restart and the hourly rewrite;
//! escalations come with Ack and Close; a rig's news reaches its topic.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use gasclaw_fakes::bot_api::updates::{self, Chat, User};
use serde_json::Value;

const T: Duration = Duration::from_secs(240);
const WAIT: Duration = Duration::from_secs(20);
const FORUM: i64 = -1004444444444;

impl World {
    /// `gasclaw run` with one monitor cycle at start, no healing, an
    /// operator and a group.
    async fn start(tweak: impl FnOnce(&mut TestEnv)) -> World {
        World::launch(|env| {
            env.monitor_every("1h").allow(&GROUP.to_string());
            tweak(env);
        })
        .await
    }

    /// A town event, as an agent writes it.
    fn emit(&self, args: &[&str]) {
        let mut all = vec!["activity", "emit"];
        all.extend_from_slice(args);
        let out = self.env.gt(&all);
        assert_eq!(out.code, Some(0), "{out:?}");
    }

    /// `gt <args>` run by an agent (its `GT_ROLE`) in the town.
    fn gt_as(&self, role: &str, args: &[&str]) -> Out {
        let path = self.env.vars["PATH"].clone();
        let exe = path
            .split(':')
            .map(|d| Path::new(d).join("gt"))
            .find(|p| p.exists())
            .expect("gt on PATH");
        let out = std::process::Command::new(exe)
            .args(args)
            .env_clear()
            .envs(&self.env.vars)
            .env("GT_ROLE", role)
            .current_dir(&self.env.town)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run gt");
        Out {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: Duration::ZERO,
        }
    }
}

/// The barrier for "nothing more came of the lines before": a crash of
/// `polecat`, appended to the event log after them, announced to the owner.
/// The follower reads the log in order and the outbox keeps each chat's
/// order, so once it arrives every earlier line was handled and whatever
/// it queued for the owner delivered.
async fn marker(w: &World, polecat: &str) {
    crash(w, polecat);
    w.wait_count(OWNER, &format!("project/{polecat}: session died"), 1)
        .await;
}

fn crash(w: &World, polecat: &str) {
    w.emit(&[
        "session_death",
        "--rig",
        "project",
        "--polecat",
        polecat,
        "--reason",
        "crashed with exit code 2",
    ]);
}

#[test]
fn a_mass_death_is_alerted_once_and_an_idle_reap_not_at_all() {
    run_test(T, async {
        let w = World::start(|_| {}).await;
        w.emit(&[
            "session_death",
            "--rig",
            "project",
            "--polecat",
            "Idle",
            "--reason",
            "idle-reap: idle, idle 31m0s (threshold 30m0s)",
        ]);
        w.emit(&[
            "mass_death",
            "--count",
            "3",
            "--message",
            "tmux server restart",
        ]);
        w.wait_count(OWNER, "Mass death: 3 sessions died", 1).await;
        crash(&w, "Nux");
        w.wait_count(OWNER, "project/Nux: session died", 1).await;
        // Routine chatter afterwards, then a marker: all of it was handled.
        w.emit(&["sling", "--target", "project/Nux"]);
        w.emit(&["nudge", "--target", "project/Nux", "--reason", "hello"]);
        marker(&w, "Marker").await;
        assert_eq!(w.count(OWNER, "Mass death"), 1, "{:#?}", w.texts(OWNER));
        assert_eq!(w.count(OWNER, "project/Nux: session died"), 1);
        assert_eq!(w.count(OWNER, "Idle"), 0, "an idle reap is not news");
        let all = w.texts(OWNER).join("\n");
        assert!(
            all.contains("🚨 <b>Mass death: 3 sessions died within 30s</b> · critical"),
            "{all}"
        );
        assert!(all.contains("crashed with exit code 2"));
        assert!(!all.contains("sling") && !all.contains("hello"));
        // `/mute deaths` silences the next one.
        let o = User::new(OWNER_ID, "Owner");
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::private_text(&o, "/mute deaths 1h"));
        w.tg.wait_for(
            |c| c.seq > floor && c.method == "sendmessage" && c.text().contains("deaths"),
            WAIT,
        )
        .await
        .expect("mute answered");
        crash(&w, "Muted");
        w.emit(&["mass_death", "--count", "4"]);
        // The marker: news of another kind (merges), not muted.
        w.emit(&[
            "merge_failed",
            "--rig",
            "project",
            "--target",
            "polecat/Barrier",
            "--reason",
            "conflict",
        ]);
        w.wait_count(OWNER, "Merge failed", 1).await;
        assert_eq!(w.count(OWNER, "Muted"), 0);
        assert_eq!(w.count(OWNER, "Mass death"), 1);
        assert_eq!(w.stop().await, Some(0));
    });
}

/// Quiet hours (issue 17) hold the town's warnings like the checks': a
/// crash during them arrives in the summary at their end (here: a restart
/// under a range that no longer covers the present), a mass death at once.
#[test]
fn quiet_hours_hold_a_crash_for_the_summary_and_let_a_mass_death_through() {
    run_test(T, async {
        let quiet = |around_now: bool| quiet_range(chrono_tz::UTC, around_now);
        let mut w = World::start(|e| {
            e.set("QUIET_HOURS", &quiet(true));
        })
        .await;
        crash(&w, "Hush");
        w.emit(&["mass_death", "--count", "3"]);
        // The crash came first: had it not been held, it would have
        // arrived before the mass death.
        w.wait_count(OWNER, "Mass death: 3 sessions died", 1).await;
        // A critical escalation (held for the grouping window, then sent
        // by the flusher) proves a flush after the crash was held: that
        // flush kept the crash back, as quiet hours want.
        let out = w.gt_as("project/Toast", &["escalate", "-s", "critical", "Barrier"]);
        assert_eq!(out.code, Some(0), "{out:?}");
        w.wait_count(OWNER, "(critical) from project/Toast", 1)
            .await;
        assert_eq!(w.count(OWNER, "project/Hush"), 0, "{:#?}", w.texts(OWNER));

        // Stopped, gasclaw flushes no more: the crash is still held.
        assert_eq!(sigterm(w.run.take().expect("running")).await, Some(0));
        let held = w.env.read(w.env.gasclaw_home.join("alerts-held.json"));
        assert!(held.contains("Hush"), "{held}");
        w.env.set("QUIET_HOURS", &quiet(false));
        w.run = Some(w.env.start_run(&w.tg).await);
        w.wait_count(OWNER, "project/Hush: session died", 1).await;
        let summary = w
            .texts(OWNER)
            .into_iter()
            .find(|t| t.contains("project/Hush"))
            .expect("summary");
        assert!(summary.contains("Held during quiet hours"), "{summary}");
        // The summary's flush let go of the crash (so no later flush can
        // send it again), and a marker proves the restarted follower
        // handled the log up to its end (no line announced twice).
        let held = w.env.gasclaw_home.join("alerts-held.json");
        w.env
            .wait_until("the held crash released", WAIT, || {
                !std::fs::read_to_string(&held)
                    .unwrap_or_default()
                    .contains("Hush")
            })
            .await;
        marker(&w, "Marker").await;
        assert_eq!(
            w.count(OWNER, "project/Hush: session died"),
            1,
            "delivered once"
        );
        assert_eq!(w.count(OWNER, "Mass death"), 1);
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn the_event_cursor_survives_a_restart_and_the_hourly_rewrite() {
    run_test(T, async {
        let mut w = World::start(|_| {}).await;
        let log = w.env.town.join(".events.jsonl");
        crash(&w, "Alpha");
        w.wait_count(OWNER, "project/Alpha: session died", 1).await;

        // The log rewritten by the pruner while gasclaw runs, with lines
        // appended just before and just after the rename.
        crash(&w, "Bravo");
        let ino = std::fs::metadata(&log).map(|m| std::os::unix::fs::MetadataExt::ino(&m));
        assert_eq!(w.env.gt(&["krc", "prune"]).code, Some(0));
        let ino2 = std::fs::metadata(&log).map(|m| std::os::unix::fs::MetadataExt::ino(&m));
        assert_ne!(ino.unwrap(), ino2.unwrap(), "the rewrite is a new file");
        crash(&w, "Charlie");
        w.wait_count(OWNER, "project/Charlie: session died", 1)
            .await;
        w.wait_count(OWNER, "project/Bravo: session died", 1).await;

        // Down: events written meanwhile, and the log rewritten (old lines
        // dropped) before gasclaw comes back.
        let run = w.run.take().expect("running");
        assert_eq!(sigterm(run).await, Some(0));
        // Every line so far is past the TTL; the two new ones are not: they
        // are written in a later second (lines are stamped to the second)
        // and the pruner's clock (GT_KRC_NOW) reads the first one's second.
        let last_old = last_ts(&log);
        w.env
            .wait_until("a new second", WAIT, || {
                chrono::Utc::now().timestamp() > last_old
            })
            .await;
        crash(&w, "Delta");
        crash(&w, "Echo");
        let delta = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .find(|l| l.contains("Delta"))
            .map(ts_of)
            .expect("Delta's line");
        w.env.fault("GT_KRC_TTL", "0.5");
        w.env.fault("GT_KRC_NOW", &delta.to_string());
        assert_eq!(w.env.gt(&["krc", "prune"]).code, Some(0));
        w.env.clear_fault("GT_KRC_TTL");
        w.env.clear_fault("GT_KRC_NOW");
        let kept = std::fs::read_to_string(&log).unwrap();
        assert!(
            !kept.contains("Alpha") && kept.contains("Echo"),
            "the prune dropped the old lines: {kept}"
        );
        crash(&w, "Foxtrot");
        w.run = Some(w.env.start_run(&w.tg).await);
        w.wait_count(OWNER, "project/Foxtrot: session died", 1)
            .await;
        w.wait_count(OWNER, "project/Delta: session died", 1).await;
        w.wait_count(OWNER, "project/Echo: session died", 1).await;

        // A plain restart: nothing new, nothing again.
        w.restart().await;
        // Golf after the restart: the log up to it was handled (a replay
        // would come first); Hotel after Golf's message: a later poll
        // repeats nothing either.
        marker(&w, "Golf").await;
        marker(&w, "Hotel").await;
        for name in [
            "Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel",
        ] {
            assert_eq!(
                w.count(OWNER, &format!("project/{name}: session died")),
                1,
                "{name}: {:#?}",
                w.texts(OWNER)
            );
        }
        let cursor: Value = w.env.json(w.env.gasclaw_home.join("events-cursor.json"));
        assert!(cursor["offset"].as_u64().unwrap() > 0, "{cursor}");
        assert_eq!(w.stop().await, Some(0));
    });
}

/// The time (Unix seconds) an event line is stamped with.
fn ts_of(line: &str) -> i64 {
    let v: Value = serde_json::from_str(line).expect("an event line");
    chrono::DateTime::parse_from_rfc3339(v["ts"].as_str().expect("ts"))
        .expect("an RFC 3339 ts")
        .timestamp()
}

/// The stamp of the log's last line.
fn last_ts(log: &Path) -> i64 {
    let all = std::fs::read_to_string(log).unwrap();
    ts_of(all.lines().last().expect("a line"))
}

fn open_escalations(w: &World) -> Vec<Value> {
    let beads = w.env.town.join(".beads");
    let out = w.env.tool(
        "bd",
        &[
            "list",
            "--label=gt:escalation",
            "--status=open",
            "--include-infra",
            "--json",
        ],
        &beads,
    );
    serde_json::from_str(&out.stdout).unwrap_or_default()
}

#[test]
fn an_escalation_arrives_and_is_acked_and_closed_by_an_operator_only() {
    run_test(T, async {
        let w = World::start(|_| {}).await;
        let out = w.gt_as(
            "project/Toast",
            &[
                "escalate",
                "-s",
                "high",
                "--source",
                "ci",
                "Build is broken on main",
            ],
        );
        assert_eq!(out.code, Some(0), "{out:?}");
        let id = open_escalations(&w)[0]["id"].as_str().unwrap().to_string();
        let head = format!("Escalation {id} (high) from project/Toast");
        w.wait_count(OWNER, &head, 1).await;
        let all = w.texts(OWNER).join("\n");
        assert!(all.contains("source: ci") && all.contains("Build is broken on main"));
        // The alert is a warning (it makes a sound) with Ack and Close.
        let alert =
            w.tg.calls_of("sendmessage")
                .into_iter()
                .find(|c| c.chat_id() == Some(OWNER) && c.text().contains(&head))
                .expect("the alert");
        assert!(alert.text().contains("· warning"), "{}", alert.text());
        assert_ne!(alert.body["disable_notification"], true);
        assert_eq!(button_at(&alert, 0, 0), format!("es:a:{id}"));
        assert_eq!(button_at(&alert, 0, 1), format!("es:c:{id}"));
        // The CLI sees the same list.
        let out = w.env.gasclaw(&["escalations", "--json"], WAIT).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        let cli: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(cli[0]["id"], id.as_str());
        assert_eq!(cli[0]["severity"], "high");
        assert_eq!(cli[0]["source"], "ci");
        assert_eq!(cli[0]["escalated_by"], "project/Toast");
        assert_eq!(cli[0]["acked"], false);

        // A member in the group sees the list with the buttons …
        let group = Chat::supergroup(GROUP, "ops");
        let member = User::new(MEMBER, "Mem");
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::group_text(&member, &group, "/escalations"));
        let list =
            w.tg.wait_for(
                |c| c.seq > floor && c.method == "sendmessage" && c.chat_id() == Some(GROUP),
                WAIT,
            )
            .await
            .expect("the list");
        assert!(
            list.text().contains("Open escalations (1)"),
            "{}",
            list.text()
        );
        assert!(list.text().contains(&id));
        let ack = button_at(&list, 0, 0);
        let close = button_at(&list, 0, 1);
        assert_eq!(ack, format!("es:a:{id}"));
        assert_eq!(close, format!("es:c:{id}"));
        let msg = w.bot_message(&group, &list);

        // … but may not press them.
        w.env.clear_calls();
        let ans = w.answer_to(&member, &msg, &ack).await;
        assert_eq!(
            ans.body["text"],
            "Only operators may acknowledge or close escalations."
        );
        assert!(
            !w.env.call_lines().iter().any(|l| l.contains("escalate")),
            "{:?}",
            w.env.call_lines()
        );

        // The operator acknowledges: gt runs as the overseer, in the town.
        let op = User::new(OPERATOR, "Op");
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::callback(&op, &msg, &ack));
        let done =
            w.tg.wait_for(
                |c| c.seq > floor && c.method == "sendmessage" && c.chat_id() == Some(GROUP),
                WAIT,
            )
            .await
            .expect("ack reported");
        assert!(
            done.text()
                .contains(&format!("Escalation {id} acknowledged by @Op")),
            "{}",
            done.text()
        );
        let call = w
            .env
            .calls()
            .into_iter()
            .find(|c| c["prog"] == "gt" && c["argv"][0] == "escalate")
            .expect("gt escalate ran");
        assert_eq!(call["argv"], serde_json::json!(["escalate", "ack", id]));
        assert_eq!(call["cwd"].as_str(), w.env.town.to_str());
        let bead = &open_escalations(&w)[0];
        let labels = bead["labels"].to_string();
        assert!(labels.contains("\"acked\""), "{labels}");
        assert!(
            bead["description"]
                .as_str()
                .unwrap()
                .contains("acked_by: overseer"),
            "{bead}"
        );

        // And closes it.
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::callback(&op, &msg, &close));
        let done =
            w.tg.wait_for(
                |c| c.seq > floor && c.method == "sendmessage" && c.chat_id() == Some(GROUP),
                WAIT,
            )
            .await
            .expect("close reported");
        assert!(
            done.text()
                .contains(&format!("Escalation {id} closed by @Op"))
        );
        assert!(open_escalations(&w).is_empty());

        // The audit log has the refusal and both actions.
        let audit = w.env.read(w.env.gasclaw_home.join("audit.log"));
        let lines: Vec<Value> = audit
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|l: &Value| {
                l["command"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("escalation-"))
            })
            .collect();
        let seen: Vec<(String, u64, String)> = lines
            .iter()
            .map(|l| {
                (
                    l["command"].as_str().unwrap().to_string(),
                    l["user_id"].as_u64().unwrap(),
                    l["outcome"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("escalation-ack".to_string(), MEMBER, "refused".to_string()),
                ("escalation-ack".to_string(), OPERATOR, "ok".to_string()),
                ("escalation-close".to_string(), OPERATOR, "ok".to_string()),
            ]
        );
        // The list is empty now.
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::group_text(&member, &group, "/escalations"));
        let list =
            w.tg.wait_for(
                |c| c.seq > floor && c.method == "sendmessage" && c.chat_id() == Some(GROUP),
                WAIT,
            )
            .await
            .expect("the list");
        assert!(list.text().contains("No open escalations."));
        let out = w.env.gasclaw(&["escalations"], WAIT).await;
        assert_eq!(out.stdout.trim(), "no open escalations", "{out:?}");

        // A low one is news without a sound; the owner closes it from the
        // alert itself, whose buttons then go.
        let out = w.gt_as("project/Nux", &["escalate", "-s", "low", "Docs are stale"]);
        assert_eq!(out.code, Some(0), "{out:?}");
        let id = open_escalations(&w)[0]["id"].as_str().unwrap().to_string();
        let head = format!("Escalation {id} (low) from project/Nux");
        w.wait_count(OWNER, &head, 1).await;
        let alert =
            w.tg.calls_of("sendmessage")
                .into_iter()
                .find(|c| c.chat_id() == Some(OWNER) && c.text().contains(&head))
                .expect("the alert");
        assert_eq!(alert.body["disable_notification"], true, "{}", alert.body);
        let o = User::new(OWNER_ID, "Owner");
        let dm = Chat::private(&o);
        let sent = w.tg.sent_messages(OWNER);
        let m = sent.last().expect("sent");
        let msg = serde_json::json!({"message_id": m.message_id, "date": 1_767_300_000, "chat": dm.0,
            "text": alert.text(), "reply_markup": alert.body["reply_markup"],
            "from": {"id": w.tg.bot_id(), "is_bot": true, "first_name": "Gas", "username": "gas_bot"}});
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::callback(&o, &msg, &button_at(&alert, 0, 1)));
        w.tg.wait_for(
            |c| {
                c.seq > floor
                    && c.method == "sendmessage"
                    && c.text()
                        .contains(&format!("Escalation {id} closed by @Owner"))
            },
            WAIT,
        )
        .await
        .expect("closed from the alert");
        w.tg.wait_for(
            |c| c.seq > floor && c.method == "editmessagereplymarkup",
            WAIT,
        )
        .await
        .expect("its buttons removed");
        assert!(open_escalations(&w).is_empty());
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn a_rigs_news_goes_to_its_topic() {
    run_test(T, async {
        let w = World::start(|e| {
            e.set("RIG_TOPICS", &format!("project:{FORUM}/45"));
        })
        .await;
        // The fake learns that the forum is a forum from an update in it
        // (as it is queued).
        let o = User::new(OWNER_ID, "Owner");
        w.tg.push_update(updates::topic_text(
            &o,
            &Chat::forum(FORUM, "rigs"),
            45,
            "hello",
        ));
        crash(&w, "Topical");
        w.emit(&[
            "session_death",
            "--rig",
            "web",
            "--polecat",
            "Elsewhere",
            "--reason",
            "zombie cleanup",
        ]);
        let topic =
            w.tg.wait_for(
                |c| {
                    c.method == "sendmessage"
                        && c.chat_id() == Some(FORUM)
                        && c.text().contains("project/Topical: session died")
                },
                WAIT,
            )
            .await
            .expect("the rig's topic has it");
        assert_eq!(topic.thread_id(), Some(45));
        w.wait_count(OWNER, "web/Elsewhere: session died", 1).await;
        assert_eq!(w.count(OWNER, "Topical"), 0, "not to the owner");
        assert_eq!(w.count(FORUM, "Elsewhere"), 0, "not to another rig's topic");
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn gasclaw_events_follow_prints_each_event_once_through_the_rewrite() {
    run_test(T, async {
        use tokio::io::AsyncBufReadExt;
        let env = TestEnv::new();
        // A town as far as gt's event writing goes (`mayor/` marks it).
        std::fs::create_dir_all(env.town.join("mayor")).unwrap();
        let emit = |polecat: &str, reason: &str| {
            let out = env.gt(&[
                "activity",
                "emit",
                "session_death",
                "--rig",
                "project",
                "--polecat",
                polecat,
                "--reason",
                reason,
            ]);
            assert_eq!(out.code, Some(0), "{out:?}");
        };
        emit("Old", "crashed with exit code 1");
        let mut child = env
            .command(&["events", "--follow", "--json", "-n", "1"])
            .spawn()
            .expect("spawn");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next = async || -> Value {
            let l = tokio::time::timeout(WAIT, lines.next_line())
                .await
                .expect("a line in time")
                .unwrap()
                .expect("a line");
            serde_json::from_str(&l).unwrap()
        };
        let first = next().await;
        assert_eq!(first["event"]["payload"]["polecat"], "Old");
        assert_eq!(first["announcement"]["kind"], "death");
        assert_eq!(first["announcement"]["severity"], "warning");
        emit("Reaped", "idle-reap: idle, idle 31m0s (threshold 30m0s)");
        let v = next().await;
        assert_eq!(v["event"]["payload"]["polecat"], "Reaped");
        assert!(v["announcement"].is_null(), "an idle reap is not news");
        assert_eq!(env.gt(&["krc", "prune"]).code, Some(0));
        emit("After", "zombie cleanup");
        let v = next().await;
        assert_eq!(v["event"]["payload"]["polecat"], "After", "{v}");
        assert_eq!(sigterm(child).await, Some(0));
        // Without --follow: the history, news only.
        let out = env.gasclaw(&["events", "--news"], WAIT).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{}", out.stdout);
        assert!(lines[0].contains("session_death") && lines[0].contains("[deaths warning]"));
        assert!(lines[1].contains("\"After\""));
    });
}

#[test]
fn a_digest_at_its_hour_with_the_days_numbers_once() {
    run_test(T, async {
        let mut w = World::start(|e| {
            e.set("MONITOR_INTERVAL", "1");
        })
        .await;
        // The day: two beads opened and one closed, a commit, an incident
        // and its recovery, an escalation, a merge and a failed one, a
        // crash and a mass death.
        let beads = w.env.town.join(".beads");
        let created = w
            .env
            .tool("bd", &["create", "Fix the parser", "--silent"], &beads);
        assert_eq!(created.code, Some(0), "{created:?}");
        let first = created.stdout.trim().to_string();
        assert_eq!(
            w.env.tool("bd", &["create", "Write docs"], &beads).code,
            Some(0)
        );
        assert_eq!(
            w.env
                .tool("bd", &["close", &first, "-r", "done"], &beads)
                .code,
            Some(0)
        );
        git(
            &w.env.project,
            &["commit", "-q", "--allow-empty", "-m", "today"],
            None,
        );
        assert_eq!(w.env.gt(&["daemon", "stop"]).code, Some(0));
        w.wait_count(OWNER, "<b>daemon</b> down", 1).await;
        assert_eq!(w.env.gt(&["daemon", "start"]).code, Some(0));
        w.wait_count(OWNER, "<b>daemon</b> recovered", 1).await;
        let out = w.gt_as(
            "project/Toast",
            &["escalate", "-s", "high", "Need a decision"],
        );
        assert_eq!(out.code, Some(0), "{out:?}");
        w.emit(&["merged", "--rig", "project", "--target", "polecat/Toast"]);
        w.emit(&[
            "merge_failed",
            "--rig",
            "project",
            "--target",
            "polecat/Nux",
            "--reason",
            "conflict",
        ]);
        crash(&w, "Nux");
        w.emit(&["mass_death", "--count", "3"]);
        w.wait_count(OWNER, "Mass death", 1).await;
        w.wait_count(OWNER, "Merge failed", 1).await;
        let beads_total = {
            let out = w.env.tool("bd", &["list", "--all", "--json"], &beads);
            serde_json::from_str::<Vec<Value>>(&out.stdout)
                .unwrap()
                .len()
        };
        let commits = {
            let out = w.env.tool(
                "git",
                &[
                    "-C",
                    w.env.project.to_str().unwrap(),
                    "log",
                    "--all",
                    "--format=%H",
                ],
                &w.env.project,
            );
            out.stdout.lines().count()
        };

        // The digest's hour is now (in Shanghai): the next start sends it.
        let now = chrono::Utc::now().with_timezone(&chrono_tz::Tz::Asia__Shanghai);
        let at = now.format("%H:%M").to_string();
        let day = now.date_naive().to_string();
        w.env
            .set("GASCLAW_TZ", "Asia/Shanghai")
            .set("DIGEST_AT", &at);
        w.restart().await;
        let title = format!("Daily digest {day} (Asia/Shanghai)");
        w.wait_count(OWNER, &title, 1).await;
        let digest = w
            .texts(OWNER)
            .into_iter()
            .find(|t| t.contains(&title))
            .unwrap();
        for line in [
            format!("Beads: {beads_total} opened, 1 closed"),
            "Merges: 1 (failed: 1)".to_string(),
            format!("Commits: {commits}"),
            "Incidents: 1 (down ".to_string(),
            "Escalations: 1 (open now: 1)".to_string(),
            "Sessions died: 1 (mass deaths: 1)".to_string(),
            "Tokens: 0".to_string(),
        ] {
            assert!(digest.contains(&line), "{line:?} not in\n{digest}");
        }
        // Once a day: another restart within the hour sends nothing. The
        // follower's loop looks at the digest after each poll: a first
        // marker's poll, then a second's, prove the look that followed the
        // first was made (its digest would have come before the second).
        w.restart().await;
        marker(&w, "First").await;
        marker(&w, "Second").await;
        assert_eq!(w.count(OWNER, &title), 1, "{:#?}", w.texts(OWNER));
        assert_eq!(w.stop().await, Some(0));
    });
}
