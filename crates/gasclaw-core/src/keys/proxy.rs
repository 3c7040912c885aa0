//! The Anthropic-compatible, key-rotating reverse proxy the agents and the
//! overseer talk to (kimi-api.md §5 is the spec).
//!
//! A request carries a local token; the proxy resolves the caller, takes a
//! pooled key for it, forwards the request with `x-api-key: <pooled key>`,
//! and decides on the status line before any byte reaches the client: a
//! success streams through untouched (SSE byte for byte), a rate limit or
//! quota refusal cools the key and replays the same request with the next
//! one, a request error passes through. The agent never sees a 429 while any
//! key is usable.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::PoolKind;
use super::pool::{KeyPools, Lease, Outcome, Selection};
use super::tokens::LocalTokens;
use super::usage::meter::Meter;
use super::usage::{Recorder, RequestOutcome, Tokens};

/// Error bodies read from upstream to classify them (they are small).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The longest cooldown an upstream `retry-after` may impose: a header
/// asking for more (a bug or a hostile upstream) is clamped, so one answer
/// can never take a key out of rotation for years.
pub const MAX_RETRY_AFTER: Duration = super::pool::MAX_COOLDOWN;

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// `KIMI_BASE_URL`, e.g. `https://api.kimi.com/coding/`.
    pub upstream: url::Url,
    /// Request bodies up to this size are held for replay on another key.
    pub max_replay_body: usize,
    pub connect_timeout: Duration,
    /// Longest silence from upstream (before headers, between body chunks
    /// of a success, and while reading an error body): `PROXY_IDLE_TIMEOUT`.
    pub idle_timeout: Duration,
    /// Token accounting: every answer's `usage` is read as it passes and
    /// counted here (off when `None`).
    pub usage: Option<Recorder>,
}

impl ProxyConfig {
    pub fn new(upstream: url::Url) -> ProxyConfig {
        ProxyConfig {
            upstream,
            max_replay_body: 32 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            usage: None,
        }
    }
}

/// Counters for logs and `/metrics`: never a key, only its hint.
#[derive(Debug, Default)]
pub struct ProxyMetrics {
    requests: std::sync::Mutex<BTreeMap<(u16, String), u64>>,
    retries: AtomicU64,
    upstream_errors: AtomicU64,
}

#[derive(Debug, Clone, Default)]
pub struct MetricsSnapshot {
    /// (status, key hint or "" when no key was used, count)
    pub requests: Vec<(u16, String, u64)>,
    pub retries: u64,
    pub upstream_errors: u64,
}

impl ProxyMetrics {
    fn count(&self, status: u16, hint: &str) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((status, hint.to_string())).or_default() += 1;
        }
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            requests: self
                .requests
                .lock()
                .map(|m| m.iter().map(|((s, h), n)| (*s, h.clone(), *n)).collect())
                .unwrap_or_default(),
            retries: self.retries.load(Ordering::Relaxed),
            upstream_errors: self.upstream_errors.load(Ordering::Relaxed),
        }
    }
}

struct Inner {
    pools: Arc<KeyPools>,
    tokens: Arc<LocalTokens>,
    cfg: ProxyConfig,
    client: reqwest::Client,
    metrics: Arc<ProxyMetrics>,
}

#[derive(Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
}

impl Proxy {
    pub fn new(
        pools: Arc<KeyPools>,
        tokens: Arc<LocalTokens>,
        cfg: ProxyConfig,
    ) -> Result<Proxy, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .no_proxy()
            .build()?;
        Ok(Proxy {
            inner: Arc::new(Inner {
                pools,
                tokens,
                cfg,
                client,
                metrics: Arc::default(),
            }),
        })
    }

    pub fn metrics(&self) -> Arc<ProxyMetrics> {
        self.inner.metrics.clone()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .fallback(handle)
            .with_state(self.inner.clone())
    }

    /// Serves until `shutdown` is cancelled.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        use axum::serve::ListenerExt;
        // Without TCP_NODELAY, Nagle's algorithm holds each small SSE write
        // until the client's delayed ACK: about 40 ms per event.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, self.router())
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    }
}

