//! A fake GitHub REST API on 127.0.0.1 for one repository: pull requests,
//! their check runs and commit statuses, issues and comments, merges. It
//! checks the token (`Authorization: Bearer|token …`, else 401 "Bad
//! credentials"), serves an `ETag` on every GET and answers a matching
//! `If-None-Match` with 304 (which, as on GitHub, costs no rate limit),
//! paginates with `Link` (`page_size` items per page, whatever `per_page`
//! asks), sends the `x-ratelimit-*` headers, can answer a secondary rate
//! limit (403 + `retry-after`), a primary one (403 + `x-ratelimit-remaining:
//! 0` + `x-ratelimit-reset`) or a 502, and records every request.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct FakeGithubOptions {
    pub token: String,
    /// `owner/name`.
    pub repo: String,
    pub page_size: usize,
    pub allow_squash: bool,
    pub allow_merge_commit: bool,
    pub allow_rebase: bool,
}

impl Default for FakeGithubOptions {
    fn default() -> Self {
        FakeGithubOptions {
            token: "github_pat_11FAKE0000000000000000_fakefakefakefake".into(),
            repo: "acme/widgets".into(),
            page_size: 30,
            allow_squash: true,
            allow_merge_commit: true,
            allow_rebase: true,
        }
    }
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct GhRequest {
    pub seq: u64,
    pub method: String,
    /// Without the leading slash: `repos/acme/widgets/pulls`.
    pub path: String,
    pub query: String,
    pub if_none_match: Option<String>,
    pub authorized: bool,
    pub body: Value,
    pub status: u16,
    pub at: Instant,
}

/// An answer to force on the next request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GhFault {
    /// 403 "You have exceeded a secondary rate limit", `retry-after: secs`.
    Secondary { retry_after: u64 },
    /// 403 "API rate limit exceeded", remaining 0, reset in `secs`.
    Primary { reset_in: u64 },
    /// 502 Bad Gateway.
    ServerError,
}

/// A pull request to open.
#[derive(Debug, Clone)]
pub struct NewPull {
    pub title: String,
    pub author: String,
    pub bot: bool,
    pub branch: String,
    pub body: String,
    pub additions: u64,
    pub deletions: u64,
    pub changed_files: u64,
}

impl NewPull {
    pub fn new(title: &str, author: &str, branch: &str) -> NewPull {
        NewPull {
            title: title.into(),
            author: author.into(),
            bot: false,
            branch: branch.into(),
            body: String::new(),
            additions: 10,
            deletions: 2,
            changed_files: 3,
        }
    }
}

#[derive(Default)]
struct St {
    pulls: BTreeMap<u64, Value>,
    issues: BTreeMap<u64, Value>,
    checks: HashMap<String, Vec<Value>>,
    statuses: HashMap<String, Vec<Value>>,
    comments: BTreeMap<u64, Vec<String>>,
    requests: Vec<GhRequest>,
    faults: VecDeque<GhFault>,
    next_number: u64,
    next_sha: u64,
    remaining: u64,
    seq: u64,
    /// The last push (a pull request's branch counts).
    pushed_at: String,
}

