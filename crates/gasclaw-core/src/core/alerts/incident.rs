//! Incidents as typed values: what an alert is about ([`Subject`]), how
//! loud it is ([`Severity`]), what it says ([`Fact`]) and which buttons it
//! carries ([`AlertAction`]). An [`Alert`] is data, never text: the faces
//! render it when they deliver it (the Telegram outbox persists it and
//! renders it at send time, in the recipient's language).
//!
//! # Raising an incident from another source
//!
//! A source (stuck agents, escalations, town events…) adds
//! 1. a variant to [`Subject`] (the incident's key: one open incident per
//!    subject, e.g. `Agent(String)` or `Escalation(String)` by bead id),
//! 2. a variant to [`Fact`] carrying the typed details of what happened,
//!    and its rendering in `src/telegram/render/alert.rs` (a `match` arm;
//!    the compiler points at it),
//! 3. if it has buttons of its own, variants to [`AlertAction`] with their
//!    callback encoding in [`AlertAction::code`]/[`AlertAction::parse`]
//!    and their handling in `src/telegram/handlers/alert_buttons.rs`,
//!
//! then builds an [`Alert`] (a fresh [`IncidentId`] from
//! [`IncidentId::fresh`], the severity, the fact, the buttons) and queues it
//! for each recipient with `Outbox::alert`; later `Outbox::edit_alert` /
//! `Outbox::remove_buttons` change the message that was sent for it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CheckId, Transition};
use crate::core::Service;

/// What an incident is about: its key (one open incident per subject).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Check(CheckId),
    /// One agent of the town, by address (`project/nux`): stuck episodes.
    Agent(String),
    /// An escalation, by its bead id.
    Escalation(String),
    /// Other news from the town's event log (a death, a merge).
    Town(crate::core::work::announce::Kind),
}

impl Subject {
    /// What leads a line about it.
    pub fn label(&self) -> String {
        match self {
            Subject::Check(c) => c.label().to_string(),
            Subject::Agent(a) => a.clone(),
            Subject::Escalation(id) => format!("escalation {id}"),
            Subject::Town(k) => k.mute_name().to_string(),
        }
    }

    /// The name `/mute` knows it by (what the Mute button silences).
    pub fn mute_name(&self) -> &'static str {
        match self {
            Subject::Check(c) => c.mute_name(),
            Subject::Agent(_) => CheckId::Stuck.mute_name(),
            Subject::Escalation(_) => "escalations",
            Subject::Town(k) => k.mute_name(),
        }
    }
}

pub use crate::core::severity::Severity;

/// One incident's number: unique across restarts (it starts from the wall
/// clock), short enough for a button's 64-byte callback data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentId(pub u64);

impl IncidentId {
    /// A new id, greater than any given before in this process and (by
    /// the clock) in earlier ones.
    pub fn fresh() -> IncidentId {
        use std::sync::atomic::{AtomicU64, Ordering};
        static LAST: AtomicU64 = AtomicU64::new(0);
        // Milliseconds since 2025: 11 digits for three centuries.
        let now = (chrono::Utc::now().timestamp_millis() - 1_735_689_600_000).max(0) as u64;
        let mut prev = LAST.load(Ordering::SeqCst);
        loop {
            let next = now.max(prev + 1);
            match LAST.compare_exchange(prev, next, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return IncidentId(next),
                Err(p) => prev = p,
            }
        }
    }
}

impl std::fmt::Display for IncidentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A button on an alert. Its [`code`](AlertAction::code) goes in the
/// button's callback data (`src/telegram/press.rs`: `al:<incident>:<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertAction {
    /// Stops the reminders; the message says who acknowledged.
    Ack,
    /// Silences the subject's check for this long.
    Mute(Duration),
    /// Restarts a service (through the same confirmation as `/restart`).
    Restart(Service),
    /// On a [`Subject::Agent`] alert: peek, nudge or restart that agent.
    /// Its button carries the agent (`ag:<verb>:<address>`, handled by
    /// `handlers::agent_buttons`), not the incident.
    Agent(AgentVerb),
    /// Acknowledges the escalation that is the alert's subject (its button
    /// carries `es:a:<bead id>`, handled with `/escalations`' buttons).
    EscalationAck,
    /// Closes it (`es:c:<bead id>`).
    EscalationClose,
}

/// What a stuck agent's button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentVerb {
    Peek,
    Nudge,
    Restart,
}

impl AgentVerb {
    pub const ALL: [AgentVerb; 3] = [AgentVerb::Peek, AgentVerb::Nudge, AgentVerb::Restart];

