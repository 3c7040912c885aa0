//! Token accounting through the real proxy against the fake Kimi: exact
//! counts per slot, key and kind in the real SQLite store, in both answer
//! modes, for cut, cancelled, failed and replayed requests, for the real
//! Claude Code, and through `gasclaw run` with a restart and a `kill -9`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::sync::Arc;
use std::time::Duration;

use gasclaw_core::keys::proxy::{Proxy, ProxyConfig};
use gasclaw_core::keys::usage::quota::QuotaPoller;
use gasclaw_core::keys::usage::store::Row;
use gasclaw_core::keys::usage::{Recorder, RequestOutcome, Tokens, UsageStore, Writer};
use gasclaw_core::keys::{KeyPools, LocalTokens, PoolKind, PoolSettings, SystemClock};
use gasclaw_fakes::kimi::{FakeKimi, FakeUsage, Reply, UsagesReply};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

const KA: &str = "sk-kimi-usagetest-AAAAAAAAAAAAAAAA-000a";
const KB: &str = "sk-kimi-usagetest-BBBBBBBBBBBBBBBB-000b";
const KO: &str = "sk-kimi-usagetest-OOOOOOOOOOOOOOOO-000o";

struct Rig {
    _dir: tempfile::TempDir,
    home: std::path::PathBuf,
    kimi: FakeKimi,
    tokens: Arc<LocalTokens>,
    url: String,
    store: UsageStore,
    recorder: Option<Recorder>,
    writer: Option<Writer>,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Rig {
    async fn new(agent_keys: &[&str]) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().to_path_buf();
        let kimi = FakeKimi::start().await.expect("fake kimi");
        for (k, l) in [(KA, "A"), (KB, "B"), (KO, "O")] {
            kimi.label(k, l);
        }
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
            Arc::new(|_| {}),
        )
        .expect("pools");
        let tokens = Arc::new(LocalTokens::load_or_create(&home, 2).expect("tokens"));
        let store = UsageStore::open(&UsageStore::path_in(&home)).expect("store");
        let (recorder, writer) = store
            .spawn_writer(Duration::from_secs(90 * 86400), Arc::new(SystemClock))
            .expect("writer");
        let mut cfg = ProxyConfig::new(kimi.base_url().parse().expect("url"));
        cfg.usage = Some(recorder.clone());
        let proxy = Proxy::new(pools, tokens.clone(), cfg).expect("proxy");
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
            tokens,
            url,
            store,
            recorder: Some(recorder),
            writer: Some(writer),
            shutdown,
        }
    }

    fn token(&self, slot: usize) -> String {
        match slot {
            0 => self.tokens.overseer_token().expose_secret().to_string(),
            n => self
                .tokens
                .agent_token(n)
                .expect("token")
                .expose_secret()
                .to_string(),
        }
    }

    async fn post(&self, slot: usize, stream: bool) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/v1/messages?beta=true", self.url))
            .header("anthropic-version", "2023-06-01")
            .bearer_auth(self.token(slot))
            .json(&json!({"model": "kimi-for-coding", "max_tokens": 16, "stream": stream, "messages": [{"role": "user", "content": "ping"}]}))
            .send()
            .await
            .expect("request")
    }

    /// Every record written so far (after waiting for the in-flight ones).
    async fn rows(&self, expect_requests: u64) -> Vec<Row> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(r) = &self.recorder {
                let r = r.clone();
                tokio::task::spawn_blocking(move || r.flush())
                    .await
                    .expect("flush");
            }
            let rows = self.store.rows_since(0).expect("rows");
            let n: u64 = rows.iter().map(|r| r.requests).sum();
            if n >= expect_requests || std::time::Instant::now() > deadline {
                assert_eq!(n, expect_requests, "requests counted: {rows:#?}");
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.kimi.stop();
        drop(self.recorder.take());
        let _ = self.writer.take();
    }
}

fn u(input: u64, output: u64, cache_creation: u64, cache_read: u64) -> FakeUsage {
    FakeUsage {
        input,
        output,
        cache_creation,
        cache_read,
    }
}

fn tk(input: u64, output: u64, cache_creation: u64, cache_read: u64) -> Tokens {
    Tokens {
        input,
        output,
        cache_creation,
        cache_read,
    }
}

/// Sums of the rows matching `f`: (requests, tokens).
fn sum(rows: &[Row], f: impl Fn(&Row) -> bool) -> (u64, Tokens) {
    let mut t = Tokens::default();
    let mut n = 0;
    for r in rows.iter().filter(|r| f(r)) {
        n += r.requests;
        t.add(&r.tokens);
    }
    (n, t)
}

fn t<F: std::future::Future<Output = ()>>(f: F) {
    common::run_test(Duration::from_secs(60), f);
}

