//! A fake Kimi (Anthropic-compatible) upstream on 127.0.0.1, scripted per
//! key with the real bodies of kimi-api.md §3: used by tests, benchmarks and
//! the offline demo. It records which key served each request (by the label
//! the test gave it), never logging a key.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 200: SSE when the request asked to stream, JSON otherwise.
    Ok(String),
    /// 200 with the SSE sequence regardless of the request.
    OkSse(String),
    OkJson(String),
    /// A stream whose first byte waits, then `chunks` deltas spaced out.
    SlowSse {
        first_byte_after: Duration,
        chunk_every: Duration,
        chunks: usize,
    },
    /// E1: 429 `rate_limit_reached_error`, optionally with `retry-after`.
    RateLimited {
        retry_after: Option<u64>,
    },
    /// An error status whose body starts and then never ends.
    StalledError(u16),
    /// E2: 429 overload (not the key's fault).
    Overloaded,
    /// E5: 403 weekly quota.
    Quota,
    /// E7: 403 concurrency.
    Concurrency,
    /// E8: 403 client not whitelisted.
    NotWhitelisted,
    /// E9: 400.
    BadRequest,
    /// E10: 401.
    Unauthorized,
    ServerError(u16),
    /// Never answers (until the client gives up).
    Hang,
    /// Closes the connection without an answer.
    DropConnection,
    /// 200, a first delta, then `event: error`.
    MidStreamError,
    /// 200 with these usage figures: SSE (`message_start` carries input
    /// and cache tokens and 1 output token; `message_delta` the cumulative
    /// output) when the request streams, JSON otherwise.
    WithUsage(FakeUsage),
    /// 200 SSE: `message_start` with this usage and one delta, then the
    /// connection breaks (no `message_delta`, no `message_stop`).
    CutStream(FakeUsage),
}

/// Token counts a scripted answer reports.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FakeUsage {
    pub input: u64,
    pub output: u64,
    pub cache_creation: u64,
    pub cache_read: u64,
}

/// What `GET /coding/v1/usages` answers for a key.
#[derive(Debug, Clone, PartialEq)]
pub enum UsagesReply {
    /// The 7-day window, numbers as strings (as Kimi sends them).
    Quota {
        limit: u64,
        used: u64,
        reset: String,
    },
    /// This status with an error body.
    Fail(u16),
    /// 200 with a body of another shape.
    Garbage,
    /// Never answers.
    Hang,
}

/// What the fake saw.
#[derive(Debug, Clone)]
pub struct Record {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The label the key was scripted under, or its hint if unknown.
    pub key: String,
    /// `x-api-key` or `bearer` (how the key arrived).
    pub auth: &'static str,
    pub headers: Vec<String>,
    pub stream: bool,
    pub body_len: usize,
    /// The request body as JSON (what the client asked the model).
    pub body: Value,
}

#[derive(Default)]
struct Script {
    per_key: HashMap<String, VecDeque<Reply>>,
    labels: HashMap<String, String>,
    default: Option<Reply>,
    /// Answers for requests whose body contains a text, before any script.
    when: Vec<(String, Reply)>,
    records: Vec<Record>,
    /// Requests whose connection the client closed before the reply ended.
    cancelled: usize,
    /// `/usages` answers per key; unscripted keys get 404 (absent).
    usages: HashMap<String, UsagesReply>,
    /// `/usages` requests seen, by key label.
    usages_calls: Vec<String>,
}

#[derive(Clone)]
pub struct FakeKimi {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    stop: tokio_util::sync::CancellationToken,
}

