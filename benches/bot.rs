//! The bot through the real `gasclaw run` binary and the fake Bot API:
//!
//! 1. 1,000 commands from 100 chats at once, outgoing rate limiting off:
//!    every one answered, in order within each chat; replies/s and p99
//!    latency from update to reply.
//! 2. The same with rate limiting on (the default) against a fake that
//!    enforces Telegram's limits: how many 429s it had to answer (target 0).
//! 3. Resident memory of an idle `gasclaw run` (target < 30 MB).
//! 4. Relay overhead of the overseer conversation with 50 concurrent
//!    conversations: update → gateway call, and gateway answer → sendMessage
//!    (target p99 < 20 ms), against an instant in-process gateway.
//! 5. The owner under a group flood (issue 11): 150 member commands in an
//!    allowed group against a fake enforcing Telegram's limits, then the
//!    owner's DM `/status` ten times while the group's replies still queue;
//!    latency from update to answer, p50/p99 over five runs, and the same
//!    without a flood for comparison.
//!
//! Run: `cargo bench --bench bot` (`-- flood` runs only 5).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::IntoResponse;
use common::*;
use gasclaw_fakes::bot_api::FakeBotApi;
use gasclaw_fakes::bot_api::updates::{self, User};

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

const CHATS: u64 = 100;
const PER_CHAT: usize = 10;

