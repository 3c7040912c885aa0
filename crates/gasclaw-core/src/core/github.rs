//! GitHub in the loop: the poller that turns the repository's pull
//! requests, checks and issues into events, the durable cursor that keeps
//! them from being announced twice (or missed) across restarts, and issues
//! handed to the town as beads. No Telegram here: the monitor renders and
//! delivers the events; the faces call `prs`, `pr`, `merge`, `issues`, `take`.
//!
//! State in `GASCLAW_HOME/github/`: `cursor.json` (written atomically by the
//! one poller in `gasclaw run`) and `takes/<issue>.json` (one file per taken
//! issue, so `gasclaw take` in another process never races the poller's
//! cursor).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Actor;
use crate::stack::beads::{Beads, BeadsError};
pub use crate::stack::github::{Check, CheckState, GithubError, MergeMethod};
use crate::stack::github::{Github, Issue, PullRequest};

/// Something on GitHub worth telling people about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GithubEvent {
    PrOpened {
        pr: PrInfo,
    },
    ChecksFailing {
        pr: PrRef,
        failed: Vec<Check>,
    },
    ChecksPassing {
        pr: PrRef,
    },
    ReviewRequested {
        pr: PrRef,
        reviewers: Vec<String>,
    },
    Merged {
        pr: PrRef,
    },
    Closed {
        pr: PrRef,
    },
    IssueOpened {
        issue: IssueInfo,
    },
    /// A taken issue's bead was closed and the issue told so.
    TakeDone {
        issue: u64,
        bead: String,
        pr: Option<u64>,
    },
}

/// Enough of a pull request to name it in a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrRef {
    pub number: u64,
    pub title: String,
    pub url: String,
}

/// A pull request as the faces show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrInfo {
    pub number: u64,
    pub title: String,
    pub author: String,
    pub by_agent: bool,
    pub branch: String,
    pub url: String,
    pub additions: Option<u64>,
    pub deletions: Option<u64>,
    pub changed_files: Option<u64>,
    pub draft: bool,
    pub created_at: DateTime<Utc>,
    /// Failing, pending, passing or none, over every check.
    pub checks: ChecksSummary,
    pub failed: Vec<Check>,
    pub mergeable: Option<bool>,
    pub mergeable_state: Option<String>,
}

