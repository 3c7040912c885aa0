//! git: when was the newest commit in a repository (activity check).

use std::path::Path;
use std::time::Duration;

use super::StackError;
use super::exec::{Invocation, Runner};

/// Why a directory gave no commit time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoCommit {
    Missing,
    NotARepository,
    Empty,
    Failed(String),
}

impl std::fmt::Display for NoCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoCommit::Missing => write!(f, "does not exist"),
            NoCommit::NotARepository => write!(f, "is not a git repository"),
            NoCommit::Empty => write!(f, "has no commits yet"),
            NoCommit::Failed(e) => write!(f, "{e}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Git {
    runner: Runner,
}

impl Git {
    pub fn new(runner: Runner) -> Git {
        Git { runner }
    }

    /// Unix time of the newest commit on any ref (agents commit on branches
    /// in their own clones, so HEAD alone misses their work).
    pub async fn newest_commit(
        &self,
        dir: &Path,
        timeout: Duration,
    ) -> Result<Result<i64, NoCommit>, StackError> {
        if !dir.exists() {
            return Ok(Err(NoCommit::Missing));
        }
        let out = self
            .runner
            .run(&read_in(dir, timeout).args(["log", "-1", "--all", "--format=%ct"]))
            .await?;
        if !out.success() {
            let msg = out.error_message();
            if msg.contains("not a git repository") {
                return Ok(Err(NoCommit::NotARepository));
            }
            if msg.contains("does not have any commits") {
                return Ok(Err(NoCommit::Empty));
            }
            return Ok(Err(NoCommit::Failed(msg)));
        }
        match out.stdout.trim() {
            "" => Ok(Err(NoCommit::Empty)),
            t => t
                .parse::<i64>()
                .map(Ok)
                .map_err(|_| StackError::Unexpected {
                    program: "git",
                    detail: format!("log --format=%ct printed {t:?}"),
                }),
        }
    }
}

impl Git {
    /// The commits (hashes, on any ref) made in `[from, to)` (unix times);
    /// `None` when `dir` is not a repository with commits.
    pub async fn commits_between(
        &self,
        dir: &Path,
        from: i64,
        to: i64,
        timeout: Duration,
    ) -> Result<Option<Vec<String>>, StackError> {
        if !dir.exists() {
            return Ok(None);
        }
        let out = self
            .runner
            .run(
                &read_in(dir, timeout)
                    .args(["log", "--all", "--format=%H %ct"])
                    .arg(format!("--since=@{from}")),
            )
            .await?;
        if !out.success() {
            return Ok(None);
        }
        Ok(Some(
            out.stdout
                .lines()
                .filter_map(|l| l.split_once(' '))
                .filter(|(_, t)| t.parse::<i64>().is_ok_and(|t| t >= from && t < to))
                .map(|(h, _)| h.to_string())
                .collect(),
        ))
    }
}

/// `git -C <dir>` for reading: a repository owned by another user must
/// still be read (safe.directory), and git never asks for credentials.
fn read_in(dir: &Path, timeout: Duration) -> Invocation {
    Invocation::new("git", timeout)
        .arg("-C")
        .arg(dir)
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "safe.directory")
        .env("GIT_CONFIG_VALUE_0", "*")
        .env("GIT_TERMINAL_PROMPT", "0")
}
