//! Alerts held before they go out, kept in `GASCLAW_HOME/alerts-held.json`
//! so a restart loses none: an incident's first alert waits
//! `ALERT_GROUP_WAIT` so that checks failing together arrive as one
//! message; warnings and info raised during `QUIET_HOURS` wait for their
//! end and go as one summary. An alert leaves the file only once it is in
//! the outbox.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::alerts::{Alert, IncidentId};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Held {
    pub alert: Alert,
    pub since: DateTime<Utc>,
    /// Held for the end of quiet hours (else for the grouping window).
    pub quiet: bool,
}

pub struct Hold {
    path: PathBuf,
    items: Mutex<Vec<Held>>,
}

impl Hold {
    pub fn load(path: PathBuf) -> Hold {
        let items = std::fs::read(&path)
            .ok()
            .and_then(|b| {
                serde_json::from_slice(&b)
                    .map_err(
                        |e| tracing::warn!(error = %e, "unreadable held alerts; starting without"),
                    )
                    .ok()
            })
            .unwrap_or_default();
        Hold {
            path,
            items: Mutex::new(items),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Held>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self, items: &[Held]) {
        let written = serde_json::to_vec_pretty(items)
            .map_err(std::io::Error::other)
            .and_then(|b| crate::fsutil::atomic_write(&self.path, &b, 0o600));
        if let Err(e) = written {
            tracing::error!(error = %e, "could not save the held alerts; they are kept in memory");
        }
    }

    pub fn push(&self, h: Held) {
        let mut items = self.lock();
        items.push(h);
        self.save(&items);
    }

    /// Drops what is held for an incident (it ended before it went out).
    pub fn forget(&self, incident: IncidentId) -> bool {
        let mut items = self.lock();
        let before = items.len();
        items.retain(|h| h.alert.incident != incident);
        let changed = items.len() != before;
        if changed {
            self.save(&items);
        }
        changed
    }

    /// What is due now: the grouped alerts once the oldest waited
    /// `group_wait`, the quiet ones once quiet hours are over.
    pub fn due(
        &self,
        now: DateTime<Utc>,
        group_wait: Duration,
        quiet_now: bool,
    ) -> (Vec<Held>, Vec<Held>) {
        let items = self.lock();
        let grouped: Vec<Held> = items.iter().filter(|h| !h.quiet).cloned().collect();
        let oldest = grouped.iter().map(|h| h.since).min();
        let group_due =
            oldest.is_some_and(|t| (now - t).to_std().unwrap_or_default() >= group_wait);
        let quiet: Vec<Held> = if quiet_now {
            Vec::new()
        } else {
            items.iter().filter(|h| h.quiet).cloned().collect()
        };
        (if group_due { grouped } else { Vec::new() }, quiet)
    }

    /// Removes what went to the outbox.
    pub fn remove(&self, gone: &[Held]) {
        if gone.is_empty() {
            return;
        }
        let mut items = self.lock();
        items.retain(|h| {
            !gone.iter().any(|g| {
                g.alert.incident == h.alert.incident && g.quiet == h.quiet && g.since == h.since
            })
        });
        self.save(&items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Service;
    use crate::core::alerts::{CheckId, Fact, Severity, Subject, Transition};

    fn alert(n: u64) -> Alert {
        let id = CheckId::Service(Service::Mayor);
        Alert {
            incident: IncidentId(n),
            subject: Subject::Check(id),
            severity: Severity::Warning,
            fact: Fact::Check {
                id,
                transition: Transition::Down,
                detail: String::new(),
                word: "down".into(),
            },
            buttons: Vec::new(),
            consequences: Vec::new(),
            acked_by: None,
            resolved: None,
        }
    }

    #[test]
    fn held_alerts_survive_a_restart_and_are_due_at_the_right_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts-held.json");
        let t0 = Utc::now();
        let wait = Duration::from_secs(30);
        let h = Hold::load(path.clone());
        h.push(Held {
            alert: alert(1),
            since: t0,
            quiet: false,
        });
        h.push(Held {
            alert: alert(2),
            since: t0 + chrono::Duration::seconds(10),
            quiet: false,
        });
        h.push(Held {
            alert: alert(3),
            since: t0,
            quiet: true,
        });
        drop(h);
        let h = Hold::load(path);
        // Within the window and during quiet hours: nothing.
        let (g, q) = h.due(t0 + chrono::Duration::seconds(29), wait, true);
        assert!(g.is_empty() && q.is_empty());
        // The window of the oldest closed: both grouped go together.
        let (g, q) = h.due(t0 + chrono::Duration::seconds(30), wait, true);
        assert_eq!(
            g.iter().map(|x| x.alert.incident.0).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(q.is_empty());
        h.remove(&g);
        // Quiet hours over: the quiet one.
        let (g, q) = h.due(t0 + chrono::Duration::seconds(31), wait, false);
        assert!(g.is_empty());
        assert_eq!(q.len(), 1);
        assert!(h.forget(IncidentId(3)));
        assert!(!h.forget(IncidentId(3)));
        let (g, q) = h.due(t0 + chrono::Duration::hours(9), wait, false);
        assert!(g.is_empty() && q.is_empty());
    }
}
