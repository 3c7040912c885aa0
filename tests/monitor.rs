//! The monitor end to end: `gasclaw run` with short intervals, the fake stack
//! and the fake Bot API. Alerts are heard once, reminded, recovered, healed,
//! muted, routed to topics, and never lost while Telegram is away.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::time::Duration;

use common::*;
use gasclaw_fakes::bot_api::Fault;
use gasclaw_fakes::bot_api::updates::{self, Chat, User};

const T: Duration = Duration::from_secs(180);

impl World {
    /// `gasclaw run` with a one-second monitor, healing off (its backoff a
    /// second when a test turns it on).
    async fn start(tweak: impl FnOnce(&mut TestEnv)) -> World {
        World::launch(|env| {
            env.monitor_every("1").set("HEAL_BACKOFF", "1");
            tweak(env);
        })
        .await
    }

    /// Started with healing on, and up.
    async fn healing() -> World {
        let w = World::start(|e| {
            e.set("AUTO_HEAL", "on");
        })
        .await;
        w.wait_text("Gasclaw is up", Duration::from_secs(20)).await;
        w
    }

    async fn wait_text(&self, needle: &str, timeout: Duration) {
        let n = needle.to_string();
        let found = self
            .tg
            .wait_for(
                |c| c.method == "sendmessage" && c.response_status == 200 && c.text().contains(&n),
                timeout,
            )
            .await;
        assert!(
            found.is_some(),
            "no message containing {needle:?}; sent: {:#?}\n{}",
            self.texts(OWNER),
            self.env.diagnosis()
        );
    }

    /// The owner sends `/restart mayor` and presses "confirm".
    async fn owner_restarts_mayor(&self) {
        self.owner_confirms("/restart mayor", "Restart mayor?")
            .await
    }
}

#[test]
fn down_once_reminded_and_recovered_with_up_and_stopping_messages() {
    run_test(T, async {
        let w = World::start(|e| {
            e.set("ALERT_REPEAT", "4");
        })
        .await;
        w.wait_text("Gasclaw is up", Duration::from_secs(20)).await;
        let up = w
            .texts(OWNER)
            .into_iter()
            .find(|t| t.contains("Gasclaw is up"))
            .expect("up");
        assert!(
            up.contains("Stack status") && up.contains("All 5 checks ok"),
            "one-screen summary: {up}"
        );
        assert_eq!(w.env.gt(&["mayor", "stop"]).code, Some(0));
        w.wait_text("<b>mayor</b> down: not running", Duration::from_secs(15))
            .await;
        // Several cycles pass: still one alert, then one reminder.
        w.settled(2).await;
        assert_eq!(
            w.count(OWNER, "<b>mayor</b> down"),
            1,
            "{:#?}",
            w.texts(OWNER)
        );
        w.wait_text("<b>mayor</b> still down after", Duration::from_secs(15))
            .await;
        assert_eq!(w.count(OWNER, "still down"), 1);
        assert_eq!(w.env.gt(&["mayor", "start"]).code, Some(0));
        w.wait_text("<b>mayor</b> recovered after", Duration::from_secs(15))
            .await;
        w.settled(2).await;
        assert_eq!(w.count(OWNER, "recovered after"), 1);
        assert_eq!(w.count(OWNER, "<b>mayor</b> down"), 1);
        let tg = w.tg.clone();
        assert_eq!(w.stop().await, Some(0));
        let stopping = tg
            .calls_of("sendmessage")
            .iter()
            .filter(|c| c.text().contains("Gasclaw is stopping"))
            .count();
        assert_eq!(stopping, 1, "the stopping message was delivered");
    });
}

#[test]
fn healing_brings_a_service_back_and_says_so() {
    run_test(T, async {
        let w = World::healing().await;
        assert_eq!(w.env.gt(&["daemon", "stop"]).code, Some(0));
        w.wait_text(
            "<b>daemon</b> restarted by the monitor (attempt 1)",
            Duration::from_secs(20),
        )
        .await;
        assert!(
            w.env
                .gt(&["daemon", "status"])
                .stdout
                .contains("Daemon is running")
        );
        w.settled(2).await;
        assert_eq!(
            w.count(OWNER, "restarted by the monitor"),
            1,
            "reported once: {:#?}",
            w.texts(OWNER)
        );
        assert_eq!(
            w.count(OWNER, "<b>daemon</b> recovered"),
            0,
            "the heal message already said it"
        );
        assert_eq!(w.stop().await, Some(0));
    });
}

