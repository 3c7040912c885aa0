//! Which town events a person wants to hear about (gastown-work.md §1.3),
//! and how loud. Most lines are routine (slings, hooks, nudges, mail); a
//! `session_death` is news only for a crash, a zombie or an orphan — idle
//! reaps, `gt done`'s self-clean and `gt down` are how sessions normally
//! end. Merges and convoys rarely reach the log (agents may `gt activity
//! emit merged`), so the mail they send is read too (see `mail`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::events::TownEvent;

pub use crate::core::severity::Severity;

/// gt's escalation severities (critical, high, medium, low) as alert
/// severities.
pub fn escalation_severity(s: &str) -> Severity {
    match s.trim().to_ascii_lowercase().as_str() {
        "critical" => Severity::Critical,
        "high" | "medium" => Severity::Warning,
        _ => Severity::Info,
    }
}

/// What kind of news; each kind has a name people mute (`/mute deaths 1h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Three or more sessions died within 30 s (the daemon's count).
    MassDeath,
    /// One session died in a way that is not routine.
    Death,
    /// An agent escalated (or an escalation was bumped by `gt escalate stale`).
    Escalation,
    Merged,
    MergeFailed,
    ConvoyLanded,
}

impl Kind {
    /// One kind of each mute group, as `/mute` lists them.
    pub const MUTE_GROUPS: [Kind; 4] = [
        Kind::Death,
        Kind::Escalation,
        Kind::Merged,
        Kind::ConvoyLanded,
    ];

    /// The mute group: `deaths`, `escalations`, `merges`, `convoys`.
    pub fn mute_name(self) -> &'static str {
        match self {
            Kind::MassDeath | Kind::Death => "deaths",
            Kind::Escalation => "escalations",
            Kind::Merged | Kind::MergeFailed => "merges",
            Kind::ConvoyLanded => "convoys",
        }
    }
}

/// One piece of news about the town's work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    pub kind: Kind,
    pub severity: Severity,
    pub at: DateTime<Utc>,
    /// The rig it concerns, when known (for `RIG_TOPICS`).
    pub rig: Option<String>,
    /// The agent (`project/Toast`), or who escalated.
    pub agent: Option<String>,
    /// The escalation's bead id, the merged branch, the convoy's title.
    pub subject: Option<String>,
    /// The text: the death's reason, the escalation's description …
    pub detail: String,
    /// Extra facts: gt's own severity, the escalation's source, sessions.
    pub extra: Vec<(String, String)>,
}

/// Reasons a session's death is not news (`self-clean` is gt 1.0.1–1.1.0's
/// `gt done`; 1.2.0+ writes none for it).
fn routine_death(reason: &str, caller: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.starts_with("idle-reap")
        || r.starts_with("self-clean")
        || matches!(caller, "gt done" | "gt down")
}

/// Reasons worth a warning: the daemon's crash detection, 1.2.0+'s pane-died
/// hook, `gt doctor --fix`'s zombie and orphan cleanups.
fn alarming_death(reason: &str, caller: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.starts_with("crash")
        || r.contains("crash detected")
        || r.starts_with("zombie cleanup")
        || r.starts_with("orphan cleanup")
        || caller == "gt log crash"
}

/// The rig of an agent address (`project/Toast`, `project/polecats/Toast`);
/// none for town agents (`mayor`, `deacon`, `hq-…`).
pub fn rig_of(agent: &str) -> Option<String> {
    let (first, rest) = agent.split_once('/')?;
    if rest.is_empty() || matches!(first, "mayor" | "deacon" | "hq" | "overseer" | "") {
        return None;
    }
    Some(first.to_string())
}

