//! Snapshots of every rendered reply in every locale (insta), so a change
//! to what people read is a reviewed diff.

use super::*;
use crate::core::Service;
use crate::core::health::Check;
use crate::keys::pool::KeyStatus;
use crate::keys::{CooldownReason, PoolStatus};
use crate::telegram::auth::Role;
use crate::telegram::catalogue::Catalogue;

fn check(name: Service, status: CheckStatus, detail: &str) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
        latency_ms: 12,
        stopped: None,
        timed_out: false,
    }
}

fn status_report() -> StatusReport {
    StatusReport {
        checks: vec![
            check(Service::Dolt, CheckStatus::Ok, "serving on port 3307"),
            check(Service::Daemon, CheckStatus::Ok, "running (pid 42)"),
            check(Service::Mayor, CheckStatus::Down, "not running"),
            check(
                Service::Gateway,
                CheckStatus::Unknown,
                "`openclaw` not found on PATH",
            ),
            check(
                Service::Agents,
                CheckStatus::Ok,
                "3 of 4 running: mayor, deacon, project/witness",
            ),
        ],
        activity: ActivityReport {
            last_commit_age_secs: Some(4000),
            deadline_secs: 3600,
            compliant: false,
            detail: "last commit 1h 6m ago in /project <main>".into(),
        },
    }
}

fn pools() -> PoolsStatus {
    let key = |hint: &str, state: &'static str| KeyStatus {
        hint: hint.into(),
        hash: "a1b2c3d4e5f6".into(),
        state,
        cooldown_secs_left: (state == "cooling").then_some(250),
        cooldown_reason: (state == "cooling").then_some(CooldownReason::RateLimited),
        uses: 17,
        rate_limits: 1,
        last_used: None,
        last_429: None,
    };
    PoolsStatus {
        agents: PoolStatus {
            total: 3,
            available: 1,
            cooling: 1,
            invalid: 1,
            keys: vec![
                key("…aaaa", "available"),
                key("…bbbb", "cooling"),
                key("…cccc", "invalid"),
            ],
        },
        overseer: PoolStatus {
            total: 1,
            available: 1,
            cooling: 0,
            invalid: 0,
            keys: vec![key("…oooo", "available")],
        },
    }
}