    /// One letter in the callback data (`ag:p:project/nux`).
    pub fn code(self) -> &'static str {
        match self {
            AgentVerb::Peek => "p",
            AgentVerb::Nudge => "n",
            AgentVerb::Restart => "r",
        }
    }

    pub fn parse(code: &str) -> Option<AgentVerb> {
        AgentVerb::ALL.into_iter().find(|v| v.code() == code)
    }
}

impl AlertAction {
    /// The action's part of the callback data.
    pub fn code(&self) -> String {
        match self {
            AlertAction::Ack => "ack".into(),
            AlertAction::Mute(d) => format!("mute:{}", d.as_secs()),
            AlertAction::Restart(s) => format!("restart:{}", s.name()),
            AlertAction::Agent(v) => format!("agent:{}", v.code()),
            AlertAction::EscalationAck => "esack".into(),
            AlertAction::EscalationClose => "esclose".into(),
        }
    }

    pub fn parse(code: &str) -> Option<AlertAction> {
        let (verb, arg) = code.split_once(':').unwrap_or((code, ""));
        match verb {
            "ack" if arg.is_empty() => Some(AlertAction::Ack),
            "mute" => {
                let secs: u64 = arg.parse().ok()?;
                let d = Duration::from_secs(secs);
                (secs > 0 && d <= super::MAX_MUTE).then_some(AlertAction::Mute(d))
            }
            "restart" => arg.parse().ok().map(AlertAction::Restart),
            "agent" => AgentVerb::parse(arg).map(AlertAction::Agent),
            "esack" if arg.is_empty() => Some(AlertAction::EscalationAck),
            "esclose" if arg.is_empty() => Some(AlertAction::EscalationClose),
            _ => None,
        }
    }
}

/// What happened, as typed data (rendered by the faces).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fact {
    /// A check changed state (or is still down). `word` is the state's
    /// name (`down`, `late`, `cooling`…), `detail` what the check said.
    Check {
        id: CheckId,
        transition: Transition,
        detail: String,
        word: String,
    },
    /// An agent stuck with work on its hook: by Gastown's rule (no
    /// progress on its bead) or by an unchanged screen (`pane`).
    Stuck {
        agent: String,
        bead: Option<String>,
        title: Option<String>,
        pane: bool,
        for_secs: u64,
    },
    /// News from the town's event log (rendered with the announcements;
    /// a named field, since the announcement has a `kind` of its own).
    Town {
        news: crate::core::work::announce::Announcement,
    },
}

/// How an incident ended, for its message edited in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// How long it lasted.
    pub lasted: Duration,
    /// Whether gasclaw's healing brought it back.
    pub healed: bool,
}

/// One alert message: an incident's fact, its loudness and its buttons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub incident: IncidentId,
    pub subject: Subject,
    pub severity: Severity,
    pub fact: Fact,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<AlertAction>,
    /// Failing because of this one (listed, not alerted separately).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consequences: Vec<Subject>,
    /// Who acknowledged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_by: Option<String>,
    /// Set once it ended (the message is then edited to say so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Resolution>,
}

impl Alert {
    /// Whether delivering it should make a sound.
    pub fn audible(&self) -> bool {
        self.severity != Severity::Info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The action's code (the Telegram face puts it in a button's data)
    /// reads back as the action; what is not one is refused.
    #[test]
    fn action_codes_round_trip() {
        for a in [
            AlertAction::Ack,
            AlertAction::Mute(Duration::from_secs(3600)),
            AlertAction::Restart(Service::Gateway),
            AlertAction::Agent(AgentVerb::Nudge),
            AlertAction::EscalationAck,
            AlertAction::EscalationClose,
        ] {
            assert_eq!(AlertAction::parse(&a.code()), Some(a));
        }
        for bad in [
            "mute:0",
            "mute:99999999999",
            "restart:nope",
            "ack:extra",
            "",
        ] {
            assert_eq!(AlertAction::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_keep_increasing() {
        let a = IncidentId::fresh();
        let b = IncidentId::fresh();
        assert!(b > a);
    }

    #[test]
    fn alerts_persist_as_json() {
        let a = Alert {
            incident: IncidentId(7),
            subject: Subject::Check(CheckId::Service(Service::Mayor)),
            severity: Severity::Critical,
            fact: Fact::Check {
                id: CheckId::Service(Service::Mayor),
                transition: Transition::StillDown {
                    for_: Duration::from_secs(60),
                },
                detail: "not running".into(),
                word: "down".into(),
            },
            buttons: vec![AlertAction::Ack, AlertAction::Restart(Service::Mayor)],
            consequences: vec![Subject::Check(CheckId::Keys(crate::keys::PoolKind::Agents))],
            acked_by: Some("ann".into()),
            resolved: None,
        };
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Alert>(&json).unwrap(), a);
    }
}
