//! GitHub's REST API: the one module that knows its URLs, headers and
//! answers. reqwest with typed serde models rather than octocrab: octocrab
//! offers conditional requests (ETag → 304) only for the events endpoints,
//! and neither its pulls/issues/check-runs builders nor its retry layer honour
//! `retry-after` and `x-ratelimit-reset` the way polling needs.
//!
//! Polling done right, here: every GET carries the last `ETag` of its URL as
//! `If-None-Match` (a 304 costs no rate limit and returns the cached body),
//! lists follow `Link: rel="next"` (only on the API's own origin — the token
//! never goes elsewhere), the primary limit (`x-ratelimit-remaining: 0` →
//! wait until `x-ratelimit-reset`) and the secondary one (`retry-after`, else
//! a minute) are waited out, 5xx and transport errors back off, and one
//! resource never has two requests in flight.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

/// Why GitHub gave no (usable) answer; never contains the token.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("GitHub refused the token (401): check GITHUB_TOKEN")]
    Unauthorized,
    #[error("GitHub refused: {0}")]
    Forbidden(String),
    #[error("{0} not found on GitHub")]
    NotFound(String),
    #[error("GitHub refused: {0}")]
    Refused(String),
    #[error("GitHub is rate limiting gasclaw; next try in {}", crate::core::activity::human_duration(.0.as_secs()))]
    RateLimited(Duration),
    #[error("GitHub answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("GitHub is unreachable: {0}")]
    Unreachable(String),
    #[error("GitHub answered something unexpected: {0}")]
    Unreadable(String),
}

/// A person or a bot on GitHub.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub login: String,
    /// `User` or `Bot`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GitRef {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

