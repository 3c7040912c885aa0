//! The key-rotating proxy against the fake Kimi upstream (kimi-api.md §5.2),
//! and the real Claude Code CLI through it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gasclaw_core::keys::proxy::{Proxy, ProxyConfig};
use gasclaw_core::keys::{KeyEvent, KeyPools, LocalTokens, PoolSettings, SystemClock};
use gasclaw_fakes::kimi::{FakeKimi, Reply};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

const KA: &str = "sk-kimi-proxytest-AAAAAAAAAAAAAAAA-000a";
const KB: &str = "sk-kimi-proxytest-BBBBBBBBBBBBBBBB-000b";
const KC: &str = "sk-kimi-proxytest-CCCCCCCCCCCCCCCC-000c";
const KO: &str = "sk-kimi-proxytest-OOOOOOOOOOOOOOOO-000o";

struct Rig {
    _dir: tempfile::TempDir,
    home: std::path::PathBuf,
    kimi: FakeKimi,
    pools: Arc<KeyPools>,
    tokens: Arc<LocalTokens>,
    url: String,
    events: Arc<Mutex<Vec<KeyEvent>>>,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Rig {
    async fn new(agent_keys: &[&str]) -> Rig {
        Rig::with(agent_keys, |c| c).await
    }

    async fn with(agent_keys: &[&str], tweak: impl FnOnce(ProxyConfig) -> ProxyConfig) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().to_path_buf();
        let kimi = FakeKimi::start().await.expect("fake kimi");
        for (k, l) in [(KA, "A"), (KB, "B"), (KC, "C"), (KO, "O")] {
            kimi.label(k, l);
        }
        let events: Arc<Mutex<Vec<KeyEvent>>> = Arc::default();
        let ev = events.clone();
        let secrets = |ks: &[&str]| {
            ks.iter()
                .map(|k| SecretString::from(k.to_string()))
                .collect::<Vec<_>>()
        };
        let pools = KeyPools::open(
            &home,
            &secrets(agent_keys),
            &secrets(&[KO]),
            PoolSettings::default(),
            Arc::new(SystemClock),
            Arc::new(move |e| ev.lock().expect("events").push(e)),
        )
        .expect("pools");
        let tokens = Arc::new(LocalTokens::load_or_create(&home, 2).expect("tokens"));
        let cfg = tweak(ProxyConfig::new(kimi.base_url().parse().expect("url")));
        let proxy = Proxy::new(pools.clone(), tokens.clone(), cfg).expect("proxy");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shutdown = tokio_util::sync::CancellationToken::new();
        tokio::spawn(proxy.serve(listener, shutdown.clone()));
        Rig {
            _dir: dir,
            home,
            kimi,
            pools,
            tokens,
            url,
            events,
            shutdown,
        }
    }

    fn agent_token(&self) -> String {
        self.tokens
            .agent_token(1)
            .expect("token")
            .expose_secret()
            .to_string()
    }

    async fn post(&self, token: Option<&str>, bearer: bool, body: Value) -> reqwest::Response {
        let mut r = reqwest::Client::new()
            .post(format!("{}/v1/messages?beta=true", self.url))
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "claude-code-20250219")
            .json(&body);
        if let Some(t) = token {
            r = if bearer {
                r.bearer_auth(t)
            } else {
                r.header("x-api-key", t)
            };
        }
        r.send().await.expect("request")
    }

    fn state(&self, hint: &str) -> Value {
        let st = serde_json::to_value(self.pools.status()).expect("status");
        st["agents"]["keys"]
            .as_array()
            .and_then(|a| a.iter().find(|k| k["hint"] == hint).cloned())
            .unwrap_or(Value::Null)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.kimi.stop();
    }
}

fn msg(stream: bool) -> Value {
    json!({"model": "kimi-for-coding", "max_tokens": 16, "stream": stream, "messages": [{"role": "user", "content": "ping"}]})
}

fn t<F: std::future::Future<Output = ()>>(f: F) {
    common::run_test(Duration::from_secs(60), f);
}

