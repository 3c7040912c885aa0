//! The town's work as Telegram HTML: the announcements the monitor queues
//! from the event log, `/escalations` and what its buttons answer, the
//! daily digest.

use super::{Tr, esc};
use crate::core::activity::human_duration;
use crate::core::work::announce::{Announcement, Kind, Severity};
use crate::core::work::digest::Digest;
use crate::core::work::escalations::Escalation;

fn severity_icon(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "🚨",
        Severity::Warning => "⚠️",
        Severity::Info => "ℹ️",
    }
}

fn escalation_icon(gt_severity: &str) -> &'static str {
    match gt_severity {
        "critical" => "🚨",
        "high" => "⚠️",
        "medium" => "📢",
        _ => "ℹ️",
    }
}

fn extra<'a>(a: &'a Announcement, key: &str) -> Option<&'a str> {
    a.extra
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// One announcement (its texts already redacted by the caller).
pub fn announcement(tr: Tr<'_>, a: &Announcement) -> String {
    let agent = a.agent.as_deref().unwrap_or("?");
    let sev = tr.raw(&format!("work-severity-{}", a.severity.name()), &[]);
    let head = |key: &str, args: &[(&str, &str)]| {
        format!(
            "{} <b>{}</b> · {}",
            severity_icon(a.severity),
            tr.t(key, args),
            esc(&sev)
        )
    };
    let mut s = match a.kind {
        Kind::MassDeath => {
            let mut s = head(
                "work-mass-death",
                &[
                    ("count", extra(a, "count").unwrap_or("?")),
                    ("window", extra(a, "window").unwrap_or("30s")),
                ],
            );
            if let Some(sessions) = extra(a, "sessions") {
                s.push('\n');
                s.push_str(&tr.t("work-sessions", &[("sessions", sessions)]));
            }
            s
        }
        Kind::Death => head("work-death", &[("agent", agent)]),
        Kind::Escalation => {
            let id = a.subject.as_deref().unwrap_or("?");
            let gt_sev = extra(a, "severity").unwrap_or("medium");
            let key = if extra(a, "reescalated").is_some() {
                "work-escalation-bumped"
            } else if extra(a, "reminder").is_some() {
                "work-escalation-reminder"
            } else {
                "work-escalation"
            };
            let args = [
                ("id", id),
                ("severity", gt_sev),
                ("agent", agent),
                ("for", extra(a, "reminder").unwrap_or("")),
            ];
            let mut s = format!(
                "{} <b>{}</b> · {}",
                escalation_icon(gt_sev),
                tr.t(key, &args),
                esc(&sev)
            );
            if let Some(src) = extra(a, "source") {
                s.push('\n');
                s.push_str(&tr.t("work-escalation-source", &[("source", src)]));
            }
            s
        }
        Kind::Merged => head(
            "work-merged",
            &[
                ("branch", a.subject.as_deref().unwrap_or("?")),
                ("rig", a.rig.as_deref().unwrap_or("?")),
            ],
        ),
        Kind::MergeFailed => head(
            "work-merge-failed",
            &[
                ("branch", a.subject.as_deref().unwrap_or("?")),
                ("rig", a.rig.as_deref().unwrap_or("?")),
            ],
        ),
        Kind::ConvoyLanded => head(
            "work-convoy-landed",
            &[("title", a.subject.as_deref().unwrap_or("?"))],
        ),
    };
    if !a.detail.is_empty() {
        s.push('\n');
        s.push_str(&esc(&a.detail));
    }
    if a.kind == Kind::Escalation && extra(a, "reescalated").is_none() {
        s.push('\n');
        s.push_str(&tr.t("work-escalation-act", &[]));
    }
    s
}