/// Anthropic's error shape.
fn error_response(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"type": "error", "error": {"type": kind, "message": message}});
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn presented_token(h: &HeaderMap) -> Option<String> {
    if let Some(v) = h.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_string());
    }
    let auth = h.get("authorization")?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// Headers never forwarded: hop-by-hop ones, the client's credentials
/// (the local token must not leave), and those reqwest sets itself.
fn skip_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
            | "x-api-key"
            | "authorization"
            // Plain bodies, so error bodies can be classified.
            | "accept-encoding"
    )
}

enum ReqBody {
    Buffered(Bytes),
    /// Larger than the replay limit: forwarded once, as it comes.
    Oversize(Option<reqwest::Body>),
}

async fn read_body(body: Body, limit: usize) -> Result<ReqBody, String> {
    let mut body = body;
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
            if buf.len() > limit {
                let prefix = buf.freeze();
                let rest = body.into_data_stream();
                let stream =
                    futures_util::stream::once(async move { Ok::<Bytes, axum::Error>(prefix) })
                        .chain(rest);
                return Ok(ReqBody::Oversize(Some(reqwest::Body::wrap_stream(stream))));
            }
        }
    }
    Ok(ReqBody::Buffered(buf.freeze()))
}

/// What an upstream answer means for the key and for the client.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    /// The key's fault: cool it (or mark it) and try another key.
    Rotate(Outcome),
    /// The key is refused as invalid (401).
    Invalid,
    /// Not the key's fault: the client gets this answer.
    PassThrough(Outcome),
}

fn classify(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> Verdict {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let kind = v["error"]["type"].as_str().unwrap_or("").to_string();
    let msg = v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_ascii_lowercase();
    match status.as_u16() {
        429 => {
            if kind == "engine_overloaded_error" || msg.contains("overload") {
                Verdict::PassThrough(Outcome::Overloaded)
            } else if kind == "exceeded_current_quota_error" {
                Verdict::Rotate(Outcome::QuotaExhausted)
            } else {
                Verdict::Rotate(Outcome::RateLimited { retry_after })
            }
        }
        403 => {
            if msg.contains("only available for coding agents") {
                // The request's client headers, not the key: every key would fail.
                Verdict::PassThrough(Outcome::UpstreamError)
            } else if msg.contains("concurrent request") {
                Verdict::Rotate(Outcome::Concurrency)
            } else if (kind == "access_terminated_error" || kind == "permission_error")
                && (msg.contains("usage limit")
                    || msg.contains("quota")
                    || msg.contains("billing cycle"))
            {
                Verdict::Rotate(Outcome::QuotaExhausted)
            } else {
                Verdict::PassThrough(Outcome::UpstreamError)
            }
        }
        401 => Verdict::Invalid,
        s if s >= 500 => Verdict::PassThrough(Outcome::UpstreamError),
        _ => Verdict::PassThrough(Outcome::Success),
    }
}

/// `retry-after` in seconds, clamped to [`MAX_RETRY_AFTER`].
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let raw = h.get("retry-after")?.to_str().ok()?.trim();
    // All digits but too large for u64 is "very long": clamp, don't ignore.
    let secs = match raw.parse::<u64>() {
        Ok(s) => s,
        Err(_) if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) => u64::MAX,
        Err(_) => return None,
    };
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// Whether a request path may be forwarded: no `.` or `..` segment, plain
/// or percent-encoded, and no encoded slash or backslash that a server
/// behind the upstream might decode into one. Such a path could climb out
/// of `KIMI_BASE_URL`'s path.
fn path_is_safe(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") || path.contains('\\') {
        return false;
    }
    path.split('/').all(|seg| {
        let decoded = seg.to_ascii_lowercase().replace("%2e", ".");
        decoded != "." && decoded != ".."
    })
}