#[test]
fn both_modes_are_counted_exactly_per_slot_key_and_kind() {
    t(async {
        let rig = Rig::new(&[KA]).await;
        rig.kimi.script(
            KA,
            "A",
            vec![
                Reply::WithUsage(u(1200, 345, 67, 8900)),
                Reply::WithUsage(u(1000, 20, 0, 5)),
                Reply::WithUsage(u(7, 3, 1, 2)),
            ],
        );
        rig.kimi
            .script(KO, "O", vec![Reply::WithUsage(u(50, 60, 70, 80))]);
        let r = rig.post(1, true).await;
        assert_eq!(r.status(), 200);
        let body = r.text().await.expect("body");
        // The bytes the client gets are the upstream's, unchanged.
        assert_eq!(
            body,
            gasclaw_fakes::kimi::sse_with_usage("FAKE-PONG", u(1200, 345, 67, 8900)).concat()
        );
        let r = rig.post(1, false).await;
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["usage"]["output_tokens"], 20);
        assert!(!rig.post(2, true).await.text().await.expect("b").is_empty());
        assert_eq!(rig.post(0, false).await.status(), 200);
        let rows = rig.rows(4).await;
        assert_eq!(
            sum(&rows, |r| r.slot == "agent-1"),
            (2, tk(2200, 365, 67, 8905))
        );
        assert_eq!(sum(&rows, |r| r.slot == "agent-2"), (1, tk(7, 3, 1, 2)));
        assert_eq!(
            sum(&rows, |r| r.slot == "overseer"),
            (1, tk(50, 60, 70, 80))
        );
        assert!(rows.iter().all(|r| r.outcome == RequestOutcome::Ok));
        assert!(rows.iter().all(|r| r.model == "kimi-for-coding"));
        assert_eq!(
            sum(&rows, |r| r.key == "…000a").0,
            3,
            "agent requests on key A: {rows:#?}"
        );
        assert_eq!(
            sum(&rows, |r| r.key == "…000o" && r.pool == "overseer").0,
            1
        );
        // The live counters behind /metrics agree.
        let stats = rig.recorder.as_ref().expect("rec").stats().tokens();
        let a1: Vec<_> = stats.iter().filter(|(s, _, _)| s == "agent-1").collect();
        assert_eq!(a1.len(), 1);
        assert_eq!(a1[0].2, tk(2200, 365, 67, 8905));
    });
}

#[test]
fn a_replay_after_a_429_is_counted_once_on_the_key_that_answered() {
    t(async {
        let rig = Rig::new(&[KA, KB]).await;
        rig.kimi
            .script(KA, "A", vec![Reply::RateLimited { retry_after: None }]);
        rig.kimi
            .script(KB, "B", vec![Reply::WithUsage(u(500, 40, 3, 2))]);
        let r = rig.post(1, true).await;
        assert_eq!(r.status(), 200);
        let _ = r.text().await;
        assert_eq!(rig.kimi.keys_used(), ["A", "B"]);
        let rows = rig.rows(1).await;
        assert_eq!(rows.len(), 1, "{rows:#?}");
        assert_eq!(rows[0].key, "…000b");
        assert_eq!(rows[0].requests, 1);
        assert_eq!(rows[0].outcome, RequestOutcome::Ok);
        assert_eq!(rows[0].tokens, tk(500, 40, 3, 2));
    });
}

#[test]
fn cut_cancelled_and_refused_requests_are_counted_as_such() {
    t(async {
        let rig = Rig::new(&[KA]).await;
        rig.kimi.script(
            KA,
            "A",
            vec![
                Reply::CutStream(u(900, 0, 11, 22)),
                Reply::SlowSse {
                    first_byte_after: Duration::ZERO,
                    chunk_every: Duration::from_millis(200),
                    chunks: 100,
                },
                Reply::BadRequest,
                Reply::MidStreamError,
            ],
        );
        // Cut mid-way: the client sees the stream break.
        let r = rig.post(1, true).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.is_err(), "the cut reaches the client");
        // Cancelled: the client leaves after the first bytes.
        let mut r = rig.post(1, true).await;
        let _ = r.chunk().await;
        drop(r);
        // Refused: passed through, counted as failed.
        assert_eq!(rig.post(2, false).await.status(), 400);
        // An `error` event after 200.
        let _ = rig.post(2, true).await.text().await;
        let rows = rig.rows(4).await;
        let failed_1 = sum(&rows, |r| {
            r.slot == "agent-1" && r.outcome == RequestOutcome::Failed
        });
        assert_eq!(failed_1, (1, tk(900, 1, 11, 22)), "{rows:#?}");
        assert_eq!(
            sum(&rows, |r| r.slot == "agent-1"
                && r.outcome == RequestOutcome::Cancelled),
            (1, tk(10, 1, 0, 0))
        );
        assert_eq!(
            sum(&rows, |r| r.slot == "agent-2"
                && r.outcome == RequestOutcome::Failed),
            (2, tk(10, 1, 0, 0))
        );
        assert!(rows.iter().all(|r| r.key == "…000a"));
    });
}

