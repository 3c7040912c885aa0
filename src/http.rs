//! `GASCLAW_HTTP_ADDR`: `/healthz` (200 when the bot polls and the monitor
//! cycles, with the last cycle as JSON) and `/metrics` (Prometheus text:
//! checks, alerts, commands, proxy requests, key cooldowns), encoded from one
//! registry built once, whose collectors read the live state at each scrape
//! (`metrics.rs`).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::keys::KeyPools;
use crate::keys::proxy::ProxyMetrics;
use crate::monitor::Monitor;
use crate::telegram::Telemetry;
use crate::telegram::outbox::Outbox;

mod metrics;
pub use metrics::Metrics;

pub struct HttpState {
    /// The overseer's endpoint (`/overseer/*`).
    pub overseer: Arc<crate::overseer_api::OverseerApi>,
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
    use crate::overseer_api as o;
    let metrics = Arc::new(Metrics::new(&state));
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(state.clone())
        .merge(
            Router::new()
                .route("/metrics", get(scrape))
                .with_state(metrics),
        )
        .merge(
            Router::new()
                .route("/overseer/status", get(o::status).fallback(o::refused))
                .route("/overseer/keys", get(o::keys).fallback(o::refused))
                .route("/overseer/agents", get(o::agents).fallback(o::refused))
                .route("/overseer/usage", get(o::usage).fallback(o::refused))
                .route("/overseer/tasks", get(o::tasks).fallback(o::refused))
                .route("/overseer/tasks/{id}", get(o::task).fallback(o::refused))
                .route("/overseer/{*rest}", axum::routing::any(o::refused))
                .with_state(state.overseer.clone()),
        )
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

/// Encodes the registry `router` built once.
async fn scrape(State(m): State<Arc<Metrics>>) -> Response {
    match m.encode() {
        Ok(out) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            out,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
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
    use std::collections::BTreeMap;

    use super::*;
    use crate::supervise::{Policy, Supervisor};

    /// The real parts over a temp `HOME` (`dir/home`), as `gasclaw run`
    /// wires them.
    fn state(
        dir: &std::path::Path,
        supervisor: Arc<Supervisor>,
        usage: Option<Arc<crate::keys::usage::Accounting>>,
    ) -> HttpState {
        let home = dir.join("home");
        let core = crate::testing::core(dir);
        let pools = crate::testing::pools(&core);
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
        let overseer = Arc::new(crate::overseer_api::OverseerApi {
            core: core.clone(),
            pools: pools.clone(),
            token: core.overseer_api_token().clone(),
            audit: Arc::new(crate::telegram::audit::Audit::new(home.join("audit.log"))),
        });
        HttpState {
            monitor,
            pools,
            proxy: proxy.metrics(),
            outbox,
            telemetry: Arc::new(Telemetry::default()),
            interval: Duration::from_secs(300),
            usage,
            supervisor,
            overseer,
        }
    }

    /// GETs `url` on loopback: (status, body).
    async fn get(url: &str) -> (StatusCode, String) {
        let r = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
            .get(url)
            .send()
            .await
            .expect("get");
        let status = r.status();
        (status, r.text().await.expect("body"))
    }

    /// The real router, state and supervisor, on a loopback port: a task
    /// that died is named with a 503 until it runs again.
    #[tokio::test]
    async fn healthz_names_a_dead_task() {
        crate::testing::bounded(async {
            let dir = tempfile::tempdir().expect("test value");
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
            let state = Arc::new(state(dir.path(), sup.clone(), None));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("test value");
            let url = format!("http://{}/healthz", listener.local_addr().expect("addr"));
            tokio::spawn(serve(listener, state, stop.clone()));
            let get = || async {
                let (status, body) = get(&url).await;
                let body: serde_json::Value = serde_json::from_str(&body).expect("json");
                (status, body)
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

    /// The samples of a scrape, by name and labels; and its families'
    /// `# TYPE` lines, each of which must appear once.
    fn parse(text: &str) -> (BTreeMap<String, f64>, Vec<String>) {
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
            .expect("metrics parse");
        let samples = scrape
            .samples
            .into_iter()
            .map(|s| {
                let labels: BTreeMap<_, _> = s.labels.iter().collect();
                let v = match s.value {
                    prometheus_parse::Value::Counter(v)
                    | prometheus_parse::Value::Gauge(v)
                    | prometheus_parse::Value::Untyped(v) => v,
                    other => panic!("unexpected sample {other:?}"),
                };
                (format!("{}{labels:?}", s.metric), v)
            })
            .collect();
        let types: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("# TYPE "))
            .map(str::to_string)
            .collect();
        let unique: std::collections::BTreeSet<_> = types.iter().collect();
        assert_eq!(
            unique.len(),
            types.len(),
            "a family declared twice:\n{text}"
        );
        (samples, types)
    }

    /// The registry is built once and its collectors read the live values:
    /// two scrapes of an unchanged state are the same text (same families,
    /// series and order), and later the counters have grown by exactly what
    /// happened in between, never by a re-count.
    #[tokio::test]
    async fn metrics_scrapes_are_stable_and_counters_only_grow() {
        crate::testing::bounded(async {
            let dir = tempfile::tempdir().expect("test value");
            let core = crate::testing::core(dir.path());
            let usage = Arc::new(
                crate::keys::usage::Accounting::open(
                    &dir.path().join("home"),
                    Duration::from_secs(86400),
                    &core.config().kimi_base_url,
                    Vec::new(),
                    Arc::new(crate::keys::SystemClock),
                )
                .expect("test value"),
            );
            let state = Arc::new(state(dir.path(), Supervisor::new(), Some(usage.clone())));
            let record = |input| {
                usage.recorder.record(crate::keys::usage::UsageRecord {
                    at: std::time::SystemTime::now(),
                    slot: "agent-1".to_string(),
                    pool: crate::keys::PoolKind::Agents,
                    key: "…1111".to_string(),
                    model: "kimi".to_string(),
                    outcome: crate::keys::usage::RequestOutcome::Ok,
                    tokens: crate::keys::usage::Tokens {
                        input,
                        ..Default::default()
                    },
                });
                // The backlog gauge is then 0 in every scrape.
                usage.recorder.flush();
            };
            state.telemetry.command("status", "ok");
            state.telemetry.command("keys", "refused");
            record(10);
            let stop = CancellationToken::new();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("test value");
            let url = format!("http://{}/metrics", listener.local_addr().expect("addr"));
            tokio::spawn(serve(listener, state.clone(), stop.clone()));

            let (status, first) = get(&url).await;
            assert_eq!(status, StatusCode::OK);
            let (_, second) = get(&url).await;
            assert_eq!(first, second, "two scrapes of the same state differ");
            let (before, families) = parse(&first);
            for family in [
                "gasclaw_alerts_sent counter",
                "gasclaw_commands counter",
                "gasclaw_proxy_requests counter",
                "gasclaw_pool_keys gauge",
                "gasclaw_tokens counter",
                "gasclaw_usage_backlog gauge",
            ] {
                // An empty family is left out, as before (no proxy request yet).
                let shown = families.contains(&format!("# TYPE {family}"));
                assert_eq!(shown, family != "gasclaw_proxy_requests counter", "{first}");
            }
            let status_ok = r#"gasclaw_commands_total{"command": "status", "outcome": "ok"}"#;
            let input =
                r#"gasclaw_tokens_total{"key": "…1111", "kind": "input", "slot": "agent-1"}"#;
            assert_eq!(before.get(status_ok), Some(&1.0), "{first}");
            assert_eq!(before.get(input), Some(&10.0), "{first}");

            state.telemetry.command("status", "ok");
            record(5);
            let (_, third) = get(&url).await;
            let (after, later) = parse(&third);
            assert_eq!(later, families, "the families changed:\n{third}");
            assert_eq!(after.get(status_ok), Some(&2.0), "{third}");
            assert_eq!(after.get(input), Some(&15.0), "{third}");
            for (series, v) in &before {
                if series.contains("_total") {
                    let now = after.get(series).copied().unwrap_or(0.0);
                    assert!(now >= *v, "{series} went from {v} to {now}");
                }
            }
            stop.cancel();
        })
        .await
    }
}