#[test]
fn a_429_rotates_to_the_next_key_and_the_client_sees_200() {
    t(async {
        let rig = Rig::new(&[KA, KB]).await;
        rig.kimi
            .script(KA, "A", vec![Reply::RateLimited { retry_after: None }]);
        let r = rig.post(Some(&rig.agent_token()), true, msg(false)).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["content"][0]["text"], "FAKE-PONG");
        assert_eq!(rig.kimi.keys_used(), ["A", "B"]);
        assert_eq!(rig.state("…000a")["state"], "cooling");
        assert!(rig.state("…000b")["last_used"].is_string());
        let ev = rig.events.lock().expect("ev").clone();
        assert_eq!(
            ev.iter()
                .filter(|e| matches!(e, KeyEvent::RateLimited { .. }))
                .count(),
            1,
            "{ev:?}"
        );
        // Forwarded as x-api-key with the pooled key, path/query/headers kept,
        // the local token gone.
        let reqs = rig.kimi.requests();
        assert!(reqs.iter().all(|r| r.auth == "x-api-key"
            && r.path == "/coding/v1/messages"
            && r.query.as_deref() == Some("beta=true")));
        assert!(
            reqs.iter()
                .all(|r| r.headers.contains(&"anthropic-beta".to_string())
                    && !r.headers.contains(&"authorization".to_string()))
        );
    });
}

#[test]
fn every_key_429_gives_429_with_retry_after_of_the_soonest() {
    t(async {
        let rig = Rig::new(&[KA, KB]).await;
        rig.kimi.script(
            KA,
            "A",
            vec![Reply::RateLimited {
                retry_after: Some(600),
            }],
        );
        rig.kimi
            .script(KB, "B", vec![Reply::RateLimited { retry_after: None }]);
        let r = rig.post(Some(&rig.agent_token()), false, msg(false)).await;
        assert_eq!(r.status(), 429);
        let ra: u64 = r.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("secs");
        assert!((299..=300).contains(&ra), "retry-after {ra}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("all agent keys are cooling down")
        );
        // The next request does not even reach upstream.
        let n = rig.kimi.requests().len();
        let r = rig.post(Some(&rig.agent_token()), false, msg(false)).await;
        assert_eq!(r.status(), 429);
        assert_eq!(rig.kimi.requests().len(), n);
    });
}

#[test]
fn quota_403_cools_for_hours_and_not_whitelisted_403_passes_through() {
    t(async {
        let rig = Rig::new(&[KA, KB]).await;
        rig.kimi.script(KA, "A", vec![Reply::Quota]);
        let r = rig.post(Some(&rig.agent_token()), true, msg(false)).await;
        assert_eq!(r.status(), 200);
        let a = rig.state("…000a");
        assert_eq!(a["cooldown_reason"], "quota");
        assert!(a["cooldown_secs_left"].as_u64().unwrap_or(0) > 3500, "{a}");

        let rig = Rig::new(&[KA, KB]).await;
        rig.kimi.script(KA, "A", vec![Reply::NotWhitelisted]);
        let r = rig.post(Some(&rig.agent_token()), true, msg(false)).await;
        assert_eq!(r.status(), 403);
        assert_eq!(
            rig.kimi.keys_used(),
            ["A"],
            "no rotation: every key would fail"
        );
        assert_eq!(rig.state("…000a")["state"], "available");
    });
}

#[test]
fn a_400_and_an_unknown_local_token_are_never_retried() {
    t(async {
        let rig = Rig::new(&[KA, KB]).await;
        rig.kimi.script(KA, "A", vec![Reply::BadRequest]);
        let r = rig.post(Some(&rig.agent_token()), true, msg(false)).await;
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await.expect("json");
        assert_eq!(
            body["error"]["message"],
            "a max of 128 tools can be supported"
        );
        assert_eq!(rig.kimi.keys_used(), ["A"]);
        assert_eq!(rig.state("…000a")["state"], "available");

        for token in [Some("gclt-not-a-token"), None] {
            let r = rig.post(token, true, msg(false)).await;
            assert_eq!(r.status(), 401);
            let body: Value = r.json().await.expect("json");
            assert_eq!(body["error"]["type"], "authentication_error");
        }
        assert_eq!(
            rig.kimi.requests().len(),
            1,
            "a bad local token never reaches upstream"
        );
    });
}

