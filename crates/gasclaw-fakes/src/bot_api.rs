//! A fake Telegram Bot API on 127.0.0.1 that speaks what teloxide 0.17
//! sends and expects (telegram-bot-api.md): long-polling `getUpdates` with
//! offset semantics, the send/edit/answer methods with Telegram's own
//! validation and error descriptions, injectable faults (429, 409, 5xx,
//! unreachable), optional enforcement of Telegram's rate limits, and a record
//! of every call. Used by the tests, the benchmarks and `gasclaw demo`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast, watch};

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    pub token: String,
    pub bot_id: u64,
    pub username: String,
    /// Longest hold of an empty `getUpdates` (keeps shutdown fast).
    pub long_poll_cap: Duration,
    /// Answer 429 when a client exceeds Telegram's limits (see
    /// [`RATE_RULES`]).
    pub enforce_rate_limits: bool,
    /// Reject what Telegram rejects (HTML, lengths, callback data …).
    pub validate: bool,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            token: "4242424242:AAHfakeTOKENfakeTOKENfakeTOKEN_x-y".into(),
            bot_id: 4242424242,
            username: "gas_bot".into(),
            long_poll_cap: Duration::from_secs(1),
            enforce_rate_limits: false,
            validate: true,
        }
    }
}

/// The enforced limits: at most 2 sends to one chat within any second
/// (Telegram's "about 1/s, short bursts tolerated"), 20 sends to one group
/// within any minute, 30 sends overall within any second. Only sends count
/// (sendMessage, sendPhoto), never edits, callback answers or chat actions.
pub const RATE_RULES: &str =
    "per chat ≤2 per 1 s window; per group ≤20 per 60 s window; overall ≤30 per 1 s window";

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Call {
    pub seq: u64,
    /// Lower-case method name (`sendmessage`).
    pub method: String,
    /// The JSON body, or the multipart text parts as an object.
    pub body: Value,
    pub at: Instant,
    pub response_status: u16,
}

impl Call {
    pub fn chat_id(&self) -> Option<i64> {
        self.body.get("chat_id").and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
    }

    pub fn text(&self) -> &str {
        self.body.get("text").and_then(Value::as_str).unwrap_or("")
    }

    pub fn thread_id(&self) -> Option<i64> {
        self.body.get("message_thread_id").and_then(Value::as_i64)
    }
}

/// An injected failure.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    RetryAfter(u32),
    Conflict,
    ServerError(u16),
    BadRequest(String),
    Forbidden(String),
    Unauthorized,
    /// The group became a supergroup with this id.
    Migrated(i64),
    Times(Box<Fault>, usize),
}

/// A message the bot sent, as it currently reads (after edits).
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub message_id: i64,
    pub chat_id: i64,
    pub thread_id: Option<i64>,
    pub text: String,
    pub parse_mode: Option<String>,
    pub reply_markup: Option<Value>,
    pub reply_to: Option<i64>,
    pub edits: u32,
    /// Sent with `disable_notification` (no sound).
    pub silent: bool,
}

#[derive(Default)]
struct St {
    updates: VecDeque<Value>,
    next_update_id: u32,
    calls: Vec<Call>,
    seq: u64,
    faults: HashMap<String, VecDeque<Fault>>,
    chat_faults: HashMap<i64, Fault>,
    chats: HashMap<i64, Value>,
    sent: HashMap<i64, Vec<SentMessage>>,
    next_msg_id: HashMap<i64, i64>,
    open_callbacks: HashSet<String>,
    sends: VecDeque<(Instant, i64)>,
    rate_limited: usize,
    photos: Vec<Photo>,
    /// The pinned message of each chat (`pinChatMessage`).
    pinned: HashMap<i64, i64>,
    /// Groups where the bot is an admin that may pin.
    pin_rights: HashSet<i64>,
}

/// A photo the bot sent (`sendPhoto`), with its bytes.
#[derive(Debug, Clone)]
pub struct Photo {
    pub chat_id: i64,
    pub caption: String,
    pub bytes: Vec<u8>,
}

struct Shared {
    opts: FakeOptions,
    st: Mutex<St>,
    new_update: Notify,
    new_call: Notify,
    calls_tx: broadcast::Sender<Call>,
    /// Unreachable: a request still arriving on a connection opened before
    /// (keep-alive, which closing the listener does not end) is failed
    /// unrecorded, as if it never reached Telegram.
    down: std::sync::atomic::AtomicBool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, St> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The fake server. Cheap to clone.
#[derive(Clone)]
pub struct FakeBotApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    down: watch::Sender<bool>,
    stop: tokio_util::sync::CancellationToken,
}