/// The announcement for an event, if it is news.
pub fn classify(ev: &TownEvent) -> Option<Announcement> {
    let base = |kind, severity, detail: String| Announcement {
        kind,
        severity,
        at: ev.ts,
        rig: None,
        agent: None,
        subject: None,
        detail,
        extra: Vec::new(),
    };
    match ev.kind.as_str() {
        "mass_death" => {
            let mut a = base(
                Kind::MassDeath,
                Severity::Critical,
                ev.field("possible_cause")
                    .or_else(|| ev.field("message"))
                    .or_else(|| ev.field("reason"))
                    .unwrap_or_default(),
            );
            for k in ["count", "window", "sessions"] {
                if let Some(v) = ev.field(k) {
                    a.extra.push((k.to_string(), v));
                }
            }
            Some(a)
        }
        "session_death" => {
            let reason = ev.field("reason").unwrap_or_default();
            let caller = ev.field("caller").unwrap_or_default();
            if routine_death(&reason, &caller) || !alarming_death(&reason, &caller) {
                return None;
            }
            let agent = ev
                .field("agent")
                .or_else(|| match (ev.field("rig"), ev.field("polecat")) {
                    (Some(r), Some(p)) => Some(format!("{r}/{p}")),
                    _ => None,
                })
                .or_else(|| ev.field("session"))
                .unwrap_or_else(|| ev.actor.clone());
            let mut a = base(Kind::Death, Severity::Warning, reason);
            a.rig = ev.field("rig").or_else(|| rig_of(&agent));
            a.agent = Some(agent);
            if let Some(s) = ev.field("session") {
                a.extra.push(("session".into(), s));
            }
            Some(a)
        }
        "escalation_sent" => {
            // gt's quirk (§1.3): `rig` holds the bead id, `target` who
            // escalated, `reason` the description.
            let reescalated = ev.payload.get("reescalated").and_then(|v| v.as_bool()) == Some(true);
            let (id, sev, who) = if reescalated {
                (
                    ev.field("escalation_id"),
                    ev.field("new_severity").unwrap_or_default(),
                    ev.actor.clone(),
                )
            } else {
                (
                    ev.field("rig"),
                    ev.field("severity").unwrap_or_default(),
                    ev.field("target").unwrap_or_else(|| ev.actor.clone()),
                )
            };
            let mut a = base(
                Kind::Escalation,
                escalation_severity(&sev),
                ev.field("reason").unwrap_or_default(),
            );
            a.rig = rig_of(&who);
            a.agent = Some(who);
            a.subject = id;
            if !sev.is_empty() {
                a.extra.push(("severity".into(), sev));
            }
            if let Some(s) = ev.field("source") {
                a.extra.push(("source".into(), s));
            }
            if reescalated {
                if let Some(o) = ev.field("old_severity") {
                    a.extra.push(("old_severity".into(), o));
                }
                a.extra.push(("reescalated".into(), "true".into()));
            }
            Some(a)
        }
        "merged" | "merge_failed" => {
            let failed = ev.kind == "merge_failed";
            let mut a = base(
                if failed {
                    Kind::MergeFailed
                } else {
                    Kind::Merged
                },
                if failed {
                    Severity::Warning
                } else {
                    Severity::Info
                },
                ev.field("reason")
                    .or_else(|| ev.field("message"))
                    .unwrap_or_default(),
            );
            a.rig = ev.field("rig").or_else(|| rig_of(&ev.actor));
            a.agent = ev.field("polecat").or_else(|| ev.field("worker"));
            a.subject = ev.field("branch").or_else(|| ev.field("target"));
            Some(a)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::events::parse_line;
    use super::*;

    fn ev(json: &str) -> TownEvent {
        parse_line(json.as_bytes()).unwrap()
    }

    #[test]
    fn deaths_routine_and_alarming() {
        let death = |reason: &str, caller: &str| {
            ev(&format!(
                r#"{{"ts":"2026-06-01T09:14:03Z","source":"gt","type":"session_death","actor":"project/Toast","payload":{{"agent":"project/polecats/Toast","caller":"{caller}","reason":"{reason}","session":"pr-Toast"}},"visibility":"feed"}}"#
            ))
        };
        for (reason, caller) in [
            ("idle-reap: idle, idle 31m0s (threshold 30m0s)", "daemon"),
            ("self-clean: done means idle", "gt done"),
            ("stopped by gt down", "gt down"),
            ("something else", "daemon"),
        ] {
            assert_eq!(classify(&death(reason, caller)), None, "{reason}");
        }
        for (reason, caller) in [
            ("crash detected by daemon health check", "daemon"),
            ("crashed with exit code 2", "gt log crash"),
            ("zombie cleanup", "gt doctor"),
            ("orphan cleanup", "gt doctor"),
        ] {
            let a = classify(&death(reason, caller)).expect(reason);
            assert_eq!((a.kind, a.severity), (Kind::Death, Severity::Warning));
            assert_eq!(a.agent.as_deref(), Some("project/polecats/Toast"));
            assert_eq!(a.rig.as_deref(), Some("project"));
            assert_eq!(a.detail, reason);
        }
        // `gt activity emit session_death --rig r --polecat p --reason …`
        let a = classify(&ev(r#"{"ts":"2026-06-01T09:14:03Z","type":"session_death","actor":"overseer","payload":{"polecat":"Nux","reason":"crashed with exit code 137","rig":"web"}}"#)).unwrap();
        assert_eq!(a.agent.as_deref(), Some("web/Nux"));
        assert_eq!(a.rig.as_deref(), Some("web"));
    }

    #[test]
    fn mass_death_is_critical_and_escalations_keep_gts_quirks() {
        let a = classify(&ev(r#"{"ts":"2026-06-01T09:14:03Z","type":"mass_death","actor":"daemon","payload":{"count":3,"possible_cause":"tmux server restart","sessions":["pr-A","pr-B","pr-C"],"window":"30s"}}"#)).unwrap();
        assert_eq!((a.kind, a.severity), (Kind::MassDeath, Severity::Critical));
        assert_eq!(a.detail, "tmux server restart");
        assert!(
            a.extra
                .contains(&("sessions".into(), "pr-A, pr-B, pr-C".into()))
        );
        let a = classify(&ev(r#"{"ts":"2026-06-01T09:14:03Z","type":"escalation_sent","actor":"project/Toast","payload":{"actions":"bead,mail:mayor","reason":"Build is broken","rig":"hq-ab12","severity":"high","source":"ci","target":"project/Toast","to":"mayor"}}"#)).unwrap();
        assert_eq!((a.kind, a.severity), (Kind::Escalation, Severity::Warning));
        assert_eq!(a.subject.as_deref(), Some("hq-ab12"));
        assert_eq!(a.rig.as_deref(), Some("project"));
        assert_eq!(a.detail, "Build is broken");
        assert!(a.extra.contains(&("source".into(), "ci".into())));
        let a = classify(&ev(r#"{"ts":"2026-06-01T09:14:03Z","type":"escalation_sent","actor":"deacon","payload":{"escalation_id":"hq-ab12","new_severity":"critical","old_severity":"high","reescalated":true,"reescalation_num":1}}"#)).unwrap();
        assert_eq!(
            (a.subject.as_deref(), a.severity),
            (Some("hq-ab12"), Severity::Critical)
        );
        for kind in [
            "sling",
            "hook",
            "done",
            "nudge",
            "mail",
            "boot",
            "escalation_acked",
        ] {
            assert_eq!(
                classify(&ev(&format!(
                    r#"{{"ts":"2026-06-01T09:14:03Z","type":"{kind}","actor":"x"}}"#
                ))),
                None
            );
        }
    }

    /// What the outbox persists: a typed alert carrying the news survives
    /// its JSON round trip (the alert's fact is tagged by `kind`, and so is
    /// the news).
    #[test]
    fn news_in_an_alert_round_trips_through_json() {
        use crate::core::alerts::{Alert, AlertAction, Fact, IncidentId, Subject};
        let news = classify(&ev(r#"{"ts":"2026-06-01T09:14:03Z","type":"escalation_sent","actor":"project/Toast","payload":{"reason":"Build is broken","rig":"hq-ab12","severity":"high","target":"project/Toast"}}"#)).unwrap();
        let alert = Alert {
            incident: IncidentId(7),
            subject: Subject::Escalation("hq-ab12".into()),
            severity: news.severity,
            fact: Fact::Town { news },
            buttons: vec![AlertAction::EscalationAck, AlertAction::EscalationClose],
            consequences: Vec::new(),
            acked_by: None,
            resolved: None,
        };
        let json = serde_json::to_string(&alert).unwrap();
        assert_eq!(serde_json::from_str::<Alert>(&json).unwrap(), alert);
        for a in [AlertAction::EscalationAck, AlertAction::EscalationClose] {
            assert_eq!(AlertAction::parse(&a.code()), Some(a));
        }
    }

    #[test]
    fn mute_groups() {
        assert_eq!(Kind::MassDeath.mute_name(), "deaths");
        assert_eq!(Kind::MergeFailed.mute_name(), "merges");
        assert_eq!(Kind::ConvoyLanded.mute_name(), "convoys");
        assert_eq!(rig_of("mayor/"), None);
        assert_eq!(rig_of("project/witness").as_deref(), Some("project"));
    }
}