/// One line of `/escalations` (and the head of its buttons' row).
fn escalation_line(tr: Tr<'_>, e: &Escalation) -> String {
    let mut s = format!(
        "{} <b>{}</b> [{}] {}",
        escalation_icon(&e.severity),
        esc(&e.id),
        esc(&e.severity),
        esc(&e.title)
    );
    if let Some(by) = &e.escalated_by {
        s.push('\n');
        s.push_str(&tr.t("work-escalation-from", &[("agent", by)]));
    }
    if let Some(src) = &e.source {
        s.push_str(" · ");
        s.push_str(&tr.t("work-escalation-source", &[("source", src)]));
    }
    if e.acked {
        s.push_str(" · ");
        s.push_str(&tr.t(
            "work-escalation-acked",
            &[("by", e.acked_by.as_deref().unwrap_or("?"))],
        ));
    }
    s
}

/// `/escalations`: the open ones (at most `max`, the rest counted).
pub fn escalations(tr: Tr<'_>, list: &[Escalation], max: usize) -> String {
    if list.is_empty() {
        return format!("✅ {}", tr.t("work-escalations-none", &[]));
    }
    let mut s = format!(
        "<b>{}</b>",
        tr.t("work-escalations-title", &[("n", &list.len().to_string())])
    );
    for e in list.iter().take(max) {
        s.push_str("\n\n");
        s.push_str(&escalation_line(tr, e));
    }
    if list.len() > max {
        s.push_str("\n\n");
        s.push_str(&tr.t(
            "work-escalations-more",
            &[("n", &(list.len() - max).to_string())],
        ));
    }
    s
}

/// What an Ack or Close press did.
pub fn escalation_done(tr: Tr<'_>, closed: bool, id: &str, by: &str) -> String {
    let key = if closed {
        "work-escalation-closed"
    } else {
        "work-escalation-acked-by"
    };
    format!("✅ {}", tr.t(key, &[("id", id), ("by", by)]))
}

pub fn escalation_failed(tr: Tr<'_>, id: &str, error: &str) -> String {
    format!(
        "❌ {}",
        tr.t("work-escalation-failed", &[("id", id), ("error", error)])
    )
}