impl FakeBotApi {
    pub async fn start(opts: FakeOptions) -> std::io::Result<FakeBotApi> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (calls_tx, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            opts,
            st: Mutex::default(),
            new_update: Notify::new(),
            new_call: Notify::new(),
            calls_tx,
            down: std::sync::atomic::AtomicBool::new(false),
        });
        let (down, down_rx) = watch::channel(false);
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(serve_loop(
            shared.clone(),
            listener,
            addr,
            down_rx,
            stop.clone(),
        ));
        Ok(FakeBotApi {
            shared,
            addr,
            down,
            stop,
        })
    }

    /// `http://127.0.0.1:<port>/`, as `Bot::set_api_url` wants it.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn token(&self) -> &str {
        &self.shared.opts.token
    }

    pub fn username(&self) -> &str {
        &self.shared.opts.username
    }

    pub fn bot_id(&self) -> u64 {
        self.shared.opts.bot_id
    }

    /// Queues an update (without `update_id`; one is assigned) and wakes
    /// long polls. Returns the id.
    pub fn push_update(&self, mut kind: Value) -> u32 {
        let id = {
            let mut st = self.shared.lock();
            st.next_update_id += 1;
            let id = st.next_update_id;
            for path in [
                &["message", "chat"][..],
                &["edited_message", "chat"],
                &["channel_post", "chat"],
                &["callback_query", "message", "chat"],
            ] {
                if let Some(chat) = pointer(&kind, path)
                    && let Some(cid) = chat.get("id").and_then(Value::as_i64)
                {
                    st.chats.insert(cid, chat.clone());
                }
            }
            if let Some(cb) = kind
                .get("callback_query")
                .and_then(|c| c.get("id"))
                .and_then(Value::as_str)
            {
                st.open_callbacks.insert(cb.to_string());
            }
            if let Value::Object(m) = &mut kind {
                m.insert("update_id".into(), json!(id));
            }
            st.updates.push_back(kind);
            id
        };
        self.shared.new_update.notify_waiters();
        id
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// The sequence number of the newest call (0 before any): calls a test
    /// waits for after an action are those above it.
    pub fn last_seq(&self) -> u64 {
        self.shared.lock().calls.last().map(|c| c.seq).unwrap_or(0)
    }

    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        let m = method.to_ascii_lowercase();
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.method == m)
            .cloned()
            .collect()
    }

    /// Waits until a recorded (or future) call satisfies `pred`.
    pub async fn wait_for<F: Fn(&Call) -> bool>(&self, pred: F, timeout: Duration) -> Option<Call> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.new_call.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(c) = self.shared.lock().calls.iter().find(|c| pred(c)).cloned() {
                return Some(c);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Call> {
        self.shared.calls_tx.subscribe()
    }

    /// The next call(s) of `method` get `fault`.
    pub fn inject(&self, method: &str, fault: Fault) {
        let mut st = self.shared.lock();
        let q = st.faults.entry(method.to_ascii_lowercase()).or_default();
        match fault {
            Fault::Times(f, n) => q.extend(std::iter::repeat_n(*f, n)),
            f => q.push_back(f),
        }
    }

    /// Makes the bot an admin that may pin messages in group `chat_id`
    /// (private chats need nothing).
    pub fn grant_pin(&self, chat_id: i64) {
        self.shared.lock().pin_rights.insert(chat_id);
    }

    /// The message pinned in `chat_id`, if any.
    pub fn pinned(&self, chat_id: i64) -> Option<i64> {
        self.shared.lock().pinned.get(&chat_id).copied()
    }

    /// Every send to `chat_id` gets `fault` (e.g. 403 blocked) until cleared.
    pub fn set_chat_fault(&self, chat_id: i64, fault: Option<Fault>) {
        let mut st = self.shared.lock();
        match fault {
            Some(f) => st.chat_faults.insert(chat_id, f),
            None => st.chat_faults.remove(&chat_id),
        };
    }

    /// Stops accepting connections (clients see "connection refused"), or
    /// listens again on the same port.
    pub async fn set_unreachable(&self, down: bool) {
        self.shared
            .down
            .store(down, std::sync::atomic::Ordering::SeqCst);
        let _ = self.down.send(down);
        // Give the serve loop a moment to close or reopen the listener.
        for _ in 0..100 {
            let reachable = tokio::net::TcpStream::connect(self.addr).await.is_ok();
            if reachable != down {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn rate_limited_count(&self) -> usize {
        self.shared.lock().rate_limited
    }

    /// Every photo accepted, in order.
    pub fn photos(&self) -> Vec<Photo> {
        self.shared.lock().photos.clone()
    }

    pub fn sent_messages(&self, chat_id: i64) -> Vec<SentMessage> {
        self.shared
            .lock()
            .sent
            .get(&chat_id)
            .cloned()
            .unwrap_or_default()
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

fn pointer<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

async fn serve_loop(
    shared: Arc<Shared>,
    first: tokio::net::TcpListener,
    addr: SocketAddr,
    mut down: watch::Receiver<bool>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut listener = Some(first);
    loop {
        let l = match listener.take() {
            Some(l) => l,
            None => match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => l,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let mut d = down.clone();
        let s = stop.clone();
        let _ = axum::serve(l, app)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = s.cancelled() => {}
                    _ = d.wait_for(|v| *v) => {}
                }
            })
            .await;
        if stop.is_cancelled() {
            return;
        }
        // Down: wait to be brought back up.
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = down.wait_for(|v| !*v) => {}
        }
    }
}

/// The Message an edit answers with (the edited text, its topic, its
/// buttons).
fn edited_message(
    mid: i64,
    chat: Value,
    opts: &FakeOptions,
    text: &str,
    thread_id: Option<i64>,
    markup: Option<Value>,
) -> Value {
    let mut msg = json!({"message_id": mid, "date": now_secs(), "edit_date": now_secs(), "chat": chat, "from": bot_user(opts), "text": text});
    if let Some(t) = thread_id {
        msg["message_thread_id"] = json!(t);
        msg["is_topic_message"] = json!(true);
    }
    if let Some(mk) = markup {
        msg["reply_markup"] = mk;
    }
    msg
}

fn ok(result: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"ok": true, "result": result})),
    )
        .into_response()
}