struct Shared {
    opts: FakeGithubOptions,
    st: Mutex<St>,
    new_request: Notify,
    base: String,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, St> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The fake server. Cheap to clone.
#[derive(Clone)]
pub struct FakeGithub {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: tokio_util::sync::CancellationToken,
}

fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl FakeGithub {
    pub async fn start(opts: FakeGithubOptions) -> std::io::Result<FakeGithub> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            opts,
            st: Mutex::new(St {
                next_number: 1,
                next_sha: 1,
                remaining: 5000,
                pushed_at: now_iso(),
                ..Default::default()
            }),
            new_request: Notify::new(),
            base: format!("http://{addr}"),
        });
        let stop = tokio_util::sync::CancellationToken::new();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let s = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { s.cancelled().await })
                .await;
        });
        Ok(FakeGithub { shared, addr, stop })
    }

    /// `http://127.0.0.1:<port>/`, for `GITHUB_API_URL`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn token(&self) -> &str {
        &self.shared.opts.token
    }

    pub fn repo(&self) -> &str {
        &self.shared.opts.repo
    }

    fn html(&self, rest: &str) -> String {
        format!("https://github.com/{}/{rest}", self.shared.opts.repo)
    }

    /// Opens a pull request; its number.
    pub fn open_pull(&self, p: NewPull) -> u64 {
        let mut st = self.shared.lock();
        let n = st.next_number;
        st.next_number += 1;
        let sha = format!("{:040x}", 0xabc0000 + st.next_sha);
        st.next_sha += 1;
        let now = now_iso();
        st.pushed_at = now.clone();
        st.pulls.insert(
            n,
            json!({
                "number": n, "title": p.title, "state": "open", "draft": false,
                "user": {"login": p.author, "type": if p.bot { "Bot" } else { "User" }},
                "head": {"ref": p.branch, "sha": sha}, "base": {"ref": "main", "sha": "0".repeat(40)},
                "html_url": self.html(&format!("pull/{n}")), "body": p.body,
                "additions": p.additions, "deletions": p.deletions, "changed_files": p.changed_files,
                "requested_reviewers": [], "merged": false, "merged_at": null,
                "created_at": now, "updated_at": now,
            }),
        );
        n
    }

    /// Opens an issue; its number.
    pub fn open_issue(&self, title: &str, author: &str) -> u64 {
        let mut st = self.shared.lock();
        let n = st.next_number;
        st.next_number += 1;
        st.issues.insert(
            n,
            json!({
                "number": n, "title": title, "state": "open", "body": "",
                "user": {"login": author, "type": "User"},
                "html_url": self.html(&format!("issues/{n}")), "created_at": now_iso(),
            }),
        );
        n
    }

    pub fn head_sha(&self, pull: u64) -> Option<String> {
        self.shared
            .lock()
            .pulls
            .get(&pull)
            .and_then(|p| p["head"]["sha"].as_str().map(str::to_string))
    }

    /// Sets (adds or replaces) a check run on a pull request's head:
    /// `conclusion` `None` means still running.
    pub fn set_check(&self, pull: u64, name: &str, conclusion: Option<&str>) {
        let Some(sha) = self.head_sha(pull) else {
            return;
        };
        let mut st = self.shared.lock();
        let runs = st.checks.entry(sha).or_default();
        runs.retain(|r| r["name"] != name);
        runs.push(json!({
            "name": name,
            "status": if conclusion.is_some() { "completed" } else { "in_progress" },
            "conclusion": conclusion,
            "html_url": format!("https://github.com/{}/actions/runs/{}", self.shared.opts.repo, 9000 + runs.len()),
        }));
        touch(&mut st, pull);
    }

    /// Asks `login` to review a pull request.
    pub fn request_review(&self, pull: u64, login: &str) {
        let mut st = self.shared.lock();
        if let Some(p) = st.pulls.get_mut(&pull)
            && let Some(r) = p["requested_reviewers"].as_array_mut()
        {
            r.push(json!({"login": login, "type": "User"}));
        }
        touch(&mut st, pull);
    }

    /// Closes a pull request without merging.
    pub fn close_pull(&self, pull: u64) {
        let mut st = self.shared.lock();
        if let Some(p) = st.pulls.get_mut(&pull) {
            p["state"] = json!("closed");
        }
        touch(&mut st, pull);
    }

    pub fn inject(&self, f: GhFault) {
        self.shared.lock().faults.push_back(f);
    }

    pub fn requests(&self) -> Vec<GhRequest> {
        self.shared.lock().requests.clone()
    }

    pub fn last_seq(&self) -> u64 {
        self.shared.lock().seq
    }

    /// The comments posted on an issue, oldest first.
    pub fn comments(&self, issue: u64) -> Vec<String> {
        self.shared
            .lock()
            .comments
            .get(&issue)
            .cloned()
            .unwrap_or_default()
    }

    /// Successful merges (`PUT …/merge` answered 200).
    pub fn merges(&self) -> Vec<GhRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "PUT" && r.path.ends_with("/merge") && r.status == 200)
            .collect()
    }

    pub fn is_merged(&self, pull: u64) -> bool {
        self.shared
            .lock()
            .pulls
            .get(&pull)
            .is_some_and(|p| p["merged"] == json!(true))
    }

    /// Waits until a recorded (or future) request satisfies `pred`.
    pub async fn wait_for<F: Fn(&GhRequest) -> bool>(
        &self,
        pred: F,
        timeout: Duration,
    ) -> Option<GhRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.new_request.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = self
                .shared
                .lock()
                .requests
                .iter()
                .find(|r| pred(r))
                .cloned()
            {
                return Some(r);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

fn touch(st: &mut St, pull: u64) {
    if let Some(p) = st.pulls.get_mut(&pull) {
        p["updated_at"] = json!(now_iso());
    }
}

fn message(status: u16, text: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        axum::Json(json!({"message": text, "documentation_url": "https://docs.github.com/rest"})),
    )
        .into_response()
}

