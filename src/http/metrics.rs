//! The one registry `/metrics` encodes, built once when the server starts.
//!
//! Every value lives with the part that produces it (the monitor's last
//! cycle, the outbox, the bot, the proxy, the pools, usage accounting), so
//! each part is registered as a `Collector` that reads its live values at
//! each scrape: nothing is copied into a second counter, so nothing is
//! counted twice and each counter is exactly as monotonic as its source.
//! Series are written sorted, so two scrapes of an unchanged state are
//! byte-identical. Help texts end with the full stop `Registry::register`
//! would add.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::HttpState;
use crate::core::health::CheckStatus;
use crate::keys::KeyPools;
use crate::keys::proxy::ProxyMetrics;
use crate::keys::usage::Accounting;
use crate::monitor::Monitor;
use crate::telegram::Telemetry;
use crate::telegram::outbox::Outbox;

pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// Registers each part once; the order is the order of the text.
    pub fn new(s: &HttpState) -> Metrics {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Checks(s.monitor.clone())));
        registry.register_collector(Box::new(Alerts(s.outbox.clone())));
        registry.register_collector(Box::new(Commands(s.telemetry.clone())));
        registry.register_collector(Box::new(Cards(s.telemetry.clone())));
        registry.register_collector(Box::new(Proxy(s.proxy.clone())));
        registry.register_collector(Box::new(Pools(s.pools.clone())));
        if let Some(u) = &s.usage {
            registry.register_collector(Box::new(Usage(u.clone())));
        }
        Metrics { registry }
    }

    /// The OpenMetrics text of the live values.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

type Labels = Vec<(&'static str, String)>;

fn counter(enc: &mut DescriptorEncoder, name: &str, help: &str, n: u64) -> fmt::Result {
    let c = ConstCounter::new(n);
    c.encode(enc.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, v: f64) -> fmt::Result {
    let g = ConstGauge::new(v);
    g.encode(enc.encode_descriptor(name, help, None, g.metric_type())?)
}

/// A labelled counter family; two series with the same labels add up.
/// An empty family is left out, as the registry leaves out an empty `Family`.
fn counters(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (Labels, u64)>,
) -> fmt::Result {
    let mut sums: BTreeMap<Labels, u64> = BTreeMap::new();
    for (l, n) in series {
        let sum = sums.entry(l).or_default();
        *sum = sum.saturating_add(n);
    }
    if sums.is_empty() {
        return Ok(());
    }
    let mut family = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (l, n) in &sums {
        ConstCounter::new(*n).encode(family.encode_family(l)?)?;
    }
    Ok(())
}

/// A labelled gauge family; of two series with the same labels the last
/// one stands.
fn gauges(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (Labels, f64)>,
) -> fmt::Result {
    let values: BTreeMap<Labels, f64> = series.into_iter().collect();
    if values.is_empty() {
        return Ok(());
    }
    let mut family = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (l, v) in &values {
        ConstGauge::new(*v).encode(family.encode_family(l)?)?;
    }
    Ok(())
}

/// A key hint as a label: "none" when no key was used.
fn key_label(hint: &str) -> String {
    if hint.is_empty() {
        "none".to_string()
    } else {
        hint.to_string()
    }
}

/// The monitor's last cycle: its checks and the agents' activity.
struct Checks(Arc<Monitor>);

impl Collector for Checks {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let Some(c) = self.0.last_cycle() else {
            return Ok(());
        };
        let checks = &c.report.checks;
        let label = |name: &str| vec![("check", name.to_string())];
        gauges(
            &mut enc,
            "gasclaw_check_up",
            "1 when the check is ok, 0 when down or unknown.",
            checks.iter().map(|k| {
                let up = if k.status == CheckStatus::Ok {
                    1.0
                } else {
                    0.0
                };
                (label(k.name.name()), up)
            }),
        )?;
        gauges(
            &mut enc,
            "gasclaw_check_latency_seconds",
            "How long the check took.",
            checks
                .iter()
                .map(|k| (label(k.name.name()), k.latency_ms as f64 / 1000.0)),
        )?;
        gauge(
            &mut enc,
            "gasclaw_monitor_last_cycle_timestamp_seconds",
            "When the monitor last cycled.",
            c.at.timestamp() as f64,
        )?;
        if let Some(age) = c.report.activity.last_commit_age_secs {
            gauge(
                &mut enc,
                "gasclaw_activity_last_commit_age_seconds",
                "Age of the agents' newest commit.",
                age as f64,
            )?;
        }
        Ok(())
    }
}

/// The Telegram outbox: alerts delivered, refused and waiting.
struct Alerts(Arc<Outbox>);

impl Collector for Alerts {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let stats = &self.0.stats;
        counter(
            &mut enc,
            "gasclaw_alerts_sent",
            "Alerts Telegram accepted.",
            stats.sent.load(Relaxed),
        )?;
        counter(
            &mut enc,
            "gasclaw_alerts_dropped",
            "Alerts Telegram refused as invalid.",
            stats.dropped.load(Relaxed),
        )?;
        gauge(
            &mut enc,
            "gasclaw_alerts_queued",
            "Alerts waiting in the outbox.",
            self.0.len() as f64,
        )?;
        gauge(
            &mut enc,
            "gasclaw_alerts_in_memory",
            "Alerts the disk refused (full?), kept in memory and retried.",
            self.0.in_memory() as f64,
        )
    }
}

