//! `GASCLAW_HTTP_ADDR`: `/healthz` (200 when the bot polls and the monitor
//! cycles, with the last cycle as JSON) and `/metrics` (Prometheus text:
//! checks, alerts, commands, proxy requests, key cooldowns). The metrics are
//! built from the live state at each scrape, so nothing is counted twice.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::core::health::CheckStatus;
use crate::keys::KeyPools;
use crate::keys::proxy::ProxyMetrics;
use crate::monitor::Monitor;
use crate::notify::Outbox;
use crate::telegram::Telemetry;

pub struct HttpState {
    /// The overseer's endpoint (`/overseer/*`); absent: not served.
    pub overseer: Option<Arc<crate::overseer_api::OverseerApi>>,
    pub monitor: Arc<Monitor>,
    pub pools: Arc<KeyPools>,
    pub proxy: Arc<ProxyMetrics>,
    pub outbox: Arc<Outbox>,
    pub telemetry: Arc<Telemetry>,
    pub interval: Duration,
    pub supervisor: Arc<crate::supervise::Supervisor>,
    /// Token accounting, when the usage database could be opened.
    pub usage: Option<Arc<crate::keys::usage::Accounting>>,
}

pub fn router(state: Arc<HttpState>) -> Router {
    let mut r = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state.clone());
    if let Some(api) = &state.overseer {
        use crate::overseer_api as o;
        r = r.merge(
            Router::new()
                .route("/overseer/status", get(o::status).fallback(o::refused))
                .route("/overseer/keys", get(o::keys).fallback(o::refused))
                .route("/overseer/agents", get(o::agents).fallback(o::refused))
                .route("/overseer/usage", get(o::usage).fallback(o::refused))
                .route("/overseer/tasks", get(o::tasks).fallback(o::refused))
                .route("/overseer/tasks/{id}", get(o::task).fallback(o::refused))
                .route("/overseer/{*rest}", axum::routing::any(o::refused))
                .with_state(api.clone()),
        );
    }
    r
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<HttpState>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    // The peer address: the overseer's endpoint answers loopback only.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
}