fn api_error(status: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": status, "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(body),
    )
        .into_response()
}

fn fault_response(f: &Fault) -> Response {
    match f {
        Fault::RetryAfter(n) => api_error(
            429,
            &format!("Too Many Requests: retry after {n}"),
            Some(json!({"retry_after": n})),
        ),
        Fault::Conflict => api_error(
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            None,
        ),
        Fault::ServerError(code) => api_error(
            *code,
            match code {
                502 => "Bad Gateway",
                503 => "Service Unavailable",
                504 => "Gateway Timeout",
                _ => "Internal Server Error",
            },
            None,
        ),
        Fault::BadRequest(d) => api_error(400, d, None),
        Fault::Forbidden(d) => api_error(403, d, None),
        Fault::Unauthorized => api_error(401, "Unauthorized", None),
        Fault::Migrated(to) => api_error(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            Some(json!({"migrate_to_chat_id": to})),
        ),
        Fault::Times(f, _) => fault_response(f),
    }
}

/// Parses `multipart/form-data`: text parts into an object, file parts'
/// bytes kept apart (the photo a bot sent, byte for byte).
fn parse_multipart(content_type: &str, body: &[u8]) -> (Value, Vec<(String, Vec<u8>)>) {
    let mut out = serde_json::Map::new();
    let mut files = Vec::new();
    let Some(boundary) = content_type
        .split("boundary=")
        .nth(1)
        .map(|b| b.trim_matches('"'))
    else {
        return (json!({}), files);
    };
    let delim = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delim.as_bytes());
    let starts: Vec<usize> = finder.find_iter(body).collect();
    for w in starts.windows(2) {
        let part = &body[w[0] + delim.len()..w[1]];
        let Some(split) = memchr::memmem::find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]);
        let raw = &part[split + 4..];
        let raw = raw.strip_suffix(b"\r\n").unwrap_or(raw);
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
        else {
            continue;
        };
        let v = if head.contains("filename=") {
            files.push((name.to_string(), raw.to_vec()));
            json!({"file_bytes": raw.len()})
        } else {
            let value = String::from_utf8_lossy(raw).to_string();
            if name == "reply_markup" || name == "caption_entities" || name == "reply_parameters" {
                serde_json::from_str(&value).unwrap_or(Value::String(value))
            } else if let Ok(n) = value.parse::<i64>() {
                json!(n)
            } else {
                Value::String(value)
            }
        };
        out.insert(name.to_string(), v);
    }
    (Value::Object(out), files)
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    if shared.down.load(std::sync::atomic::Ordering::SeqCst) {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    let path = req.uri().path().trim_start_matches('/').to_string();
    let ctype = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes: Bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let (tok, method) = match path.split_once('/') {
        Some((t, m)) if t.starts_with("bot") => (
            t.trim_start_matches("bot").to_string(),
            m.to_ascii_lowercase(),
        ),
        _ => return api_error(404, "Not Found", None),
    };
    if tok != shared.opts.token {
        return api_error(401, "Unauthorized", None);
    }
    let mut files = Vec::new();
    let body = if ctype.starts_with("multipart/form-data") {
        let (v, f) = parse_multipart(&ctype, &bytes);
        files = f;
        v
    } else if bytes.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => v,
            Err(e) => return api_error(400, &format!("Bad Request: invalid JSON: {e}"), None),
        }
    };
    let resp = if method == "getupdates" {
        get_updates(&shared, &body).await
    } else {
        dispatch(&shared, &method, &body)
    };
    let status = resp.status().as_u16();
    let call = {
        let mut st = shared.lock();
        st.seq += 1;
        let call = Call {
            seq: st.seq,
            method,
            body,
            at: Instant::now(),
            response_status: status,
        };
        st.calls.push(call.clone());
        if call.method == "sendphoto" && status == 200 {
            for (_, bytes) in files {
                st.photos.push(Photo {
                    chat_id: call.chat_id().unwrap_or(0),
                    caption: call
                        .body
                        .get("caption")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    bytes,
                });
            }
        }
        call
    };
    let _ = shared.calls_tx.send(call);
    shared.new_call.notify_waiters();
    resp
}

