//! The stopped-on-purpose state: which services a person stopped, who and
//! when, persisted in `GASCLAW_HOME/stopped.json` (atomic, 0600) so that it
//! survives a restart of gasclaw and is shared by the CLI and `gasclaw run`.
//! The monitor neither heals nor alerts a service marked here; `/bootstrap`
//! clears every mark and `/restart <service>` clears that service's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Service;

/// Who stopped a service, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopMark {
    /// The actor as shown (`Owner (42)`, `cli`): a string, so marks written
    /// by earlier versions still load.
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Disk {
    #[serde(default)]
    services: BTreeMap<Service, StopMark>,
    /// Fields of a newer version: warned about, never fatal.
    #[serde(flatten, skip_serializing)]
    extra: BTreeMap<String, serde_json::Value>,
}

/// The file, read afresh every time (another process may have changed it).
#[derive(Debug, Clone)]
pub struct StoppedFile {
    path: PathBuf,
}

impl StoppedFile {
    pub fn new(home: &Path) -> StoppedFile {
        StoppedFile {
            path: home.join("stopped.json"),
        }
    }

    /// The marks; an unreadable file counts as "nothing stopped" with a
    /// warning (healing a service is the safer mistake than never).
    pub fn load(&self) -> BTreeMap<Service, StopMark> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot read the stopped state");
                return BTreeMap::new();
            }
        };
        match serde_json::from_str::<Disk>(&text) {
            Ok(d) => {
                if !d.extra.is_empty() {
                    tracing::warn!(
                        path = %self.path.display(),
                        fields = %d.extra.keys().cloned().collect::<Vec<_>>().join(", "),
                        "ignoring fields this version of gasclaw does not know"
                    );
                }
                d.services
            }
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "the stopped state is not valid; ignoring it");
                BTreeMap::new()
            }
        }
    }

    fn save(&self, services: BTreeMap<Service, StopMark>) -> std::io::Result<()> {
        if services.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let disk = Disk {
            services,
            extra: BTreeMap::new(),
        };
        let mut text = serde_json::to_string_pretty(&disk).map_err(std::io::Error::other)?;
        text.push('\n');
        crate::fsutil::atomic_write(&self.path, text.as_bytes(), crate::fsutil::SECRET_MODE)
    }

    /// Marks `services` as stopped by `by`, now.
    pub fn mark(&self, services: &[Service], by: &str) -> std::io::Result<()> {
        let mut all = self.load();
        let mark = StopMark {
            by: by.to_string(),
            at: Utc::now(),
        };
        for s in services {
            all.insert(*s, mark.clone());
        }
        self.save(all)
    }

    /// Clears the marks of `services`; returns those that were marked.
    pub fn clear(&self, services: &[Service]) -> std::io::Result<Vec<Service>> {
        let mut all = self.load();
        let cleared: Vec<Service> = services
            .iter()
            .copied()
            .filter(|s| all.remove(s).is_some())
            .collect();
        if !cleared.is_empty() {
            self.save(all)?;
        }
        Ok(cleared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_a_reload_and_clear_per_service() {
        let dir = tempfile::tempdir().unwrap();
        let f = StoppedFile::new(dir.path());
        assert!(f.load().is_empty());
        f.mark(&[Service::Mayor, Service::Dolt], "telegram:Owner (42)")
            .unwrap();
        let again = StoppedFile::new(dir.path()).load();
        assert_eq!(again.len(), 2);
        assert_eq!(again[&Service::Mayor].by, "telegram:Owner (42)");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("stopped.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(f.clear(&[Service::Mayor]).unwrap(), [Service::Mayor]);
        assert_eq!(
            f.load().keys().copied().collect::<Vec<_>>(),
            [Service::Dolt]
        );
        assert_eq!(f.clear(&Service::ALL).unwrap(), [Service::Dolt]);
        assert!(!dir.path().join("stopped.json").exists());
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("stopped.json"),
            r#"{"services": {"gateway": {"by": "cli", "at": "2026-01-01T00:00:00Z"}}, "reason": "x"}"#,
        )
        .unwrap();
        assert_eq!(StoppedFile::new(dir.path()).load().len(), 1);
    }
}
