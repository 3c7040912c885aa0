//! The town's work, as Gastown keeps it (gastown-work.md): every agent with
//! its hooked bead, its progress and whether it is stuck (`agents`), one
//! agent's pane, nudge and restart, the Mayor's mail to the humans (`mail`),
//! and the town's freeze (`pause`); the event log and what in it is news
//! (`events`, `announce`), escalations, the merges and convoys told by mail
//! (`town_mail`) and the daily digest. Faces call these; only the core talks
//! to gt.

pub mod agents;
pub mod announce;
pub mod digest;
pub mod escalations;
pub mod events;
pub mod mail;
pub mod pause;
pub mod town_mail;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub use crate::stack::gastown::work::{Estop, Mail, Nudged};
pub use agents::{AgentWork, Mark, WorkReport, classify};

use crate::stack::StackError;
use crate::stack::exec::ExecError;

/// Why a work action failed, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(
        "`{0}` is not an agent address: use mayor, deacon, <rig>/witness, <rig>/refinery, <rig>/<polecat> or <rig>/crew/<name>"
    )]
    BadAddress(String),
    #[error("no agent `{0}` in this town (see /agents)")]
    UnknownAgent(String),
    #[error("`{0}` is not a rig of this town")]
    UnknownRig(String),
    #[error("the line count must be between 1 and {max}")]
    BadLines { max: u32 },
    #[error("the text is empty")]
    EmptyText,
    #[error("no town yet (run bootstrap)")]
    NoTown,
    #[error("gt did not answer within {0}s")]
    Timeout(u64),
    /// gt's own error, as it said it.
    #[error("{0}")]
    Gt(String),
    #[error("{0}")]
    Stack(StackError),
    #[error("`{0}` is not an escalation id (like hq-ab12)")]
    BadId(String),
    #[error(transparent)]
    Beads(#[from] crate::stack::beads::BeadsError),
    #[error(transparent)]
    Events(#[from] events::EventsError),
}

impl From<StackError> for WorkError {
    fn from(e: StackError) -> WorkError {
        match e {
            StackError::Exec(ExecError::Timeout { after, .. }) => {
                WorkError::Timeout(after.as_secs())
            }
            StackError::Other(m) => WorkError::Gt(m),
            e => WorkError::Stack(e),
        }
    }
}

/// An agent's address as gt takes it (gastown-work.md §4.1), checked before
/// it reaches a command line: never empty, never an option.
impl crate::core::Core {
    /// A follower of the town's event log. With `durable`, its cursor lives
    /// in `GASCLAW_HOME/events-cursor.json` (the monitor's); without, it is
    /// in memory and starts at the end of the log.
    pub fn event_follower(&self, durable: bool) -> events::Follower {
        let cursor = durable.then(|| self.config.home.join("events-cursor.json"));
        events::Follower::new(self.gastown.events_path(), cursor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentAddress(String);

impl AgentAddress {
    pub fn parse(s: &str) -> Result<AgentAddress, WorkError> {
        let t = s.trim();
        let t = t.strip_prefix("hq/").unwrap_or(t);
        let t = t.strip_suffix('/').unwrap_or(t);
        let bad = || WorkError::BadAddress(s.chars().take(60).collect());
        if t.is_empty() || t.len() > 100 || t.starts_with('-') {
            return Err(bad());
        }
        let segments: Vec<&str> = t.split('/').collect();
        let ok_segment = |g: &&str| {
            !g.is_empty()
                && !g.starts_with('-')
                && !g.starts_with('.')
                && g.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if segments.len() > 3 || !segments.iter().all(ok_segment) {
            return Err(bad());
        }
        if segments.len() == 3 && segments[1] != "crew" {
            return Err(bad());
        }
        Ok(AgentAddress(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The rig part (`None` for the town's own agents).
    pub fn rig(&self) -> Option<&str> {
        self.0.split_once('/').map(|(r, _)| r)
    }
}

impl std::fmt::Display for AgentAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the core remembers between monitor cycles: each agent's pane hash
/// and since when it has shown exactly that.
#[derive(Debug, Default)]
pub struct WorkState {
    panes: Mutex<HashMap<String, (u64, Instant)>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        for ok in [
            "mayor",
            "mayor/",
            "hq/mayor",
            "deacon",
            "project/witness",
            "project/nux",
            "project/crew/max",
        ] {
            assert!(AgentAddress::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(AgentAddress::parse("mayor/").unwrap().as_str(), "mayor");
        assert_eq!(
            AgentAddress::parse("project/nux").unwrap().rig(),
            Some("project")
        );
        for bad in [
            "",
            "-n",
            "--all",
            "project/-x",
            "a/b/c",
            "a//b",
            "a b",
            "../x",
            "x;rm",
            "p/w\nx",
        ] {
            let e = AgentAddress::parse(bad).unwrap_err();
            assert!(
                e.to_string().contains("is not an agent address"),
                "{bad}: {e}"
            );
        }
    }
}
