//! The incidents gasclaw alerted, kept in `GASCLAW_HOME/incidents.json` so
//! an alert's buttons keep working after a restart of gasclaw, a press on
//! an incident that ended can say so, and `/alerts` lists what is open with
//! its state. Written by the running gasclaw only (the CLI reads it).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Alert, IncidentId, Subject};
use crate::config::ChatTarget;

/// How many ended incidents are remembered (presses on older ones get
/// "ended" all the same: an unknown id is treated as ended).
const KEEP_ENDED: usize = 500;

/// One incident and what people did about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The alert as first sent (its fact, severity and buttons).
    pub alert: Alert,
    pub opened: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_by: Option<String>,
    #[serde(default)]
    pub healed: bool,
    /// The chats it was sent to (the edits go there).
    pub targets: Vec<ChatTarget>,
    /// Held back (quiet hours, grouping, a cause's consequence) rather than
    /// sent on its own.
    #[serde(default)]
    pub held: bool,
    /// Down because this incident's check is (listed in its alert, alerted
    /// on its own only if still down when the cause recovers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caused_by: Option<IncidentId>,
}

impl Incident {
    pub fn id(&self) -> IncidentId {
        self.alert.incident
    }

    pub fn is_open(&self) -> bool {
        self.ended.is_none()
    }

    /// The alert as its message should read now.
    pub fn current(&self) -> Alert {
        let mut a = self.alert.clone();
        a.acked_by = self.acked_by.clone();
        a
    }
}

/// Why a press on an incident does nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentGone {
    #[error("this incident has ended")]
    Ended,
}

pub struct Incidents {
    path: PathBuf,
    all: Mutex<BTreeMap<IncidentId, Incident>>,
}

impl Incidents {
    /// Loads the file (missing or unreadable: none, with a warning).
    pub fn load(path: PathBuf) -> Incidents {
        let all = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice::<Vec<Incident>>(&b)
                .map(|v| v.into_iter().map(|i| (i.id(), i)).collect())
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, file = %path.display(), "unreadable incidents file; starting without");
                    BTreeMap::new()
                }),
            Err(_) => BTreeMap::new(),
        };
        Incidents {
            path,
            all: Mutex::new(all),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<IncidentId, Incident>> {
        self.all.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self, all: &mut BTreeMap<IncidentId, Incident>) {
        let ended: Vec<IncidentId> = all
            .values()
            .filter(|i| !i.is_open())
            .map(Incident::id)
            .collect();
        for id in ended.iter().take(ended.len().saturating_sub(KEEP_ENDED)) {
            all.remove(id);
        }
        let v: Vec<&Incident> = all.values().collect();
        let written = serde_json::to_vec_pretty(&v)
            .map_err(std::io::Error::other)
            .and_then(|b| crate::fsutil::atomic_write(&self.path, &b, 0o600));
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not save the incidents; buttons may not survive a restart");
        }
    }

    /// Records a new incident (or replaces one with the same id).
    pub fn open(&self, i: Incident) {
        let mut all = self.lock();
        all.insert(i.id(), i);
        self.save(&mut all);
    }

    pub fn get(&self, id: IncidentId) -> Option<Incident> {
        self.lock().get(&id).cloned()
    }

    /// The open incident about `subject`, if any.
    pub fn open_for(&self, subject: &Subject) -> Option<Incident> {
        self.lock()
            .values()
            .rev()
            .find(|i| i.is_open() && &i.alert.subject == subject)
            .cloned()
    }

    /// The open incidents held under `cause`.
    pub fn caused_by(&self, cause: IncidentId) -> Vec<Incident> {
        self.lock()
            .values()
            .filter(|i| i.is_open() && i.caused_by == Some(cause))
            .cloned()
            .collect()
    }

    /// Every open incident, oldest first.
    pub fn open_incidents(&self) -> Vec<Incident> {
        self.lock()
            .values()
            .filter(|i| i.is_open())
            .cloned()
            .collect()
    }

    /// Changes an open incident and saves; the incident after the change.
    pub fn update(
        &self,
        id: IncidentId,
        change: impl FnOnce(&mut Incident),
    ) -> Result<Incident, IncidentGone> {
        let mut all = self.lock();
        let Some(i) = all.get_mut(&id).filter(|i| i.is_open()) else {
            return Err(IncidentGone::Ended);
        };
        change(i);
        let out = i.clone();
        self.save(&mut all);
        Ok(out)
    }

    /// Ends an open incident; the incident as it ended.
    pub fn end(
        &self,
        id: IncidentId,
        at: DateTime<Utc>,
        healed: bool,
    ) -> Result<Incident, IncidentGone> {
        self.update(id, |i| {
            i.ended = Some(at);
            i.healed = healed;
        })
    }
}