/// The daily digest.
pub fn digest(tr: Tr<'_>, d: &Digest) -> String {
    let n = |v: usize| v.to_string();
    let unknown = || tr.raw("work-digest-unknown", &[]);
    let opt = |v: Option<usize>| v.map(n).unwrap_or_else(unknown);
    let day = d.day.to_string();
    let mut lines = vec![format!(
        "📊 <b>{}</b>",
        tr.t("work-digest-title", &[("day", &day), ("tz", &d.tz)])
    )];
    lines.push(tr.t(
        "work-digest-beads",
        &[
            ("opened", &opt(d.beads_opened)),
            ("closed", &opt(d.beads_closed)),
        ],
    ));
    lines.push(tr.t(
        "work-digest-merges",
        &[("merged", &n(d.merges)), ("failed", &n(d.merge_failures))],
    ));
    lines.push(tr.t("work-digest-commits", &[("n", &opt(d.commits))]));
    lines.push(tr.t(
        "work-digest-incidents",
        &[
            ("n", &n(d.incidents)),
            ("down", &human_duration(d.downtime_secs)),
        ],
    ));
    lines.push(tr.t(
        "work-digest-escalations",
        &[("n", &n(d.escalations)), ("open", &opt(d.escalations_open))],
    ));
    lines.push(tr.t(
        "work-digest-deaths",
        &[("n", &n(d.deaths)), ("mass", &n(d.mass_deaths))],
    ));
    lines.push(tr.t("work-digest-stuck", &[("n", &n(d.stuck))]));
    if d.convoys > 0 {
        lines.push(tr.t("work-digest-convoys", &[("n", &n(d.convoys))]));
    }
    lines.push(
        tr.t(
            "work-digest-tokens",
            &[(
                "n",
                &d.tokens
                    .map(crate::keys::usage::report::tokens_short)
                    .unwrap_or_else(unknown),
            )],
        ),
    );
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locales;
    use chrono::{DateTime, Utc};

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ann(kind: Kind, severity: Severity, detail: &str, extra: &[(&str, &str)]) -> Announcement {
        Announcement {
            kind,
            severity,
            at: at(),
            rig: Some("project".into()),
            agent: Some("project/Toast".into()),
            subject: Some(
                match kind {
                    Kind::Escalation => "hq-ab12",
                    Kind::ConvoyLanded => "Auth <rework>",
                    _ => "polecat/Toast",
                }
                .into(),
            ),
            detail: detail.into(),
            extra: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn esc_item(acked: bool) -> Escalation {
        Escalation {
            id: "hq-ab12".into(),
            title: "Build <is> broken".into(),
            severity: "high".into(),
            reason: None,
            source: Some("ci".into()),
            escalated_by: Some("project/Toast".into()),
            escalated_at: None,
            acked,
            acked_by: acked.then(|| "overseer".into()),
            created_at: None,
        }
    }

    #[test]
    fn renderings_in_every_locale() {
        let locales = Locales::embedded();
        for lang in locales.languages() {
            let tr = Tr::new(&locales, lang);
            let samples = [
                ann(
                    Kind::MassDeath,
                    Severity::Critical,
                    "tmux server restart",
                    &[
                        ("count", "3"),
                        ("window", "30s"),
                        ("sessions", "pr-A, pr-B, pr-C"),
                    ],
                ),
                ann(
                    Kind::Death,
                    Severity::Warning,
                    "crashed with exit code 2",
                    &[],
                ),
                ann(
                    Kind::Escalation,
                    Severity::Warning,
                    "Build is broken & red",
                    &[("severity", "high"), ("source", "ci")],
                ),
                ann(
                    Kind::Escalation,
                    Severity::Critical,
                    "",
                    &[("severity", "critical"), ("reescalated", "true")],
                ),
                ann(Kind::Merged, Severity::Info, "", &[]),
                ann(
                    Kind::MergeFailed,
                    Severity::Warning,
                    "conflict in src/lib.rs",
                    &[],
                ),
                ann(Kind::ConvoyLanded, Severity::Info, "", &[]),
            ];
            let mut out: Vec<String> = samples.iter().map(|a| announcement(tr, a)).collect();
            out.push(announcement(
                tr,
                &ann(
                    Kind::Escalation,
                    Severity::Warning,
                    "Build <is> broken",
                    &[("severity", "high"), ("reminder", "1h")],
                ),
            ));
            out.push(escalations(tr, &[esc_item(false), esc_item(true)], 1));
            out.push(escalations(tr, &[], 10));
            out.push(escalation_done(tr, false, "hq-ab12", "@owner"));
            out.push(escalation_done(tr, true, "hq-ab12", "@owner"));
            out.push(escalation_failed(
                tr,
                "hq-ab12",
                "escalation not found: hq-ab12",
            ));
            out.push(digest(
                tr,
                &Digest {
                    day: chrono::NaiveDate::from_ymd_opt(2026, 12, 6).expect("a day"),
                    tz: "Asia/Shanghai".into(),
                    beads_opened: Some(4),
                    beads_closed: Some(3),
                    commits: Some(17),
                    merges: 2,
                    merge_failures: 1,
                    convoys: 1,
                    incidents: 2,
                    downtime_secs: 754,
                    escalations: 1,
                    escalations_open: Some(0),
                    stuck: 3,
                    deaths: 1,
                    mass_deaths: 0,
                    tokens: Some(1_234_567),
                },
            ));
            // Nothing could be counted (the programs failed).
            out.push(digest(
                tr,
                &Digest {
                    day: chrono::NaiveDate::from_ymd_opt(2026, 12, 7).expect("a day"),
                    tz: "UTC".into(),
                    ..Digest::default()
                },
            ));
            insta::assert_snapshot!(format!("work-{lang}"), out.join("\n\n---\n\n"));
        }
    }
}