#[test]
fn quota_polling_reads_usages_and_its_failure_changes_nothing() {
    t(async {
        let rig = Rig::new(&[KA, KB]).await;
        rig.kimi.set_usages(
            KA,
            UsagesReply::Quota {
                limit: 100,
                used: 59,
                reset: "2026-02-11T08:00:00Z".into(),
            },
        );
        rig.kimi.set_usages(KB, UsagesReply::Fail(500));
        rig.kimi.set_usages(KO, UsagesReply::Hang);
        let rec = rig.recorder.clone().expect("rec");
        let poller = QuotaPoller::new(
            &rig.kimi.base_url().parse().expect("url"),
            vec![
                (PoolKind::Agents, SecretString::from(KA)),
                (PoolKind::Agents, SecretString::from(KB)),
                (PoolKind::Overseer, SecretString::from(KO)),
            ],
            rec.clone(),
        )
        .expect("poller");
        let started = std::time::Instant::now();
        // A request in flight while the quota endpoint hangs is unaffected.
        let (got, resp) = tokio::join!(poller.poll_once(), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            rig.post(1, true).await
        });
        assert_eq!(resp.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(15));
        assert_eq!(got, 1);
        let latest = poller.latest();
        assert_eq!(latest.len(), 1);
        assert_eq!((latest[0].key.as_str(), latest[0].remaining), ("…000a", 41));
        assert_eq!(rig.kimi.usages_calls(), ["A", "B", "O"]);
        // Polling never touches the pools: no request went to the model.
        assert!(rig.kimi.keys_used().len() == 1);
        tokio::task::spawn_blocking(move || rec.flush())
            .await
            .expect("flush");
        let q = rig.store.quota_since(0).expect("quota");
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].used, 59);
        let _ = &rig.home;
    });
}

/// The real Claude Code CLI through the metered proxy: every request it
/// makes is counted under its slot with the exact usage the upstream sent.
#[test]
fn real_claude_code_is_counted_under_its_slot() {
    common::run_test(Duration::from_secs(180), async {
        let rig = Rig::new(&[KA]).await;
        rig.kimi
            .set_default(Reply::WithUsage(u(4321, 17, 300, 12000)));
        let stdout = common::claude_ping_through_proxy(
            &rig.home.join("claude-home"),
            &rig.url,
            &rig.token(2),
        )
        .await;
        assert!(stdout.contains("FAKE-PONG"), "{stdout}");
        let n = rig.kimi.requests().len() as u64;
        assert!(n >= 1);
        let rows = rig.rows(n).await;
        assert!(rows.iter().all(|r| r.slot == "agent-2"), "{rows:#?}");
        assert!(
            rows.iter().all(|r| r.outcome == RequestOutcome::Ok),
            "{rows:#?}"
        );
        assert_eq!(
            sum(&rows, |_| true),
            (n, tk(4321 * n, 17 * n, 300 * n, 12000 * n))
        );
    });
}

mod through_run {
    use super::*;
    use common::*;
    use gasclaw_fakes::bot_api::updates::{self, User};

    async fn cli_total(env: &TestEnv) -> Value {
        let out = env
            .gasclaw(&["usage", "--json"], Duration::from_secs(30))
            .await;
        assert_eq!(out.code, Some(0), "gasclaw usage: {}", out.all());
        serde_json::from_str(out.stdout.trim()).expect("usage json")
    }