fn take_fault(st: &mut St, method: &str) -> Option<Fault> {
    st.faults.get_mut(method).and_then(VecDeque::pop_front)
}

async fn get_updates(shared: &Arc<Shared>, body: &Value) -> Response {
    if let Some(f) = take_fault(&mut shared.lock(), "getupdates") {
        return fault_response(&f);
    }
    let offset = body.get("offset").and_then(Value::as_i64).unwrap_or(0);
    let limit = body
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let timeout = Duration::from_secs(body.get("timeout").and_then(Value::as_u64).unwrap_or(0));
    let hold = timeout.min(shared.opts.long_poll_cap);
    let deadline = tokio::time::Instant::now() + hold;
    loop {
        let notified = shared.new_update.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut st = shared.lock();
            let id_of = |u: &Value| u.get("update_id").and_then(Value::as_i64).unwrap_or(0);
            if offset < 0 {
                // The last |offset| updates; everything older is forgotten.
                let keep = offset.unsigned_abs() as usize;
                let n = st.updates.len();
                st.updates.drain(..n.saturating_sub(keep));
            } else {
                st.updates.retain(|u| id_of(u) >= offset);
            }
            if !st.updates.is_empty() || hold.is_zero() {
                let out: Vec<Value> = st.updates.iter().take(limit).cloned().collect();
                return ok(Value::Array(out));
            }
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return ok(json!([]));
        }
    }
}

fn bot_user(opts: &FakeOptions) -> Value {
    json!({"id": opts.bot_id, "is_bot": true, "first_name": "Gas", "username": opts.username})
}

fn chat_for(st: &St, chat_id: i64) -> Value {
    st.chats.get(&chat_id).cloned().unwrap_or_else(|| {
        if chat_id > 0 {
            json!({"id": chat_id, "type": "private", "first_name": "User"})
        } else {
            json!({"id": chat_id, "type": "supergroup", "title": "Group"})
        }
    })
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(1_767_300_000)
}