impl FakeKimi {
    /// Binds 127.0.0.1:0 and serves until dropped handles call `stop`.
    pub async fn start() -> std::io::Result<FakeKimi> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let script: Arc<Mutex<Script>> = Arc::default();
        let stop = tokio_util::sync::CancellationToken::new();
        let app = Router::new().fallback(handle).with_state(script.clone());
        let s = stop.clone();
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { s.cancelled().await })
                .await;
        });
        Ok(FakeKimi { addr, script, stop })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL as `KIMI_BASE_URL` would hold it.
    pub fn base_url(&self) -> String {
        format!("http://{}/coding/", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Scripts the next answers for `key`, recorded under `label`.
    pub fn script(&self, key: &str, label: &str, replies: Vec<Reply>) {
        let mut s = self.lock();
        s.labels.insert(key.to_string(), label.to_string());
        s.per_key
            .entry(key.to_string())
            .or_default()
            .extend(replies);
    }

    /// Names a key without scripting it.
    pub fn label(&self, key: &str, label: &str) {
        self.lock()
            .labels
            .insert(key.to_string(), label.to_string());
    }

    /// Answers every request whose body (the conversation the client sent)
    /// contains `needle` with `r`, before any script or default: one
    /// conversation can be made slow while others go on.
    pub fn reply_when(&self, needle: &str, r: Reply) {
        self.lock().when.push((needle.to_string(), r));
    }

    /// The answer when a key's script is empty (default `Ok("FAKE-PONG")`).
    pub fn set_default(&self, r: Reply) {
        self.lock().default = Some(r);
    }

    pub fn requests(&self) -> Vec<Record> {
        self.lock().records.clone()
    }

    /// Labels of the keys that served each request, in order.
    pub fn keys_used(&self) -> Vec<String> {
        self.lock().records.iter().map(|r| r.key.clone()).collect()
    }

    pub fn cancelled(&self) -> usize {
        self.lock().cancelled
    }

    /// Scripts `/usages` for `key` (until changed).
    pub fn set_usages(&self, key: &str, r: UsagesReply) {
        self.lock().usages.insert(key.to_string(), r);
    }

    /// Key labels of the `/usages` requests seen, in order.
    pub fn usages_calls(&self) -> Vec<String> {
        self.lock().usages_calls.clone()
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

fn kimi_error(status: u16, kind: &str, msg: &str) -> Response {
    let body = json!({"error": {"message": msg, "type": kind}});
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The SSE sequence Claude Code accepts (claude-code.md §6), the text split
/// over deltas of at most 200 characters.
pub fn sse_events(text: &str) -> Vec<String> {
    let mut ev = vec![
        sse(
            "message_start",
            json!({"type":"message_start","message":{"id":"msg_fake1","type":"message","role":"assistant","model":"kimi-for-coding","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1}}}),
        ),
        sse(
            "content_block_start",
            json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        ),
    ];
    let chars: Vec<char> = text.chars().collect();
    for chunk in chars.chunks(200) {
        let t: String = chunk.iter().collect();
        ev.push(sse(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":t}}),
        ));
    }
    ev.push(sse(
        "content_block_stop",
        json!({"type":"content_block_stop","index":0}),
    ));
    ev.push(sse("message_delta", json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}})));
    ev.push(sse("message_stop", json!({"type":"message_stop"})));
    ev
}

/// The SSE sequence with the given usage figures.
pub fn sse_with_usage(text: &str, u: FakeUsage) -> Vec<String> {
    let mut ev = sse_events(text);
    ev[0] = sse(
        "message_start",
        json!({"type":"message_start","message":{"id":"msg_fake1","type":"message","role":"assistant","model":"kimi-for-coding","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":u.input,"cache_creation_input_tokens":u.cache_creation,"cache_read_input_tokens":u.cache_read,"output_tokens":1}}}),
    );
    let n = ev.len();
    ev[n - 2] = sse(
        "message_delta",
        json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":u.output}}),
    );
    ev
}

fn sse(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn json_message(text: &str) -> Response {
    let body = json!({"id":"msg_fake1","type":"message","role":"assistant","model":"kimi-for-coding","content":[{"type":"text","text":text}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":2}});
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Counts a cancellation when the client drops the stream early.
struct CancelGuard {
    script: Arc<Mutex<Script>>,
    done: bool,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.done
            && let Ok(mut s) = self.script.lock()
        {
            s.cancelled += 1;
        }
    }
}

fn sse_response(events: Vec<(Duration, String)>, script: Arc<Mutex<Script>>) -> Response {
    let stream = async_stream(events, script);
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn async_stream(
    events: Vec<(Duration, String)>,
    script: Arc<Mutex<Script>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let guard = CancelGuard {
        script,
        done: false,
    };
    futures_util::stream::unfold(
        (events.into_iter(), guard),
        |(mut it, mut guard)| async move {
            match it.next() {
                Some((delay, chunk)) => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    Some((Ok(Bytes::from(chunk)), (it, guard)))
                }
                None => {
                    guard.done = true;
                    drop(guard);
                    None
                }
            }
        },
    )
}

async fn handle(State(script): State<Arc<Mutex<Script>>>, req: Request) -> Response {
    if req.method() == Method::HEAD {
        return StatusCode::OK.into_response();
    }
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let method = req.method().to_string();
    let headers: &HeaderMap = req.headers();
    let (key, auth) = match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        Some(k) => (k.to_string(), "x-api-key"),
        None => (
            headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("")
                .to_string(),
            "bearer",
        ),
    };
    let header_names: Vec<String> = headers.keys().map(|k| k.as_str().to_string()).collect();
    if method == "GET" && path.ends_with("/v1/models") {
        return (
            StatusCode::OK,
            [("content-type", "application/json")],
            json!({"data":[{"id":"kimi-for-coding"}]}).to_string(),
        )
            .into_response();
    }
    if method == "GET" && path.ends_with("/v1/usages") {
        let reply = {
            let mut s = script.lock().unwrap_or_else(|e| e.into_inner());
            let label = s
                .labels
                .get(&key)
                .cloned()
                .unwrap_or_else(|| gasclaw_core::config::hint(&key));
            s.usages_calls.push(label);
            s.usages.get(&key).cloned()
        };
        return match reply {
            None => kimi_error(404, "not_found_error", "not found"),
            Some(UsagesReply::Fail(code)) => kimi_error(code, "server_error", "usage unavailable"),
            Some(UsagesReply::Garbage) => (
                StatusCode::OK,
                [("content-type", "application/json")],
                json!({"data": "unexpected"}).to_string(),
            )
                .into_response(),
            Some(UsagesReply::Hang) => {
                std::future::pending::<()>().await;
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
            Some(UsagesReply::Quota { limit, used, reset }) => (
                StatusCode::OK,
                [("content-type", "application/json")],
                json!({"user":{"membershipLevel":"LEVEL_STANDARD"},
                    "usage":{"limit":limit.to_string(),"used":used.to_string(),"remaining":limit.saturating_sub(used).to_string(),"resetTime":reset},
                    "limits":[{"window":{"duration":300,"timeUnit":"TIME_UNIT_MINUTE"},"detail":{"limit":"100","used":"3","remaining":"97","resetTime":reset}}]})
                .to_string(),
            )
                .into_response(),
        };
    }
    if method != "POST" || !(path == "/coding/v1/messages" || path == "/v1/messages") {
        return (
            StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            json!({"error":{"type":"not_found_error","message":"not found"}}).to_string(),
        )
            .into_response();
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let stream = parsed["stream"].as_bool().unwrap_or(false);
    let reply = {
        let mut s = script.lock().unwrap_or_else(|e| e.into_inner());
        let label = s
            .labels
            .get(&key)
            .cloned()
            .unwrap_or_else(|| gasclaw_core::config::hint(&key));
        s.records.push(Record {
            method,
            path,
            query,
            key: label,
            auth,
            headers: header_names,
            stream,
            body_len: body.len(),
            body: parsed,
        });
        let text = String::from_utf8_lossy(&body);
        let when = s
            .when
            .iter()
            .find(|(needle, _)| text.contains(needle.as_str()))
            .map(|(_, r)| r.clone());
        let scripted = match when {
            Some(r) => Some(r),
            None => s.per_key.get_mut(&key).and_then(VecDeque::pop_front),
        };
        scripted
            .or_else(|| s.default.clone())
            .unwrap_or(Reply::Ok("FAKE-PONG".into()))
    };
    let instant = |evs: Vec<String>| {
        evs.into_iter()
            .map(|e| (Duration::ZERO, e))
            .collect::<Vec<_>>()
    };
    match reply {
        Reply::Ok(t) if stream => sse_response(instant(sse_events(&t)), script),
        Reply::Ok(t) | Reply::OkJson(t) => json_message(&t),
        Reply::OkSse(t) => sse_response(instant(sse_events(&t)), script),
        Reply::SlowSse {
            first_byte_after,
            chunk_every,
            chunks,
        } => {
            let text: String = "x".repeat(chunks.max(1));
            let mut evs = sse_events("");
            let tail = evs.split_off(2);
            let mut out: Vec<(Duration, String)> = Vec::new();
            for (i, e) in evs.into_iter().enumerate() {
                out.push((
                    if i == 0 {
                        first_byte_after
                    } else {
                        Duration::ZERO
                    },
                    e,
                ));
            }
            for c in text.chars() {
                out.push((chunk_every, sse("content_block_delta", json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":c.to_string()}}))));
            }
            out.extend(tail.into_iter().skip(1).map(|e| (Duration::ZERO, e)));
            sse_response(out, script)
        }
        Reply::RateLimited { retry_after } => {
            let mut r = kimi_error(
                429,
                "rate_limit_reached_error",
                "We're receiving too many requests at the moment. Please wait a moment and try again.",
            );
            if let Some(s) = retry_after
                && let Ok(v) = s.to_string().parse()
            {
                r.headers_mut().insert("retry-after", v);
            }
            r
        }
        Reply::StalledError(code) => {
            let _guard = CancelGuard {
                script: script.clone(),
                done: false,
            };
            let first = futures_util::stream::once(async {
                Ok::<Bytes, std::io::Error>(Bytes::from_static(b"{\"error\": {\"type\": "))
            });
            let stream = first.chain(futures_util::stream::pending());
            Response::builder()
                .status(code)
                .header("content-type", "application/json")
                .body(Body::from_stream(stream))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Reply::Overloaded => {
            let body = json!({"error":{"type":"rate_limit_error","message":"The engine is currently overloaded, please try again later"},"type":"error"});
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("content-type", "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Reply::Quota => kimi_error(
            403,
            "access_terminated_error",
            "You've reached your weekly (7-day) usage limit. Your quota will reset when the current 7-day window ends. To continue now, purchase extra usage or upgrade your plan: https://www.kimi.com/membership/subscription?tab=quota",
        ),
        Reply::Concurrency => kimi_error(
            403,
            "permission_error",
            "You've reached your concurrent request limit. Please wait for your ongoing requests to finish and try again.",
        ),
        Reply::NotWhitelisted => kimi_error(
            403,
            "access_terminated_error",
            "Kimi For Coding is currently only available for Coding Agents such as Kimi CLI, Claude Code, Roo Code, Kilo Code, etc.",
        ),
        Reply::BadRequest => kimi_error(
            400,
            "invalid_request_error",
            "a max of 128 tools can be supported",
        ),
        Reply::Unauthorized => kimi_error(
            401,
            "invalid_authentication_error",
            "Invalid Authentication",
        ),
        Reply::ServerError(code) => kimi_error(code, "server_error", "upstream failure"),
        Reply::Hang => {
            let _guard = CancelGuard {
                script,
                done: false,
            };
            std::future::pending::<()>().await;
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Reply::DropConnection => {
            // A body that fails at once makes hyper abort the connection.
            let stream = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("drop"))
            });
            Response::builder()
                .status(200)
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Reply::WithUsage(u) if stream => {
            sse_response(instant(sse_with_usage("FAKE-PONG", u)), script)
        }
        Reply::WithUsage(u) => {
            let body = json!({"id":"msg_fake1","type":"message","role":"assistant","model":"kimi-for-coding","content":[{"type":"text","text":"FAKE-PONG"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":u.input,"output_tokens":u.output,"cache_creation_input_tokens":u.cache_creation,"cache_read_input_tokens":u.cache_read}});
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Reply::CutStream(u) => {
            let mut evs = sse_with_usage("partial", u);
            evs.truncate(3);
            let head: Vec<Result<Bytes, std::io::Error>> =
                evs.into_iter().map(|e| Ok(Bytes::from(e))).collect();
            // A body that fails after the first events makes hyper abort
            // the connection mid-stream.
            let stream = futures_util::StreamExt::chain(
                futures_util::stream::iter(head),
                futures_util::stream::once(async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Err::<Bytes, std::io::Error>(std::io::Error::other("cut"))
                }),
            );
            Response::builder()
                .status(200)
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Reply::MidStreamError => {
            let mut evs = sse_events("partial");
            evs.truncate(3);
            evs.push(sse(
                "error",
                json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
            ));
            sse_response(instant(evs), script)
        }
    }
}