    async fn wait_requests(env: &TestEnv, n: u64) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let v = cli_total(env).await;
            if v["total"]["requests"] == n || std::time::Instant::now() > deadline {
                assert_eq!(v["total"]["requests"], n, "{v}");
                return v;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `gasclaw run` counts, `gasclaw usage` and `/metrics` report, `/usage`
    /// answers with text and a chart, a `kill -9` loses at most the last
    /// batch, and a graceful restart loses nothing.
    #[test]
    fn counts_reports_and_survives_kill_9_and_restart() {
        run_test(Duration::from_secs(300), async {
            let kimi = FakeKimi::start().await.expect("fake kimi");
            kimi.set_default(Reply::WithUsage(u(1000, 100, 10, 5000)));
            kimi.set_usages(
                AGENT_KEYS[0],
                UsagesReply::Quota {
                    limit: 100,
                    used: 59,
                    reset: "2026-12-31T00:00:00Z".into(),
                },
            );
            // The second key's /usages is absent (404), the overseer's fails.
            kimi.set_usages(OVERSEER_KEY, UsagesReply::Fail(503));
            let tg = fake_telegram(false).await;
            let mut env = TestEnv::new();
            env.use_telegram(&tg);
            env.set("KIMI_BASE_URL", &kimi.base_url());
            env.set("MONITOR_INTERVAL", "1h");
            env.set("TELEGRAM_RATE_LIMIT", "off");
            let run = env.start_run(&tg).await;
            for _ in 0..3 {
                assert_eq!(env.ask_model_as_agent().await.status(), 200);
            }
            let v = wait_requests(&env, 3).await;
            assert_eq!(
                v["total"]["tokens"],
                json!({"input": 3000, "output": 300, "cache_creation": 30, "cache_read": 15000})
            );
            assert_eq!(v["rows"][0]["name"], "agent-1");
            assert_eq!(v["quotas"][0]["key"], "…0001");
            assert_eq!(v["quotas"][0]["remaining"], 41);
            assert_eq!(v["quotas"].as_array().map(Vec::len), Some(1));
            let by_key = env
                .gasclaw(&["usage", "--by", "key"], Duration::from_secs(30))
                .await;
            assert!(by_key.stdout.contains("…0001"), "{}", by_key.all());
            let by_hour = env
                .gasclaw(
                    &["usage", "--since", "7d", "--by", "hour", "--json"],
                    Duration::from_secs(30),
                )
                .await;
            let h: Value = serde_json::from_str(by_hour.stdout.trim()).expect("json");
            // One hour, or two if the test straddled an hour's end.
            let hours = h["rows"].as_array().expect("rows");
            assert!((1..=2).contains(&hours.len()), "{h}");
            let n: u64 = hours.iter().filter_map(|r| r["requests"].as_u64()).sum();
            assert_eq!(n, 3, "{h}");
            let bad = env
                .gasclaw(
                    &["usage", "--since", "the day before"],
                    Duration::from_secs(30),
                )
                .await;
            assert_eq!(bad.code, Some(2), "{}", bad.all());
            assert!(
                bad.stderr
                    .contains("--since: `the day before` is not a span"),
                "{}",
                bad.all()
            );

            let metrics = reqwest::get(format!("{}/metrics", env.http_url()))
                .await
                .expect("metrics")
                .text()
                .await
                .expect("text");
            assert!(
                metrics.contains(
                    r#"gasclaw_tokens_total{slot="agent-1",key="…0001",kind="cache_read"} 15000"#
                ),
                "{metrics}"
            );
            assert!(
                metrics.contains(r#"gasclaw_key_quota_left_ratio{pool="agents",key="…0001"} 0.41"#),
                "{metrics}"
            );
            assert!(
                metrics.contains("gasclaw_usage_dropped_total 0"),
                "{metrics}"
            );

            // /usage from a member of the chat (the owner here): text, then a photo.
            let owner = User::new(OWNER_ID, "Owner");
            let floor = tg.last_seq();
            tg.push_update(updates::private_text(&owner, "/usage"));
            let photo = tg
                .wait_for(
                    |c| c.seq > floor && c.method == "sendphoto",
                    Duration::from_secs(30),
                )
                .await
                .expect("a photo");
            assert_eq!(photo.response_status, 200);
            let text = tg
                .calls()
                .into_iter()
                .find(|c| c.seq > floor && c.method == "sendmessage")
                .expect("the text before the photo");
            assert!(text.text().contains("3 requests"), "{}", text.text());
            assert!(text.text().contains("…0001: 41 % left"), "{}", text.text());
            let png_bytes = tg.photos().last().expect("photo bytes").bytes.clone();
            let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
                .read_info()
                .expect("a PNG");
            let info = reader.info();
            assert_eq!((info.width, info.height), (1280, 720));
            let mut buf = vec![0; reader.output_buffer_size().expect("size")];
            reader.next_frame(&mut buf).expect("decodes");

            // kill -9: what was written stays; at most the last batch is lost.
            for _ in 0..2 {
                assert_eq!(env.ask_model_as_agent().await.status(), 200);
            }
            wait_requests(&env, 5).await;
            for _ in 0..4 {
                assert_eq!(env.ask_model_as_agent().await.status(), 200);
            }
            let mut run = run;
            let pid = run.id().expect("pid") as i32;
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            )
            .expect("kill -9");
            let _ = run.wait().await;
            let after_kill = cli_total(&env).await["total"]["requests"]
                .as_u64()
                .expect("n");
            assert!((5..=9).contains(&after_kill), "{after_kill}");

            // A graceful restart: nothing is lost.
            let run = env.start_run(&tg).await;
            assert_eq!(env.ask_model_as_agent().await.status(), 200);
            assert_eq!(sigterm(run).await, Some(0));
            let v = cli_total(&env).await;
            assert_eq!(v["total"]["requests"], after_kill + 1, "{v}");
            assert_eq!(v["total"]["tokens"]["input"], (after_kill + 1) * 1000);
            tg.stop();
            kimi.stop();
        });
    }
}