fn dispatch(shared: &Arc<Shared>, method: &str, body: &Value) -> Response {
    let opts = &shared.opts;
    let mut st = shared.lock();
    if let Some(f) = take_fault(&mut st, method) {
        return fault_response(&f);
    }
    let chat_id = body.get("chat_id").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    let is_send = matches!(method, "sendmessage" | "sendphoto");
    if (is_send || method == "editmessagetext" || method == "editmessagereplymarkup")
        && let Some(f) = chat_id.and_then(|c| st.chat_faults.get(&c)).cloned()
    {
        return fault_response(&f);
    }
    match method {
        "getme" => ok(
            json!({"id": opts.bot_id, "is_bot": true, "first_name": "Gas", "username": opts.username,
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "has_main_web_app": false}),
        ),
        "getwebhookinfo" => {
            ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}))
        }
        "deletewebhook" | "deletemycommands" | "sendchataction" => ok(json!(true)),
        "setmycommands" => {
            if opts.validate {
                let cmds = body
                    .get("commands")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if cmds.len() > 100 {
                    return api_error(400, "Bad Request: too many commands", None);
                }
                for c in &cmds {
                    let name = c
                        .get("command")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .trim_start_matches('/');
                    if name.is_empty()
                        || name.len() > 32
                        || !name
                            .chars()
                            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
                    {
                        return api_error(400, "Bad Request: BOT_COMMAND_INVALID", None);
                    }
                    let d = c.get("description").and_then(Value::as_str).unwrap_or("");
                    if d.is_empty() {
                        return api_error(
                            400,
                            "Bad Request: command description must be non-empty",
                            None,
                        );
                    }
                    if d.chars().count() > 256 {
                        return api_error(
                            400,
                            "Bad Request: command description is too long",
                            None,
                        );
                    }
                }
            }
            ok(json!(true))
        }
        "sendmessage" | "sendphoto" => {
            let Some(chat_id) = chat_id else {
                return api_error(400, "Bad Request: chat not found", None);
            };
            let text_key = if method == "sendphoto" {
                "caption"
            } else {
                "text"
            };
            let text = body
                .get(text_key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let parse_mode = body
                .get("parse_mode")
                .and_then(Value::as_str)
                .map(str::to_string);
            if opts.validate {
                if let Some(r) =
                    validate_text(&text, parse_mode.as_deref(), method == "sendmessage")
                {
                    return r;
                }
                if let Some(r) = validate_markup(body.get("reply_markup")) {
                    return r;
                }
            }
            let thread_id = body.get("message_thread_id").and_then(Value::as_i64);
            if let Some(t) = thread_id {
                let forum = st
                    .chats
                    .get(&chat_id)
                    .and_then(|c| c.get("is_forum"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if !forum || t == 1 {
                    return api_error(400, "Bad Request: message thread not found", None);
                }
            }
            if opts.enforce_rate_limits
                && let Some(wait) = rate_check(&mut st, chat_id)
            {
                st.rate_limited += 1;
                return api_error(
                    429,
                    &format!("Too Many Requests: retry after {wait}"),
                    Some(json!({"retry_after": wait})),
                );
            }
            st.sends.push_back((Instant::now(), chat_id));
            let id = {
                let n = st.next_msg_id.entry(chat_id).or_insert(1000);
                *n += 1;
                *n
            };
            let reply_to = body
                .get("reply_parameters")
                .and_then(|r| r.get("message_id"))
                .or_else(|| body.get("reply_to_message_id"))
                .and_then(Value::as_i64);
            st.sent.entry(chat_id).or_default().push(SentMessage {
                message_id: id,
                chat_id,
                thread_id,
                text: text.clone(),
                parse_mode,
                reply_markup: body.get("reply_markup").cloned(),
                reply_to,
                edits: 0,
                silent: body
                    .get("disable_notification")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            });
            let mut msg = json!({"message_id": id, "date": now_secs(), "chat": chat_for(&st, chat_id), "from": bot_user(opts)});
            if method == "sendphoto" {
                msg["photo"] = json!([{"file_id": "p1", "file_unique_id": "u1", "width": 1, "height": 1, "file_size": 1}]);
                if !text.is_empty() {
                    msg["caption"] = json!(text);
                }
            } else {
                msg["text"] = json!(text);
            }
            if let Some(t) = thread_id {
                msg["message_thread_id"] = json!(t);
                msg["is_topic_message"] = json!(true);
            }
            if let Some(m) = body.get("reply_markup") {
                msg["reply_markup"] = m.clone();
            }
            ok(msg)
        }
        "editmessagetext" => {
            let Some(chat_id) = chat_id else {
                return api_error(400, "Bad Request: message to edit not found", None);
            };
            let mid = body.get("message_id").and_then(Value::as_i64).unwrap_or(0);
            let text = body
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let parse_mode = body
                .get("parse_mode")
                .and_then(Value::as_str)
                .map(str::to_string);
            if opts.validate {
                if let Some(r) = validate_text(&text, parse_mode.as_deref(), true) {
                    return r;
                }
                if let Some(r) = validate_markup(body.get("reply_markup")) {
                    return r;
                }
            }
            let markup = body.get("reply_markup").cloned();
            let chat = chat_for(&st, chat_id);
            let Some(m) = st
                .sent
                .get_mut(&chat_id)
                .and_then(|v| v.iter_mut().find(|m| m.message_id == mid))
            else {
                return api_error(400, "Bad Request: message to edit not found", None);
            };
            if opts.validate && m.text == text && m.reply_markup == markup {
                return api_error(
                    400,
                    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                    None,
                );
            }
            m.text = text.clone();
            m.parse_mode = parse_mode;
            m.reply_markup = markup.clone();
            m.edits += 1;
            ok(edited_message(
                mid,
                chat,
                opts,
                &m.text,
                m.thread_id,
                markup,
            ))
        }
        "pinchatmessage" => {
            // Outside a private chat the bot must be an admin with the
            // right to pin; the message must exist in the chat.
            let Some(chat_id) = chat_id else {
                return api_error(400, "Bad Request: chat not found", None);
            };
            if chat_id < 0 && !st.pin_rights.contains(&chat_id) {
                return api_error(
                    400,
                    "Bad Request: not enough rights to manage pinned messages in the chat",
                    None,
                );
            }
            let mid = body.get("message_id").and_then(Value::as_i64).unwrap_or(0);
            let exists = st
                .sent
                .get(&chat_id)
                .is_some_and(|v| v.iter().any(|m| m.message_id == mid));
            if !exists {
                return api_error(400, "Bad Request: message to pin not found", None);
            }
            st.pinned.insert(chat_id, mid);
            ok(json!(true))
        }
        "editmessagereplymarkup" => {
            // Only messages the bot sent (by chat and id; inline messages
            // are not used).
            let Some(chat_id) = chat_id else {
                return api_error(400, "Bad Request: message to edit not found", None);
            };
            let mid = body.get("message_id").and_then(Value::as_i64).unwrap_or(0);
            let markup = body.get("reply_markup").cloned();
            if opts.validate
                && let Some(r) = validate_markup(markup.as_ref())
            {
                return r;
            }
            let chat = chat_for(&st, chat_id);
            let Some(m) = st
                .sent
                .get_mut(&chat_id)
                .and_then(|v| v.iter_mut().find(|m| m.message_id == mid))
            else {
                return api_error(400, "Bad Request: message to edit not found", None);
            };
            // An empty keyboard is no keyboard.
            let markup = markup.filter(|mk| {
                mk.get("inline_keyboard")
                    .and_then(Value::as_array)
                    .is_some_and(|rows| {
                        rows.iter()
                            .any(|r| r.as_array().is_some_and(|r| !r.is_empty()))
                    })
            });
            if opts.validate && m.reply_markup == markup {
                return api_error(
                    400,
                    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                    None,
                );
            }
            m.reply_markup = markup.clone();
            m.edits += 1;
            ok(edited_message(
                mid,
                chat,
                opts,
                &m.text,
                m.thread_id,
                markup,
            ))
        }
        "answercallbackquery" => {
            let id = body
                .get("callback_query_id")
                .and_then(Value::as_str)
                .unwrap_or("");
            if st.open_callbacks.remove(id) {
                ok(json!(true))
            } else {
                api_error(
                    400,
                    "Bad Request: query is too old and response timeout expired or query id is invalid",
                    None,
                )
            }
        }
        "deletemessage" => ok(json!(true)),
        _ => api_error(404, "Not Found", None),
    }
}

/// Seconds to wait if a send to `chat_id` now would exceed the limits.
fn rate_check(st: &mut St, chat_id: i64) -> Option<u64> {
    let now = Instant::now();
    while st
        .sends
        .front()
        .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(60))
    {
        st.sends.pop_front();
    }
    let within = |d: Duration, chat: Option<i64>| {
        st.sends
            .iter()
            .filter(|(t, c)| now.duration_since(*t) < d && chat.is_none_or(|x| x == *c))
            .count()
    };
    if within(Duration::from_secs(1), Some(chat_id)) >= 2
        || within(Duration::from_secs(1), None) >= 30
    {
        return Some(1);
    }
    if chat_id < 0 && within(Duration::from_secs(60), Some(chat_id)) >= 20 {
        let oldest = st
            .sends
            .iter()
            .filter(|(_, c)| *c == chat_id)
            .map(|(t, _)| *t)
            .next()
            .unwrap_or(now);
        let wait = Duration::from_secs(60).saturating_sub(now.duration_since(oldest));
        return Some(wait.as_secs().max(1));
    }
    None
}