/// The bot's chat commands.
struct Commands(Arc<Telemetry>);

impl Collector for Commands {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        counters(
            &mut enc,
            "gasclaw_commands",
            "Chat commands by name and outcome.",
            self.0
                .commands()
                .into_iter()
                .map(|((name, outcome), n)| (vec![("command", name), ("outcome", outcome)], n)),
        )
    }
}

/// The status cards' refresh rounds.
struct Cards(Arc<Telemetry>);

impl Collector for Cards {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        counters(
            &mut enc,
            "gasclaw_status_card_rounds",
            "Refresh rounds of the pinned status cards (each edits only the cards whose text changed).",
            [(Labels::new(), self.0.card_rounds())],
        )
    }
}

/// The model proxy's requests.
struct Proxy(Arc<ProxyMetrics>);

impl Collector for Proxy {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let snap = self.0.snapshot();
        counters(
            &mut enc,
            "gasclaw_proxy_requests",
            "Proxied model requests by status and key hint.",
            snap.requests.iter().map(|(status, hint, n)| {
                (
                    vec![("status", status.to_string()), ("key", key_label(hint))],
                    *n,
                )
            }),
        )?;
        counter(
            &mut enc,
            "gasclaw_proxy_retries",
            "Requests replayed on another key.",
            snap.retries,
        )?;
        counter(
            &mut enc,
            "gasclaw_proxy_upstream_errors",
            "Upstream unreachable or timing out.",
            snap.upstream_errors,
        )
    }
}

/// Both key pools: cooldowns and keys per state.
struct Pools(Arc<KeyPools>);

impl Collector for Pools {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let status = self.0.status();
        let pools = [("agents", &status.agents), ("overseer", &status.overseer)];
        gauges(
            &mut enc,
            "gasclaw_key_cooldown_seconds",
            "Seconds until a key is usable again (0: available).",
            pools.iter().flat_map(|(pool, p)| {
                p.keys.iter().map(|k| {
                    (
                        vec![("pool", pool.to_string()), ("key", k.hint.clone())],
                        k.cooldown_secs_left.unwrap_or(0) as f64,
                    )
                })
            }),
        )?;
        gauges(
            &mut enc,
            "gasclaw_pool_keys",
            "Keys per pool and state.",
            pools.iter().flat_map(|(pool, p)| {
                [
                    ("available", p.available),
                    ("cooling", p.cooling),
                    ("invalid", p.invalid),
                ]
                .map(|(state, n)| {
                    (
                        vec![("pool", pool.to_string()), ("state", state.to_string())],
                        n as f64,
                    )
                })
            }),
        )
    }
}

/// Token accounting and the keys' quota (when the usage database opened).
struct Usage(Arc<Accounting>);

impl Collector for Usage {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let stats = self.0.recorder.stats();
        counters(
            &mut enc,
            "gasclaw_tokens",
            "Model tokens through the proxy by slot, key hint and kind (since start).",
            stats.tokens().into_iter().flat_map(|(slot, key, t)| {
                let key = key_label(&key);
                t.kinds().map(|(kind, n)| {
                    (
                        vec![
                            ("slot", slot.clone()),
                            ("key", key.clone()),
                            ("kind", kind.to_string()),
                        ],
                        n,
                    )
                })
            }),
        )?;
        counter(
            &mut enc,
            "gasclaw_usage_dropped",
            "Usage records dropped because the writer's queue was full.",
            stats.dropped.load(Relaxed),
        )?;
        gauge(
            &mut enc,
            "gasclaw_usage_backlog",
            "Usage records queued but not yet written.",
            stats.backlog.load(Relaxed) as f64,
        )?;
        let quota = self.0.quota.latest();
        let label = |q: &crate::keys::usage::quota::QuotaSample| {
            vec![("pool", q.pool.name().to_string()), ("key", q.key.clone())]
        };
        gauges(
            &mut enc,
            "gasclaw_key_quota_left_ratio",
            "Share of the key's 7-day quota left (Kimi /usages; advisory).",
            quota.iter().map(|q| (label(q), q.left_pct() / 100.0)),
        )?;
        gauges(
            &mut enc,
            "gasclaw_key_quota_remaining",
            "The key's 7-day quota left, in Kimi's units (advisory).",
            quota.iter().map(|q| (label(q), q.remaining as f64)),
        )
    }
}

// `Collector` asks for `Debug`; the parts' own types need not have it.
macro_rules! debug_by_name {
    ($($t:ident),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($t))
            }
        }
    )*};
}
debug_by_name!(Checks, Alerts, Commands, Cards, Proxy, Pools, Usage);