fn etag_of(bytes: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().trim_start_matches('/').to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers = req.headers().clone();
    let bytes: Bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = &shared.opts.token;
    let authorized = auth == format!("Bearer {token}") || auth == format!("token {token}");
    let if_none_match = headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let resp = answer(
        &shared,
        &method,
        &path,
        &query,
        &body,
        authorized,
        if_none_match.as_deref(),
    );
    let call = {
        let mut st = shared.lock();
        st.seq += 1;
        let r = GhRequest {
            seq: st.seq,
            method,
            path,
            query,
            if_none_match,
            authorized,
            body,
            status: resp.status().as_u16(),
            at: Instant::now(),
        };
        st.requests.push(r.clone());
        r
    };
    drop(call);
    shared.new_request.notify_waiters();
    resp
}

fn reset_epoch(secs: u64) -> String {
    (chrono::Utc::now().timestamp() + secs as i64).to_string()
}

fn answer(
    shared: &Shared,
    method: &str,
    path: &str,
    query: &str,
    body: &Value,
    authorized: bool,
    if_none_match: Option<&str>,
) -> Response {
    if !authorized {
        return message(401, "Bad credentials");
    }
    let fault = shared.lock().faults.pop_front();
    match fault {
        Some(GhFault::Secondary { retry_after }) => {
            let mut r = message(
                403,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            );
            let h = r.headers_mut();
            h.insert("retry-after", hv(&retry_after.to_string()));
            h.insert("x-ratelimit-remaining", hv("4000"));
            h.insert("x-ratelimit-reset", hv(&reset_epoch(3600)));
            return r;
        }
        Some(GhFault::Primary { reset_in }) => {
            let mut r = message(403, "API rate limit exceeded for user ID 1.");
            let h = r.headers_mut();
            h.insert("x-ratelimit-limit", hv("5000"));
            h.insert("x-ratelimit-remaining", hv("0"));
            h.insert("x-ratelimit-reset", hv(&reset_epoch(reset_in)));
            return r;
        }
        Some(GhFault::ServerError) => return message(502, "Server Error"),
        None => {}
    }
    let q: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let parts: Vec<&str> = path.split('/').collect();
    let repo: Vec<&str> = shared.opts.repo.split('/').collect();
    if parts.len() < 3 || parts[0] != "repos" || parts[1] != repo[0] || parts[2] != repo[1] {
        return message(404, "Not Found");
    }
    let rest = &parts[3..];
    let mut st = shared.lock();
    let result: Result<(Value, bool), Response> = match (method, rest) {
        ("GET", []) => Ok((repo_json(shared, &st.pushed_at), false)),
        ("GET", ["pulls"]) => {
            let want = q.get("state").map(String::as_str).unwrap_or("open");
            let mut v: Vec<Value> = st
                .pulls
                .values()
                .filter(|p| want == "all" || p["state"] == want)
                .map(|p| with_mergeability(&st, p))
                .collect();
            if q.get("sort").map(String::as_str) == Some("updated") {
                v.sort_by(|a, b| b["updated_at"].as_str().cmp(&a["updated_at"].as_str()));
            }
            Ok((Value::Array(v), true))
        }
        ("GET", ["pulls", n]) => match n.parse::<u64>().ok().and_then(|n| st.pulls.get(&n)) {
            Some(p) => Ok((with_mergeability(&st, p), false)),
            None => Err(message(404, "Not Found")),
        },
        ("PUT", ["pulls", n, "merge"]) => {
            let n = n.parse::<u64>().unwrap_or(0);
            merge(shared, &mut st, n, body).map_err(|r| *r)
        }
        ("GET", ["issues"]) => {
            let mut v: Vec<Value> = st
                .issues
                .values()
                .filter(|i| i["state"] == "open")
                .cloned()
                .collect();
            // GitHub lists pull requests among the issues.
            for p in st.pulls.values().filter(|p| p["state"] == "open") {
                let mut i = p.clone();
                i["pull_request"] = json!({"url": p["html_url"]});
                v.push(i);
            }
            v.sort_by_key(|i| i["number"].as_u64());
            Ok((Value::Array(v), true))
        }
        ("GET", ["issues", n]) => match n.parse::<u64>().ok().and_then(|n| st.issues.get(&n)) {
            Some(i) => Ok((i.clone(), false)),
            None => Err(message(404, "Not Found")),
        },
        ("POST", ["issues", n, "comments"]) => {
            let n = n.parse::<u64>().unwrap_or(0);
            if !st.issues.contains_key(&n) && !st.pulls.contains_key(&n) {
                Err(message(404, "Not Found"))
            } else {
                let text = body["body"].as_str().unwrap_or("").to_string();
                let list = st.comments.entry(n).or_default();
                list.push(text);
                let id = list.len();
                Ok((
                    json!({"id": id, "html_url": format!("https://github.com/{}/issues/{n}#issuecomment-{id}", shared.opts.repo)}),
                    false,
                ))
            }
        }
        ("GET", ["commits", sha, "check-runs"]) => {
            let runs = st.checks.get(*sha).cloned().unwrap_or_default();
            // Paginated like GitHub: the list sits inside an object.
            Ok((json!({"total_count": runs.len(), "check_runs": runs}), true))
        }
        ("GET", ["commits", sha, "status"]) => {
            let statuses = st.statuses.get(*sha).cloned().unwrap_or_default();
            Ok((json!({"state": "success", "statuses": statuses}), false))
        }
        _ => Err(message(404, "Not Found")),
    };
    let (value, paged) = match result {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (value, link) = if paged {
        paginate(shared, path, &q, value)
    } else {
        (value, None)
    };
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    let tag = etag_of(&bytes);
    let mut headers = HeaderMap::new();
    let conditional_hit = method == "GET" && if_none_match == Some(tag.as_str());
    // A 304 costs nothing; anything else counts against the limit.
    if !conditional_hit {
        st.remaining = st.remaining.saturating_sub(1);
    }
    headers.insert("x-ratelimit-limit", hv("5000"));
    headers.insert("x-ratelimit-remaining", hv(&st.remaining.to_string()));
    headers.insert("x-ratelimit-reset", hv(&reset_epoch(3600)));
    if method == "GET" {
        headers.insert("etag", hv(&tag));
    }
    if let Some(l) = link {
        headers.insert("link", hv(&l));
    }
    if conditional_hit {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, bytes).into_response()
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn repo_json(shared: &Shared, pushed_at: &str) -> Value {
    let o = &shared.opts;
    json!({
        "full_name": o.repo, "default_branch": "main",
        "html_url": format!("https://github.com/{}", o.repo),
        "pushed_at": pushed_at,
        "allow_squash_merge": o.allow_squash, "allow_merge_commit": o.allow_merge_commit,
        "allow_rebase_merge": o.allow_rebase,
    })
}

/// GitHub's mergeability: blocked while a check fails or runs (as if every
/// check were required).
fn with_mergeability(st: &St, p: &Value) -> Value {
    let mut p = p.clone();
    if p["state"] != "open" {
        p["mergeable"] = Value::Null;
        p["mergeable_state"] = json!("unknown");
        return p;
    }
    let sha = p["head"]["sha"].as_str().unwrap_or("");
    let runs = st.checks.get(sha).cloned().unwrap_or_default();
    let green = runs
        .iter()
        .all(|r| r["status"] == "completed" && r["conclusion"] == "success");
    p["mergeable"] = json!(true);
    p["mergeable_state"] = json!(if green { "clean" } else { "blocked" });
    p
}

/// The merged answer, or the refusal (boxed: a `Response` is large).
fn merge(
    shared: &Shared,
    st: &mut St,
    n: u64,
    body: &Value,
) -> Result<(Value, bool), Box<Response>> {
    let Some(p) = st.pulls.get(&n) else {
        return Err(Box::new(message(404, "Not Found")));
    };
    let p = with_mergeability(st, p);
    if p["state"] != "open" {
        return Err(Box::new(message(405, "Pull Request is not mergeable")));
    }
    if p["mergeable_state"] != "clean" {
        return Err(Box::new(message(
            405,
            "Required status check \"ci\" is failing.",
        )));
    }
    if let Some(sha) = body["sha"].as_str()
        && p["head"]["sha"] != sha
    {
        return Err(Box::new(message(
            409,
            "Head branch was modified. Review and try the merge again.",
        )));
    }
    let o = &shared.opts;
    let allowed = match body["merge_method"].as_str().unwrap_or("merge") {
        "squash" => o.allow_squash,
        "rebase" => o.allow_rebase,
        _ => o.allow_merge_commit,
    };
    if !allowed {
        return Err(Box::new(message(
            405,
            "Merge method is not allowed on this repository",
        )));
    }
    if let Some(p) = st.pulls.get_mut(&n) {
        p["state"] = json!("closed");
        p["merged"] = json!(true);
        p["merged_at"] = json!(now_iso());
        p["updated_at"] = json!(now_iso());
    }
    Ok((
        json!({"sha": format!("{:040x}", 0xfeed0000u64 + n), "merged": true, "message": "Pull Request successfully merged"}),
        false,
    ))
}

/// Cuts a list into pages of `page_size`, with GitHub's `Link` header.
fn paginate(
    shared: &Shared,
    path: &str,
    q: &HashMap<String, String>,
    value: Value,
) -> (Value, Option<String>) {
    let size = shared.opts.page_size.max(1);
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let (items, wrap): (Vec<Value>, Option<&str>) = match &value {
        Value::Array(a) => (a.clone(), None),
        Value::Object(o) if o.contains_key("check_runs") => (
            o["check_runs"].as_array().cloned().unwrap_or_default(),
            Some("check_runs"),
        ),
        _ => return (value, None),
    };
    let last = items.len().div_ceil(size).max(1);
    let chunk: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    let link_to = |n: usize| {
        let mut params: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params.sort();
        params.push(("page".into(), n.to_string()));
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("{}/{path}?{qs}", shared.base)
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", link_to(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", link_to(1)));
        links.push(format!("<{}>; rel=\"prev\"", link_to(page - 1)));
    }
    let out = match wrap {
        None => Value::Array(chunk),
        Some(k) => json!({"total_count": value["total_count"], k: chunk}),
    };
    (out, (!links.is_empty()).then(|| links.join(", ")))
}
