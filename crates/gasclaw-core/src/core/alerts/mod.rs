//! Alert facts every face reads: what a check is ([`CheckId`]), its alert
//! state (ok→down alerts once, still down reminds every `ALERT_REPEAT`,
//! down→ok says "recovered" with the downtime), and the mutes. The monitor
//! feeds the board; the bot and the CLI read it. Rendering is the faces'.

pub mod deps;
pub mod incident;
pub mod incidents;
pub mod mutes;
pub mod quiet;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::core::Service;
use crate::keys::PoolKind;

pub use incident::{Alert, AlertAction, Fact, IncidentId, Resolution, Severity, Subject};
pub use incidents::{Incident, IncidentGone, Incidents};
pub use mutes::{MAX_MUTE, MuteError, Mutes, mute_names, parse_check, parse_mute_duration};

/// What an alert is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    Service(Service),
    Activity,
    Keys(PoolKind),
    Telegram,
    /// GitHub announcements (`/mute github 1h`).
    Github,
    /// Stuck agents (`/mute stuck 1h`).
    Stuck,
    /// The town's work (the event log, escalations): `/mute deaths 1h` …
    Work(crate::core::work::announce::Kind),
}

impl CheckId {
    /// The name people use in `/mute`.
    pub fn mute_name(self) -> &'static str {
        match self {
            CheckId::Service(s) => s.name(),
            CheckId::Activity => "activity",
            CheckId::Keys(_) => "keys",
            CheckId::Telegram => "telegram",
            CheckId::Github => "github",
            CheckId::Stuck => "stuck",
            CheckId::Work(k) => k.mute_name(),
        }
    }

    /// What leads the message.
    pub fn label(self) -> &'static str {
        match self {
            CheckId::Service(s) => s.name(),
            CheckId::Activity => "activity",
            CheckId::Keys(PoolKind::Agents) => "agent keys",
            CheckId::Keys(PoolKind::Overseer) => "overseer keys",
            CheckId::Telegram => "telegram",
            CheckId::Github => "github",
            CheckId::Stuck => "stuck agents",
            CheckId::Work(k) => k.mute_name(),
        }
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// A check's alert state: up, or down with its open incident.
#[derive(Debug, Clone, Default)]
pub struct AlertState {
    /// `None` while the check is up.
    down: Option<Down>,
}

/// What a down check's state holds (all of it set when it goes down).
#[derive(Debug, Clone)]
struct Down {
    since: DateTime<Utc>,
    last_sent: DateTime<Utc>,
    detail: String,
    /// The open incident (opened when the check went down).
    incident: IncidentId,
    /// Someone acknowledged it: no reminders.
    acked: bool,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Down,
    StillDown { for_: Duration },
    Recovered { after: Duration },
}

fn since(a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
    (b - a).to_std().unwrap_or_default()
}

impl AlertState {
    /// The message to send, if any, and the incident it belongs to.
    pub fn observe(
        &mut self,
        ok: bool,
        detail: &str,
        now: DateTime<Utc>,
        repeat: Duration,
    ) -> Option<(Transition, IncidentId)> {
        if ok {
            let d = self.down.take()?;
            return Some((
                Transition::Recovered {
                    after: since(d.since, now),
                },
                d.incident,
            ));
        }
        match &mut self.down {
            None => {
                let incident = IncidentId::fresh();
                self.down = Some(Down {
                    since: now,
                    last_sent: now,
                    detail: detail.to_string(),
                    incident,
                    acked: false,
                });
                Some((Transition::Down, incident))
            }
            Some(d) => {
                d.detail = detail.to_string();
                if !d.acked && since(d.last_sent, now) >= repeat {
                    d.last_sent = now;
                    Some((
                        Transition::StillDown {
                            for_: since(d.since, now),
                        },
                        d.incident,
                    ))
                } else {
                    None
                }
            }
        }
    }

    /// Marks the check up without a message (healing already said so).
    pub fn clear(&mut self) -> Option<Duration> {
        let d = self.down.take()?;
        Some(since(d.since, Utc::now()))
    }
}

/// The alert state of every check, the incidents and the mutes, shared by
/// the faces.
pub struct AlertBoard {
    state: Mutex<BTreeMap<CheckId, AlertState>>,
    pub mutes: Mutes,
    pub incidents: Incidents,
}