const ALLOWED_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
];

/// Checks HTML like Telegram does; returns the visible text.
pub fn parse_html(text: &str) -> Result<String, String> {
    let mut visible = String::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let Some(end) = rest.find('>') else {
                    return Err("Unsupported start tag \"\" at byte offset 0".into());
                };
                let tag = &rest[1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    let name = name.trim().to_ascii_lowercase();
                    match stack.pop() {
                        Some(open) if open == name => {}
                        _ => return Err(format!("Unmatched end tag \"{name}\"")),
                    }
                } else {
                    let name = tag
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    if !ALLOWED_TAGS.contains(&name.as_str()) {
                        return Err(format!("Unsupported start tag \"{name}\""));
                    }
                    stack.push(name);
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let Some(end) = rest.find(';').filter(|e| *e <= 10) else {
                    return Err("Character entity expected".into());
                };
                let ent = &rest[1..end];
                let ch = match ent {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    e if e.starts_with('#') => {
                        let n = e.trim_start_matches('#');
                        let code = if let Some(h) = n.strip_prefix('x') {
                            u32::from_str_radix(h, 16)
                        } else {
                            n.parse()
                        };
                        match code.ok().and_then(char::from_u32) {
                            Some(c) => c,
                            None => return Err(format!("Unknown character entity \"{e}\"")),
                        }
                    }
                    e => return Err(format!("Unsupported HTML entity \"{e}\"")),
                };
                visible.push(ch);
                rest = &rest[end + 1..];
            }
            '>' => return Err("Unexpected '>' in text".into()),
            c => {
                visible.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(open) = stack.pop() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{open}\""
        ));
    }
    Ok(visible)
}