/// The upstream URL for a request path: `KIMI_BASE_URL`'s path followed by
/// the request's, refused unless the result stays under the base path.
fn upstream_url(base: &url::Url, path_q: &str) -> Option<url::Url> {
    let path = path_q.split('?').next().unwrap_or("");
    if !path.starts_with('/') || !path_is_safe(path) {
        return None;
    }
    let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path_q);
    let url = url::Url::parse(&joined).ok()?;
    (url.path().starts_with(base.path())
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default())
    .then_some(url)
}

/// Upstream body chunks with at most `idle` between two of them; a silence
/// longer than that ends the stream with an error (the client sees the
/// stream cut, the connection upstream is dropped).
fn idle_limited<S>(
    stream: S,
    idle: Duration,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: futures_util::Stream<Item = Result<Bytes, reqwest::Error>> + Send + Unpin + 'static,
{
    futures_util::stream::unfold(Some(stream), move |state| async move {
        let mut s = state?;
        match tokio::time::timeout(idle, s.next()).await {
            Ok(Some(Ok(b))) => Some((Ok(b), Some(s))),
            Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e)), None)),
            Ok(None) => None,
            Err(_) => {
                tracing::warn!(
                    idle_s = idle.as_secs(),
                    "upstream silent between body chunks; cutting the stream"
                );
                Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "upstream idle timeout",
                    )),
                    None,
                ))
            }
        }
    })
}

fn copy_response_headers(from: &reqwest::header::HeaderMap, to: &mut HeaderMap) {
    for (k, v) in from {
        if skip_header(k) {
            continue;
        }
        to.append(k.clone(), v.clone());
    }
}

fn all_cooling(pool: PoolKind, wait: Duration) -> Response {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut r = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_error",
        &format!(
            "all {} keys are cooling down; next available in {secs}s",
            match pool {
                PoolKind::Agents => "agent",
                PoolKind::Overseer => "overseer",
            }
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

/// An error body, bounded in size and in silence between chunks (what was
/// read before a silence is kept: enough to classify most answers).
async fn read_limited(resp: reqwest::Response, idle: Duration) -> Bytes {
    let mut stream = resp.bytes_stream();
    let mut buf = BytesMut::new();
    loop {
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(chunk))) => {
                buf.extend_from_slice(&chunk);
                if buf.len() >= MAX_ERROR_BODY {
                    break;
                }
            }
            Ok(Some(Err(_)) | None) => break,
            Err(_) => {
                tracing::warn!(
                    idle_s = idle.as_secs(),
                    "upstream silent while sending an error body; giving up on it"
                );
                break;
            }
        }
    }
    buf.freeze()
}

/// The model a request asked for (read only when the answer will not say).
fn asked_model(body: &ReqBody) -> String {
    #[derive(serde::Deserialize)]
    struct Asked {
        #[serde(default)]
        model: Option<String>,
    }
    match body {
        ReqBody::Buffered(b) => serde_json::from_slice::<Asked>(b)
            .ok()
            .and_then(|a| a.model)
            .unwrap_or_default(),
        ReqBody::Oversize(_) => String::new(),
    }
}

