//! Activity: how long since the agents last committed, across the project
//! checkout and every clone of the rig in the town (agents commit in their
//! own clones and branches, not in the project checkout).

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;

use super::Core;
use crate::config::ActivitySource;
use crate::stack::git::NoCommit;

#[derive(Debug, Clone, Serialize)]
pub struct ActivityReport {
    /// Seconds since the newest commit; `None` when no repository answered.
    pub last_commit_age_secs: Option<u64>,
    pub deadline_secs: u64,
    pub compliant: bool,
    pub detail: String,
}

impl Core {
    /// The repositories activity is read from: the project checkout first,
    /// then the rig's shared bare clone and every agent clone that exists.
    pub fn activity_dirs(&self) -> Vec<PathBuf> {
        let cfg = self.config();
        let mut dirs = vec![cfg.project_dir.clone()];
        let rig = cfg.gt_root.join(&cfg.rig_name);
        for fixed in [".repo.git", "mayor/rig", "refinery/rig"] {
            let d = rig.join(fixed);
            if d.exists() {
                dirs.push(d);
            }
        }
        for group in ["crew", "polecats"] {
            if let Ok(entries) = std::fs::read_dir(rig.join(group)) {
                let mut found: Vec<PathBuf> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    // A polecat's worktree is `polecats/<name>/<rig>/` (gt
                    // 1.0.1 and 1.2.1 `polecat/manager.go` clonePath), the
                    // old layout `polecats/<name>/` itself.
                    .map(|p| {
                        let nested = p.join(&cfg.rig_name);
                        if group == "polecats" && nested.is_dir() {
                            nested
                        } else {
                            p
                        }
                    })
                    .collect();
                found.sort();
                dirs.extend(found);
            }
        }
        dirs
    }

    pub async fn activity(&self) -> ActivityReport {
        let deadline = self.config().activity_deadline.as_secs();
        let timeout = self.config().check_timeout;
        let dirs = self.activity_dirs();
        let results =
            futures_util::future::join_all(dirs.iter().map(|d| self.git.newest_commit(d, timeout)))
                .await;
        let mut newest: Option<(i64, &Path)> = None;
        let mut problems: Vec<String> = Vec::new();
        for (dir, r) in dirs.iter().zip(results) {
            match r {
                Ok(Ok(t)) => {
                    if newest.is_none_or(|(n, _)| t > n) {
                        newest = Some((t, dir));
                    }
                }
                Ok(Err(why)) => {
                    // Clones that do not exist yet are not worth a word;
                    // the project checkout always is.
                    if dir == &self.config().project_dir || why != NoCommit::Missing {
                        problems.push(format!("{} {why}", dir.display()));
                    }
                }
                Err(e) => problems.push(format!("{}: {e}", dir.display())),
            }
        }
        let now = Utc::now().timestamp();
        let mut newest = newest.map(|(t, d)| (t, d.display().to_string()));
        // ACTIVITY_SOURCE: GitHub's pushes and pull-request updates (as the
        // poller last saw them) instead of, or as well as, the local clones.
        let source = self.config().activity_source;
        if source != ActivitySource::Local {
            let on_github = self.github.as_ref().and_then(|g| {
                g.last_activity()
                    .map(|t| (t.timestamp(), format!("GitHub {}", g.repo())))
            });
            newest = match source {
                ActivitySource::Github => on_github,
                _ => match (newest, on_github) {
                    (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
                    (a, b) => a.or(b),
                },
            };
            if newest.is_none() && problems.is_empty() {
                problems.push("nothing seen on GitHub yet".into());
            }
        }
        match newest {
            Some((t, dir)) => {
                let age = (now - t).max(0) as u64;
                let compliant = age <= deadline;
                ActivityReport {
                    last_commit_age_secs: Some(age),
                    deadline_secs: deadline,
                    compliant,
                    detail: format!(
                        "last commit {} ago in {} (deadline {})",
                        human_duration(age),
                        dir,
                        human_duration(deadline)
                    ),
                }
            }
            None => ActivityReport {
                last_commit_age_secs: None,
                deadline_secs: deadline,
                compliant: false,
                detail: if problems.is_empty() {
                    "no repository to read".into()
                } else {
                    format!("unknown: {}", problems.join("; "))
                },
            },
        }
    }
}

/// `95` → `1m 35s`, `7200` → `2h 0m`.
pub fn human_duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86400, (s % 86400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_well() {
        assert_eq!(super::human_duration(5), "5s");
        assert_eq!(super::human_duration(95), "1m 35s");
        assert_eq!(super::human_duration(7260), "2h 1m");
        assert_eq!(super::human_duration(90000), "1d 1h");
    }
}