fn validate_text(text: &str, parse_mode: Option<&str>, required: bool) -> Option<Response> {
    let visible = match parse_mode {
        Some(m) if m.eq_ignore_ascii_case("html") => match parse_html(text) {
            Ok(v) => v,
            Err(e) => {
                return Some(api_error(
                    400,
                    &format!("Bad Request: can't parse entities: {e}"),
                    None,
                ));
            }
        },
        _ => text.to_string(),
    };
    let n = visible.trim().chars().count();
    if required && n == 0 {
        return Some(api_error(400, "Bad Request: message text is empty", None));
    }
    if visible.chars().count() > 4096 {
        return Some(api_error(400, "Bad Request: message is too long", None));
    }
    None
}

fn validate_markup(markup: Option<&Value>) -> Option<Response> {
    let rows = markup?.get("inline_keyboard")?.as_array()?;
    for row in rows {
        for b in row.as_array().into_iter().flatten() {
            if let Some(d) = b.get("callback_data").and_then(Value::as_str)
                && (d.is_empty() || d.len() > 64)
            {
                return Some(api_error(400, "Bad Request: BUTTON_DATA_INVALID", None));
            }
        }
    }
    None
}

/// Builders for the update shapes of telegram-bot-api.md §5.
pub mod updates {
    use std::sync::atomic::{AtomicI64, Ordering};

    use serde_json::{Value, json};

    static NEXT_MESSAGE_ID: AtomicI64 = AtomicI64::new(1);
    static NEXT_CALLBACK: AtomicI64 = AtomicI64::new(1);

    #[derive(Debug, Clone)]
    pub struct User {
        pub id: u64,
        pub first_name: String,
        pub username: Option<String>,
        pub language_code: Option<String>,
        pub is_bot: bool,
    }

    impl User {
        pub fn new(id: u64, first_name: &str) -> User {
            User {
                id,
                first_name: first_name.to_string(),
                username: None,
                language_code: None,
                is_bot: false,
            }
        }

        pub fn lang(mut self, l: &str) -> User {
            self.language_code = Some(l.to_string());
            self
        }