/// Pushes 1,000 /help commands from 100 operators' DMs and waits for every
/// reply. Returns (seconds, p50 ms, p99 ms).
async fn burst(tg: &FakeBotApi) -> (f64, f64, f64) {
    let mut sent_at: BTreeMap<i64, Instant> = BTreeMap::new();
    let floor = tg.calls().last().map(|c| c.seq).unwrap_or(0);
    let start = Instant::now();
    for round in 0..PER_CHAT {
        for c in 0..CHATS {
            let u = User::new(100_000 + c, "Op");
            let up = updates::private_text(&u, "/help");
            let id = up["message"]["message_id"].as_i64().expect("id");
            sent_at.insert(id, Instant::now());
            tg.push_update(up);
            let _ = round;
        }
    }
    let total = sent_at.len();
    loop {
        let replies = tg
            .calls_of("sendmessage")
            .into_iter()
            .filter(|c| c.seq > floor && c.response_status == 200)
            .count();
        if replies >= total {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "only {replies} of {total} answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let replies: Vec<_> = tg
        .calls_of("sendmessage")
        .into_iter()
        .filter(|c| c.seq > floor && c.response_status == 200)
        .collect();
    let mut lat = Vec::new();
    let mut per_chat: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for r in &replies {
        let to = r.body["reply_parameters"]["message_id"]
            .as_i64()
            .expect("replies quote the command");
        lat.push(r.at.duration_since(sent_at[&to]).as_secs_f64() * 1000.0);
        per_chat
            .entry(r.chat_id().unwrap_or(0))
            .or_default()
            .push(to);
    }
    for (chat, ids) in &per_chat {
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, &sorted, "replies out of order in chat {chat}");
        assert_eq!(ids.len(), PER_CHAT);
    }
    (secs, pct(&mut lat, 0.5), pct(&mut lat, 0.99))
}

async fn start(tg: &FakeBotApi, rate_limit: bool) -> (TestEnv, tokio::process::Child) {
    let mut env = TestEnv::new();
    env.use_telegram(tg);
    let ops: Vec<String> = (0..CHATS).map(|c| (100_000 + c).to_string()).collect();
    env.set("TELEGRAM_ALLOW_IDS", &ops.join(":"))
        .set("TELEGRAM_RATE_LIMIT", if rate_limit { "on" } else { "off" })
        .set("MONITOR_INTERVAL", "1h")
        .set("LOG_LEVEL", "warn");
    let child = env.start_run(tg).await;
    (env, child)
}

/// The owner's DM `/status` `n` times, one after another (a second apart:
/// Telegram's per-chat limit); the update → answer latency of each, in ms.
async fn owner_status_latencies(tg: &FakeBotApi, n: usize) -> Vec<f64> {
    let owner = User::new(OWNER_ID, "Owner");
    let mut out = Vec::new();
    for _ in 0..n {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let floor = tg.last_seq();
        let asked = Instant::now();
        tg.push_update(updates::private_text(&owner, "/status"));
        tg.wait_for(
            |c| {
                c.seq > floor
                    && c.chat_id() == Some(OWNER_ID as i64)
                    && c.text().contains("Stack status")
            },
            Duration::from_secs(60),
        )
        .await
        .expect("the owner's /status was answered");
        out.push(asked.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

/// 5. The owner's latency under a group flood, five runs.
async fn flood() {
    const GROUP: i64 = -1001234567890;
    let (mut calm, mut flooded, mut first) = (Vec::new(), Vec::new(), Vec::new());
    for run_no in 0..5 {
        let tg = fake_telegram(true).await;
        let mut env = TestEnv::new();
        env.use_telegram(&tg);
        env.set("TELEGRAM_GROUP_IDS", &GROUP.to_string())
            .set("MONITOR_INTERVAL", "1h")
            .set("LOG_LEVEL", "warn");
        let run = env.start_run(&tg).await;
        calm.extend(owner_status_latencies(&tg, 5).await);
        // Past Telegram's per-chat second since the owner's last answer, so
        // the figure is the flood's and not the owner's own pace.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let took = flood_group_then_owner_status(&tg, GROUP, 500_000).await;
        first.push(took.as_secs_f64() * 1000.0);
        flooded.extend(owner_status_latencies(&tg, 10).await);
        let group_replies = tg
            .calls_of("sendmessage")
            .iter()
            .filter(|c| c.chat_id() == Some(GROUP) && c.response_status == 200)
            .count();
        println!(
            "  run {}: owner's first /status after the flood {:.1} ms; group answered {group_replies} of 150 so far; 429s {}",
            run_no + 1,
            took.as_secs_f64() * 1000.0,
            tg.rate_limited_count()
        );
        let _ = sigterm(run).await;
        drop(env);
        tg.stop();
    }
    println!(
        "owner's DM /status under a 150-command group flood ({}), 5 runs: first answer p50 {:.1} ms max {:.1} ms; during the flood ({} samples) p50 {:.1} ms p99 {:.1} ms; without a flood ({} samples) p50 {:.1} ms p99 {:.1} ms (bound 5 s)",
        gasclaw_fakes::bot_api::RATE_RULES,
        pct(&mut first, 0.5),
        pct(&mut first, 1.0),
        flooded.len(),
        pct(&mut flooded, 0.5),
        pct(&mut flooded, 0.99),
        calm.len(),
        pct(&mut calm, 0.5),
        pct(&mut calm, 0.99),
    );
}

fn main() {
    if std::env::args().any(|a| a == "flood") {
        run_test(Duration::from_secs(900), flood());
        return;
    }
    run_test(Duration::from_secs(1500), async {
        // 1. Throughput, rate limiting off.
        let tg = fake_telegram(false).await;
        let (env, run) = start(&tg, false).await;
        let (secs, p50, p99) = burst(&tg).await;
        let n = CHATS as f64 * PER_CHAT as f64;
        println!(
            "1,000 commands from 100 chats, rate limiting off: all answered in order in {secs:.2} s → {:.0} replies/s; update→reply p50 {p50:.1} ms, p99 {p99:.1} ms",
            n / secs
        );

        // 3. Idle memory of the same process, after settling.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let pid = run.id().expect("pid");
        println!(
            "resident memory of gasclaw run: {} KiB after the burst (idle)",
            rss_kib(pid)
        );
        let _ = sigterm(run).await;
        drop(env);
        tg.stop();

        let tg = fake_telegram(false).await;
        let (env, run) = start(&tg, false).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let pid = run.id().expect("pid");
        println!(
            "resident memory of an idle gasclaw run (never busy): {} KiB (target < 30 MB)",
            rss_kib(pid)
        );

        // 4. Relay overhead: an instant gateway in this process, on the
        //    gateway's port (the fake one stopped first).
        let gw_pid: i32 = env
            .read(env.gasclaw_home.join("gateway.pid"))
            .trim()
            .parse()
            .expect("pid");
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(gw_pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let arrivals: Arc<Mutex<BTreeMap<String, (Instant, Instant)>>> = Arc::default();
        let a = arrivals.clone();
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            axum::routing::post(move |body: axum::Json<serde_json::Value>| {
                let a = a.clone();
                async move {
                    let got = Instant::now();
                    let user = body["user"].as_str().unwrap_or("").to_string();
                    let reply = serde_json::json!({"object": "chat.completion", "choices": [{"message": {"role": "assistant", "content": format!("answer for {user}")}, "finish_reason": "stop"}]});
                    a.lock().expect("lock").insert(user, (got, Instant::now()));
                    axum::Json(reply).into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", env.ports.gateway))
            .await
            .expect("gateway port");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut into = Vec::new();
        let mut out = Vec::new();
        for _round in 0..10 {
            arrivals.lock().expect("lock").clear();
            let floor = tg.calls().last().map(|c| c.seq).unwrap_or(0);
            let mut pushed: BTreeMap<i64, Instant> = BTreeMap::new();
            for c in 0..50u64 {
                let u = User::new(100_000 + c, "Op");
                pushed.insert((100_000 + c) as i64, Instant::now());
                tg.push_update(updates::private_text(&u, "how is it going?"));
            }
            let start = Instant::now();
            loop {
                let answers = tg
                    .calls_of("sendmessage")
                    .into_iter()
                    .filter(|c| c.seq > floor && c.text().starts_with("answer for"))
                    .count();
                if answers >= 50 {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "only {answers} answers"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let arr = arrivals.lock().expect("lock").clone();
            for c in tg
                .calls_of("sendmessage")
                .into_iter()
                .filter(|c| c.seq > floor && c.text().starts_with("answer for"))
            {
                let chat = c.chat_id().expect("chat");
                let (got, answered) = arr[&format!("telegram:{chat}")];
                into.push(got.duration_since(pushed[&chat]).as_secs_f64() * 1000.0);
                out.push(c.at.duration_since(answered).as_secs_f64() * 1000.0);
            }
        }
        println!(
            "relay overhead, 50 concurrent conversations × 10 rounds: update→gateway call p50 {:.1} ms p99 {:.1} ms; gateway answer→sendMessage p50 {:.1} ms p99 {:.1} ms (target p99 < 20 ms)",
            pct(&mut into, 0.5),
            pct(&mut into, 0.99),
            pct(&mut out, 0.5),
            pct(&mut out, 0.99)
        );
        let _ = sigterm(run).await;
        drop(env);
        tg.stop();

        // 2. Rate limiting on, against a fake enforcing Telegram's limits.
        let tg = fake_telegram(true).await;
        let (env, run) = start(&tg, true).await;
        let (secs, p50, p99) = burst(&tg).await;
        println!(
            "1,000 commands from 100 chats, rate limiting on, fake enforcing Telegram's limits ({}): all answered in order in {secs:.1} s (p50 {p50:.0} ms, p99 {p99:.0} ms); 429s answered by the fake: {}",
            gasclaw_fakes::bot_api::RATE_RULES,
            tg.rate_limited_count()
        );
        let _ = sigterm(run).await;
        drop(env);
        tg.stop();

        // 5. The owner under a group flood.
        flood().await;
    });
}