fn each_locale(f: impl Fn(Tr<'_>) -> String, name: &str) {
    let l = Locales::embedded();
    for lang in l.languages() {
        let text = f(Tr::new(&l, lang));
        // Every rendering must be valid Telegram HTML within the limit.
        let visible = gasclaw_fakes::bot_api::parse_html(&text)
            .unwrap_or_else(|e| panic!("{name}/{lang}: bad HTML ({e}): {text}"));
        assert!(
            visible.chars().count() <= MAX_TEXT,
            "{name}/{lang} too long"
        );
        insta::assert_snapshot!(format!("{name}-{lang}"), text);
    }
}

#[test]
fn snapshots() {
    let cat = Catalogue::load(None).expect("test value");
    each_locale(
        |tr| help(tr, Role::Owner, &cat.for_role(Role::Owner)),
        "help-owner",
    );
    each_locale(
        |tr| help(tr, Role::Member, &cat.for_role(Role::Member)),
        "help-member",
    );
    each_locale(|tr| status(tr, &status_report(), Some(&pools())), "status");
    each_locale(
        |tr| {
            let mut r = status_report();
            for c in &mut r.checks {
                c.status = CheckStatus::Down;
                c.stopped = Some(crate::core::stopped::StopMark {
                    by: "Owner (42)".into(),
                    at: chrono::DateTime::from_timestamp(1_767_300_000, 0).expect("date"),
                });
            }
            status(tr, &r, None)
        },
        "status-stopped",
    );
    each_locale(|tr| keys(tr, &pools()), "keys");
    each_locale(|tr| activity(tr, &status_report().activity), "activity");
    let restart = cat.get("restart").expect("test value");
    each_locale(
        |tr| usage_error(tr, &restart, &restart.parse_args("-deacon").unwrap_err()),
        "usage",
    );
    let mute = cat.get("mute").expect("test value");
    each_locale(
        |tr| {
            usage_error(
                tr,
                &mute,
                &mute.parse_args("all 1000000000000000").unwrap_err(),
            )
        },
        "usage-too-long",
    );
    let dir = tempfile::tempdir().expect("test value");
    std::fs::write(
        dir.path().join("gitlog.toml"),
        "name = \"gitlog\"\nrole = \"operator\"\naction = \"exec\"\nprogram = \"git\"\nargv = [\"log\", \"{rev}\"]\n[description]\nen = \"Log\"\n[[args]]\nname = \"rev\"\nkind = \"pattern\"\npattern = \"[a-z=/-]+\"\n",
    )
    .expect("test value");
    let gitlog = Catalogue::load(Some(dir.path()))
        .expect("test value")
        .get("gitlog")
        .expect("test value");
    each_locale(
        |tr| {
            usage_error(
                tr,
                &gitlog,
                &gitlog.parse_args("--output=/tmp/x").unwrap_err(),
            )
        },
        "usage-dash",
    );
    each_locale(internal_error, "internal-error");
    each_locale(|tr| slow_down(tr, 6), "slow-down");
    each_locale(
        |tr| confirm_prompt(tr, &tr.raw("action-restart", &[("service", "mayor")])),
        "confirm",
    );
    each_locale(
        |tr| {
            restart_done(
                tr,
                &RestartReport {
                    service: Service::Mayor,
                    action: "restarted the Mayor".into(),
                    check: check(Service::Mayor, CheckStatus::Ok, "running"),
                },
            )
        },
        "restart",
    );
    let report = BootstrapReport {
        steps: vec![],
        failed: Some((
            Step::Rig,
            "`gt rig add project file:///p` failed (exit 1): Error: adding rig".into(),
        )),
        rolled_back: vec!["stopped Dolt".into()],
        elapsed_ms: 2500,
    };
    let steps = vec![
        (
            Step::Keys,
            StepProgress::Skipped("3 agent accounts already in place".into()),
        ),
        (
            Step::Town,
            StepProgress::Done("installed a town at /workspace/gt".into()),
        ),
        (
            Step::Rig,
            StepProgress::Failed("Error: adding rig <x>".into()),
        ),
    ];
    each_locale(
        |tr| bootstrap_progress(tr, &steps, &report.rolled_back, Some(&report)),
        "bootstrap",
    );
    each_locale(
        |tr| {
            stop(
                tr,
                &StopReport {
                    stopped: vec![
                        (Service::Mayor, Ok("stopped".into())),
                        (Service::Dolt, Err("`gt dolt stop` timed out".into())),
                    ],
                },
            )
        },
        "stop",
    );
    each_locale(
        |tr| exec_output(tr, "tail -n 30 /x/daemon.log", "line <1>\nline & 2\n"),
        "exec",
    );
    each_locale(|tr| tr.t("stranger", &[("id", "7666")]), "stranger");
    each_locale(
        |tr| {
            alerts(
                tr,
                &[(
                    "mayor".into(),
                    "2026-12-03 10:00 UTC".into(),
                    "not running".into(),
                )],
                &[("dolt".into(), "2026-12-03 12:00 UTC".into())],
            )
        },
        "alerts",
    );
    each_locale(|tr| alerts(tr, &[], &[]), "alerts-empty");
    use crate::monitor::alerts_render_samples;
    let l = Locales::embedded();
    let n = alerts_render_samples(Tr::new(&l, "en")).len();
    for i in 0..n {
        let (id, ..) = alerts_render_samples(Tr::new(&l, "en"))[i].clone();
        each_locale(
            |tr| {
                let (id, t, detail, word) = alerts_render_samples(tr)[i].clone();
                crate::monitor::render_alert(tr, id, &t, &detail, word)
            },
            &format!("monitor-{i:02}-{}", id.mute_name()),
        );
    }
}

#[test]
fn long_output_is_cut_with_a_note_and_stays_valid() {
    let l = Locales::embedded();
    let tr = Tr::new(&l, "en");
    let big: String = (0..3000).map(|i| format!("line {i} <&>\n")).collect();
    let html = exec_output(tr, "seq", &big);
    assert!(html.chars().count() <= MAX_TEXT);
    assert!(html.contains("cut here"));
    gasclaw_fakes::bot_api::parse_html(&html).expect("test value");
    // One huge line with entities: never split an entity or a tag.
    let line = "&".repeat(5000);
    let html = fit(&format!("<b>{}</b>", esc(&line)), tr);
    gasclaw_fakes::bot_api::parse_html(&html).expect("test value");
}

#[test]
fn split_text_keeps_words_and_entities_whole() {
    let text: String = (0..1000).map(|i| format!("w{i}&<x> ")).collect();
    let parts = split_text(&text, 500);
    assert!(parts.len() > 10);
    for p in &parts {
        assert!(p.chars().count() <= 500, "{}", p.chars().count());
        gasclaw_fakes::bot_api::parse_html(p).expect("test value");
    }
    let joined = parts
        .join(" ")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    assert_eq!(
        joined.split_whitespace().collect::<Vec<_>>(),
        text.split_whitespace().collect::<Vec<_>>()
    );
    // One word longer than a message is cut, never inside an entity.
    let parts = split_text(&"&".repeat(1000), 100);
    assert!(
        parts
            .iter()
            .all(|p| p.chars().count() <= 100 && gasclaw_fakes::bot_api::parse_html(p).is_ok())
    );
    assert_eq!(parts.concat().matches("&amp;").count(), 1000);
    assert!(split_text("   ", 10).is_empty());
}

/// A fixed usage report: two agents and the overseer over two hours, two
/// keys with quota samples (one measurable burn rate).
pub(crate) fn usage_report() -> crate::keys::usage::UsageReport {
    use crate::keys::PoolKind;
    use crate::keys::usage::quota::QuotaSample;
    use crate::keys::usage::store::Row;
    use crate::keys::usage::{Period, RequestOutcome, Tokens, UsageReport};
    use chrono::TimeZone;
    let now = chrono::Utc
        .timestamp_opt(1_796_050_000, 0)
        .single()
        .expect("time");
    let h = now.timestamp() - now.timestamp().rem_euclid(3600);
    let row = |hour: i64, slot: &str, key: &str, outcome, n: u64, t: Tokens| Row {
        hour,
        slot: slot.into(),
        pool: if slot == "overseer" {
            "overseer"
        } else {
            "agents"
        }
        .into(),
        key: key.into(),
        model: "kimi-for-coding".into(),
        outcome,
        requests: n,
        tokens: t,
    };
    let tk = |i, o, cw, cr| Tokens {
        input: i,
        output: o,
        cache_creation: cw,
        cache_read: cr,
    };
    let rows = vec![
        row(
            h - 3600,
            "agent-1",
            "…aaaa",
            RequestOutcome::Ok,
            40,
            tk(120_000, 30_000, 5_000, 900_000),
        ),
        row(
            h,
            "agent-1",
            "…aaaa",
            RequestOutcome::Ok,
            20,
            tk(60_000, 12_000, 0, 400_000),
        ),
        row(
            h,
            "agent-2",
            "…bbbb",
            RequestOutcome::Ok,
            25,
            tk(80_000, 20_000, 2_000, 500_000),
        ),
        row(
            h,
            "agent-2",
            "…bbbb",
            RequestOutcome::Failed,
            2,
            tk(3_000, 10, 0, 0),
        ),
        row(
            h,
            "agent-3",
            "…aaaa",
            RequestOutcome::Cancelled,
            1,
            tk(1_000, 5, 0, 0),
        ),
        row(
            h,
            "overseer",
            "…oooo",
            RequestOutcome::Ok,
            3,
            tk(9_000, 1_500, 0, 20_000),
        ),
    ];
    let t = now.timestamp();
    let q = |at: i64, pool, key: &str, used: u64| QuotaSample {
        at,
        pool,
        key: key.into(),
        limit: 100,
        used,
        remaining: 100 - used,
        reset: Some(t + 3 * 86400),
    };
    let samples = vec![
        q(t - 4 * 3600, PoolKind::Agents, "…aaaa", 51),
        q(t, PoolKind::Agents, "…aaaa", 59),
        q(t, PoolKind::Agents, "…bbbb", 59),
        q(t, PoolKind::Overseer, "…oooo", 20),
    ];
    UsageReport::build(&rows, &samples, Period::Today.start(now), now)
}

#[test]
fn usage_snapshots() {
    let r = usage_report();
    each_locale(
        |tr| usage(tr, &r, &tr.raw("usage-period-today", &[])),
        "token-usage",
    );
}