#[test]
fn upstream_401_on_two_keys_invalidates_only_the_first() {
    t(async {
        let rig = Rig::new(&[KA, KB, KC]).await;
        rig.kimi.script(KA, "A", vec![Reply::Unauthorized]);
        rig.kimi.script(KB, "B", vec![Reply::Unauthorized]);
        let r = rig.post(Some(&rig.agent_token()), true, msg(false)).await;
        assert_eq!(r.status(), 401);
        assert_eq!(rig.kimi.keys_used(), ["A", "B"], "one retry, then stop");
        assert_eq!(rig.state("…000a")["state"], "invalid");
        assert_eq!(
            rig.state("…000b")["state"],
            "available",
            "systemic 401: B is not disabled"
        );
        let ev = rig.events.lock().expect("ev").clone();
        assert_eq!(
            ev.iter()
                .filter(|e| matches!(e, KeyEvent::KeyInvalid { .. }))
                .count(),
            1
        );
    });
}

#[test]
fn streaming_passes_through_without_buffering() {
    t(async {
        let rig = Rig::new(&[KA]).await;
        rig.kimi.script(
            KA,
            "A",
            vec![Reply::SlowSse {
                first_byte_after: Duration::ZERO,
                chunk_every: Duration::from_millis(300),
                chunks: 6,
            }],
        );
        let started = std::time::Instant::now();
        let mut r = rig.post(Some(&rig.agent_token()), true, msg(true)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        let first = r.chunk().await.expect("chunk").expect("first bytes");
        let first_at = started.elapsed();
        assert!(String::from_utf8_lossy(&first).starts_with("event: message_start"));
        assert!(
            first_at < Duration::from_millis(1000),
            "first bytes after {first_at:?}: buffered?"
        );
        let mut all = first.to_vec();
        while let Some(c) = r.chunk().await.expect("chunk") {
            all.extend_from_slice(&c);
        }
        assert!(
            started.elapsed() >= Duration::from_millis(1700),
            "the stream took its time"
        );
        assert!(
            String::from_utf8_lossy(&all)
                .ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
        );
    });
}

#[test]
fn mid_stream_error_passes_through_and_overload_429_is_not_a_cooldown() {
    t(async {
        let rig = Rig::new(&[KA, KB]).await;
        rig.kimi
            .script(KA, "A", vec![Reply::MidStreamError, Reply::Overloaded]);
        let r = rig.post(Some(&rig.agent_token()), true, msg(true)).await;
        assert_eq!(r.status(), 200);
        let text = r.text().await.expect("text");
        assert!(
            text.contains("event: error") && text.contains("overloaded_error"),
            "{text}"
        );
        let r = rig.post(Some(&rig.agent_token()), true, msg(false)).await;
        assert_eq!(r.status(), 429);
        assert_eq!(
            rig.state("…000a")["state"],
            "available",
            "overload is the server's, not the key's"
        );
        assert_eq!(rig.kimi.keys_used(), ["A", "A"]);
    });
}

#[test]
fn head_is_answered_locally() {
    t(async {
        let rig = Rig::new(&[KA]).await;
        let r = reqwest::Client::new()
            .head(format!("{}/", rig.url))
            .send()
            .await
            .expect("head");
        assert_eq!(r.status(), 200);
        assert!(rig.kimi.requests().is_empty());
    });
}

#[test]
fn large_bodies_are_forwarded_once_without_replay() {
    t(async {
        let rig = Rig::with(&[KA, KB], |mut c| {
            c.max_replay_body = 1024;
            c
        })
        .await;
        rig.kimi
            .script(KA, "A", vec![Reply::RateLimited { retry_after: None }]);
        let big = "x".repeat(10_000);
        let body =
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": big}]});
        let r = rig.post(Some(&rig.agent_token()), true, body).await;
        assert_eq!(r.status(), 429, "no replay: the client sees the 429");
        assert_eq!(rig.kimi.keys_used(), ["A"]);
        assert!(
            rig.kimi.requests()[0].body_len > 10_000,
            "the whole body arrived"
        );
        assert_eq!(rig.state("…000a")["state"], "cooling");
    });
}

#[test]
fn upstream_down_is_502_and_a_hang_is_504() {
    t(async {
        let rig = Rig::with(&[KA], |mut c| {
            c.upstream = "http://127.0.0.1:9/coding/".parse().expect("url");
            c
        })
        .await;
        let r = rig.post(Some(&rig.agent_token()), true, msg(false)).await;
        assert_eq!(r.status(), 502);
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["type"], "error");

        let rig = Rig::with(&[KA], |mut c| {
            c.idle_timeout = Duration::from_millis(500);
            c
        })
        .await;
        rig.kimi.script(KA, "A", vec![Reply::Hang]);
        let r = rig.post(Some(&rig.agent_token()), true, msg(false)).await;
        assert_eq!(r.status(), 504);
    });
}

