//! The town's work as Telegram HTML: `/agents`, the stuck alert, `/peek`,
//! `/nudge`, `/mail`, `/pause`/`/resume` and the paused line of `/status`.
//! Two messages begin with a marker and an id in plain text (`🧱 <agent>`,
//! `📬 <mail id>`): a reply to them is routed by that first line, which
//! reads the same in every language.

use super::{Tr, esc, fit};
use crate::core::activity::human_duration;
use crate::core::alerts::incident::AgentVerb;
use crate::core::work::{AgentWork, Estop, Mail, Mark, WorkReport};

/// Leads a stuck alert: `🧱 <agent> — …`.
pub const STUCK_MARK: &str = "🧱";
/// Leads a mail: `📬 <id> · …`.
pub const MAIL_MARK: &str = "📬";

fn mark_text(tr: Tr<'_>, a: &AgentWork) -> String {
    let dur = |s: Option<u64>| human_duration(s.unwrap_or(0));
    match a.mark {
        Mark::Idle => tr.t("mark-idle", &[]),
        Mark::Working => tr.t("mark-working", &[]),
        Mark::Stalled => tr.t("mark-stalled", &[("for", &dur(a.stuck_secs))]),
        Mark::Stuck => tr.t("mark-stuck", &[("for", &dur(a.stuck_secs))]),
        Mark::PaneStuck => tr.t("mark-pane-stuck", &[("for", &dur(a.stuck_secs))]),
        Mark::Dead => tr.t("mark-dead", &[]),
        Mark::Stopped => tr.t("mark-stopped", &[]),
    }
}

fn icon(a: &AgentWork, paused: bool) -> &'static str {
    match a.mark {
        _ if paused && a.running => "⏸",
        Mark::Stuck | Mark::PaneStuck => "🧱",
        Mark::Stalled => "🟡",
        Mark::Dead => "💀",
        Mark::Stopped => "⚫",
        Mark::Working => "🟢",
        Mark::Idle => "⚪",
    }
}

