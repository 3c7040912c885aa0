//! The town's work, as the faces show it: the event log and what in it is
//! news, escalations (this half); agents, peek, nudge, mail, pause (see
//! `agents*`).

pub mod announce;
pub mod digest;
pub mod escalations;
pub mod events;
pub mod town_mail;

use crate::core::Core;
use crate::stack::StackError;
use crate::stack::beads::BeadsError;

/// The work surfaces' errors.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error("`{0}` is not an escalation id (like hq-ab12)")]
    BadId(String),
    #[error(transparent)]
    Beads(#[from] BeadsError),
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Events(#[from] events::EventsError),
}

impl Core {
    /// A follower of the town's event log. With `durable`, its cursor lives
    /// in `GASCLAW_HOME/events-cursor.json` (the monitor's); without, it is
    /// in memory and starts at the end of the log.
    pub fn event_follower(&self, durable: bool) -> events::Follower {
        let cursor = durable.then(|| self.config.home.join("events-cursor.json"));
        events::Follower::new(self.gastown.events_path(), cursor)
    }
}