        pub fn json(&self) -> Value {
            let mut v =
                json!({"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name});
            if let Some(u) = &self.username {
                v["username"] = json!(u);
            }
            if let Some(l) = &self.language_code {
                v["language_code"] = json!(l);
            }
            v
        }
    }

    #[derive(Debug, Clone)]
    pub struct Chat(pub Value);

    impl Chat {
        pub fn private(user: &User) -> Chat {
            Chat(json!({"id": user.id, "type": "private", "first_name": user.first_name}))
        }
        pub fn group(id: i64, title: &str) -> Chat {
            Chat(json!({"id": id, "type": "group", "title": title}))
        }
        pub fn supergroup(id: i64, title: &str) -> Chat {
            Chat(json!({"id": id, "type": "supergroup", "title": title}))
        }
        pub fn forum(id: i64, title: &str) -> Chat {
            Chat(json!({"id": id, "type": "supergroup", "title": title, "is_forum": true}))
        }
        pub fn channel(id: i64, title: &str) -> Chat {
            Chat(json!({"id": id, "type": "channel", "title": title}))
        }
        pub fn id(&self) -> i64 {
            self.0["id"].as_i64().unwrap_or(0)
        }
    }

    fn now() -> i64 {
        super::now_secs()
    }

    /// A message object (not yet an update). Commands get their
    /// `bot_command` entity; `@mentions` their `mention` entity.
    pub fn message(user: &User, chat: &Chat, text: &str) -> Value {
        let mut m = json!({
            "message_id": NEXT_MESSAGE_ID.fetch_add(1, Ordering::Relaxed),
            "date": now(),
            "chat": chat.0,
            "from": user.json(),
            "text": text,
        });
        let mut entities = Vec::new();
        if text.starts_with('/') {
            let len = text
                .split_whitespace()
                .next()
                .map(|w| w.encode_utf16().count())
                .unwrap_or(0);
            entities.push(json!({"type": "bot_command", "offset": 0, "length": len}));
        }
        let mut offset = 0usize;
        for word in text.split(' ') {
            if word.starts_with('@') && word.len() > 1 {
                entities.push(json!({"type": "mention", "offset": offset, "length": word.encode_utf16().count()}));
            }
            offset += word.encode_utf16().count() + 1;
        }
        if !entities.is_empty() {
            m["entities"] = json!(entities);
        }
        m
    }

    pub fn private_text(user: &User, text: &str) -> Value {
        json!({"message": message(user, &Chat::private(user), text)})
    }

    pub fn group_text(user: &User, chat: &Chat, text: &str) -> Value {
        json!({"message": message(user, chat, text)})
    }

    /// A message in a forum topic.
    pub fn topic_text(user: &User, chat: &Chat, thread_id: i64, text: &str) -> Value {
        let mut m = message(user, chat, text);
        m["message_thread_id"] = json!(thread_id);
        m["is_topic_message"] = json!(true);
        json!({"message": m})
    }

    /// A message in a forum topic the bot (user `by`, a message object's
    /// `from`) created: as Telegram delivers it, `reply_to_message` is the
    /// topic's creation service message.
    pub fn topic_chatter(
        user: &User,
        chat: &Chat,
        thread_id: i64,
        by: &Value,
        text: &str,
    ) -> Value {
        let mut u = topic_text(user, chat, thread_id, text);
        u["message"]["reply_to_message"] = json!({
            "message_id": thread_id,
            "date": now() - 3600,
            "chat": chat.0,
            "from": by,
            "message_thread_id": thread_id,
            "is_topic_message": true,
            "forum_topic_created": {"name": "deploys", "icon_color": 7322096},
        });
        u
    }

    /// Marks an update's message as a reply to `to` (a message object).
    pub fn reply_to(mut update: Value, to: &Value) -> Value {
        update["message"]["reply_to_message"] = to.clone();
        update
    }

    pub fn edited(user: &User, chat: &Chat, text: &str) -> Value {
        let mut m = message(user, chat, text);
        m["edit_date"] = json!(now());
        json!({"edited_message": m})
    }

    pub fn forwarded(user: &User, chat: &Chat, text: &str) -> Value {
        let mut m = message(user, chat, text);
        m["forward_origin"] = json!({"type": "user", "date": now() - 60, "sender_user": {"id": 999, "is_bot": false, "first_name": "Someone"}});
        json!({"message": m})
    }

    pub fn channel_post(chat: &Chat, text: &str) -> Value {
        let mut m = json!({"message_id": NEXT_MESSAGE_ID.fetch_add(1, Ordering::Relaxed), "date": now(), "chat": chat.0, "text": text});
        if text.starts_with('/') {
            let len = text
                .split_whitespace()
                .next()
                .map(|w| w.encode_utf16().count())
                .unwrap_or(0);
            m["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
        json!({"channel_post": m})
    }

    /// A button press on `message` (a message object the bot sent).
    pub fn callback(user: &User, message: &Value, data: &str) -> Value {
        json!({"callback_query": {
            "id": format!("cbq{}", NEXT_CALLBACK.fetch_add(1, Ordering::Relaxed)),
            "from": user.json(),
            "chat_instance": "ci-1",
            "data": data,
            "message": message,
        }})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_validation() {
        assert_eq!(parse_html("<b>ok</b> &lt;x&gt; &amp;").unwrap(), "ok <x> &");
        assert!(parse_html("<b>open").is_err());
        assert!(parse_html("<div>x</div>").is_err());
        assert!(parse_html("a < b").is_err());
        assert!(parse_html("<b><i>x</b></i>").is_err());
        assert_eq!(parse_html("<a href=\"https://x\">l</a>").unwrap(), "l");
    }
}
