//! `/mute <check|all> <duration>` and `/unmute`: silenced checks, kept in
//! `GASCLAW_HOME/mutes.json` so a restart does not unmute them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::CheckId;

/// The longest mute: a forgotten one ends within a month.
pub const MAX_MUTE: Duration = Duration::from_secs(30 * 24 * 3600);

pub struct Mutes {
    path: PathBuf,
    until: Mutex<BTreeMap<String, DateTime<Utc>>>,
}

impl Mutes {
    pub fn load(path: PathBuf) -> Mutes {
        let until = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Mutes {
            path,
            until: Mutex::new(until),
        }
    }

    fn save(&self, m: &BTreeMap<String, DateTime<Utc>>) {
        let text = serde_json::to_vec_pretty(m).unwrap_or_default();
        if let Err(e) = crate::fsutil::atomic_write(&self.path, &text, 0o600) {
            tracing::warn!(error = %e, "could not save the mutes");
        }
    }

    /// Mutes `name` for `for_` (at most [`MAX_MUTE`]); the end, or `None`
    /// when `for_` is too long.
    pub fn mute(&self, name: &str, for_: Duration) -> Option<DateTime<Utc>> {
        if for_ > MAX_MUTE {
            return None;
        }
        let until = chrono::Duration::from_std(for_)
            .ok()
            .and_then(|d| Utc::now().checked_add_signed(d))?;
        let mut m = self.until.lock().unwrap_or_else(|e| e.into_inner());
        m.insert(name.to_string(), until);
        self.save(&m);
        Some(until)
    }

    /// Unmutes `name` (`all` clears every mute). Returns what was muted.
    pub fn unmute(&self, name: &str) -> Vec<String> {
        let mut m = self.until.lock().unwrap_or_else(|e| e.into_inner());
        let removed: Vec<String> = if name == "all" {
            std::mem::take(&mut *m).into_keys().collect()
        } else {
            m.remove(name)
                .map(|_| vec![name.to_string()])
                .unwrap_or_default()
        };
        self.save(&m);
        removed
    }

    pub fn is_muted(&self, id: CheckId) -> bool {
        let now = Utc::now();
        let m = self.until.lock().unwrap_or_else(|e| e.into_inner());
        [id.mute_name(), "all"]
            .iter()
            .any(|n| m.get(*n).is_some_and(|u| *u > now))
    }

    /// Active mutes and when each ends.
    pub fn active(&self) -> Vec<(String, DateTime<Utc>)> {
        let now = Utc::now();
        self.until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, u)| **u > now)
            .map(|(n, u)| (n.clone(), *u))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Service;

    #[test]
    fn mutes_persist_and_all_covers_everything() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mutes.json");
        let m = Mutes::load(p.clone());
        m.mute("mayor", Duration::from_secs(600));
        assert!(m.is_muted(CheckId::Service(Service::Mayor)));
        assert!(!m.is_muted(CheckId::Service(Service::Dolt)));
        let m = Mutes::load(p.clone());
        assert!(
            m.is_muted(CheckId::Service(Service::Mayor)),
            "survives a restart"
        );
        m.mute("all", Duration::from_secs(60));
        assert!(
            m.mute("all", Duration::from_secs(1_000_000_000_000_000))
                .is_none(),
            "too long is refused, not a panic"
        );
        assert!(m.mute("all", MAX_MUTE + Duration::from_secs(1)).is_none());
        assert!(m.is_muted(CheckId::Activity));
        assert_eq!(m.unmute("all").len(), 2);
        assert!(!m.is_muted(CheckId::Service(Service::Mayor)));
    }
}