/// Counts a request that got no answer worth reading (an error status, no
/// key, the upstream down).
fn count_failed(meter: &mut Option<Meter>, key: &str, body: &ReqBody) {
    if let Some(m) = meter.take() {
        m.finish(
            key,
            &asked_model(body),
            RequestOutcome::Failed,
            Tokens::default(),
        );
    }
}

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let started = Instant::now();
    // Claude Code's connectivity probe: answered here, never forwarded.
    if req.method() == Method::HEAD {
        return StatusCode::OK.into_response();
    }
    let Some(caller) = presented_token(req.headers()).and_then(|t| inner.tokens.resolve(&t)) else {
        inner.metrics.count(401, "");
        tracing::warn!(path = %req.uri().path(), "proxy request without a valid local token");
        return error_response(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid or missing local token",
        );
    };
    let path_q = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let Some(url) = upstream_url(&inner.cfg.upstream, &path_q) else {
        inner.metrics.count(400, "");
        tracing::warn!(agent = %caller.agent, "proxy request with a path outside the API refused");
        return error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "the request path may not contain `.` or `..` segments or encoded slashes",
        );
    };
    let mut meter = inner
        .cfg
        .usage
        .as_ref()
        .map(|r| Meter::new(r.clone(), &caller.agent, caller.pool));
    let (parts, body) = req.into_parts();
    let mut body = match read_body(body, inner.cfg.max_replay_body).await {
        Ok(b) => b,
        Err(e) => {
            count_failed(&mut meter, "", &ReqBody::Buffered(Bytes::new()));
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!("reading the request body: {e}"),
            );
        }
    };
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &parts.headers {
        if !skip_header(k) {
            headers.append(k.clone(), v.clone());
        }
    }
    let pool = inner.pools.pool(caller.pool);
    let keys = pool.len();
    let mut attempts = 0usize;
    let mut seen_401 = false;
    loop {
        let lease: Lease = match pool.select(&caller.agent) {
            Selection::Key(l) => l,
            Selection::AllCooling { retry_after, .. } => {
                inner.metrics.count(429, "");
                count_failed(&mut meter, "", &body);
                tracing::warn!(agent = %caller.agent, pool = %caller.pool, wait_s = retry_after.as_secs(), "all keys cooling");
                return all_cooling(caller.pool, retry_after);
            }
            Selection::NoUsableKey => {
                inner.metrics.count(502, "");
                count_failed(&mut meter, "", &body);
                return error_response(
                    StatusCode::BAD_GATEWAY,
                    "api_error",
                    &format!(
                        "every key in the {} pool was refused by the upstream as invalid",
                        caller.pool
                    ),
                );
            }
        };
        attempts += 1;
        let mut key_value = match HeaderValue::from_str(lease.key().expose_secret()) {
            Ok(v) => v,
            Err(_) => {
                pool.report(&lease, Outcome::Invalid);
                continue;
            }
        };
        // Taken only once the key can be sent: a streamed body goes once.
        let (req_body, replayable) = match &mut body {
            ReqBody::Buffered(b) => (reqwest::Body::from(b.clone()), true),
            ReqBody::Oversize(b) => (
                b.take()
                    .unwrap_or_else(|| reqwest::Body::from(Bytes::new())),
                false,
            ),
        };
        key_value.set_sensitive(true);
        if let Some(m) = meter.as_mut() {
            m.attempt(&lease.hint);
        }
        let send = inner
            .client
            .request(parts.method.clone(), url.clone())
            .headers(headers.clone())
            .header("x-api-key", key_value)
            .body(req_body)
            .send();
        let resp = match tokio::time::timeout(inner.cfg.idle_timeout, send).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                pool.report(&lease, Outcome::UpstreamError);
                inner
                    .metrics
                    .upstream_errors
                    .fetch_add(1, Ordering::Relaxed);
                let (status, what) = if e.is_timeout() {
                    (StatusCode::GATEWAY_TIMEOUT, "timed out")
                } else if e.is_connect() {
                    (StatusCode::BAD_GATEWAY, "unreachable")
                } else {
                    (StatusCode::BAD_GATEWAY, "failed")
                };
                inner.metrics.count(status.as_u16(), &lease.hint);
                count_failed(&mut meter, &lease.hint, &body);
                tracing::warn!(agent = %caller.agent, key = %lease.hint, status = status.as_u16(), "upstream {what}");
                return error_response(
                    status,
                    "api_error",
                    &format!("the upstream model API {what}"),
                );
            }
            Err(_) => {
                pool.report(&lease, Outcome::UpstreamError);
                inner
                    .metrics
                    .upstream_errors
                    .fetch_add(1, Ordering::Relaxed);
                inner.metrics.count(504, &lease.hint);
                count_failed(&mut meter, &lease.hint, &body);
                tracing::warn!(agent = %caller.agent, key = %lease.hint, "upstream sent no answer in time");
                return error_response(
                    StatusCode::GATEWAY_TIMEOUT,
                    "api_error",
                    &format!(
                        "the upstream model API sent no answer within {}s",
                        inner.cfg.idle_timeout.as_secs()
                    ),
                );
            }
        };
        let status = resp.status();
        if status.is_success() {
            pool.report(&lease, Outcome::Success);
            inner.metrics.count(status.as_u16(), &lease.hint);
            tracing::info!(
                agent = %caller.agent,
                key = %lease.hint,
                status = status.as_u16(),
                latency_ms = started.elapsed().as_millis() as u64,
                retries = attempts - 1,
                "proxied"
            );
            let mut out = Response::builder().status(status.as_u16());
            if let Some(h) = out.headers_mut() {
                copy_response_headers(resp.headers(), h);
            }
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let upstream = idle_limited(resp.bytes_stream(), inner.cfg.idle_timeout);
            let body = match meter.take() {
                Some(m) => Body::from_stream(m.wrap(upstream, ct.as_deref(), &lease.hint)),
                None => Body::from_stream(upstream),
            };
            return out.body(body).unwrap_or_else(|_| {
                error_response(
                    StatusCode::BAD_GATEWAY,
                    "api_error",
                    "bad upstream response",
                )
            });
        }
        let resp_headers = resp.headers().clone();
        let wait = retry_after(&resp_headers);
        let err_body = read_limited(resp, inner.cfg.idle_timeout).await;
        let verdict = match classify(status, &err_body, wait) {
            // A second 401 in one request is systemic (say, a wrong auth
            // scheme): pass it on rather than disabling every key.
            Verdict::Invalid if seen_401 => Verdict::PassThrough(Outcome::UpstreamError),
            v => v,
        };
        let rotate = match verdict {
            Verdict::Rotate(outcome) => {
                pool.report(&lease, outcome);
                true
            }
            Verdict::Invalid => {
                seen_401 = true;
                pool.report(&lease, Outcome::Invalid);
                true
            }
            Verdict::PassThrough(outcome) => {
                pool.report(&lease, outcome);
                false
            }
        };
        tracing::info!(agent = %caller.agent, key = %lease.hint, status = status.as_u16(), rotate, "upstream refused");
        if rotate && replayable && attempts < keys {
            inner.metrics.retries.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if rotate && replayable && !matches!(verdict, Verdict::Invalid) {
            // Every key tried: tell the client when the first one is back.
            if let Selection::AllCooling { retry_after, .. } = pool.select(&caller.agent) {
                inner.metrics.count(429, &lease.hint);
                count_failed(&mut meter, &lease.hint, &body);
                return all_cooling(caller.pool, retry_after);
            }
        }
        inner.metrics.count(status.as_u16(), &lease.hint);
        count_failed(&mut meter, &lease.hint, &body);
        let mut out = Response::builder().status(status.as_u16());
        if let Some(h) = out.headers_mut() {
            copy_response_headers(&resp_headers, h);
        }
        return out.body(Body::from(err_body)).unwrap_or_else(|_| {
            error_response(
                StatusCode::BAD_GATEWAY,
                "api_error",
                "bad upstream response",
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: &str, msg: &str) -> Vec<u8> {
        json!({"error": {"type": kind, "message": msg}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn classification_follows_the_table() {
        let s = |c| StatusCode::from_u16(c).unwrap();
        assert_eq!(
            classify(
                s(429),
                &body(
                    "rate_limit_reached_error",
                    "We're receiving too many requests"
                ),
                None
            ),
            Verdict::Rotate(Outcome::RateLimited { retry_after: None })
        );
        assert_eq!(
            classify(
                s(429),
                &body(
                    "rate_limit_error",
                    "The engine is currently overloaded, please try again later"
                ),
                None
            ),
            Verdict::PassThrough(Outcome::Overloaded)
        );
        assert_eq!(
            classify(s(429), &body("engine_overloaded_error", "x"), None),
            Verdict::PassThrough(Outcome::Overloaded)
        );
        assert_eq!(
            classify(s(429), &body("exceeded_current_quota_error", "x"), None),
            Verdict::Rotate(Outcome::QuotaExhausted)
        );
        assert_eq!(
            classify(
                s(403),
                &body(
                    "access_terminated_error",
                    "You've reached your weekly (7-day) usage limit."
                ),
                None
            ),
            Verdict::Rotate(Outcome::QuotaExhausted)
        );
        assert_eq!(
            classify(
                s(403),
                &body(
                    "permission_error",
                    "You've reached your usage limit for this billing cycle."
                ),
                None
            ),
            Verdict::Rotate(Outcome::QuotaExhausted)
        );
        assert_eq!(
            classify(
                s(403),
                &body(
                    "permission_error",
                    "You've reached your concurrent request limit."
                ),
                None
            ),
            Verdict::Rotate(Outcome::Concurrency)
        );
        assert_eq!(
            classify(
                s(403),
                &body(
                    "access_terminated_error",
                    "Kimi For Coding is currently only available for Coding Agents such as Kimi CLI"
                ),
                None
            ),
            Verdict::PassThrough(Outcome::UpstreamError)
        );
        assert_eq!(
            classify(
                s(400),
                &body("invalid_request_error", "a max of 128 tools"),
                None
            ),
            Verdict::PassThrough(Outcome::Success)
        );
        assert_eq!(
            classify(s(401), &body("invalid_authentication_error", "x"), None),
            Verdict::Invalid
        );
        assert_eq!(
            classify(s(529), b"", None),
            Verdict::PassThrough(Outcome::UpstreamError)
        );
        // Anthropic's shape parses too; an unreadable 429 still rotates.
        assert_eq!(
            classify(s(429), br#"{"type":"error","error":{"type":"rate_limit_error","message":"engine overloaded"}}"#, None),
            Verdict::PassThrough(Outcome::Overloaded)
        );
        assert_eq!(
            classify(s(429), b"<html>", None),
            Verdict::Rotate(Outcome::RateLimited { retry_after: None })
        );
    }

    #[test]
    fn retry_after_is_clamped_to_a_day() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "9000000000000".parse().unwrap());
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        h.insert("retry-after", "99999999999999999999999".parse().unwrap());
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        h.insert("retry-after", "30".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(30)));
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn upstream_paths_stay_under_the_base_path() {
        let base: url::Url = "https://api.kimi.com/coding/".parse().unwrap();
        assert_eq!(
            upstream_url(&base, "/v1/messages?beta=true")
                .unwrap()
                .as_str(),
            "https://api.kimi.com/coding/v1/messages?beta=true"
        );
        for bad in [
            "/../v1/messages",
            "/v1/../../admin",
            "/%2e%2e/admin",
            "/%2E%2e/admin",
            "/.%2e/admin",
            "/v1/./messages",
            "/v1%2f..%2fadmin",
            "/v1/..%5cadmin",
            "/..",
        ] {
            assert!(upstream_url(&base, bad).is_none(), "{bad} was let through");
        }
    }

    #[test]
    fn tokens_come_from_either_header() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer gclt-abc"));
        assert_eq!(presented_token(&h).as_deref(), Some("gclt-abc"));
        h.insert("x-api-key", HeaderValue::from_static("gclt-xyz"));
        assert_eq!(presented_token(&h).as_deref(), Some("gclt-xyz"));
        assert_eq!(presented_token(&HeaderMap::new()), None);
    }
}