/// A check that gives no answer (a slow machine, a hung probe) is shown as
/// down but never healed: only a check that says "not running" is. The
/// suite's rare "no heal within 20 s" under load was the monitor busy
/// restarting a healthy service whose probe had timed out.
#[test]
fn healing_leaves_a_service_whose_check_gives_no_answer_alone() {
    run_test(T, async {
        let w = World::start(|e| {
            e.set("AUTO_HEAL", "on").set("CHECK_TIMEOUT", "2");
        })
        .await;
        w.wait_text("Gasclaw is up", Duration::from_secs(20)).await;
        let hung_at = chrono::Utc::now();
        let before = w.env.call_lines().len();
        w.env.fault("GT_HANG", "daemon status");
        // Two cycles that began after the hang found the daemon's check
        // unanswered (each cycle heals after checking).
        w.cycle_saw_down("daemon", hung_at).await;
        let again = chrono::Utc::now();
        w.cycle_saw_down("daemon", again).await;
        w.cycle_saw_down("daemon", chrono::Utc::now()).await;
        let restarts: Vec<String> = w
            .env
            .call_lines()
            .into_iter()
            .skip(before)
            .filter(|l| l == "gt daemon stop" || l == "gt daemon start")
            .collect();
        assert!(restarts.is_empty(), "healed on no evidence: {restarts:?}");
        assert_eq!(
            w.count(OWNER, "restarted by the monitor"),
            0,
            "{:#?}",
            w.texts(OWNER)
        );
        w.env.clear_fault("GT_HANG");
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn healing_gives_up_after_the_limit_and_resumes_after_a_restart() {
    run_test(T, async {
        // Attempts a quarter second apart at first (then each monitor
        // cycle): five of them take seconds, not the 15 s of 1+2+4+8.
        let w = World::start(|e| {
            e.set("AUTO_HEAL", "on").set("HEAL_BACKOFF", "250ms");
        })
        .await;
        w.wait_text("Gasclaw is up", Duration::from_secs(20)).await;
        w.env.fault("GT_FAIL", "mayor start");
        assert_eq!(w.env.gt(&["mayor", "stop"]).code, Some(0));
        w.wait_text(
            "<b>mayor</b> needs a human: 5 restarts failed within an hour",
            Duration::from_secs(60),
        )
        .await;
        let attempts = || {
            w.env
                .call_lines()
                .iter()
                .filter(|l| l.as_str() == "gt mayor start")
                .count()
        };
        let after_giving_up = attempts();
        assert_eq!(
            w.count(OWNER, "restart attempt"),
            4,
            "{:#?}",
            w.texts(OWNER)
        );
        assert!(
            w.texts(OWNER)
                .iter()
                .any(|t| t.contains("Last error: `gt mayor start` failed")),
            "{:#?}",
            w.texts(OWNER)
        );
        // Cycles that began after giving up (each heals after checking)
        // saw the mayor down, and none tried again.
        let gave_up_at = chrono::Utc::now();
        w.cycle_saw_down("mayor", gave_up_at).await;
        w.cycle_saw_down("mayor", chrono::Utc::now()).await;
        assert_eq!(
            attempts(),
            after_giving_up,
            "no more attempts after giving up"
        );
        // A person's /restart (after fixing the cause) lets healing resume.
        w.env.clear_fault("GT_FAIL");
        w.owner_restarts_mayor().await;
        w.wait_text("<b>mayor</b> recovered after", Duration::from_secs(20))
            .await;
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn mute_unmute_and_the_alerts_list() {
    run_test(T, async {
        let w = World::start(|_| {}).await;
        w.wait_text("Gasclaw is up", Duration::from_secs(20)).await;
        let o = User::new(OWNER_ID, "Owner");
        let bad = User::new(OWNER_ID, "Owner");
        w.tg.push_update(updates::private_text(&bad, "/mute mayor soon"));
        w.wait_text("Not understood: soon", Duration::from_secs(10))
            .await;
        w.tg.push_update(updates::private_text(&o, "/mute mayor 10m"));
        w.wait_text("mayor muted until", Duration::from_secs(10))
            .await;
        let stopped_at = chrono::Utc::now();
        assert_eq!(w.env.gt(&["mayor", "stop"]).code, Some(0));
        w.cycle_saw_down("mayor", stopped_at).await;
        w.settled(1).await;
        assert_eq!(w.count(OWNER, "<b>mayor</b> down"), 0, "muted");
        w.tg.push_update(updates::private_text(&o, "/alerts"));
        w.wait_text("Down now:", Duration::from_secs(10)).await;
        let list = w
            .texts(OWNER)
            .into_iter()
            .rev()
            .find(|t| t.contains("Down now:"))
            .expect("alerts");
        assert!(
            list.contains("mayor since") && list.contains("mayor until"),
            "{list}"
        );
        w.tg.push_update(updates::private_text(&o, "/unmute mayor"));
        w.wait_text("Unmuted: mayor", Duration::from_secs(10)).await;
        // Unmuted: the next transition is heard.
        assert_eq!(w.env.gt(&["mayor", "start"]).code, Some(0));
        w.wait_text("<b>mayor</b> recovered after", Duration::from_secs(15))
            .await;
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn a_mute_from_the_command_line_silences_the_running_gasclaw() {
    run_test(T, async {
        let w = World::start(|e| {
            e.set("ALERT_REPEAT", "3");
        })
        .await;
        w.wait_text("Gasclaw is up", Duration::from_secs(20)).await;
        // `gasclaw run` is up with its mutes loaded; the CLI is another process.
        let out = w.env.gasclaw(&["mute", "mayor", "1h"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("mayor muted until"), "{out:?}");
        let stopped_at = chrono::Utc::now();
        assert_eq!(w.env.gt(&["mayor", "stop"]).code, Some(0));
        // The monitor saw the mayor down (and, with ALERT_REPEAT=3, was due
        // a reminder) while muted: nothing may reach the owner.
        w.cycle_saw_down("mayor", stopped_at).await;
        let reminder_due = chrono::Utc::now() + chrono::Duration::seconds(4);
        w.cycle_saw_down("mayor", reminder_due).await;
        // The CLI lists the mute and what the running gasclaw found down.
        let out = w.env.gasclaw(&["alerts"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("mayor     until"), "{out:?}");
        assert!(
            out.stdout
                .contains("last monitor cycle, not ok:\n  mayor     down: not running"),
            "{out:?}"
        );
        let out = w.env.gasclaw(&["alerts", "--json"], T).await;
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(v["mutes"][0]["check"], "mayor", "{v}");
        assert_eq!(v["last_cycle_not_ok"][0]["check"], "mayor", "{v}");
        let out = w.env.gasclaw(&["unmute", "mayor"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_eq!(out.stdout.trim(), "unmuted: mayor", "{out:?}");
        // Unmuted: the reminder of the outage the monitor kept track of
        // arrives. The outbox keeps the order, so a "down" alert queued
        // during the mute would have been delivered before it.
        w.wait_text("<b>mayor</b> still down after", Duration::from_secs(15))
            .await;
        assert_eq!(
            w.count(OWNER, "<b>mayor</b> down"),
            0,
            "{:#?}",
            w.texts(OWNER)
        );
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn alerts_reach_topics_and_extra_chats() {
    run_test(T, async {
        let forum: i64 = -1004444444444;
        let w = World::start(|e| {
            e.set("ALERT_CHAT_IDS", &format!("{forum}/77:-1003333333333"));
        })
        .await;
        // The fake learns that the forum is a forum from an update in it.
        let o = User::new(OWNER_ID, "Owner");
        w.tg.push_update(updates::topic_text(
            &o,
            &Chat::forum(forum, "ops"),
            77,
            "hello",
        ));
        w.tg.push_update(updates::group_text(
            &o,
            &Chat::supergroup(-1003333333333, "ops2"),
            "hello",
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(w.env.gt(&["daemon", "stop"]).code, Some(0));
        let topic =
            w.tg.wait_for(
                |c| {
                    c.method == "sendmessage"
                        && c.chat_id() == Some(forum)
                        && c.text().contains("<b>daemon</b> down")
                },
                Duration::from_secs(15),
            )
            .await
            .expect("alert in the topic");
        assert_eq!(topic.thread_id(), Some(77));
        assert_eq!(topic.response_status, 200);
        let other =
            w.tg.wait_for(
                |c| {
                    c.method == "sendmessage"
                        && c.chat_id() == Some(-1003333333333)
                        && c.text().contains("<b>daemon</b> down")
                },
                Duration::from_secs(15),
            )
            .await
            .expect("alert in the other chat");
        assert_eq!(other.thread_id(), None);
        w.wait_text("<b>daemon</b> down", Duration::from_secs(5))
            .await;
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn activity_going_stale_and_resuming() {
    run_test(T, async {
        let w = World::start(|e| {
            e.set("ACTIVITY_DEADLINE", "3");
        })
        .await;
        w.wait_text("<b>activity</b>: no commit for", Duration::from_secs(20))
            .await;
        let alert = w
            .texts(OWNER)
            .into_iter()
            .find(|t| t.contains("no commit for"))
            .expect("alert");
        assert!(alert.contains("(deadline 0 min)"), "{alert}");
        git(
            &w.env.project,
            &["commit", "-q", "--allow-empty", "-m", "work"],
            None,
        );
        w.wait_text(
            "<b>activity</b>: activity resumed after",
            Duration::from_secs(15),
        )
        .await;
        assert_eq!(w.count(OWNER, "no commit for"), 1, "{:#?}", w.texts(OWNER));
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn telegram_away_loses_no_alert_and_keeps_their_order() {
    run_test(T, async {
        let w = World::start(|_| {}).await;
        w.wait_text("Gasclaw is up", Duration::from_secs(20)).await;
        w.tg.set_unreachable(true).await;
        // Three transitions while Telegram is unreachable, each alert
        // queued durably before the next.
        let queued = |n: usize| {
            let outbox = w.env.gasclaw_home.join("outbox");
            move || {
                std::fs::read_dir(&outbox)
                    .map(|d| {
                        d.flatten()
                            .filter(|f| f.path().extension().is_some_and(|e| e == "json"))
                            .count()
                    })
                    .unwrap_or(0)
                    >= n
            }
        };
        assert_eq!(w.env.gt(&["mayor", "stop"]).code, Some(0));
        w.env
            .wait_until(
                "the mayor's alert queued",
                Duration::from_secs(20),
                queued(1),
            )
            .await;
        assert_eq!(w.env.gt(&["daemon", "stop"]).code, Some(0));
        w.env
            .wait_until(
                "the daemon's alert queued",
                Duration::from_secs(20),
                queued(2),
            )
            .await;
        // Back, but answering 5xx, then 429.
        w.tg.inject("sendMessage", Fault::ServerError(502));
        w.tg.inject("sendMessage", Fault::RetryAfter(1));
        w.tg.set_unreachable(false).await;
        assert_eq!(w.env.gt(&["mayor", "start"]).code, Some(0));
        w.wait_text("<b>mayor</b> recovered", Duration::from_secs(60))
            .await;
        let all = w.texts(OWNER).join("\n");
        let mayor_down = all
            .find("<b>mayor</b> down")
            .expect("mayor alert delivered");
        let daemon_down = all
            .find("<b>daemon</b> down")
            .expect("daemon alert delivered");
        let recovered = all.find("<b>mayor</b> recovered").expect("recovery");
        assert!(
            mayor_down < daemon_down && daemon_down < recovered,
            "order kept: {all}"
        );
        assert_eq!(all.matches("<b>mayor</b> down").count(), 1);
        assert_eq!(all.matches("<b>daemon</b> down").count(), 1);
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn alerts_in_the_outbox_survive_kill_9_and_are_delivered_once() {
    run_test(T, async {
        let mut w = World::start(|_| {}).await;
        w.wait_text("Gasclaw is up", Duration::from_secs(20)).await;
        w.tg.set_unreachable(true).await;
        assert_eq!(w.env.gt(&["mayor", "stop"]).code, Some(0));
        let outbox = w.env.gasclaw_home.join("outbox");
        w.env
            .wait_until("the alert to be queued", Duration::from_secs(15), || {
                std::fs::read_dir(&outbox)
                    .map(|d| {
                        d.flatten()
                            .any(|f| f.path().extension().is_some_and(|e| e == "json"))
                    })
                    .unwrap_or(false)
            })
            .await;
        let mut run = w.run.take().expect("run");
        run.kill().await.expect("kill -9");
        let _ = run.wait().await;
        w.tg.set_unreachable(false).await;
        // The stack is left as it was (kill -9 stops nothing); restart gasclaw.
        w.run = Some(w.env.spawn(&["run"]));
        w.wait_text("<b>mayor</b> down: not running", Duration::from_secs(30))
            .await;
        // The restarted process's own "up" (the first one is the old
        // process's).
        w.wait_count_within(OWNER, "Gasclaw is up", 2, Duration::from_secs(60))
            .await;
        w.settled(2).await;
        assert_eq!(
            w.count(OWNER, "<b>mayor</b> down: not running"),
            1,
            "exactly once: {:#?}",
            w.texts(OWNER)
        );
        // The old alert came first, before the new process's own messages.
        let texts = w.texts(OWNER);
        let first_after_restart = texts
            .iter()
            .position(|t| t.contains("<b>mayor</b> down"))
            .expect("alert");
        let second_up = texts
            .iter()
            .rposition(|t| t.contains("Gasclaw is up"))
            .expect("up");
        assert!(first_after_restart < second_up, "{texts:#?}");
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn key_pool_events_are_alerted_and_recover() {
    run_test(T, async {
        // Key 1 is refused as invalid, then key 2 answers 429: all cooling.
        let kimi = kimi_with_every_agent_key_failing().await;
        let w = World::start(|e| {
            e.set("KIMI_BASE_URL", &kimi.base_url())
                .set("KEY_COOLDOWN", "4");
        })
        .await;
        w.wait_text("Gasclaw is up", Duration::from_secs(20)).await;
        let r = w.env.ask_model_as_agent().await;
        assert_eq!(r.status(), 429);
        w.wait_text(
            "key …0001 was refused by Kimi as invalid",
            Duration::from_secs(15),
        )
        .await;
        w.wait_text(
            "<b>agent keys</b>: all cooling, the first returns in",
            Duration::from_secs(15),
        )
        .await;
        // The cooldown (4 s) ends; the next cycle notices.
        w.wait_text(
            "<b>agent keys</b>: available again after",
            Duration::from_secs(20),
        )
        .await;
        assert_eq!(w.count(OWNER, "all cooling"), 1, "{:#?}", w.texts(OWNER));
        assert_eq!(w.stop().await, Some(0));
        kimi.stop();
    });
}

/// Waits until the agents' pool has a usable key (a cooldown ended), as
/// `/metrics` shows it.
async fn agent_key_available(w: &World) {
    let url = format!("{}/metrics", w.env.http_url());
    let usable = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(r) = reqwest::get(&url).await
                && let Ok(text) = r.text().await
                && text.lines().any(|l| {
                    l.starts_with("gasclaw_pool_keys{")
                        && l.contains("pool=\"agents\"")
                        && l.contains("state=\"available\"")
                        && l.rsplit(' ')
                            .next()
                            .and_then(|v| v.parse::<f64>().ok())
                            .is_some_and(|n| n >= 1.0)
                })
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(usable.is_ok(), "no agent key usable again within 10 s");
}

/// Waits until `/healthz` reports a finished monitor cycle.
async fn first_cycle_done(w: &World) {
    let url = format!("{}/healthz", w.env.http_url());
    let done = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(r) = reqwest::get(&url).await
                && let Ok(v) = r.json::<serde_json::Value>().await
                && !v["monitor"]["last_cycle"].is_null()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(done.is_ok(), "no monitor cycle within 30 s");
}

#[test]
fn a_key_pool_flapping_within_a_cycle_is_heard_once() {
    run_test(T, async {
        use gasclaw_fakes::kimi::{FakeKimi, Reply};
        let kimi = FakeKimi::start().await.expect("kimi");
        // Key 1 is out (invalid); key 2 answers 429 three times, each time
        // just after its 1 s cooldown ended: the pool flaps
        // cooling → available → cooling three times within one 15 s cycle.
        kimi.script(AGENT_KEYS[0], "A", vec![Reply::Unauthorized]);
        kimi.script(
            AGENT_KEYS[1],
            "B",
            vec![Reply::RateLimited { retry_after: None }; 3],
        );
        let w = World::start(|e| {
            e.set("KIMI_BASE_URL", &kimi.base_url())
                .set("KEY_COOLDOWN", "1")
                .set("MONITOR_INTERVAL", "15");
        })
        .await;
        w.wait_text("Gasclaw is up", Duration::from_secs(20)).await;
        first_cycle_done(&w).await;
        for round in 0..3 {
            let r = w.env.ask_model_as_agent().await;
            assert_eq!(r.status(), 429, "round {round}");
            // Key 2's cooldown is the behaviour: the next ask comes as soon
            // as the pool shows it usable again.
            agent_key_available(&w).await;
        }
        // The next cycle finds the pool usable and says so, once.
        w.wait_text(
            "<b>agent keys</b>: available again after",
            Duration::from_secs(30),
        )
        .await;
        // The barrier: a whole cycle after that one, its alerts delivered
        // (anything the recovering cycle held went out long before).
        w.settled(1).await;
        assert_eq!(w.count(OWNER, "all cooling"), 1, "{:#?}", w.texts(OWNER));
        assert_eq!(
            w.count(OWNER, "available again"),
            1,
            "{:#?}",
            w.texts(OWNER)
        );
        assert_eq!(w.stop().await, Some(0));
        kimi.stop();
    });
}

#[test]
fn a_second_poller_is_alerted_and_its_end_is_recovered() {
    run_test(T, async {
        // Time injected: ten quiet seconds (not a minute) prove the other
        // poller gone.
        let w = World::start(|e| {
            e.set("TELEGRAM_CONFLICT_QUIET", "10");
        })
        .await;
        w.wait_text("Gasclaw is up", Duration::from_secs(20)).await;
        w.tg.inject("getUpdates", Fault::Times(Box::new(Fault::Conflict), 2));
        w.wait_text(
            "another process is polling this bot token",
            Duration::from_secs(40),
        )
        .await;
        // The other poller is gone after two 409s; the quiet period
        // without one is the monitor's proof, then it says so once.
        w.wait_text("<b>telegram</b> recovered after", Duration::from_secs(60))
            .await;
        assert_eq!(
            w.count(OWNER, "another process is polling"),
            1,
            "{:#?}",
            w.texts(OWNER)
        );
        assert_eq!(w.count(OWNER, "<b>telegram</b> recovered"), 1);
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn healing_and_a_persons_restart_never_work_on_a_service_at_once() {
    run_test(T, async {
        let w = World::healing().await;
        // Starting the mayor takes 4 s; the monitor's heal starts it.
        w.env.fault("GT_SLOW", "mayor start=4");
        assert_eq!(w.env.gt(&["mayor", "stop"]).code, Some(0));
        let acts = || -> Vec<(f64, String)> {
            w.env
                .calls()
                .iter()
                .filter_map(|c| {
                    let argv: Vec<&str> = c["argv"]
                        .as_array()?
                        .iter()
                        .filter_map(|x| x.as_str())
                        .collect();
                    let line = argv.join(" ");
                    (c["prog"] == "gt"
                        && (line.starts_with("mayor start") || line.starts_with("mayor stop")))
                    .then(|| (c["ts"].as_f64().unwrap_or(0.0), line))
                })
                .collect()
        };
        // The heal's slow `mayor start`: the first start after our stop.
        let before = acts().len();
        let heal_start = || {
            acts()
                .into_iter()
                .enumerate()
                .skip(before)
                .find(|(_, (_, l))| l.starts_with("mayor start"))
        };
        w.env
            .wait_until(
                "the monitor starts healing the mayor",
                Duration::from_secs(20),
                || heal_start().is_some(),
            )
            .await;
        let (heal_index, (heal_started, _)) = heal_start().expect("heal");
        // Meanwhile a person asks for the same restart, and confirms.
        w.owner_restarts_mayor().await;
        w.tg.wait_for(
            |c| {
                c.text().contains("mayor restarted:")
                    || c.text().contains("Restarting mayor failed")
            },
            Duration::from_secs(40),
        )
        .await
        .expect("the person's restart finished");
        // The person's restart touched the mayor only after the heal's
        // 4-second start had finished.
        let a = acts();
        let persons = a
            .get(heal_index + 1)
            .unwrap_or_else(|| panic!("the person's restart ran no gt command: {a:?}"));
        assert!(
            persons.0 >= heal_started + 3.9,
            "the person's `{}` began {:.2} s after the heal's start: {a:?}",
            persons.1,
            persons.0 - heal_started
        );
        assert_eq!(w.stop().await, Some(0));
    });
}

#[test]
fn a_stop_sticks_until_restart_or_bootstrap_even_across_a_restart_of_gasclaw() {
    run_test(T, async {
        let mut w = World::healing().await;
        let stop = w.env.gasclaw(&["stop"], Duration::from_secs(60)).await;
        assert_eq!(stop.code, Some(0), "{stop:?}");
        let mayor_running =
            |w: &World| w.env.gt(&["mayor", "status", "--running"]).stdout.trim() == "true";
        // Many cycles with healing on (backoff 1 s): nothing healed or alerted.
        w.settled(4).await;
        assert!(
            !mayor_running(&w),
            "the monitor restarted the Mayor after a stop"
        );
        assert_eq!(
            w.count(OWNER, "restarted by the monitor"),
            0,
            "{:#?}",
            w.texts(OWNER)
        );
        assert_eq!(w.count(OWNER, " down"), 0, "{:#?}", w.texts(OWNER));
        let status = w.env.gasclaw(&["status"], Duration::from_secs(30)).await;
        for s in ["dolt", "daemon", "mayor", "gateway", "agents"] {
            assert!(
                status
                    .stdout
                    .lines()
                    .any(|l| l.starts_with(s) && l.contains("(stopped by cli at 20")),
                "{s}: {}",
                status.stdout
            );
        }
        // The owner's /status says it too.
        let o = User::new(OWNER_ID, "Owner");
        w.tg.push_update(updates::private_text(&o, "/status"));
        w.wait_text("stopped by cli at", Duration::from_secs(15))
            .await;

        // A restart of gasclaw: no bootstrap, no healing.
        assert_eq!(sigterm(w.run.take().expect("run")).await, Some(0));
        w.env.clear_calls();
        w.run = Some(w.env.spawn(&["run"]));
        let ups = || w.count(OWNER, "Gasclaw is up");
        let before = ups();
        w.env
            .wait_until(
                "the second start-up message",
                Duration::from_secs(30),
                || ups() > before,
            )
            .await;
        w.settled(3).await;
        assert!(
            !mayor_running(&w),
            "a restart of gasclaw brought the stack back"
        );
        assert_eq!(
            w.count(OWNER, "restarted by the monitor"),
            0,
            "{:#?}",
            w.texts(OWNER)
        );
        assert!(
            !w.env.call_lines().iter().any(|l| l == "gt mayor start"),
            "{:#?}",
            w.env.call_lines()
        );

        // `restart dolt` ends Dolt's mark only; `bootstrap` ends them all.
        let r = w
            .env
            .gasclaw(&["restart", "dolt"], Duration::from_secs(60))
            .await;
        assert_eq!(r.code, Some(0), "{r:?}");
        let status = w.env.gasclaw(&["status"], Duration::from_secs(30)).await;
        let line = |name: &str| {
            status
                .stdout
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or("")
                .to_string()
        };
        assert!(!line("dolt").contains("stopped by"), "{}", status.stdout);
        assert!(line("mayor").contains("stopped by"), "{}", status.stdout);
        w.owner_confirms("/bootstrap", "Run bootstrap?").await;
        let done =
            w.tg.wait_for(
                |c| c.method == "editmessagetext" && c.text().contains("The stack is up"),
                Duration::from_secs(60),
            )
            .await;
        assert!(done.is_some(), "bootstrap did not finish");
        assert_eq!(w.count(OWNER, " down"), 0, "{:#?}", w.texts(OWNER));
        let status = w.env.gasclaw(&["status"], Duration::from_secs(30)).await;
        assert_eq!(status.code, Some(0), "{}", status.stdout);
        assert!(!status.stdout.contains("stopped by"), "{}", status.stdout);
        assert!(!w.env.gasclaw_home.join("stopped.json").exists());
        assert_eq!(w.stop().await, Some(0));
    });
}
