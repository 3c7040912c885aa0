//! `GASCLAW_HOME/key-rotation.json`: per key, keyed by its 12-hex BLAKE2b
//! digest, the last use, the cooldown and the counters; never the key.
//! Written atomically (temp file, fsync, rename) at mode 0600, owned by one
//! process through an exclusive lock on `key-rotation.lock`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::CooldownReason;
use super::error::PoolError;

/// One key's persistent record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyRecord {
    pub last_used: Option<SystemTime>,
    pub cooldown_until: Option<SystemTime>,
    pub cooldown_reason: Option<CooldownReason>,
    pub uses: u64,
    pub rate_limits: u64,
    pub last_429: Option<SystemTime>,
}

/// Unknown fields (written by a newer gasclaw, or by hand) are kept aside
/// and warned about, never a reason to refuse to start.
type Extra = std::collections::BTreeMap<String, serde_json::Value>;

#[derive(Debug, Default, Serialize, Deserialize)]
struct DiskRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cooldown_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cooldown_reason: Option<CooldownReason>,
    #[serde(default)]
    uses: u64,
    #[serde(default)]
    rate_limits: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_429: Option<DateTime<Utc>>,
    #[serde(flatten, skip_serializing)]
    extra: Extra,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct DiskPools {
    #[serde(default)]
    agents: std::collections::BTreeMap<String, DiskRecord>,
    #[serde(default)]
    overseer: std::collections::BTreeMap<String, DiskRecord>,
    #[serde(flatten, skip_serializing)]
    extra: Extra,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Disk {
    version: u32,
    #[serde(default)]
    pools: DiskPools,
    #[serde(flatten, skip_serializing)]
    extra: Extra,
}

impl Disk {
    /// The names of every field this version does not know, dotted.
    fn unknown_fields(&self) -> Vec<String> {
        let mut out: Vec<String> = self.extra.keys().cloned().collect();
        out.extend(self.pools.extra.keys().map(|k| format!("pools.{k}")));
        for (pool, recs) in [
            ("agents", &self.pools.agents),
            ("overseer", &self.pools.overseer),
        ] {
            for (hash, r) in recs {
                out.extend(r.extra.keys().map(|k| format!("pools.{pool}.{hash}.{k}")));
            }
        }
        out
    }
}

/// What `load` found, keyed by hash.
#[derive(Debug, Default)]
pub struct Loaded {
    pub agents: HashMap<String, KeyRecord>,
    pub overseer: HashMap<String, KeyRecord>,
}

fn to_rec(d: DiskRecord) -> KeyRecord {
    KeyRecord {
        last_used: d.last_used.map(SystemTime::from),
        cooldown_until: d.cooldown_until.map(SystemTime::from),
        cooldown_reason: d.cooldown_reason,
        uses: d.uses,
        rate_limits: d.rate_limits,
        last_429: d.last_429.map(SystemTime::from),
    }
}

/// A time as chrono knows it; `None` past chrono's range (±262,000 years),
/// where `DateTime::from` would panic.
pub(crate) fn to_datetime(t: SystemTime) -> Option<DateTime<Utc>> {
    let (secs, nanos) = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => (i64::try_from(d.as_secs()).ok()?, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).ok()?.checked_neg()?;
            if d.subsec_nanos() == 0 {
                (secs, 0)
            } else {
                (secs.checked_sub(1)?, 1_000_000_000 - d.subsec_nanos())
            }
        }
    };
    DateTime::from_timestamp(secs, nanos)
}

fn to_disk(r: &KeyRecord) -> DiskRecord {
    DiskRecord {
        last_used: r.last_used.and_then(to_datetime),
        cooldown_until: r.cooldown_until.and_then(to_datetime),
        cooldown_reason: r.cooldown_reason,
        uses: r.uses,
        rate_limits: r.rate_limits,
        last_429: r.last_429.and_then(to_datetime),
        extra: Extra::new(),
    }
}

#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
    lock_path: PathBuf,
}

