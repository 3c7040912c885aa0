//! `/mute <check|all> <duration>` and `/unmute` (and `gasclaw mute`/`unmute`):
//! silenced checks, kept in `GASCLAW_HOME/mutes.json` so a restart does not
//! unmute them. The file is the truth shared by processes: a running
//! `gasclaw run` re-reads it when another process (the CLI) replaced it, and
//! every change is a read-modify-write under `mutes.json.lock`.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::CheckId;
use crate::core::Service;

/// The longest mute: a forgotten one ends within a month.
pub const MAX_MUTE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Every name `/mute` and `gasclaw mute` accept, `all` last.
pub fn mute_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Service::ALL.iter().map(|s| s.name()).collect();
    for c in [
        CheckId::Activity,
        CheckId::Keys(crate::keys::PoolKind::Agents),
        CheckId::Telegram,
        CheckId::Github,
        CheckId::Stuck,
    ] {
        names.push(c.mute_name());
    }
    for c in crate::core::work::announce::Kind::MUTE_GROUPS {
        names.push(c.mute_name());
    }
    names.push("all");
    names
}

/// A mute request a person got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MuteError {
    #[error("`{got}` is not a check; one of: {}", mute_names().join(", "))]
    UnknownCheck { got: String },
    #[error("`{got}` is not a duration (for example 30m, 2h, 1d)")]
    BadDuration { got: String },
    #[error("`{got}` is too long: a mute lasts at most 30 days")]
    TooLong { got: String },
}

/// The check name, lower-cased, if it is one people may mute.
pub fn parse_check(raw: &str) -> Result<String, MuteError> {
    let name = raw.trim().to_ascii_lowercase();
    if mute_names().contains(&name.as_str()) {
        Ok(name)
    } else {
        Err(MuteError::UnknownCheck {
            got: raw.to_string(),
        })
    }
}

/// A mute's length in `/mute`'s grammar (seconds, or `30m`, `2h`, `1d`…):
/// more than zero, at most [`MAX_MUTE`].
pub fn parse_mute_duration(raw: &str) -> Result<Duration, MuteError> {
    match crate::config::parse_duration(raw) {
        Some(d) if d > MAX_MUTE => Err(MuteError::TooLong {
            got: raw.to_string(),
        }),
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(MuteError::BadDuration {
            got: raw.to_string(),
        }),
    }
}

/// What identifies one version of the file: an atomic write makes a new
/// inode, and the length and mtime catch an in-place edit.
type Stamp = Option<(u64, u64, i64, i64)>;

fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
}

#[derive(Default)]
struct Loaded {
    stamp: Stamp,
    until: BTreeMap<String, DateTime<Utc>>,
}