impl AlertBoard {
    /// The board over `GASCLAW_HOME` (mutes persist in `mutes.json`, the
    /// incidents in `incidents.json`). A check whose incident is still open
    /// from before a restart continues it: no second "down" alert, no
    /// reminder before `ALERT_REPEAT`, the same buttons.
    pub fn new(home: &std::path::Path) -> AlertBoard {
        let incidents = Incidents::load(home.join("incidents.json"));
        let now = Utc::now();
        let mut state = BTreeMap::new();
        for i in incidents.open_incidents() {
            // Only checks have a state here; an agent's stuck episode
            // lives in its incident alone.
            let Subject::Check(id) = i.alert.subject else {
                continue;
            };
            let Fact::Check { detail, .. } = &i.alert.fact else {
                continue;
            };
            state.insert(
                id,
                AlertState {
                    down: Some(Down {
                        since: i.opened,
                        last_sent: now,
                        detail: detail.clone(),
                        incident: i.id(),
                        acked: i.acked_by.is_some(),
                    }),
                },
            );
        }
        AlertBoard {
            state: Mutex::new(state),
            mutes: Mutes::load(home.join("mutes.json")),
            incidents,
        }
    }

    /// Acknowledges an open incident for `who` (the first one to press
    /// keeps the credit): its check's reminders stop.
    pub fn ack(&self, id: IncidentId, who: &str) -> Result<Incident, IncidentGone> {
        let i = self.incidents.update(id, |i| {
            if i.acked_by.is_none() {
                i.acked_by = Some(who.to_string());
            }
        })?;
        let Subject::Check(c) = i.alert.subject else {
            return Ok(i);
        };
        if let Some(d) = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&c)
            .and_then(|s| s.down.as_mut())
            .filter(|d| d.incident == id)
        {
            d.acked = true;
        }
        Ok(i)
    }

    /// Feeds one observation into a check's state; the message to send, if
    /// any, and the incident it belongs to.
    pub fn observe(
        &self,
        id: CheckId,
        ok: bool,
        detail: &str,
        now: DateTime<Utc>,
        repeat: Duration,
    ) -> Option<(Transition, IncidentId)> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.entry(id).or_default().observe(ok, detail, now, repeat)
    }

    /// The open incident of a check, if it is down.
    pub fn incident_of(&self, id: CheckId) -> Option<IncidentId> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .and_then(|s| s.down.as_ref())
            .map(|d| d.incident)
    }

    /// Marks a check up without a message (healing already said so); how
    /// long it was down.
    pub fn clear(&self, id: CheckId) -> Option<Duration> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id)
            .and_then(AlertState::clear)
    }

    /// Forgets a check's state (a service stopped on purpose).
    pub fn forget(&self, id: CheckId) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// What is down right now, and since when.
    pub fn down(&self) -> Vec<(CheckId, DateTime<Utc>, String)> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|(id, s)| s.down.as_ref().map(|d| (*id, d.since, d.detail.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_once_with_reminders_and_recovery() {
        let mut state = AlertState::default();
        let mut s = |ok: bool, detail: &str, now: DateTime<Utc>, repeat: Duration| {
            state
                .observe(ok, detail, now, repeat)
                .map(|(t, _incident)| t)
        };
        let t0 = Utc::now();
        let at = |secs: i64| t0 + chrono::Duration::seconds(secs);
        let repeat = Duration::from_secs(3600);
        assert_eq!(s(true, "", at(0), repeat), None);
        assert_eq!(s(false, "x", at(1), repeat), Some(Transition::Down));
        assert_eq!(s(false, "x", at(300), repeat), None);
        assert_eq!(
            s(false, "x", at(3601), repeat),
            Some(Transition::StillDown {
                for_: Duration::from_secs(3600)
            })
        );
        assert_eq!(s(false, "x", at(4000), repeat), None);
        assert_eq!(
            s(true, "", at(4201), repeat),
            Some(Transition::Recovered {
                after: Duration::from_secs(4200)
            })
        );
        assert_eq!(s(true, "", at(4300), repeat), None);
    }
}