#[test]
fn a_client_that_disconnects_cancels_the_upstream_request() {
    t(async {
        let rig = Rig::new(&[KA]).await;
        rig.kimi.script(
            KA,
            "A",
            vec![Reply::SlowSse {
                first_byte_after: Duration::ZERO,
                chunk_every: Duration::from_millis(200),
                chunks: 100,
            }],
        );
        let mut r = rig.post(Some(&rig.agent_token()), true, msg(true)).await;
        let _ = r.chunk().await;
        drop(r);
        let start = std::time::Instant::now();
        while rig.kimi.cancelled() == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "upstream stream was not cancelled"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}

#[test]
fn the_overseer_pool_is_untouched_by_agent_429s() {
    t(async {
        let rig = Rig::new(&[KA]).await;
        rig.kimi
            .script(KA, "A", vec![Reply::RateLimited { retry_after: None }]);
        let r = rig.post(Some(&rig.agent_token()), true, msg(false)).await;
        assert_eq!(r.status(), 429);
        let overseer = rig.tokens.overseer_token().expose_secret().to_string();
        let r = rig.post(Some(&overseer), false, msg(false)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(rig.kimi.keys_used(), ["A", "O"]);
        let st = serde_json::to_value(rig.pools.status()).expect("status");
        assert_eq!(st["overseer"]["available"], 1);
        assert_eq!(st["agents"]["cooling"], 1);
        rig.pools.flush().expect("flush");
        let state = std::fs::read_to_string(rig.home.join("key-rotation.json")).expect("state");
        for k in [KA, KO] {
            assert!(
                !state.contains(k) && !state.contains(&k[k.len() - 12..]),
                "key material in the state file"
            );
        }
    });
}

#[test]
fn concurrent_requests_never_use_a_key_just_cooled() {
    t(async {
        let rig = Rig::new(&[KA, KB, KC]).await;
        rig.kimi
            .script(KA, "A", vec![Reply::RateLimited { retry_after: None }]);
        // Cool A first, then fire many requests at once.
        let r = rig.post(Some(&rig.agent_token()), true, msg(false)).await;
        assert_eq!(r.status(), 200);
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let url = rig.url.clone();
                let tok = rig.agent_token();
                tokio::spawn(async move {
                    reqwest::Client::new()
                        .post(format!("{url}/v1/messages"))
                        .bearer_auth(tok)
                        .json(&msg(false))
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.expect("join").expect("send"), 200);
        }
        let used = rig.kimi.keys_used();
        assert_eq!(used.iter().filter(|k| *k == "A").count(), 1, "{used:?}");
    });
}

/// The real Claude Code CLI through the proxy: the first key answers 429,
/// the second serves the answer, and Claude never sees an error.
#[test]
fn real_claude_code_gets_its_answer_through_a_429() {
    common::run_test(Duration::from_secs(180), async {
        let rig = Rig::new(&[KA, KB]).await;
        rig.kimi
            .script(KA, "A", vec![Reply::RateLimited { retry_after: None }]);
        rig.kimi.set_default(Reply::Ok("FAKE-PONG".into()));
        let stdout = common::claude_ping_through_proxy(
            &rig.home.join("claude-home"),
            &rig.url,
            &rig.agent_token(),
        )
        .await;
        assert!(stdout.contains("FAKE-PONG"), "{stdout}");
        let used = rig.kimi.keys_used();
        assert_eq!(used.first().map(String::as_str), Some("A"), "{used:?}");
        assert!(
            used[1..].iter().all(|k| k == "B"),
            "after the 429 only B serves: {used:?}"
        );
        assert_eq!(rig.state("…000a")["state"], "cooling");
        let reqs = rig.kimi.requests();
        assert!(
            reqs.iter().all(|r| r.path == "/coding/v1/messages"),
            "{reqs:?}"
        );
    });
}

#[test]
fn an_upstream_silent_between_chunks_is_cut_after_the_idle_timeout() {
    t(async {
        let rig = Rig::with(&[KA], |mut c| {
            c.idle_timeout = Duration::from_millis(500);
            c
        })
        .await;
        rig.kimi.script(
            KA,
            "A",
            vec![Reply::SlowSse {
                first_byte_after: Duration::ZERO,
                chunk_every: Duration::from_secs(4),
                chunks: 3,
            }],
        );
        let started = std::time::Instant::now();
        let mut r = rig.post(Some(&rig.agent_token()), true, msg(true)).await;
        assert_eq!(r.status(), 200);
        let mut all = Vec::new();
        // The stream ends (cut) well before the 12 s the upstream would take.
        let read = tokio::time::timeout(Duration::from_secs(6), async {
            while let Ok(Some(c)) = r.chunk().await {
                all.extend_from_slice(&c);
            }
        })
        .await;
        assert!(read.is_ok(), "the stream was not cut after 6 s of silence");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let text = String::from_utf8_lossy(&all);
        assert!(text.starts_with("event: message_start"), "{text}");
        assert!(!text.contains("message_stop"), "{text}");
    });
}

#[test]
fn an_error_body_that_stalls_is_given_up_after_the_idle_timeout() {
    t(async {
        let rig = Rig::with(&[KA], |mut c| {
            c.idle_timeout = Duration::from_millis(500);
            c
        })
        .await;
        rig.kimi.script(KA, "A", vec![Reply::StalledError(500)]);
        let started = std::time::Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(6),
            rig.post(Some(&rig.agent_token()), true, msg(false)),
        )
        .await
        .expect("an answer although the upstream's error body never ends");
        assert_eq!(r.status(), 500);
        assert!(started.elapsed() < Duration::from_secs(3));
    });
}

/// Sends a raw request line (reqwest would normalise the dot segments away
/// before sending them), returns the status line.
async fn raw_post(url: &str, path: &str, token: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = msg(false).to_string();
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nx-api-key: {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn paths_with_dot_segments_never_leave_the_base_path() {
    t(async {
        let rig = Rig::new(&[KA]).await;
        for path in [
            "/../v1/messages",
            "/%2e%2e/v1/messages",
            "/x/%2E./../v1/messages",
            "/v1/..%2f..%2fv1/messages",
        ] {
            let status = raw_post(&rig.url, path, &rig.agent_token()).await;
            assert!(status.starts_with("HTTP/1.1 400"), "{path}: {status}");
        }
        assert!(rig.kimi.requests().is_empty(), "a request reached upstream");
        // The ordinary path still works and lands under the base path.
        let status = raw_post(&rig.url, "/v1/messages", &rig.agent_token()).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        assert_eq!(rig.kimi.requests()[0].path, "/coding/v1/messages");
    });
}

#[test]
fn a_retry_after_of_ages_cools_the_key_for_a_day_at_most() {
    t(async {
        let rig = Rig::new(&[KA, KB]).await;
        rig.kimi.script(
            KA,
            "A",
            vec![Reply::RateLimited {
                retry_after: Some(9_000_000_000_000),
            }],
        );
        let r = rig.post(Some(&rig.agent_token()), true, msg(false)).await;
        assert_eq!(r.status(), 200);
        let a = rig.state("…000a");
        assert_eq!(a["state"], "cooling");
        let left = a["cooldown_secs_left"].as_u64().expect("seconds left");
        assert!(left <= 86_400 && left > 86_000, "{left}");
        // The state is written (the flusher's work) without a panic, with
        // a date chrono can hold.
        rig.pools.flush().expect("flush");
        let st: Value = serde_json::from_str(
            &std::fs::read_to_string(rig.home.join("key-rotation.json")).expect("state"),
        )
        .expect("json");
        let until = st["pools"]["agents"]
            .as_object()
            .and_then(|m| m.values().find_map(|r| r["cooldown_until"].as_str()))
            .expect("a cooldown on disk")
            .to_string();
        assert!(until.starts_with("20"), "{until}");
    });
}