/// A pull request; the size and mergeability fields come only from the
/// single-PR endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub user: User,
    pub head: GitRef,
    pub base: GitRef,
    pub html_url: String,
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub merged: Option<bool>,
    #[serde(default)]
    pub merged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub mergeable: Option<bool>,
    #[serde(default)]
    pub mergeable_state: Option<String>,
    #[serde(default)]
    pub additions: Option<u64>,
    #[serde(default)]
    pub deletions: Option<u64>,
    #[serde(default)]
    pub changed_files: Option<u64>,
    #[serde(default)]
    pub requested_reviewers: Vec<User>,
    #[serde(default)]
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PullRequest {
    /// Whether an agent opened it: a bot account, or a branch the town's
    /// agents name (`polecat/…`, `crew/…`) — agents often push with their
    /// human's token, so the account alone cannot tell.
    pub fn by_agent(&self) -> bool {
        self.user.kind.eq_ignore_ascii_case("bot")
            || ["polecat/", "crew/"]
                .iter()
                .any(|p| self.head.name.starts_with(p))
    }

    /// Whether its title, body or branch mentions issue `n` or `bead`.
    pub fn references(&self, issue: u64, bead: &str) -> bool {
        let hay = format!(
            "{} {} {}",
            self.title,
            self.body.as_deref().unwrap_or(""),
            self.head.name
        );
        let tag = format!("#{issue}");
        let mentions_issue = hay.match_indices(&tag).any(|(i, _)| {
            !hay[i + tag.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        });
        mentions_issue || (!bead.is_empty() && hay.contains(bead))
    }
}

/// An issue (GitHub lists pull requests among issues; those carry
/// `pull_request`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub user: User,
    pub html_url: String,
    pub state: String,
    #[serde(default)]
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub pull_request: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckRun {
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct CheckRunsPage {
    check_runs: Vec<CheckRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommitStatus {
    pub context: String,
    pub state: String,
    #[serde(default)]
    pub target_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct CombinedStatus {
    #[serde(default)]
    statuses: Vec<CommitStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Repo {
    pub full_name: String,
    pub default_branch: String,
    pub html_url: String,
    #[serde(default)]
    pub pushed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub allow_merge_commit: Option<bool>,
    #[serde(default)]
    pub allow_squash_merge: Option<bool>,
    #[serde(default)]
    pub allow_rebase_merge: Option<bool>,
}

/// How a pull request is merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMethod {
    Squash,
    Merge,
    Rebase,
}

impl MergeMethod {
    pub fn name(self) -> &'static str {
        match self {
            MergeMethod::Squash => "squash",
            MergeMethod::Merge => "merge",
            MergeMethod::Rebase => "rebase",
        }
    }
}

impl Repo {
    /// The method the repository allows: squash, else a merge commit, else
    /// rebase. GitHub omits the `allow_*` fields for tokens without push
    /// access; absent counts as allowed (GitHub's defaults) except rebase.
    pub fn merge_method(&self) -> Option<MergeMethod> {
        if self.allow_squash_merge.unwrap_or(true) {
            Some(MergeMethod::Squash)
        } else if self.allow_merge_commit.unwrap_or(true) {
            Some(MergeMethod::Merge)
        } else if self.allow_rebase_merge.unwrap_or(false) {
            Some(MergeMethod::Rebase)
        } else {
            None
        }
    }
}

/// One check on a commit (a check run or a commit status), reduced.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Check {
    pub name: String,
    pub state: CheckState,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    Pending,
    Passed,
    Failed,
}

impl CheckRun {
    fn state(&self) -> CheckState {
        if self.status != "completed" {
            return CheckState::Pending;
        }
        match self.conclusion.as_deref() {
            Some("success" | "neutral" | "skipped") => CheckState::Passed,
            _ => CheckState::Failed,
        }
    }
}

/// What the client has seen of its limits, for `/status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClientStats {
    pub requests: u64,
    pub not_modified: u64,
    pub rate_limited: u64,
    pub remaining: Option<u64>,
}

struct Cached {
    etag: String,
    body: bytes::Bytes,
}

/// Timings, injectable for tests.
#[derive(Debug, Clone)]
pub struct Timing {
    /// First wait after a 5xx or a transport error (doubles).
    pub backoff: Duration,
    /// Attempts per request before giving up.
    pub attempts: u32,
    /// Longest wait a request sits out; a longer rate-limit block fails it
    /// with `RateLimited` (the poller tries again next round).
    pub max_wait: Duration,
    pub request_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            backoff: Duration::from_secs(1),
            attempts: 5,
            max_wait: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The client for one repository. Cheap to share (`Arc`). No `Debug`
/// derive: it holds the token.
pub struct Github {
    http: reqwest::Client,
    api: Url,
    repo: String,
    token: SecretString,
    timing: Timing,
    cache: Mutex<HashMap<String, Cached>>,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// No request before this instant (a rate limit is being waited out).
    blocked_until: Mutex<Option<Instant>>,
    requests: AtomicU64,
    not_modified: AtomicU64,
    rate_limited: AtomicU64,
    remaining: AtomicU64,
}

impl std::fmt::Debug for Github {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Github")
            .field("api", &self.api.as_str())
            .field("repo", &self.repo)
            .finish_non_exhaustive()
    }
}

const NO_REMAINING: u64 = u64::MAX;

impl Github {
    pub fn new(
        api: Url,
        repo: &str,
        token: SecretString,
        timing: Timing,
    ) -> Result<Github, GithubError> {
        let http = reqwest::Client::builder()
            .timeout(timing.request_timeout)
            .user_agent(concat!("gasclaw/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the Authorization header elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| GithubError::Unreachable(e.to_string()))?;
        Ok(Github {
            http,
            api,
            repo: repo.to_string(),
            token,
            timing,
            cache: Mutex::default(),
            inflight: Mutex::default(),
            blocked_until: Mutex::default(),
            requests: AtomicU64::new(0),
            not_modified: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            remaining: AtomicU64::new(NO_REMAINING),
        })
    }

    pub fn repo(&self) -> &str {
        &self.repo
    }

    pub fn stats(&self) -> ClientStats {
        let r = self.remaining.load(Ordering::Relaxed);
        ClientStats {
            requests: self.requests.load(Ordering::Relaxed),
            not_modified: self.not_modified.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            remaining: (r != NO_REMAINING).then_some(r),
        }
    }

    fn url(&self, path: &str) -> Result<Url, GithubError> {
        self.api
            .join(path.trim_start_matches('/'))
            .map_err(|e| GithubError::Unreadable(format!("bad path {path}: {e}")))
    }

    fn repo_path(&self, rest: &str) -> String {
        format!("repos/{}/{}", self.repo, rest)
    }

    pub async fn repository(&self) -> Result<Repo, GithubError> {
        let url = self.url(&format!("repos/{}", self.repo))?;
        self.get(url, "the repository").await
    }

    /// Open pull requests, every page.
    pub async fn open_pulls(&self) -> Result<Vec<PullRequest>, GithubError> {
        let url = self.url(&self.repo_path("pulls?state=open&per_page=100"))?;
        self.get_pages(url, "pull requests").await
    }

    pub async fn pull(&self, n: u64) -> Result<PullRequest, GithubError> {
        let url = self.url(&self.repo_path(&format!("pulls/{n}")))?;
        self.get(url, &format!("pull request #{n}")).await
    }

    /// Recently closed pull requests (newest update first, one page).
    pub async fn closed_pulls(&self) -> Result<Vec<PullRequest>, GithubError> {
        let url = self
            .url(&self.repo_path("pulls?state=closed&sort=updated&direction=desc&per_page=50"))?;
        self.get(url, "pull requests").await
    }

    /// Open issues (pull requests left out), every page.
    pub async fn open_issues(&self) -> Result<Vec<Issue>, GithubError> {
        let url = self.url(&self.repo_path("issues?state=open&per_page=100"))?;
        let all: Vec<Issue> = self.get_pages(url, "issues").await?;
        Ok(all
            .into_iter()
            .filter(|i| i.pull_request.is_none())
            .collect())
    }

    pub async fn issue(&self, n: u64) -> Result<Issue, GithubError> {
        let url = self.url(&self.repo_path(&format!("issues/{n}")))?;
        self.get(url, &format!("issue #{n}")).await
    }

    /// Every check on a commit: check runs and commit statuses, by name.
    pub async fn checks(&self, sha: &str) -> Result<Vec<Check>, GithubError> {
        let runs_url =
            self.url(&self.repo_path(&format!("commits/{sha}/check-runs?per_page=100")))?;
        let pages: Vec<CheckRunsPage> = self.get_raw_pages(runs_url, "check runs").await?;
        let mut out: Vec<Check> = Vec::new();
        for r in pages.into_iter().flat_map(|p| p.check_runs) {
            out.push(Check {
                state: r.state(),
                name: r.name,
                url: r.html_url,
            });
        }
        let status_url = self.url(&self.repo_path(&format!("commits/{sha}/status")))?;
        let combined: CombinedStatus = self.get(status_url, "commit status").await?;
        for s in combined.statuses {
            out.push(Check {
                name: s.context,
                state: match s.state.as_str() {
                    "success" => CheckState::Passed,
                    "pending" => CheckState::Pending,
                    _ => CheckState::Failed,
                },
                url: s.target_url,
            });
        }
        out.sort();
        out.dedup_by(|a, b| a.name == b.name);
        Ok(out)
    }

    pub async fn comment(&self, issue: u64, body: &str) -> Result<String, GithubError> {
        #[derive(Deserialize)]
        struct Created {
            html_url: String,
        }
        let url = self.url(&self.repo_path(&format!("issues/{issue}/comments")))?;
        let c: Created = self
            .send_json(
                Method::POST,
                url,
                &serde_json::json!({ "body": body }),
                &format!("issue #{issue}"),
            )
            .await?;
        Ok(c.html_url)
    }

    /// Merges `n` at `sha` (GitHub refuses if the head moved since).
    pub async fn merge(
        &self,
        n: u64,
        sha: &str,
        method: MergeMethod,
    ) -> Result<String, GithubError> {
        #[derive(Deserialize)]
        struct Merged {
            sha: String,
        }
        let url = self.url(&self.repo_path(&format!("pulls/{n}/merge")))?;
        let m: Merged = self
            .send_json(
                Method::PUT,
                url,
                &serde_json::json!({ "sha": sha, "merge_method": method.name() }),
                &format!("pull request #{n}"),
            )
            .await?;
        Ok(m.sha)
    }

    async fn get<T: DeserializeOwned>(&self, url: Url, what: &str) -> Result<T, GithubError> {
        let (body, _) = self.request(Method::GET, url, None, what).await?;
        serde_json::from_slice(&body).map_err(|e| GithubError::Unreadable(format!("{what}: {e}")))
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: &Value,
        what: &str,
    ) -> Result<T, GithubError> {
        let (b, _) = self.request(method, url, Some(body), what).await?;
        serde_json::from_slice(&b).map_err(|e| GithubError::Unreadable(format!("{what}: {e}")))
    }

    /// Every page of a list endpoint.
    async fn get_pages<T: DeserializeOwned>(
        &self,
        url: Url,
        what: &str,
    ) -> Result<Vec<T>, GithubError> {
        let pages: Vec<Vec<T>> = self.get_raw_pages(url, what).await?;
        Ok(pages.into_iter().flatten().collect())
    }

    async fn get_raw_pages<P: DeserializeOwned>(
        &self,
        first: Url,
        what: &str,
    ) -> Result<Vec<P>, GithubError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        // A loop in the links must not run forever.
        for _ in 0..100 {
            let Some(url) = next.take() else { break };
            let (body, link) = self.request(Method::GET, url, None, what).await?;
            out.push(
                serde_json::from_slice(&body)
                    .map_err(|e| GithubError::Unreadable(format!("{what}: {e}")))?,
            );
            next = match link.as_deref().and_then(next_link) {
                Some(u) => Some(self.same_origin(&u)?),
                None => None,
            };
        }
        Ok(out)
    }

    /// A `Link` target, accepted only on the API's own origin.
    fn same_origin(&self, raw: &str) -> Result<Url, GithubError> {
        let u = Url::parse(raw).map_err(|e| GithubError::Unreadable(format!("Link: {e}")))?;
        if u.origin() != self.api.origin() {
            return Err(GithubError::Unreadable(format!(
                "a Link points outside the API ({})",
                u.origin().ascii_serialization()
            )));
        }
        Ok(u)
    }

    /// One logical request: conditional when cached, limits honoured,
    /// retried on 5xx; returns the body and the `Link` header.
    async fn request(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<(bytes::Bytes, Option<String>), GithubError> {
        let key = url.as_str().to_string();
        let lock = {
            let mut m = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            m.entry(key.clone()).or_default().clone()
        };
        // One request per resource at a time: a slow answer is never
        // overtaken by a second, identical request.
        let _one = lock.lock().await;
        let mut backoff = self.timing.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.wait_for_limits().await?;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28")
                .bearer_auth(self.token.expose_secret());
            let etag = (method == Method::GET)
                .then(|| {
                    self.cache
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(&key)
                        .map(|c| c.etag.clone())
                })
                .flatten();
            if let Some(e) = &etag {
                req = req.header(header::IF_NONE_MATCH, e);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    // reqwest's message names the URL, never the headers.
                    let why = e.without_url().to_string();
                    if attempt >= self.timing.attempts {
                        return Err(GithubError::Unreachable(why));
                    }
                    tracing::warn!(error = %why, retry_in_ms = backoff.as_millis() as u64, "GitHub unreachable; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                    continue;
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            let limits = Limits::from_headers(&headers);
            if let Some(r) = limits.remaining {
                self.remaining.store(r, Ordering::Relaxed);
            }
            let link = headers
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if status == StatusCode::NOT_MODIFIED {
                self.not_modified.fetch_add(1, Ordering::Relaxed);
                let cached = self
                    .cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&key)
                    .map(|c| c.body.clone());
                if let Some(b) = cached {
                    return Ok((b, link));
                }
                // A 304 to a request that named no ETag of ours is the
                // server's mistake: ask again, a bounded number of times.
                if attempt >= self.timing.attempts {
                    return Err(GithubError::Unreadable(format!(
                        "{what}: 304 Not Modified without a cached answer"
                    )));
                }
                continue;
            }
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| GithubError::Unreachable(e.without_url().to_string()))?;
            if status.is_success() {
                // An exhausted primary limit holds the next request back.
                if limits.remaining == Some(0) {
                    self.block_for(limits.until_reset());
                }
                if method == Method::GET
                    && let Some(tag) = headers.get(header::ETAG).and_then(|v| v.to_str().ok())
                {
                    self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(
                        key.clone(),
                        Cached {
                            etag: tag.to_string(),
                            body: bytes.clone(),
                        },
                    );
                }
                return Ok((bytes, link));
            }
            let message = error_message(&bytes);
            let code = status.as_u16();
            if code == 403 || code == 429 {
                if let Some(wait) = limits.rate_limit_wait(&message) {
                    self.rate_limited.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        wait_ms = wait.as_millis() as u64,
                        "GitHub rate limit; waiting it out"
                    );
                    self.block_for(wait);
                    if attempt >= self.timing.attempts {
                        return Err(GithubError::RateLimited(wait));
                    }
                    continue;
                }
                return Err(GithubError::Forbidden(message));
            }
            if status.is_server_error() {
                if attempt >= self.timing.attempts {
                    return Err(GithubError::Status {
                        status: code,
                        message,
                    });
                }
                tracing::warn!(
                    status = code,
                    retry_in_ms = backoff.as_millis() as u64,
                    "GitHub failed; retrying"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
                continue;
            }
            return Err(match code {
                401 => GithubError::Unauthorized,
                404 => GithubError::NotFound(what.to_string()),
                405 | 409 | 422 => GithubError::Refused(message),
                _ => GithubError::Status {
                    status: code,
                    message,
                },
            });
        }
    }

    fn block_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut b = self.blocked_until.lock().unwrap_or_else(|e| e.into_inner());
        if b.is_none_or(|t| t < until) {
            *b = Some(until);
        }
    }

    /// Sits out a rate-limit block (up to `max_wait`).
    async fn wait_for_limits(&self) -> Result<(), GithubError> {
        let until = *self.blocked_until.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = until {
            let left = t.saturating_duration_since(Instant::now());
            if left > self.timing.max_wait {
                return Err(GithubError::RateLimited(left));
            }
            tokio::time::sleep_until(t).await;
        }
        Ok(())
    }
}

/// The rate-limit headers of one answer.
#[derive(Debug, Default, PartialEq)]
struct Limits {
    remaining: Option<u64>,
    reset: Option<i64>,
    retry_after: Option<u64>,
}

impl Limits {
    fn from_headers(h: &header::HeaderMap) -> Limits {
        let num = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        Limits {
            remaining: num("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
            reset: num("x-ratelimit-reset").and_then(|v| v.parse().ok()),
            retry_after: num("retry-after").and_then(|v| v.parse().ok()),
        }
    }

    /// Until the primary window resets (at least a second, at most an hour).
    fn until_reset(&self) -> Duration {
        let now = Utc::now().timestamp();
        let secs = self
            .reset
            .map(|r| r.saturating_sub(now))
            .unwrap_or(60)
            .clamp(1, 3600);
        Duration::from_secs(secs as u64)
    }

    /// GitHub's rules for a 403/429: `retry-after` first, then an
    /// exhausted primary limit (wait for the reset), then a message naming
    /// a secondary limit (a minute); otherwise it is a permission problem,
    /// not a limit (`None`).
    fn rate_limit_wait(&self, message: &str) -> Option<Duration> {
        if let Some(s) = self.retry_after {
            return Some(Duration::from_secs(s.clamp(1, 3600)));
        }
        if self.remaining == Some(0) {
            return Some(self.until_reset());
        }
        message
            .to_ascii_lowercase()
            .contains("rate limit")
            .then(|| Duration::from_secs(60))
    }
}

fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect())
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        is_next.then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_next_is_found_among_the_others() {
        let h = r#"<https://api.github.com/repos/o/r/pulls?page=3>; rel="next", <https://api.github.com/repos/o/r/pulls?page=5>; rel="last", <https://api.github.com/repos/o/r/pulls?page=1>; rel="first""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/repos/o/r/pulls?page=3")
        );
        assert_eq!(
            next_link(r#"<https://x/?page=1>; rel="prev", <https://x/?page=1>; rel="first""#),
            None
        );
    }

    #[test]
    fn rate_limit_waits_follow_githubs_rules() {
        let secondary = Limits {
            remaining: Some(4000),
            reset: None,
            retry_after: Some(7),
        };
        assert_eq!(secondary.rate_limit_wait(""), Some(Duration::from_secs(7)));
        let primary = Limits {
            remaining: Some(0),
            reset: Some(Utc::now().timestamp() + 30),
            retry_after: None,
        };
        let w = primary.rate_limit_wait("API rate limit exceeded").unwrap();
        assert!((29..=31).contains(&w.as_secs()), "{w:?}");
        let unnamed = Limits {
            remaining: Some(10),
            ..Default::default()
        };
        assert_eq!(
            unnamed.rate_limit_wait("You have exceeded a secondary rate limit"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            unnamed.rate_limit_wait("Resource not accessible by personal access token"),
            None,
            "a permission problem is not waited out"
        );
    }

    #[test]
    fn references_and_agents() {
        let pr: PullRequest = serde_json::from_value(serde_json::json!({
            "number": 9, "title": "Fix the parser", "user": {"login": "alice", "type": "User"},
            "head": {"ref": "polecat/nux/gc-ab12", "sha": "abc"}, "base": {"ref": "main", "sha": "def"},
            "html_url": "https://github.com/o/r/pull/9", "state": "open",
            "body": "Fixes #12.", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        assert!(pr.by_agent());
        assert!(pr.references(12, "gc-zz99"));
        assert!(!pr.references(1, ""), "#12 is not #1");
        assert!(pr.references(3, "gc-ab12"), "the bead in the branch");
    }

    #[test]
    fn merge_method_follows_the_repo() {
        let mut r: Repo = serde_json::from_value(serde_json::json!({
            "full_name": "o/r", "default_branch": "main", "html_url": "https://github.com/o/r",
            "allow_squash_merge": false, "allow_merge_commit": false, "allow_rebase_merge": true
        }))
        .unwrap();
        assert_eq!(r.merge_method(), Some(MergeMethod::Rebase));
        r.allow_rebase_merge = Some(false);
        assert_eq!(r.merge_method(), None);
    }

    use crate::testing::bounded;
    use gasclaw_fakes::github::{FakeGithub, FakeGithubOptions, GhFault, NewPull};

    async fn world(page_size: usize) -> (FakeGithub, Github) {
        let fake = FakeGithub::start(FakeGithubOptions {
            page_size,
            ..Default::default()
        })
        .await
        .unwrap();
        let gh = Github::new(
            Url::parse(&fake.url()).unwrap(),
            fake.repo(),
            SecretString::from(fake.token().to_string()),
            Timing {
                backoff: Duration::from_millis(50),
                ..Timing::default()
            },
        )
        .unwrap();
        (fake, gh)
    }

    #[tokio::test]
    async fn unchanged_lists_come_back_as_304_over_every_page() {
        bounded(async {
            let (fake, gh) = world(2).await;
            for i in 0..5 {
                fake.open_pull(NewPull::new(&format!("pr {i}"), "alice", &format!("b{i}")));
            }
            let first = gh.open_pulls().await.unwrap();
            assert_eq!(first.len(), 5, "three pages followed");
            let floor = fake.last_seq();
            let again = gh.open_pulls().await.unwrap();
            assert_eq!(again, first);
            let later: Vec<_> = fake
                .requests()
                .into_iter()
                .filter(|r| r.seq > floor)
                .collect();
            assert_eq!(later.len(), 3);
            assert!(
                later
                    .iter()
                    .all(|r| r.status == 304 && r.if_none_match.is_some()),
                "{later:?}"
            );
            assert_eq!(gh.stats().not_modified, 3);
            assert_eq!(gh.stats().remaining, Some(5000 - 3), "304s cost nothing");
            fake.open_pull(NewPull::new("pr 5", "bob", "b5"));
            assert_eq!(gh.open_pulls().await.unwrap().len(), 6);
        })
        .await
    }

    #[tokio::test]
    async fn rate_limits_are_waited_out_and_5xx_retried() {
        bounded(async {
            let (fake, gh) = world(30).await;
            fake.open_issue("a bug", "carol");
            fake.inject(GhFault::Secondary { retry_after: 1 });
            let t = Instant::now();
            assert_eq!(gh.open_issues().await.unwrap().len(), 1);
            assert!(
                t.elapsed() >= Duration::from_millis(950),
                "{:?}",
                t.elapsed()
            );
            fake.inject(GhFault::Primary { reset_in: 2 });
            let t = Instant::now();
            assert_eq!(gh.open_issues().await.unwrap().len(), 1);
            assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
            let reqs = fake.requests();
            let limited: Vec<_> = reqs.iter().filter(|r| r.status == 403).collect();
            assert_eq!(limited.len(), 2);
            for l in limited {
                let next = reqs.iter().find(|r| r.seq == l.seq + 1).unwrap();
                assert!(next.at.duration_since(l.at) >= Duration::from_millis(900));
            }
            assert_eq!(gh.stats().rate_limited, 2);
            fake.inject(GhFault::ServerError);
            fake.inject(GhFault::ServerError);
            assert_eq!(gh.open_issues().await.unwrap().len(), 1);
        })
        .await
    }

    #[tokio::test]
    async fn a_wrong_token_is_named_and_never_shown() {
        bounded(async {
            let (fake, _) = world(30).await;
            let gh = Github::new(
                Url::parse(&fake.url()).unwrap(),
                fake.repo(),
                SecretString::from("github_pat_wrongwrongwrong".to_string()),
                Timing::default(),
            )
            .unwrap();
            let e = gh.open_pulls().await.unwrap_err();
            assert!(matches!(e, GithubError::Unauthorized));
            assert!(!e.to_string().contains("wrongwrong"));
            assert!(!format!("{gh:?}").contains("wrongwrong"));
            assert!(fake.requests().iter().all(|r| !r.authorized));
        })
        .await
    }

    #[tokio::test]
    async fn one_request_in_flight_per_resource() {
        bounded(async {
            let (fake, gh) = world(30).await;
            fake.open_issue("x", "y");
            fake.inject(GhFault::Secondary { retry_after: 1 });
            let gh = Arc::new(gh);
            let (a, b) = tokio::join!(gh.open_issues(), gh.open_issues());
            assert!(a.is_ok() && b.is_ok());
            // The second caller waited for the first: never two requests
            // on the issues list at the same moment, and the second one was
            // conditional.
            let reqs: Vec<_> = fake.requests();
            assert_eq!(reqs.len(), 3, "{reqs:?}");
            assert_eq!(reqs[2].status, 304);
        })
        .await
    }

    #[tokio::test]
    async fn merge_and_comment() {
        bounded(async {
            let (fake, gh) = world(30).await;
            let n = fake.open_pull(NewPull::new("p", "a", "b"));
            fake.set_check(n, "ci", Some("failure"));
            let pr = gh.pull(n).await.unwrap();
            let checks = gh.checks(&pr.head.sha).await.unwrap();
            assert_eq!(checks[0].state, CheckState::Failed);
            assert!(matches!(
                gh.merge(n, &pr.head.sha, MergeMethod::Squash).await,
                Err(GithubError::Refused(_))
            ));
            fake.set_check(n, "ci", Some("success"));
            gh.merge(n, &pr.head.sha, MergeMethod::Squash)
                .await
                .unwrap();
            assert!(fake.is_merged(n));
            let i = fake.open_issue("bug", "c");
            gh.comment(i, "hello").await.unwrap();
            assert_eq!(fake.comments(i), ["hello"]);
        })
        .await
    }
}