impl PrInfo {
    fn new(pr: &PullRequest, checks: &[Check]) -> PrInfo {
        PrInfo {
            number: pr.number,
            title: pr.title.clone(),
            author: pr.user.login.clone(),
            by_agent: pr.by_agent(),
            branch: pr.head.name.clone(),
            url: pr.html_url.clone(),
            additions: pr.additions,
            deletions: pr.deletions,
            changed_files: pr.changed_files,
            draft: pr.draft,
            created_at: pr.created_at,
            checks: ChecksSummary::of(checks),
            failed: failed(checks),
            mergeable: pr.mergeable,
            mergeable_state: pr.mergeable_state.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueInfo {
    pub number: u64,
    pub title: String,
    pub author: String,
    pub url: String,
    pub created_at: DateTime<Utc>,
    /// The bead it was handed to, if it was.
    pub bead: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksSummary {
    None,
    Pending,
    Passing,
    Failing,
}

impl ChecksSummary {
    pub fn of(checks: &[Check]) -> ChecksSummary {
        if checks.is_empty() {
            ChecksSummary::None
        } else if checks.iter().any(|c| c.state == CheckState::Failed) {
            ChecksSummary::Failing
        } else if checks.iter().any(|c| c.state == CheckState::Pending) {
            ChecksSummary::Pending
        } else {
            ChecksSummary::Passing
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ChecksSummary::None => "none",
            ChecksSummary::Pending => "pending",
            ChecksSummary::Passing => "passing",
            ChecksSummary::Failing => "failing",
        }
    }
}

fn failed(checks: &[Check]) -> Vec<Check> {
    checks
        .iter()
        .filter(|c| c.state == CheckState::Failed)
        .cloned()
        .collect()
}

/// What the poller remembers of one open pull request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PrSeen {
    title: String,
    url: String,
    head_sha: String,
    /// The failing checks last announced (empty: none failing), and the
    /// commit they failed on.
    failing: BTreeSet<String>,
    #[serde(default)]
    failing_sha: String,
    checks: ChecksSummary,
    reviewers: BTreeSet<String>,
}

/// The durable cursor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Cursor {
    repo: String,
    /// False until the first poll recorded what was already there (which
    /// is not announced: only what happens after gasclaw started watching).
    initialized: bool,
    pulls: BTreeMap<u64, PrSeen>,
    /// The highest issue number seen.
    last_issue: u64,
    /// The newest push to the repository or pull-request update.
    last_activity: Option<DateTime<Utc>>,
}

/// An issue handed to the town.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Take {
    pub issue: u64,
    pub title: String,
    pub url: String,
    pub bead: String,
    /// Who handed it over: the actor's attribution (a string, so records
    /// written by earlier versions still load).
    pub by: String,
    pub at: DateTime<Utc>,
    /// Set once the issue was told the bead is closed.
    #[serde(default)]
    pub reported: bool,
    /// When the poller first saw the bead closed with no pull request
    /// naming the issue yet (one may follow the close).
    #[serde(default)]
    pub closed_seen: Option<DateTime<Utc>>,
}

/// How long a closed bead waits for a pull request that names its issue
/// before the issue is told without one.
const PR_GRACE: chrono::Duration = chrono::Duration::minutes(10);

/// Why a merge was not done.
#[derive(Debug, thiserror::Error)]
pub enum MergeRefusal {
    #[error("pull request #{0} is not open")]
    NotOpen(u64),
    #[error("pull request #{0} is a draft")]
    Draft(u64),
    #[error("checks are failing: {}", .0.join(", "))]
    ChecksFailing(Vec<String>),
    #[error("checks are still running: {}", .0.join(", "))]
    ChecksPending(Vec<String>),
    #[error("GitHub says it cannot be merged yet ({0})")]
    NotMergeable(String),
    #[error("the repository allows no merge method this token may use")]
    NoMethod,
}

/// The GitHub side's errors.
#[derive(Debug, thiserror::Error)]
pub enum GhError {
    #[error(transparent)]
    Api(#[from] GithubError),
    #[error(transparent)]
    Refused(#[from] MergeRefusal),
    #[error("issue #{issue} is already with the town (bead {bead})")]
    AlreadyTaken { issue: u64, bead: String },
    #[error("#{0} is a pull request, not an issue")]
    IsPullRequest(u64),
    #[error("issue #{0} is closed")]
    IssueClosed(u64),
    #[error("creating the bead: {0}")]
    Beads(#[from] BeadsError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// A merge `merge_check` allows.
#[derive(Debug, Clone)]
pub struct MergePlan {
    pub pr: PullRequest,
    pub head_sha: String,
    pub method: crate::stack::github::MergeMethod,
}

/// A merge done.
#[derive(Debug, Clone, Serialize)]
pub struct Merged {
    pub number: u64,
    pub title: String,
    pub method: &'static str,
    pub sha: String,
    pub url: String,
}

/// `/take` done.
#[derive(Debug, Clone, Serialize)]
pub struct Taken {
    pub issue: u64,
    pub title: String,
    pub url: String,
    pub bead: String,
    /// False when the bead exists but the comment could not be posted.
    pub commented: bool,
}

/// How the last poll went, for `/status` and `gasclaw github status`.
#[derive(Debug, Clone, Serialize)]
pub struct PollStatus {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub error: Option<String>,
    pub events: usize,
}

/// The words of gasclaw's comments on GitHub. The core knows no locale
/// files: the composition root sets the localized wording
/// ([`GithubWatch::set_wording`]); English until then.
pub trait Wording: Send + Sync {
    /// The issue was handed to the town as `bead`.
    fn taken(&self, bead: &str) -> String;
    /// `bead` was closed for `reason`, with the pull request `(#n, url)`.
    fn done(&self, bead: &str, reason: &str, pr: Option<(&str, &str)>) -> String;
}

/// The English wording (the same words as `locales/en.ftl`).
pub struct English;

impl Wording for English {
    fn taken(&self, bead: &str) -> String {
        format!(
            "🏭 The town has this issue: bead `{bead}`. gasclaw will comment here when the bead is closed."
        )
    }

    fn done(&self, bead: &str, reason: &str, pr: Option<(&str, &str)>) -> String {
        match pr {
            Some((n, url)) => {
                format!("✅ The town closed bead `{bead}` ({reason}). Pull request: {n} {url}")
            }
            None => format!("✅ The town closed bead `{bead}` ({reason})."),
        }
    }
}

/// The GitHub side of the core.
pub struct GithubWatch {
    pub client: Arc<Github>,
    dir: PathBuf,
    beads: Beads,
    wording: std::sync::OnceLock<Arc<dyn Wording>>,
    /// One poll at a time (the cursor is read, changed and written whole).
    poll_lock: tokio::sync::Mutex<()>,
    last: Mutex<Option<PollStatus>>,
}

impl std::fmt::Debug for GithubWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubWatch")
            .field("repo", &self.client.repo())
            .finish_non_exhaustive()
    }
}

impl GithubWatch {
    pub fn new(client: Github, home: &Path, beads: Beads) -> GithubWatch {
        GithubWatch {
            client: Arc::new(client),
            dir: home.join("github"),
            beads,
            wording: std::sync::OnceLock::new(),
            poll_lock: tokio::sync::Mutex::new(()),
            last: Mutex::default(),
        }
    }

    pub fn repo(&self) -> &str {
        self.client.repo()
    }

    pub fn last_poll(&self) -> Option<PollStatus> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn cursor_path(&self) -> PathBuf {
        self.dir.join("cursor.json")
    }

    fn takes_dir(&self) -> PathBuf {
        self.dir.join("takes")
    }

    fn io(what: &str, e: std::io::Error) -> GhError {
        GhError::Io {
            what: what.into(),
            source: e,
        }
    }

    fn load_cursor(&self) -> Cursor {
        let c: Cursor = std::fs::read(self.cursor_path())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        // Another repository's cursor says nothing about this one.
        if c.repo != self.repo() {
            return Cursor {
                repo: self.repo().to_string(),
                ..Cursor::default()
            };
        }
        c
    }

    fn save_cursor(&self, c: &Cursor) -> Result<(), GhError> {
        crate::fsutil::ensure_dir(&self.dir, 0o700).map_err(|e| Self::io("GitHub state", e))?;
        let bytes = serde_json::to_vec_pretty(c).map_err(|e| Self::io("cursor", e.into()))?;
        crate::fsutil::atomic_write(&self.cursor_path(), &bytes, 0o600)
            .map_err(|e| Self::io("writing the GitHub cursor", e))
    }

    /// The newest push or pull-request update the poller saw (for
    /// `ACTIVITY_SOURCE=github|both`); read from the cursor, so any process
    /// sees what `gasclaw run` saw.
    pub fn last_activity(&self) -> Option<DateTime<Utc>> {
        self.load_cursor().last_activity
    }

    /// Every taken issue.
    pub fn takes(&self) -> Vec<Take> {
        let mut v: Vec<Take> = std::fs::read_dir(self.takes_dir())
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        v.sort_by_key(|t: &Take| t.issue);
        v
    }

    fn save_take(&self, t: &Take) -> Result<(), GhError> {
        let d = self.takes_dir();
        crate::fsutil::ensure_dir(&d, 0o700).map_err(|e| Self::io("GitHub state", e))?;
        let bytes = serde_json::to_vec_pretty(t).map_err(|e| Self::io("take", e.into()))?;
        crate::fsutil::atomic_write(&d.join(format!("{}.json", t.issue)), &bytes, 0o600)
            .map_err(|e| Self::io("recording the taken issue", e))
    }

    /// Sets the words of the comments on GitHub (once; later calls are
    /// ignored).
    pub fn set_wording(&self, w: Arc<dyn Wording>) {
        let _ = self.wording.set(w);
    }

    fn wording(&self) -> &dyn Wording {
        match self.wording.get() {
            Some(w) => w.as_ref(),
            None => &English,
        }
    }

    /// Open pull requests with their check state.
    pub async fn prs(&self) -> Result<Vec<PrInfo>, GhError> {
        let open = self.client.open_pulls().await?;
        let mut out = Vec::with_capacity(open.len());
        for pr in &open {
            let checks = self.client.checks(&pr.head.sha).await?;
            out.push(PrInfo::new(pr, &checks));
        }
        Ok(out)
    }

    /// One pull request in detail (size, mergeability, every check).
    pub async fn pr(&self, n: u64) -> Result<(PrInfo, Vec<Check>), GhError> {
        let pr = self.client.pull(n).await?;
        let checks = self.client.checks(&pr.head.sha).await?;
        Ok((PrInfo::new(&pr, &checks), checks))
    }

    /// Whether `n` may be merged now, how, and at which head commit (the
    /// one whose checks were read); the refusal says why not.
    pub async fn merge_check(&self, n: u64) -> Result<MergePlan, GhError> {
        let full = self.client.pull(n).await?;
        let checks = self.client.checks(&full.head.sha).await?;
        if full.state != "open" {
            return Err(MergeRefusal::NotOpen(n).into());
        }
        if full.draft {
            return Err(MergeRefusal::Draft(n).into());
        }
        let names = |s: CheckState| -> Vec<String> {
            checks
                .iter()
                .filter(|c| c.state == s)
                .map(|c| c.name.clone())
                .collect()
        };
        // Every check counts as required: reading which ones branch
        // protection requires needs admin rights a fine-grained token
        // should not have.
        let failing = names(CheckState::Failed);
        if !failing.is_empty() {
            return Err(MergeRefusal::ChecksFailing(failing).into());
        }
        let pending = names(CheckState::Pending);
        if !pending.is_empty() {
            return Err(MergeRefusal::ChecksPending(pending).into());
        }
        if full.mergeable != Some(true) || full.mergeable_state.as_deref() != Some("clean") {
            return Err(MergeRefusal::NotMergeable(
                full.mergeable_state
                    .clone()
                    .unwrap_or_else(|| "unknown".into()),
            )
            .into());
        }
        let method = self
            .client
            .repository()
            .await?
            .merge_method()
            .ok_or(MergeRefusal::NoMethod)?;
        Ok(MergePlan {
            head_sha: full.head.sha.clone(),
            method,
            pr: full,
        })
    }

    /// Merges `n` if `merge_check` allows it, at the head whose checks it
    /// read (GitHub refuses if a push came in between).
    pub async fn merge(&self, n: u64) -> Result<Merged, GhError> {
        let plan = self.merge_check(n).await?;
        let sha = self.client.merge(n, &plan.head_sha, plan.method).await?;
        Ok(Merged {
            number: n,
            title: plan.pr.title,
            method: plan.method.name(),
            sha,
            url: plan.pr.html_url,
        })
    }

    /// Open issues, and which are already with the town.
    pub async fn issues(&self) -> Result<Vec<IssueInfo>, GhError> {
        let takes: BTreeMap<u64, String> = self
            .takes()
            .into_iter()
            .map(|t| (t.issue, t.bead))
            .collect();
        Ok(self
            .client
            .open_issues()
            .await?
            .iter()
            .map(|i| issue_info(i, takes.get(&i.number).cloned()))
            .collect())
    }

    /// Hands issue `n` to the town: a bead carrying its title, link and
    /// number, recorded, and a comment on the issue.
    pub async fn take(&self, n: u64, by: &Actor) -> Result<Taken, GhError> {
        let actor = by.attribution();
        if let Some(t) = self.takes().into_iter().find(|t| t.issue == n) {
            return Err(GhError::AlreadyTaken {
                issue: n,
                bead: t.bead,
            });
        }
        let issue = self.client.issue(n).await?;
        if issue.pull_request.is_some() {
            return Err(GhError::IsPullRequest(n));
        }
        if issue.state != "open" {
            return Err(GhError::IssueClosed(n));
        }
        let title = format!("{} (GitHub #{n})", issue.title);
        let body: String = issue
            .body
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(2000)
            .collect();
        let description = format!(
            "GitHub issue #{n}: {}\n{}\n\n{}",
            issue.title,
            issue.html_url,
            body.trim()
        );
        let bead = self
            .beads
            .create_described(&title, description.trim_end(), &actor)
            .await?;
        let take = Take {
            issue: n,
            title: issue.title.clone(),
            url: issue.html_url.clone(),
            bead: bead.id.clone(),
            by: actor,
            at: Utc::now(),
            reported: false,
            closed_seen: None,
        };
        // Recorded before the comment: a failed comment must not leave a
        // bead nobody will report back on.
        self.save_take(&take)?;
        let text = self.wording().taken(&bead.id);
        let commented = match self.client.comment(n, &text).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(issue = n, error = %e, "could not comment on the taken issue");
                false
            }
        };
        Ok(Taken {
            issue: n,
            title: issue.title,
            url: issue.html_url,
            bead: bead.id,
            commented,
        })
    }