async fn healthz(State(s): State<Arc<HttpState>>) -> Response {
    let cycle = s.monitor.last_cycle();
    let now = chrono::Utc::now();
    // A cycle is due every interval; allow a slow one (healing) some slack.
    let max_age = s.interval * 3 + Duration::from_secs(60);
    let cycle_age = cycle
        .as_ref()
        .map(|c| (now - c.at).num_seconds().max(0) as u64);
    let monitor_ok = cycle_age.is_some_and(|a| a <= max_age.as_secs());
    let bot = s.telemetry.bot();
    // Every long-lived task that is not running, by name.
    let dead = s.supervisor.dead();
    let ok = monitor_ok && bot.polling && dead.is_empty();
    let body = json!({
        "ok": ok,
        "dead": dead,
        "tasks": s.supervisor.tasks(),
        "bot": bot,
        "monitor": {"ok": monitor_ok, "last_cycle_age_secs": cycle_age, "last_cycle": cycle},
        "alerts_queued": s.outbox.len(),
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn gauge_family() -> Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>> {
    Family::default()
}

fn counter_family() -> Family<Labels, Counter> {
    Family::default()
}

/// Registers one unlabelled counter holding `n`.
fn counter(reg: &mut Registry, name: &str, help: &str, n: u64) {
    let c: Counter = Counter::default();
    c.inc_by(n);
    reg.register(name, help, c);
}

/// Registers one unlabelled gauge holding `v`.
fn gauge(reg: &mut Registry, name: &str, help: &str, v: f64) {
    let g: Gauge<f64, std::sync::atomic::AtomicU64> = Gauge::default();
    g.set(v);
    reg.register(name, help, g);
}

async fn metrics(State(s): State<Arc<HttpState>>) -> Response {
    let mut reg = Registry::default();

    let up = gauge_family();
    let latency = gauge_family();
    let mut cycle_ts = None;
    if let Some(c) = s.monitor.last_cycle() {
        for check in &c.report.checks {
            let l = labels(&[("check", check.name.name())]);
            up.get_or_create(&l)
                .set(if check.status == CheckStatus::Ok {
                    1.0
                } else {
                    0.0
                });
            latency
                .get_or_create(&l)
                .set(check.latency_ms as f64 / 1000.0);
        }
        cycle_ts = Some((
            c.at.timestamp() as f64,
            c.report.activity.last_commit_age_secs,
        ));
    }
    reg.register(
        "gasclaw_check_up",
        "1 when the check is ok, 0 when down or unknown",
        up,
    );
    reg.register(
        "gasclaw_check_latency_seconds",
        "How long the check took",
        latency,
    );
    if let Some((ts, age)) = cycle_ts {
        gauge(
            &mut reg,
            "gasclaw_monitor_last_cycle_timestamp_seconds",
            "When the monitor last cycled",
            ts,
        );
        if let Some(age) = age {
            gauge(
                &mut reg,
                "gasclaw_activity_last_commit_age_seconds",
                "Age of the agents' newest commit",
                age as f64,
            );
        }
    }

    let stats = &s.outbox.stats;
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    counter(
        &mut reg,
        "gasclaw_alerts_sent",
        "Alerts Telegram accepted",
        stats.sent.load(relaxed),
    );
    counter(
        &mut reg,
        "gasclaw_alerts_dropped",
        "Alerts Telegram refused as invalid",
        stats.dropped.load(relaxed),
    );
    gauge(
        &mut reg,
        "gasclaw_alerts_queued",
        "Alerts waiting in the outbox",
        s.outbox.len() as f64,
    );
    gauge(
        &mut reg,
        "gasclaw_alerts_in_memory",
        "Alerts the disk refused (full?), kept in memory and retried",
        s.outbox.in_memory() as f64,
    );

    let commands = counter_family();
    for ((name, outcome), n) in s.telemetry.commands() {
        commands
            .get_or_create(&labels(&[("command", &name), ("outcome", &outcome)]))
            .inc_by(n);
    }
    reg.register(
        "gasclaw_commands",
        "Chat commands by name and outcome",
        commands,
    );

    let snap = s.proxy.snapshot();
    let requests = counter_family();
    for (status, hint, n) in &snap.requests {
        let key = if hint.is_empty() {
            "none"
        } else {
            hint.as_str()
        };
        requests
            .get_or_create(&labels(&[("status", &status.to_string()), ("key", key)]))
            .inc_by(*n);
    }
    reg.register(
        "gasclaw_proxy_requests",
        "Proxied model requests by status and key hint",
        requests,
    );
    counter(
        &mut reg,
        "gasclaw_proxy_retries",
        "Requests replayed on another key",
        snap.retries,
    );
    counter(
        &mut reg,
        "gasclaw_proxy_upstream_errors",
        "Upstream unreachable or timing out",
        snap.upstream_errors,
    );

    let cooldown = gauge_family();
    let pool_keys = gauge_family();
    let status = s.pools.status();
    for (pool, p) in [("agents", &status.agents), ("overseer", &status.overseer)] {
        for k in &p.keys {
            cooldown
                .get_or_create(&labels(&[("pool", pool), ("key", &k.hint)]))
                .set(k.cooldown_secs_left.unwrap_or(0) as f64);
        }
        for (state, n) in [
            ("available", p.available),
            ("cooling", p.cooling),
            ("invalid", p.invalid),
        ] {
            pool_keys
                .get_or_create(&labels(&[("pool", pool), ("state", state)]))
                .set(n as f64);
        }
    }
    reg.register(
        "gasclaw_key_cooldown_seconds",
        "Seconds until a key is usable again (0: available)",
        cooldown,
    );
    reg.register("gasclaw_pool_keys", "Keys per pool and state", pool_keys);

    if let Some(u) = &s.usage {
        let stats = u.recorder.stats();
        let tokens = counter_family();
        for (slot, key, t) in stats.tokens() {
            let key = if key.is_empty() { "none" } else { key.as_str() };
            for (kind, n) in t.kinds() {
                tokens
                    .get_or_create(&labels(&[("slot", &slot), ("key", key), ("kind", kind)]))
                    .inc_by(n);
            }
        }
        reg.register(
            "gasclaw_tokens",
            "Model tokens through the proxy by slot, key hint and kind (since start)",
            tokens,
        );
        counter(
            &mut reg,
            "gasclaw_usage_dropped",
            "Usage records dropped because the writer's queue was full",
            stats.dropped.load(relaxed),
        );
        gauge(
            &mut reg,
            "gasclaw_usage_backlog",
            "Usage records queued but not yet written",
            stats.backlog.load(relaxed) as f64,
        );
        let left = gauge_family();
        let remaining = gauge_family();
        for q in u.quota.latest() {
            let l = labels(&[("pool", q.pool.name()), ("key", &q.key)]);
            left.get_or_create(&l).set(q.left_pct() / 100.0);
            remaining.get_or_create(&l).set(q.remaining as f64);
        }
        reg.register(
            "gasclaw_key_quota_left_ratio",
            "Share of the key's 7-day quota left (Kimi /usages; advisory)",
            left,
        );
        reg.register(
            "gasclaw_key_quota_remaining",
            "The key's 7-day quota left, in Kimi's units (advisory)",
            remaining,
        );
    }

    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &reg) {
        return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// `gasclaw healthcheck`: asks the running gasclaw's `/healthz`.
pub async fn healthcheck(addr: std::net::SocketAddr) -> Result<String, String> {
    let url = format!("http://{addr}/healthz");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client.get(&url).send().await.map_err(|e| {
        format!(
            "{url}: {}",
            if e.is_connect() {
                "nothing listens (is gasclaw run up?)".to_string()
            } else {
                e.to_string()
            }
        )
    })?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{url} answered {status}: {body}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervise::{Policy, Supervisor};

    /// The real router, state and supervisor, on a loopback port: a task
    /// that died is named with a 503 until it runs again.
    #[tokio::test]
    async fn healthz_names_a_dead_task() {
        crate::testing::bounded(async {
            let dir = tempfile::tempdir().expect("test value");
            let home = dir.path().join("home");
            let core = crate::testing::core(dir.path());
            let pools = KeyPools::open(
                &home,
                &core.config().agent_keys,
                &core.config().overseer_keys,
                crate::keys::PoolSettings {
                    cooldown: Duration::from_secs(300),
                    quota_cooldown: Duration::from_secs(3600),
                    flush_every: Duration::from_secs(1),
                },
                Arc::new(crate::keys::SystemClock),
                Arc::new(|_| {}),
            )
            .expect("test value");
            let proxy = crate::keys::proxy::Proxy::new(
                pools.clone(),
                core.local_tokens().clone(),
                crate::keys::proxy::ProxyConfig::new(core.config().kimi_base_url.clone()),
            )
            .expect("test value");
            let outbox = Arc::new(Outbox::open(&home.join("outbox")).expect("test value"));
            let monitor = Monitor::new(
                core.clone(),
                outbox.clone(),
                Arc::new(crate::i18n::Locales::embedded()),
            );
            let sup = Supervisor::new();
            let stop = CancellationToken::new();
            let gate = Arc::new(tokio::sync::Notify::new());
            let g = gate.clone();
            sup.spawn("outbox", Policy::Restart, stop.clone(), move || {
                let g = g.clone();
                async move {
                    g.notified().await;
                    panic!("injected");
                }
            });
            let state = Arc::new(HttpState {
                monitor,
                pools,
                proxy: proxy.metrics(),
                outbox,
                telemetry: Arc::new(Telemetry::default()),
                interval: Duration::from_secs(300),
                usage: None,
                supervisor: sup.clone(),
                overseer: None,
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("test value");
            let url = format!("http://{}/healthz", listener.local_addr().expect("addr"));
            tokio::spawn(serve(listener, state, stop.clone()));
            let get = || async {
                let r = reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .expect("client")
                    .get(&url)
                    .send()
                    .await
                    .expect("healthz");
                let status = r.status();
                (status, r.json::<serde_json::Value>().await.expect("json"))
            };
            let (_, body) = get().await;
            assert_eq!(body["dead"], json!([]), "{body}");
            assert_eq!(body["tasks"]["outbox"]["alive"], true);
            gate.notify_one();
            let mut named = None;
            for _ in 0..100 {
                let (status, body) = get().await;
                if body["dead"] == json!(["outbox"]) {
                    named = Some((status, body));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let (status, body) = named.expect("the dead outbox is named");
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(body["ok"], false);
            assert_eq!(body["tasks"]["outbox"]["last_failure"], "it panicked");
            // Restarted after a second's backoff: no longer named.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let (_, body) = get().await;
            assert_eq!(body["dead"], json!([]), "{body}");
            assert_eq!(body["tasks"]["outbox"]["restarts"], 1);
            stop.cancel();
        })
        .await
    }
}