fn since(e: &Estop) -> String {
    e.since
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

/// One line per active freeze, or nothing.
pub fn paused_lines(tr: Tr<'_>, paused: &[Estop]) -> String {
    let mut s = String::new();
    for e in paused {
        let line = match &e.rig {
            None => tr.t(
                "work-paused-town",
                &[("since", &since(e)), ("reason", &e.reason)],
            ),
            Some(r) => tr.t(
                "work-paused-rig",
                &[("rig", r), ("since", &since(e)), ("reason", &e.reason)],
            ),
        };
        s.push_str(&format!("⛔ {line}\n"));
    }
    s
}

/// `/agents`: every agent with its state, hooked bead and last progress.
pub fn agents(tr: Tr<'_>, r: &WorkReport) -> String {
    if r.agents.is_empty()
        && let Some(e) = &r.error
    {
        return tr.t("agents-error", &[("error", e)]);
    }
    let running = r.agents.iter().filter(|a| a.running).count();
    let mut s = format!(
        "<b>{}</b>\n",
        tr.t(
            "agents-title",
            &[
                ("running", &running.to_string()),
                ("total", &r.agents.len().to_string())
            ]
        )
    );
    s.push_str(&paused_lines(tr, &r.paused));
    for a in &r.agents {
        s.push_str(&format!(
            "{} <code>{}</code> {}",
            icon(a, r.is_paused(&a.address)),
            esc(&a.address),
            mark_text(tr, a)
        ));
        if let Some(b) = &a.hook_bead {
            s.push_str(&format!(" · {}", tr.t("agents-hook", &[("bead", b)])));
            if let Some(t) = a.work_title.as_deref().filter(|t| *t != b) {
                s.push_str(&format!(" <i>{}</i>", esc(t)));
            }
            if let Some(p) = a.since_progress_secs {
                s.push_str(&format!(
                    " · {}",
                    tr.t("agents-progress", &[("ago", &human_duration(p))])
                ));
            }
        }
        s.push('\n');
    }
    if let Some(e) = &r.error {
        s.push_str(&format!(
            "<i>{}</i>\n",
            tr.t("agents-note", &[("error", e)])
        ));
    }
    fit(s.trim_end(), tr)
}

/// The stuck alert: agent, bead, and for how long.
pub fn stuck_alert(tr: Tr<'_>, a: &AgentWork) -> String {
    stuck_text(
        tr,
        &a.address,
        a.hook_bead.as_deref(),
        a.work_title.as_deref(),
        a.mark == Mark::PaneStuck,
        a.stuck_secs.unwrap_or(0),
    )
}

/// The stuck alert's text (`core::alerts::Fact::Stuck`): it begins with
/// `🧱 <agent>` in every language, which routes a reply to it.
pub fn stuck_text(
    tr: Tr<'_>,
    agent: &str,
    bead: Option<&str>,
    title: Option<&str>,
    pane: bool,
    secs: u64,
) -> String {
    let dur = human_duration(secs);
    let how = if pane {
        tr.raw("stuck-how-pane", &[("for", &dur)])
    } else {
        tr.raw("stuck-how-gupp", &[("for", &dur)])
    };
    let bead = match (bead, title) {
        (Some(b), Some(t)) if t != b => format!("{b} ({t})"),
        (Some(b), _) => b.to_string(),
        (None, _) => "?".into(),
    };
    format!(
        "{STUCK_MARK} <code>{}</code> — {}",
        esc(agent),
        tr.t("stuck-alert", &[("how", &how), ("bead", &bead)])
    )
}

/// A stuck agent's button label.
pub fn button_label(tr: Tr<'_>, v: AgentVerb) -> String {
    tr.raw(
        match v {
            AgentVerb::Peek => "button-peek",
            AgentVerb::Nudge => "button-nudge",
            AgentVerb::Restart => "button-restart",
        },
        &[],
    )
}

/// The live status card (`/pin`): only what changes when the town
/// changes (no latencies, no ages), so it is edited only then.
pub fn card(
    tr: Tr<'_>,
    health: &crate::core::health::HealthReport,
    work: &WorkReport,
    escalations: &[crate::core::work::escalations::Escalation],
    pools: Option<&crate::keys::PoolsStatus>,
) -> String {
    let mut s = format!("📌 <b>{}</b>\n", tr.t("pin-title", &[]));
    let services: Vec<String> = health
        .checks
        .iter()
        .map(|c| {
            let mut w = format!("<b>{}</b> {}", c.name, super::status_word(tr, c.status));
            if c.stopped.is_some() {
                w.push_str(" ⏹");
            }
            w
        })
        .collect();
    s.push_str(&services.join(" · "));
    s.push('\n');
    s.push_str(&paused_lines(tr, &work.paused));
    let running = work.agents.iter().filter(|a| a.running).count();
    s.push_str(&tr.t(
        "agents-title",
        &[
            ("running", &running.to_string()),
            ("total", &work.agents.len().to_string()),
        ],
    ));
    s.push('\n');
    for a in work
        .agents
        .iter()
        .filter(|a| a.hook_bead.is_some() || a.mark.is_stuck())
    {
        let word = match a.mark {
            Mark::Stuck | Mark::PaneStuck => tr.t("pin-stuck", &[]),
            Mark::Stalled => tr.t("pin-stalled", &[]),
            Mark::Dead => tr.t("mark-dead", &[]),
            _ => tr.t("mark-working", &[]),
        };
        s.push_str(&format!(
            "{} <code>{}</code> {} — {}\n",
            icon(a, work.is_paused(&a.address)),
            esc(&a.address),
            esc(a.hook_bead.as_deref().unwrap_or("")),
            word
        ));
    }
    // Open escalations: the three newest named, the rest counted (no ages:
    // an unchanged town must render the same text).
    if !escalations.is_empty() {
        s.push_str(&tr.t(
            "work-escalations-title",
            &[("n", &escalations.len().to_string())],
        ));
        s.push('\n');
        for e in escalations.iter().rev().take(3) {
            s.push_str(&format!(
                "⚠️ <code>{}</code> ({}) {}\n",
                esc(&e.id),
                esc(&e.severity),
                esc(&e.title)
            ));
        }
        if escalations.len() > 3 {
            s.push_str(&tr.t(
                "work-escalations-more",
                &[("n", &(escalations.len() - 3).to_string())],
            ));
            s.push('\n');
        }
    }
    if let Some(p) = pools {
        s.push_str(&super::pools_summary(tr, p));
    }
    fit(s.trim_end(), tr)
}

/// The agent named by a stuck alert's plain text, if it is one.
pub fn stuck_agent_of(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(STUCK_MARK)?.trim_start();
    rest.split_whitespace().next()
}

/// The mail id named by a mail message's plain text, if it is one.
pub fn mail_id_of(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(MAIL_MARK)?.trim_start();
    rest.split_whitespace().next()
}

/// `/peek`: the pane's tail in a `<pre>` block, cut from the top to fit.
pub fn peek(tr: Tr<'_>, agent: &str, text: &str) -> String {
    let head = format!("👁 <b>{}</b>\n", tr.t("peek-title", &[("agent", agent)]));
    let body = text.trim_end_matches(['\n', ' ']);
    if body.trim().is_empty() {
        return format!("{head}<i>{}</i>", tr.t("peek-empty", &[]));
    }
    // Keep the newest lines: take from the bottom while they fit.
    let budget = super::MAX_TEXT - head.chars().count() - 40;
    let mut kept: Vec<String> = Vec::new();
    let mut used = 0;
    for line in body.lines().rev() {
        let e = esc(line);
        let n = e.chars().count() + 1;
        if used + n > budget {
            if kept.is_empty() {
                // One very long line: its end (escaping grows it at most 6×).
                let chars: Vec<char> = line.chars().collect();
                let tail: String = chars[chars.len().saturating_sub(budget / 6)..]
                    .iter()
                    .collect();
                kept.push(esc(&tail));
            }
            break;
        }
        used += n;
        kept.push(e);
    }
    kept.reverse();
    let shown = kept.join("\n");
    format!("{head}<pre>{shown}</pre>")
}

/// One mail, for `/mail`.
pub fn mail(tr: Tr<'_>, m: &Mail) -> String {
    let at = m
        .timestamp
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let body: String = m.body.chars().take(2500).collect();
    format!(
        "{MAIL_MARK} <code>{}</code> · {}\n<b>{}</b>\n{}\n\n<i>{}</i>",
        esc(&m.id),
        tr.t("mail-from", &[("from", &m.from), ("at", &at)]),
        esc(&m.subject),
        esc(&body),
        tr.t("mail-reply-hint", &[("from", &m.from)])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locales;

    fn agent(address: &str, mark: Mark, hook: Option<&str>) -> AgentWork {
        AgentWork {
            address: address.into(),
            role: "polecat".into(),
            running: mark != Mark::Dead && mark != Mark::Stopped,
            state: hook.map(|_| "working".into()),
            hook_bead: hook.map(str::to_string),
            work_title: hook.map(|_| "Fix the <parser>".into()),
            since_progress_secs: hook.map(|_| 2400),
            pane_same_secs: None,
            mark,
            stuck_secs: matches!(mark, Mark::Stuck | Mark::Stalled | Mark::PaneStuck)
                .then_some(2400),
        }
    }

    /// A typed stuck alert as the outbox delivers it.
    fn stuck(
        agent: &str,
        pane: bool,
        resolved: Option<crate::core::alerts::Resolution>,
    ) -> crate::core::alerts::Alert {
        use crate::core::alerts::*;
        Alert {
            incident: IncidentId(5),
            subject: Subject::Agent(agent.into()),
            severity: Severity::Warning,
            fact: Fact::Stuck {
                agent: agent.into(),
                bead: Some("hq-def".into()),
                title: Some("Fix the <parser>".into()),
                pane,
                for_secs: 1900,
            },
            buttons: AgentVerb::ALL.into_iter().map(AlertAction::Agent).collect(),
            consequences: vec![],
            acked_by: None,
            resolved,
        }
    }

    /// Its text, then its buttons (label → callback data).
    fn typed(tr: Tr<'_>, a: &crate::core::alerts::Alert) -> String {
        let mut s = super::super::alert::alert(tr, a);
        if let Some(m) = super::super::alert::buttons(tr, a) {
            for b in m.inline_keyboard.iter().flatten() {
                let data = match &b.kind {
                    teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => d.clone(),
                    _ => String::new(),
                };
                s.push_str(&format!("\n[{}] → {}", b.text, data));
            }
        }
        s
    }

    fn report(paused: bool) -> WorkReport {
        WorkReport {
            agents: vec![
                agent("mayor", Mark::Idle, None),
                agent("deacon", Mark::Stopped, None),
                agent("project/witness", Mark::Working, Some("hq-w1")),
                agent("project/nux", Mark::Stuck, Some("hq-abc")),
                agent("project/fury", Mark::PaneStuck, Some("hq-def")),
                agent("project/slit", Mark::Stalled, Some("hq-ghi")),
                agent("project/ace", Mark::Dead, Some("hq-jkl")),
            ],
            paused: if paused {
                vec![Estop {
                    rig: None,
                    trigger: "manual".into(),
                    since: chrono::DateTime::parse_from_rfc3339("2026-12-06T20:00:00+01:00").ok(),
                    reason: "paused through gasclaw by telegram:owner".into(),
                }]
            } else {
                vec![]
            },
            error: None,
        }
    }

    #[test]
    fn snapshots() {
        let l = Locales::embedded();
        for lang in l.languages() {
            let tr = Tr::new(&l, lang);
            let mut out = vec![
                agents(tr, &report(false)),
                agents(tr, &report(true)),
                agents(
                    tr,
                    &WorkReport {
                        agents: vec![],
                        paused: vec![],
                        error: Some("no town yet (run bootstrap)".into()),
                    },
                ),
                stuck_alert(tr, &agent("project/nux", Mark::Stuck, Some("hq-abc"))),
                typed(tr, &stuck("project/fury", true, None)),
                typed(
                    tr,
                    &stuck(
                        "project/nux",
                        false,
                        Some(crate::core::alerts::Resolution {
                            lasted: std::time::Duration::from_secs(600),
                            healed: false,
                        }),
                    ),
                ),
                peek(
                    tr,
                    "project/nux",
                    "line <1>\n❯ Do you want to proceed?\n  1. Yes\n\n",
                ),
                peek(tr, "project/nux", "\n\n"),
                mail(
                    tr,
                    &Mail {
                        id: "hq-m1".into(),
                        from: "mayor/".into(),
                        to: "overseer".into(),
                        subject: "Need a decision".into(),
                        body: "Merge <#12> or wait?".into(),
                        timestamp: chrono::DateTime::parse_from_rfc3339("2026-12-06T19:00:00Z")
                            .ok()
                            .map(|t| t.with_timezone(&chrono::Utc)),
                        read: false,
                        priority: Some("normal".into()),
                    },
                ),
            ];
            out.push(paused_lines(tr, &report(true).paused));
            let check = |name, status, stopped: bool| crate::core::health::Check {
                name,
                status,
                detail: "detail".into(),
                latency_ms: 12,
                timed_out: false,
                stopped: stopped.then(|| crate::core::stopped::StopMark {
                    by: "gt estop (x)".into(),
                    at: chrono::DateTime::UNIX_EPOCH,
                }),
            };
            use crate::core::Service;
            use crate::core::health::CheckStatus;
            let health = crate::core::health::HealthReport {
                checks: vec![
                    check(Service::Dolt, CheckStatus::Ok, false),
                    check(Service::Daemon, CheckStatus::Ok, false),
                    check(Service::Mayor, CheckStatus::Down, false),
                    check(Service::Gateway, CheckStatus::Unknown, false),
                    check(Service::Agents, CheckStatus::Ok, true),
                ],
            };
            out.push(card(tr, &health, &report(true), &[], None));
            for html in &out {
                gasclaw_fakes::bot_api::parse_html(html)
                    .unwrap_or_else(|e| panic!("Telegram would refuse {html:?}: {e}"));
            }
            insta::assert_snapshot!(format!("work-{lang}"), out.join("\n\n----\n\n"));
        }
    }

    #[test]
    fn replies_find_their_agent_and_mail() {
        let l = Locales::embedded();
        for lang in l.languages() {
            let tr = Tr::new(&l, lang);
            let alert = super::super::plain(&stuck_alert(
                tr,
                &agent("project/nux", Mark::Stuck, Some("hq-abc")),
            ));
            assert_eq!(stuck_agent_of(&alert), Some("project/nux"), "{lang}");
            let alert = super::super::plain(&super::super::alert::alert(
                tr,
                &stuck("project/fury", true, None),
            ));
            assert_eq!(stuck_agent_of(&alert), Some("project/fury"), "{lang}");
            let m = Mail {
                id: "hq-m1".into(),
                from: "mayor/".into(),
                to: "overseer".into(),
                subject: "s".into(),
                body: "b".into(),
                timestamp: None,
                read: false,
                priority: None,
            };
            assert_eq!(
                mail_id_of(&super::super::plain(&mail(tr, &m))),
                Some("hq-m1")
            );
        }
        assert_eq!(stuck_agent_of("hello"), None);
        assert_eq!(mail_id_of("🧱 x"), None);
    }

    #[test]
    fn a_long_pane_keeps_its_newest_lines() {
        let l = Locales::embedded();
        let tr = Tr::new(&l, "en");
        let text: String = (0..2000).map(|i| format!("line {i} & <more>\n")).collect();
        let html = peek(tr, "project/nux", &text);
        let visible = gasclaw_fakes::bot_api::parse_html(&html).expect("valid HTML");
        assert!(visible.chars().count() <= super::super::MAX_TEXT);
        assert!(visible.contains("line 1999"));
        assert!(!visible.contains("line 0 "));
    }
}
