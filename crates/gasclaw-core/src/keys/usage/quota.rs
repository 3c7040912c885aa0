//! Each key's weekly quota from Kimi's `GET …/coding/v1/usages`
//! (kimi-api.md §4): undocumented and advisory. It is asked at a modest
//! interval with a short timeout, never per request; a failure is logged
//! and changes nothing else (the key stays in rotation, the last sample
//! stays the last sample).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::Recorder;
use crate::keys::{PoolKind, key_hint};

/// One reading of one key's 7-day quota.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaSample {
    /// Unix seconds.
    pub at: i64,
    pub pool: PoolKind,
    /// The key's hint.
    pub key: String,
    pub limit: u64,
    pub used: u64,
    pub remaining: u64,
    /// When the window resets (unix seconds), if Kimi said.
    pub reset: Option<i64>,
}

impl QuotaSample {
    /// The share left, 0–100.
    pub fn left_pct(&self) -> f64 {
        if self.limit == 0 {
            return 0.0;
        }
        (self.remaining as f64 / self.limit as f64 * 100.0).clamp(0.0, 100.0)
    }
}

/// A number Kimi sends as a string or as a number.
fn num(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse::<u64>().ok().or_else(|| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|f| *f >= 0.0)
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

/// Reads the `usage` (7-day) object of a `/usages` answer.
pub fn parse(body: &Value, pool: PoolKind, key: &str, at: i64) -> Option<QuotaSample> {
    let u = body.get("usage")?;
    let limit = num(u.get("limit")?)?;
    let used = u.get("used").and_then(num);
    let remaining = u.get("remaining").and_then(num);
    let (used, remaining) = match (used, remaining) {
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) => (a, limit.saturating_sub(a)),
        (None, Some(b)) => (limit.saturating_sub(b), b),
        (None, None) => return None,
    };
    let reset = u
        .get("resetTime")
        .and_then(Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.timestamp());
    Some(QuotaSample {
        at,
        pool,
        key: key.to_string(),
        limit,
        used,
        remaining,
        reset,
    })
}

/// Polls every key's quota; the latest samples are kept in memory for
/// `/metrics` and written to the store for the CLI, `/usage` and forecasts.
pub struct QuotaPoller {
    url: String,
    keys: Vec<(PoolKind, SecretString)>,
    client: reqwest::Client,
    recorder: Recorder,
    latest: Mutex<Vec<QuotaSample>>,
}

impl QuotaPoller {
    /// `base` is `KIMI_BASE_URL` (`https://api.kimi.com/coding/`).
    pub fn new(
        base: &url::Url,
        keys: Vec<(PoolKind, SecretString)>,
        recorder: Recorder,
    ) -> Result<QuotaPoller, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()?;
        Ok(QuotaPoller {
            url: format!("{}/v1/usages", base.as_str().trim_end_matches('/')),
            keys,
            client,
            recorder,
            latest: Mutex::default(),
        })
    }

    pub fn latest(&self) -> Vec<QuotaSample> {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Asks once for every key; returns how many answered usefully.
    pub async fn poll_once(&self) -> usize {
        let mut got = 0;
        for (pool, key) in &self.keys {
            let hint = key_hint(key.expose_secret());
            let at = self
                .recorder
                .now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let resp = self
                .client
                .get(&self.url)
                .bearer_auth(key.expose_secret())
                .send()
                .await;
            let body = match resp {
                Ok(r) if r.status().is_success() => r.json::<Value>().await.ok(),
                Ok(r) => {
                    tracing::info!(key = %hint, status = r.status().as_u16(), "quota endpoint refused (advisory; ignored)");
                    None
                }
                Err(e) => {
                    tracing::info!(key = %hint, timeout = e.is_timeout(), "quota endpoint unreachable (advisory; ignored)");
                    None
                }
            };
            let Some(sample) = body.as_ref().and_then(|b| parse(b, *pool, &hint, at)) else {
                continue;
            };
            got += 1;
            self.recorder.quota(sample.clone());
            let mut l = self.latest.lock().unwrap_or_else(|e| e.into_inner());
            l.retain(|s| s.key != hint);
            l.push(sample);
        }
        got
    }

    /// Polls now and then every `every` until `shutdown`.
    pub async fn run(self: Arc<Self>, every: Duration, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => return,
            }
            tokio::select! {
                _ = self.poll_once() => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_and_numbers_are_both_read() {
        let b = json!({"user":{"membershipLevel":"LEVEL_STANDARD"},
            "usage":{"limit":"100","used":"26","remaining":"74","resetTime":"2026-02-11T08:00:00Z"},
            "limits":[{"window":{"duration":300,"timeUnit":"TIME_UNIT_MINUTE"},"detail":{"limit":"100","used":"3","remaining":"97"}}]});
        let s = parse(&b, PoolKind::Agents, "…aaaa", 5).expect("sample");
        assert_eq!((s.limit, s.used, s.remaining), (100, 26, 74));
        assert_eq!(s.reset, Some(1_770_796_800));
        assert!((s.left_pct() - 74.0).abs() < 1e-9);
        let b = json!({"usage":{"limit":200,"used":50}});
        let s = parse(&b, PoolKind::Overseer, "…o", 5).expect("sample");
        assert_eq!((s.remaining, s.reset), (150, None));
        assert_eq!(parse(&json!({"error":"x"}), PoolKind::Agents, "k", 0), None);
        assert_eq!(
            parse(&json!({"usage":{"limit":"lots"}}), PoolKind::Agents, "k", 0),
            None
        );
    }
}