    /// One poll: compares GitHub with the cursor, hands the events to
    /// `announce` (which queues them durably) and only then saves the
    /// cursor, so a crash repeats an announcement rather than losing it.
    pub async fn poll(
        &self,
        announce: impl FnOnce(&[GithubEvent]),
    ) -> Result<Vec<GithubEvent>, GhError> {
        let _one = self.poll_lock.lock().await;
        let result = self.poll_inner().await;
        let status = PollStatus {
            at: Utc::now(),
            ok: result.is_ok(),
            error: result.as_ref().err().map(|e| e.to_string()),
            events: result.as_ref().map(|(e, _)| e.len()).unwrap_or(0),
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(status);
        let (events, cursor) = result?;
        if !events.is_empty() {
            announce(&events);
        }
        self.save_cursor(&cursor)?;
        Ok(events)
    }

    async fn poll_inner(&self) -> Result<(Vec<GithubEvent>, Cursor), GhError> {
        let mut c = self.load_cursor();
        let mut events = Vec::new();
        let repo = self.client.repository().await?;
        let open = self.client.open_pulls().await?;
        let baseline = !c.initialized;
        let mut activity = repo.pushed_at;
        let open_numbers: BTreeSet<u64> = open.iter().map(|p| p.number).collect();
        for pr in &open {
            activity = activity.max(Some(pr.updated_at));
            let checks = self.client.checks(&pr.head.sha).await?;
            let now_failing: BTreeSet<String> =
                failed(&checks).into_iter().map(|c| c.name).collect();
            let summary = ChecksSummary::of(&checks);
            let reviewers: BTreeSet<String> = pr
                .requested_reviewers
                .iter()
                .map(|u| u.login.clone())
                .collect();
            let reference = PrRef {
                number: pr.number,
                title: pr.title.clone(),
                url: pr.html_url.clone(),
            };
            match c.pulls.get(&pr.number).cloned() {
                None => {
                    if !baseline {
                        // The list has no size: ask for the pull request.
                        let full = self.client.pull(pr.number).await?;
                        events.push(GithubEvent::PrOpened {
                            pr: PrInfo::new(&full, &checks),
                        });
                        if !now_failing.is_empty() {
                            events.push(GithubEvent::ChecksFailing {
                                pr: reference.clone(),
                                failed: failed(&checks),
                            });
                        }
                        if !reviewers.is_empty() {
                            events.push(GithubEvent::ReviewRequested {
                                pr: reference.clone(),
                                reviewers: reviewers.iter().cloned().collect(),
                            });
                        }
                    }
                }
                Some(seen) => {
                    if !now_failing.is_empty()
                        && (now_failing != seen.failing || pr.head.sha != seen.failing_sha)
                    {
                        events.push(GithubEvent::ChecksFailing {
                            pr: reference.clone(),
                            failed: failed(&checks),
                        });
                    } else if !seen.failing.is_empty() && summary == ChecksSummary::Passing {
                        events.push(GithubEvent::ChecksPassing {
                            pr: reference.clone(),
                        });
                    }
                    let new: Vec<String> = reviewers.difference(&seen.reviewers).cloned().collect();
                    if !new.is_empty() {
                        events.push(GithubEvent::ReviewRequested {
                            pr: reference.clone(),
                            reviewers: new,
                        });
                    }
                }
            }
            // While checks run again after a failure, the failure stays
            // "announced", so "passing" comes once the fix is green.
            let (failing, failing_sha) = if !now_failing.is_empty() {
                (now_failing, pr.head.sha.clone())
            } else if summary == ChecksSummary::Passing {
                (BTreeSet::new(), String::new())
            } else {
                c.pulls
                    .get(&pr.number)
                    .map(|s| (s.failing.clone(), s.failing_sha.clone()))
                    .unwrap_or_default()
            };
            c.pulls.insert(
                pr.number,
                PrSeen {
                    title: pr.title.clone(),
                    url: pr.html_url.clone(),
                    head_sha: pr.head.sha.clone(),
                    failing,
                    failing_sha,
                    checks: summary,
                    reviewers,
                },
            );
        }
        // Gone from the open list: merged or closed (also while gasclaw
        // was down).
        let gone: Vec<u64> = c
            .pulls
            .keys()
            .filter(|n| !open_numbers.contains(n))
            .copied()
            .collect();
        for n in gone {
            let pr = match self.client.pull(n).await {
                Ok(p) => p,
                Err(GithubError::NotFound(_)) => {
                    c.pulls.remove(&n);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if pr.state == "open" {
                continue;
            }
            let reference = PrRef {
                number: n,
                title: pr.title.clone(),
                url: pr.html_url.clone(),
            };
            events.push(if pr.merged == Some(true) || pr.merged_at.is_some() {
                GithubEvent::Merged { pr: reference }
            } else {
                GithubEvent::Closed { pr: reference }
            });
            c.pulls.remove(&n);
        }
        let issues = self.client.open_issues().await?;
        let mut fresh: Vec<&Issue> = issues.iter().filter(|i| i.number > c.last_issue).collect();
        fresh.sort_by_key(|i| i.number);
        if !baseline {
            for i in &fresh {
                events.push(GithubEvent::IssueOpened {
                    issue: issue_info(i, None),
                });
            }
        }
        let highest_pr = open.iter().map(|p| p.number).max().unwrap_or(0);
        c.last_issue = c
            .last_issue
            .max(issues.iter().map(|i| i.number).max().unwrap_or(0))
            // Issue and pull-request numbers share one sequence.
            .max(if baseline { highest_pr } else { 0 });
        events.extend(self.report_done_takes().await);
        c.last_activity = c.last_activity.max(activity);
        c.initialized = true;
        c.repo = self.repo().to_string();
        Ok((events, c))
    }

    /// Comments on each taken issue whose bead is now closed, naming the
    /// pull request that references it.
    async fn report_done_takes(&self) -> Vec<GithubEvent> {
        let pending: Vec<Take> = self.takes().into_iter().filter(|t| !t.reported).collect();
        if pending.is_empty() {
            return Vec::new();
        }
        // Read when a bead is found closed, not at the poll's start: the
        // pull request often comes moments before the close.
        let mut prs: Option<Vec<PullRequest>> = None;
        let mut out = Vec::new();
        for mut t in pending {
            let bead = match self.beads.show(&t.bead).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(bead = %t.bead, error = %e, "cannot read a taken issue's bead");
                    continue;
                }
            };
            if bead.status.as_deref() != Some("closed") {
                continue;
            }
            if prs.is_none() {
                let mut all = self.client.open_pulls().await.unwrap_or_default();
                all.extend(self.client.closed_pulls().await.unwrap_or_default());
                prs = Some(all);
            }
            let pr = prs
                .iter()
                .flatten()
                .find(|p| p.references(t.issue, &t.bead));
            if pr.is_none() {
                let now = Utc::now();
                match t.closed_seen {
                    None => {
                        t.closed_seen = Some(now);
                        if let Err(e) = self.save_take(&t) {
                            tracing::warn!(error = %e, "could not record a closed bead");
                        }
                        continue;
                    }
                    Some(seen) if now - seen < PR_GRACE => continue,
                    Some(_) => {}
                }
            }
            let reason = bead.close_reason.as_deref().unwrap_or("closed");
            let number = pr.map(|p| format!("#{}", p.number));
            let text = self.wording().done(
                &t.bead,
                reason,
                number.as_deref().zip(pr.map(|p| p.html_url.as_str())),
            );
            match self.client.comment(t.issue, &text).await {
                Ok(_) => {
                    t.reported = true;
                    if let Err(e) = self.save_take(&t) {
                        tracing::warn!(error = %e, "could not record the report on a taken issue");
                    }
                    out.push(GithubEvent::TakeDone {
                        issue: t.issue,
                        bead: t.bead.clone(),
                        pr: pr.map(|p| p.number),
                    });
                }
                Err(e) => {
                    tracing::warn!(issue = t.issue, error = %e, "could not comment on a done issue; trying again next poll")
                }
            }
        }
        out
    }
}

fn issue_info(i: &Issue, bead: Option<String>) -> IssueInfo {
    IssueInfo {
        number: i.number,
        title: i.title.clone(),
        author: i.user.login.clone(),
        url: i.html_url.clone(),
        created_at: i.created_at,
        bead,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::github::Timing;
    use crate::testing::bounded;
    use gasclaw_fakes::github::{FakeGithub, FakeGithubOptions, NewPull};

    fn watch(fake: &FakeGithub, home: &Path) -> GithubWatch {
        let client = Github::new(
            url::Url::parse(&fake.url()).unwrap(),
            fake.repo(),
            secrecy::SecretString::from(fake.token().to_string()),
            Timing::default(),
        )
        .unwrap();
        let runner = crate::stack::Runner::new(crate::stack::Redactor::new(vec![]), &[]);
        let beads = Beads::new(runner, home.join("no-town/.beads"), 1);
        GithubWatch::new(client, home, beads)
    }

    async fn poll(w: &GithubWatch) -> Vec<GithubEvent> {
        let mut announced = Vec::new();
        let events = w.poll(|e| announced.extend_from_slice(e)).await.unwrap();
        assert_eq!(events, announced);
        events
    }

    fn kinds(events: &[GithubEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| {
                let v = serde_json::to_value(e).unwrap();
                let n = v["pr"]["number"]
                    .as_u64()
                    .or(v["issue"]["number"].as_u64())
                    .unwrap_or(0);
                format!("{} {n}", v["kind"].as_str().unwrap())
            })
            .collect()
    }

    #[tokio::test]
    async fn each_change_is_announced_once_across_restarts() {
        bounded(async {
            let fake = FakeGithub::start(FakeGithubOptions {
                page_size: 2,
                ..Default::default()
            })
            .await
            .unwrap();
            let home = tempfile::tempdir().unwrap();
            let old = fake.open_pull(NewPull::new("old work", "alice", "feature/a"));
            fake.open_issue("old bug", "bob");
            let w = watch(&fake, home.path());
            assert!(
                poll(&w).await.is_empty(),
                "what was there first is a baseline"
            );

            let mut p = NewPull::new("Teach the parser", "nux", "polecat/nux/gc-1");
            p.bot = false;
            let new = fake.open_pull(p);
            fake.set_check(new, "ci", Some("failure"));
            fake.set_check(new, "lint", Some("success"));
            let e = poll(&w).await;
            assert_eq!(
                kinds(&e),
                [format!("pr_opened {new}"), format!("checks_failing {new}")]
            );
            match &e[0] {
                GithubEvent::PrOpened { pr } => {
                    assert!(pr.by_agent);
                    assert_eq!((pr.additions, pr.changed_files), (Some(10), Some(3)));
                }
                other => panic!("{other:?}"),
            }
            match &e[1] {
                GithubEvent::ChecksFailing { failed, .. } => {
                    assert_eq!(failed.len(), 1);
                    assert_eq!(failed[0].name, "ci");
                }
                other => panic!("{other:?}"),
            }
            assert!(poll(&w).await.is_empty(), "nothing new, nothing said");
            // A restart reads the cursor: nothing is said again.
            drop(w);
            let w = watch(&fake, home.path());
            assert!(poll(&w).await.is_empty());

            // While gasclaw is down: a review is asked, checks run again and
            // pass, the old PR is merged elsewhere... here closed; an issue.
            drop(w);
            fake.set_check(new, "ci", None);
            let w = watch(&fake, home.path());
            assert!(poll(&w).await.is_empty(), "running again is not news");
            drop(w);
            fake.set_check(new, "ci", Some("success"));
            fake.request_review(new, "carol");
            fake.close_pull(old);
            let issue = fake.open_issue("crash on start", "dave");
            let w = watch(&fake, home.path());
            let e = poll(&w).await;
            assert_eq!(
                kinds(&e),
                [
                    format!("checks_passing {new}"),
                    format!("review_requested {new}"),
                    format!("closed {old}"),
                    format!("issue_opened {issue}"),
                ]
            );
            assert!(poll(&w).await.is_empty());
            let cursor = home.path().join("github/cursor.json");
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&cursor).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert!(
                !std::fs::read_to_string(&cursor)
                    .unwrap()
                    .contains(fake.token())
            );
            assert!(w.last_activity().is_some());
        })
        .await
    }

    #[tokio::test]
    async fn merge_is_refused_until_every_check_passed() {
        bounded(async {
            let fake = FakeGithub::start(FakeGithubOptions {
                allow_squash: false,
                ..Default::default()
            })
            .await
            .unwrap();
            let home = tempfile::tempdir().unwrap();
            let w = watch(&fake, home.path());
            let n = fake.open_pull(NewPull::new("p", "a", "b"));
            fake.set_check(n, "ci", Some("failure"));
            let e = w.merge(n).await.unwrap_err();
            assert!(
                matches!(&e, GhError::Refused(MergeRefusal::ChecksFailing(c)) if c == &["ci"]),
                "{e:?}"
            );
            fake.set_check(n, "ci", None);
            assert!(matches!(
                w.merge(n).await,
                Err(GhError::Refused(MergeRefusal::ChecksPending(_)))
            ));
            assert!(fake.merges().is_empty());
            fake.set_check(n, "ci", Some("success"));
            let m = w.merge(n).await.unwrap();
            assert_eq!(m.method, "merge", "squash is not allowed here");
            assert_eq!(fake.merges().len(), 1);
            assert!(matches!(
                w.merge(n).await,
                Err(GhError::Refused(MergeRefusal::NotOpen(_)))
            ));
        })
        .await
    }
}