pub struct Mutes {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

impl Mutes {
    pub fn load(path: PathBuf) -> Mutes {
        let m = Mutes {
            path,
            loaded: Mutex::default(),
        };
        m.refresh(&mut m.lock(), true);
        m
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-reads the file when it is not the version last read (one `stat`
    /// when nothing changed), or when `force`d. An unreadable file counts as
    /// no mutes.
    fn refresh(&self, l: &mut Loaded, force: bool) {
        let now = stamp(&self.path);
        if now == l.stamp && !force {
            return;
        }
        l.until = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        l.stamp = now;
    }

    /// Runs `change` on the current mutes and saves them, holding the
    /// cross-process lock so a CLI and a running gasclaw never lose each
    /// other's change.
    fn change<T>(&self, change: impl FnOnce(&mut BTreeMap<String, DateTime<Utc>>) -> T) -> T {
        let mut l = self.lock();
        let _flock = self.flock();
        self.refresh(&mut l, true);
        let out = change(&mut l.until);
        let text = serde_json::to_vec_pretty(&l.until).unwrap_or_default();
        if let Err(e) = crate::fsutil::atomic_write(&self.path, &text, 0o600) {
            tracing::warn!(error = %e, "could not save the mutes");
        }
        l.stamp = stamp(&self.path);
        out
    }

    /// An exclusive lock on `mutes.json.lock` (released on drop); `None`
    /// (and a warning) when it cannot be had: the change goes ahead.
    fn flock(&self) -> Option<nix::fcntl::Flock<std::fs::File>> {
        let path = self.path.with_extension("json.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| tracing::warn!(error = %e, "could not open the mutes' lock"))
            .ok()?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| tracing::warn!(error = %e, "could not lock the mutes"))
            .ok()
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
        self.change(|m| m.insert(name.to_string(), until));
        Some(until)
    }

    /// Unmutes `name` (`all` clears every mute). Returns what was muted.
    pub fn unmute(&self, name: &str) -> Vec<String> {
        self.change(|m| {
            if name == "all" {
                std::mem::take(m).into_keys().collect()
            } else {
                m.remove(name)
                    .map(|_| vec![name.to_string()])
                    .unwrap_or_default()
            }
        })
    }

    pub fn is_muted(&self, id: CheckId) -> bool {
        let now = Utc::now();
        let mut l = self.lock();
        self.refresh(&mut l, false);
        [id.mute_name(), "all"]
            .iter()
            .any(|n| l.until.get(*n).is_some_and(|u| *u > now))
    }

    /// Active mutes and when each ends.
    pub fn active(&self) -> Vec<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let mut l = self.lock();
        self.refresh(&mut l, false);
        l.until
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

    #[test]
    fn a_change_by_another_process_is_seen_and_never_lost() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mutes.json");
        // Two instances over one file: a running gasclaw and the CLI.
        let run = Mutes::load(p.clone());
        let cli = Mutes::load(p.clone());
        let mayor = CheckId::Service(Service::Mayor);
        assert!(!run.is_muted(mayor));
        cli.mute("mayor", Duration::from_secs(600));
        assert!(run.is_muted(mayor), "the running one re-reads the file");
        assert_eq!(run.active().len(), 1);
        // A change through the stale-looking instance keeps the other's.
        run.mute("github", Duration::from_secs(60));
        assert!(cli.is_muted(CheckId::Github));
        assert!(cli.is_muted(mayor), "the CLI's mute was not overwritten");
        assert_eq!(cli.unmute("mayor"), ["mayor"]);
        assert!(!run.is_muted(mayor), "the unmute is seen too");
        assert!(run.is_muted(CheckId::Github));
        // An edit in place with the same length is seen (mtime).
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&p, "{}").unwrap();
        assert!(!run.is_muted(CheckId::Github));
        // A removed or broken file is no mutes, not a panic.
        std::fs::remove_file(&p).unwrap();
        assert!(run.active().is_empty());
        std::fs::write(&p, "not json").unwrap();
        assert!(!cli.is_muted(CheckId::Github));
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&p).unwrap().permissions());
        assert_ne!(mode & 0o777, 0o600, "the stray file is the test's");
        cli.mute("all", Duration::from_secs(60));
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&p).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "written atomically, owner only");
        assert!(run.is_muted(CheckId::Activity));
    }

    #[test]
    fn check_names_and_durations_follow_the_mute_grammar() {
        assert_eq!(parse_check("Mayor"), Ok("mayor".to_string()));
        assert_eq!(parse_check("all"), Ok("all".to_string()));
        let e = parse_check("mayr").unwrap_err();
        assert!(e.to_string().contains("`mayr` is not a check"), "{e}");
        assert!(e.to_string().contains("dolt, daemon, mayor"), "{e}");
        assert_eq!(parse_mute_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_mute_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_mute_duration("30d"), Ok(MAX_MUTE));
        assert!(matches!(
            parse_mute_duration("31d"),
            Err(MuteError::TooLong { .. })
        ));
        assert!(matches!(
            parse_mute_duration("99999999999999999999d"),
            Err(MuteError::BadDuration { .. }) | Err(MuteError::TooLong { .. })
        ));
        for bad in ["soon", "0", "", "-1h"] {
            assert!(
                matches!(parse_mute_duration(bad), Err(MuteError::BadDuration { .. })),
                "{bad}"
            );
        }
    }
}