impl StateFile {
    pub fn new(home: &Path) -> StateFile {
        StateFile {
            path: home.join("key-rotation.json"),
            lock_path: home.join("key-rotation.lock"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the exclusive lock and writes our pid into the lock file.
    pub fn lock(&self) -> Result<File, PoolError> {
        let io = |what: &str, e| PoolError::Io {
            what: format!("{what} {}", self.lock_path.display()),
            source: e,
        };
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.lock_path)
            .map_err(|e| io("opening", e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut s = String::new();
                let _ = f.read_to_string(&mut s);
                return Err(PoolError::Locked {
                    path: self.path.clone(),
                    pid: s.trim().parse().ok(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("locking", e)),
        }
        f.set_len(0).map_err(|e| io("writing", e))?;
        f.rewind().map_err(|e| io("writing", e))?;
        let _ = writeln!(f, "{}", std::process::id());
        Ok(f)
    }

    pub fn load(&self) -> Result<Loaded, PoolError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
            Err(e) => {
                return Err(PoolError::Io {
                    what: format!("reading {}", self.path.display()),
                    source: e,
                });
            }
        };
        let disk: Disk = serde_json::from_str(&text).map_err(|e| PoolError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        let unknown = disk.unknown_fields();
        if !unknown.is_empty() {
            tracing::warn!(
                path = %self.path.display(),
                fields = %unknown.join(", "),
                "ignoring fields this version of gasclaw does not know"
            );
        }
        Ok(Loaded {
            agents: disk
                .pools
                .agents
                .into_iter()
                .map(|(k, v)| (k, to_rec(v)))
                .collect(),
            overseer: disk
                .pools
                .overseer
                .into_iter()
                .map(|(k, v)| (k, to_rec(v)))
                .collect(),
        })
    }

    pub fn save(
        &self,
        agents: &HashMap<String, KeyRecord>,
        overseer: &HashMap<String, KeyRecord>,
    ) -> Result<(), PoolError> {
        let disk = Disk {
            extra: Extra::new(),
            version: 1,
            pools: DiskPools {
                agents: agents
                    .iter()
                    .map(|(k, v)| (k.clone(), to_disk(v)))
                    .collect(),
                overseer: overseer
                    .iter()
                    .map(|(k, v)| (k.clone(), to_disk(v)))
                    .collect(),
                extra: Extra::new(),
            },
        };
        let mut text = serde_json::to_string_pretty(&disk).map_err(|e| PoolError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        text.push('\n');
        crate::fsutil::atomic_write(&self.path, text.as_bytes(), crate::fsutil::SECRET_MODE)
            .map_err(|e| PoolError::Io {
                what: format!("writing {}", self.path.display()),
                source: e,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_ignored_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let f = StateFile::new(dir.path());
        std::fs::write(
            f.path(),
            r#"{"version": 1, "written_by": "gasclaw 9.9", "pools": {"agents": {"0123456789ab": {"uses": 3, "new_counter": 7}}, "overseer": {}, "spare": {}}}"#,
        )
        .unwrap();
        let loaded = f.load().expect("unknown fields must not block start-up");
        assert_eq!(loaded.agents["0123456789ab"].uses, 3);
        // Written back without them.
        f.save(&loaded.agents, &loaded.overseer).unwrap();
        let text = std::fs::read_to_string(f.path()).unwrap();
        assert!(!text.contains("new_counter") && !text.contains("written_by"));
    }

    #[test]
    fn times_beyond_chrono_are_dropped_not_a_panic() {
        let far = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(9_000_000_000_000);
        assert_eq!(to_datetime(far), None);
        let rec = KeyRecord {
            cooldown_until: Some(far),
            ..Default::default()
        };
        assert!(to_disk(&rec).cooldown_until.is_none());
        let before = SystemTime::UNIX_EPOCH - std::time::Duration::from_millis(1500);
        assert_eq!(to_datetime(before).unwrap().timestamp_millis(), -1500);
    }
}
