//! What the store says, summed for people: totals, top slots, keys and
//! models, tokens per hour, each key's quota, when each pool runs dry at
//! the current rate, and the daily budgets' 80 % / 100 % crossings.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use super::quota::QuotaSample;
use super::store::{Row, StoreError, UsageStore};
use super::{RequestOutcome, Tokens};
use crate::keys::PoolKind;

/// The burn rate is measured over this much of the recent past.
pub const FORECAST_WINDOW_SECS: i64 = 6 * 3600;

/// Which stretch of time a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Since midnight UTC.
    Today,
    /// The last 7 days.
    Week,
    /// Since this instant (unix seconds).
    Since(i64),
}

impl Period {
    pub fn start(self, now: DateTime<Utc>) -> i64 {
        match self {
            Period::Today => day_start(now),
            Period::Week => now.timestamp().saturating_sub(7 * 86400),
            Period::Since(t) => t,
        }
    }
}

fn day_start(now: DateTime<Utc>) -> i64 {
    let t = now.timestamp();
    t - t.rem_euclid(86400)
}

/// One line of a breakdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Line {
    pub name: String,
    pub requests: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub tokens: Tokens,
    pub total: u64,
}

impl Line {
    fn add(&mut self, r: &Row) {
        self.requests += r.requests;
        match r.outcome {
            RequestOutcome::Failed => self.failed += r.requests,
            RequestOutcome::Cancelled => self.cancelled += r.requests,
            RequestOutcome::Ok => {}
        }
        self.tokens.add(&r.tokens);
        self.total = self.tokens.total();
    }
}

/// A pool's quota and when it runs out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub pool: PoolKind,
    pub limit: u64,
    pub remaining: u64,
    pub left_pct: f64,
    /// Quota units per hour over the recent window, when measurable.
    pub per_hour: Option<f64>,
    /// Seconds until nothing is left at that rate.
    pub dry_in_secs: Option<u64>,
    /// The earliest reset among the pool's keys (unix seconds).
    pub reset: Option<i64>,
    /// The quota resets before it would run dry.
    pub resets_first: bool,
}

/// Tokens in one hour, per slot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourSlots {
    pub hour: i64,
    pub slots: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageReport {
    pub since: i64,
    pub until: i64,
    pub total: Line,
    pub by_slot: Vec<Line>,
    pub by_key: Vec<Line>,
    pub by_model: Vec<Line>,
    pub by_hour: Vec<Line>,
    pub hourly: Vec<HourSlots>,
    /// Each key's latest quota sample.
    pub quotas: Vec<QuotaSample>,
    pub forecasts: Vec<Forecast>,
    /// Tokens per hour over the recent window (all slots).
    pub burn_per_hour: u64,
}

fn lines(m: BTreeMap<String, Line>) -> Vec<Line> {
    let mut v: Vec<Line> = m.into_values().collect();
    v.sort_by(|a, b| b.total.cmp(&a.total).then(a.name.cmp(&b.name)));
    v
}

/// A token count people read at a glance: 950, 12.3k, 4.5M.
pub fn tokens_short(n: u64) -> String {
    match n {
        n if n < 1_000 => n.to_string(),
        n if n < 1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        n if n < 1_000_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n => format!("{:.1}G", n as f64 / 1e9),
    }
}

pub fn hour_label(hour: i64) -> String {
    Utc.timestamp_opt(hour, 0)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:00").to_string())
        .unwrap_or_else(|| hour.to_string())
}

impl UsageReport {
    /// Reads the store: rows from `period`, quota samples of the window.
    pub fn load(
        store: &UsageStore,
        period: Period,
        now: DateTime<Utc>,
    ) -> Result<UsageReport, StoreError> {
        let since = period.start(now);
        let from = since.min(now.timestamp() - FORECAST_WINDOW_SECS);
        let rows = store.rows_since(from - from.rem_euclid(3600))?;
        // Enough history to find each key's latest sample.
        let quotas = store.quota_since(now.timestamp() - 8 * 86400)?;
        Ok(UsageReport::build(&rows, &quotas, since, now))
    }

    /// The report from rows and samples (pure: tests feed it directly).
    pub fn build(
        rows: &[Row],
        samples: &[QuotaSample],
        since: i64,
        now: DateTime<Utc>,
    ) -> UsageReport {
        let until = now.timestamp();
        let since_hour = since - since.rem_euclid(3600);
        let mut total = Line {
            name: "total".into(),
            ..Line::default()
        };
        let (mut slots, mut keys, mut models, mut hours) = (
            BTreeMap::<String, Line>::new(),
            BTreeMap::<String, Line>::new(),
            BTreeMap::<String, Line>::new(),
            BTreeMap::<i64, Line>::new(),
        );
        let mut hourly: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
        let mut recent = 0u64;
        let window_start = until - FORECAST_WINDOW_SECS;
        for r in rows {
            if r.hour + 3600 > window_start {
                recent = recent.saturating_add(r.tokens.total());
            }
            if r.hour < since_hour {
                continue;
            }
            total.add(r);
            let named = |m: &mut BTreeMap<String, Line>, name: &str| {
                m.entry(name.to_string())
                    .or_insert_with(|| Line {
                        name: name.to_string(),
                        ..Line::default()
                    })
                    .add(r)
            };
            named(&mut slots, &r.slot);
            named(&mut keys, if r.key.is_empty() { "none" } else { &r.key });
            named(
                &mut models,
                if r.model.is_empty() {
                    "unknown"
                } else {
                    &r.model
                },
            );
            hours
                .entry(r.hour)
                .or_insert_with(|| Line {
                    name: hour_label(r.hour),
                    ..Line::default()
                })
                .add(r);
            *hourly
                .entry(r.hour)
                .or_default()
                .entry(r.slot.clone())
                .or_default() += r.tokens.total();
        }
        // Every hour of the period, empty ones too (the chart's x axis).
        let mut h = since_hour;
        let mut guard = 0;
        while h <= until && guard < 24 * 400 {
            hourly.entry(h).or_default();
            h += 3600;
            guard += 1;
        }
        let mut latest: BTreeMap<String, QuotaSample> = BTreeMap::new();
        for s in samples {
            if latest.get(&s.key).is_none_or(|l| l.at <= s.at) {
                latest.insert(s.key.clone(), s.clone());
            }
        }
        let quotas: Vec<QuotaSample> = latest.into_values().collect();
        let forecasts = [PoolKind::Agents, PoolKind::Overseer]
            .into_iter()
            .filter_map(|p| forecast(p, &quotas, samples, until))
            .collect();
        let span = (until - window_start).max(1) as f64 / 3600.0;
        UsageReport {
            since,
            until,
            total,
            by_slot: lines(slots),
            by_key: lines(keys),
            by_model: lines(models),
            by_hour: hours.into_values().collect(),
            hourly: hourly
                .into_iter()
                .map(|(hour, slots)| HourSlots { hour, slots })
                .collect(),
            quotas,
            forecasts,
            burn_per_hour: (recent as f64 / span) as u64,
        }
    }
}

/// A pool's quota left and its rate of use, from the samples of the window.
fn forecast(
    pool: PoolKind,
    latest: &[QuotaSample],
    samples: &[QuotaSample],
    now: i64,
) -> Option<Forecast> {
    let mine: Vec<&QuotaSample> = latest.iter().filter(|s| s.pool == pool).collect();
    if mine.is_empty() {
        return None;
    }
    let limit: u64 = mine.iter().map(|s| s.limit).sum();
    let remaining: u64 = mine.iter().map(|s| s.remaining).sum();
    let mut rate = 0.0f64;
    let mut measured = false;
    for k in &mine {
        let mut hist: Vec<&QuotaSample> = samples
            .iter()
            .filter(|s| s.key == k.key && s.at >= now - FORECAST_WINDOW_SECS)
            .collect();
        hist.sort_by_key(|s| s.at);
        // Only since the last reset (remaining went up).
        let start = hist
            .windows(2)
            .rposition(|w| w[1].remaining > w[0].remaining)
            .map(|i| i + 1)
            .unwrap_or(0);
        let hist = &hist[start..];
        if let (Some(a), Some(b)) = (hist.first(), hist.last())
            && b.at - a.at >= 60
        {
            measured = true;
            rate += a.remaining.saturating_sub(b.remaining) as f64 / (b.at - a.at) as f64;
        }
    }
    let per_hour = measured.then_some(rate * 3600.0);
    let dry_in_secs = (rate > 0.0).then(|| (remaining as f64 / rate) as u64);
    let reset = mine.iter().filter_map(|s| s.reset).min();
    let resets_first = match (reset, dry_in_secs) {
        (Some(r), Some(d)) => r < now.saturating_add(i64::try_from(d).unwrap_or(i64::MAX)),
        _ => false,
    };
    Some(Forecast {
        pool,
        limit,
        remaining,
        left_pct: if limit == 0 {
            0.0
        } else {
            remaining as f64 / limit as f64 * 100.0
        },
        per_hour,
        dry_in_secs,
        reset,
        resets_first,
    })
}

/// `USAGE_BUDGET_DAILY` and `USAGE_BUDGET_DAILY_PER_SLOT`, in tokens (all
/// four kinds), for the agents' slots, per UTC day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budgets {
    pub daily: Option<u64>,
    pub per_slot: Option<u64>,
}

/// A budget crossed for the first time today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crossing {
    /// `town` or a slot (`agent-2`).
    pub scope: String,
    /// 80 or 100.
    pub level: u8,
    pub used: u64,
    pub budget: u64,
}

impl Budgets {
    pub fn any(&self) -> bool {
        self.daily.is_some() || self.per_slot.is_some()
    }

    /// The crossings not yet alerted today; each is claimed in the store so
    /// it is said once a day, restarts included. Jumping past 100 % at
    /// once says 100 % only.
    pub fn check(
        &self,
        store: &UsageStore,
        now: DateTime<Utc>,
    ) -> Result<Vec<Crossing>, StoreError> {
        if !self.any() {
            return Ok(vec![]);
        }
        let start = day_start(now);
        let day = now.format("%Y-%m-%d").to_string();
        let mut town = 0u64;
        let mut slots: BTreeMap<String, u64> = BTreeMap::new();
        for r in store.rows_since(start)? {
            if r.pool != PoolKind::Agents.name() {
                continue;
            }
            town = town.saturating_add(r.tokens.total());
            *slots.entry(r.slot.clone()).or_default() += r.tokens.total();
        }
        let mut scopes: Vec<(String, u64, u64)> = Vec::new();
        if let Some(b) = self.daily {
            scopes.push(("town".into(), town, b));
        }
        if let Some(b) = self.per_slot {
            for (s, used) in slots {
                scopes.push((s, used, b));
            }
        }
        let mut out = Vec::new();
        for (scope, used, budget) in scopes {
            let reached: &[u8] = if used >= budget {
                &[80, 100]
            } else if u128::from(used) * 100 >= u128::from(budget) * 80 {
                &[80]
            } else {
                &[]
            };
            let mut newest = None;
            for level in reached {
                if store.claim_budget_alert(&day, &scope, *level, now.timestamp())? {
                    newest = Some(*level);
                }
            }
            if let Some(level) = newest {
                out.push(Crossing {
                    scope,
                    level,
                    used,
                    budget,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(hour: i64, slot: &str, key: &str, total_out: u64) -> Row {
        Row {
            hour,
            slot: slot.into(),
            pool: "agents".into(),
            key: key.into(),
            model: "kimi-for-coding".into(),
            outcome: RequestOutcome::Ok,
            requests: 2,
            tokens: Tokens {
                input: 0,
                output: total_out,
                cache_creation: 0,
                cache_read: 0,
            },
        }
    }

    fn q(at: i64, key: &str, remaining: u64) -> QuotaSample {
        QuotaSample {
            at,
            pool: PoolKind::Agents,
            key: key.into(),
            limit: 100,
            used: 100 - remaining,
            remaining,
            reset: Some(at + 5 * 86400),
        }
    }

    #[test]
    fn sums_rank_and_forecast() {
        let now = Utc.timestamp_opt(1_800_000_000, 0).single().expect("t");
        let h = now.timestamp() - now.timestamp().rem_euclid(3600);
        let rows = vec![
            row(h, "agent-1", "…aaaa", 100),
            row(h, "agent-2", "…aaaa", 300),
            row(h - 3600, "agent-2", "…bbbb", 50),
            row(h - 30 * 86400, "agent-3", "…bbbb", 999),
        ];
        let t = now.timestamp();
        // Key a: 60 → 50 over 2 h (5/h); key b: a reset, then 90 → 86 over 1 h.
        let samples = vec![
            q(t - 7200, "…aaaa", 60),
            q(t, "…aaaa", 50),
            q(t - 5 * 3600, "…bbbb", 10),
            q(t - 3600, "…bbbb", 90),
            q(t, "…bbbb", 86),
        ];
        let r = UsageReport::build(&rows, &samples, Period::Week.start(now), now);
        assert_eq!(r.total.total, 450);
        assert_eq!(r.total.requests, 6);
        let slots: Vec<(&str, u64)> = r
            .by_slot
            .iter()
            .map(|l| (l.name.as_str(), l.total))
            .collect();
        assert_eq!(slots, [("agent-2", 350), ("agent-1", 100)]);
        assert_eq!(r.by_key[0].name, "…aaaa");
        assert_eq!(r.hourly.len(), 7 * 24 + 1);
        let f = &r.forecasts[0];
        assert_eq!((f.limit, f.remaining), (200, 136));
        let per_hour = f.per_hour.expect("rate");
        assert!((per_hour - 9.0).abs() < 1e-6, "{per_hour}");
        assert_eq!(f.dry_in_secs, Some((136.0 / 9.0 * 3600.0) as u64));
        assert!(!f.resets_first);
        assert_eq!(r.burn_per_hour, 450 / 6);
    }

    #[test]
    fn budgets_alert_once_at_80_and_100_per_day() {
        use crate::keys::usage::UsageRecord;
        use crate::keys::{ManualClock, usage::UsageStore};
        use std::sync::Arc;
        use std::time::{Duration, UNIX_EPOCH};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = UsageStore::open(&UsageStore::path_in(dir.path())).expect("open");
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000 - 1_800_000_000 % 86400 + 3600);
        let clock = ManualClock::new(t0);
        let (rec, w) = store
            .spawn_writer(Duration::from_secs(90 * 86400), Arc::new(clock.clone()))
            .expect("writer");
        let budgets = Budgets {
            daily: Some(1000),
            per_slot: Some(600),
        };
        let now = |c: &ManualClock| DateTime::<Utc>::from(crate::keys::Clock::now(c));
        let spend = |slot: &str, n: u64| {
            rec.record(UsageRecord {
                at: crate::keys::Clock::now(&clock),
                slot: slot.into(),
                pool: PoolKind::Agents,
                key: "…k".into(),
                model: "m".into(),
                outcome: RequestOutcome::Ok,
                tokens: Tokens {
                    input: n,
                    ..Tokens::default()
                },
            });
            rec.flush();
        };
        spend("agent-1", 400);
        assert_eq!(budgets.check(&store, now(&clock)).expect("check"), vec![]);
        spend("agent-2", 400);
        let c = budgets.check(&store, now(&clock)).expect("check");
        assert_eq!(
            c,
            vec![Crossing {
                scope: "town".into(),
                level: 80,
                used: 800,
                budget: 1000
            }]
        );
        assert_eq!(budgets.check(&store, now(&clock)).expect("check"), vec![]);
        spend("agent-2", 250);
        let c = budgets.check(&store, now(&clock)).expect("check");
        let got: Vec<(&str, u8)> = c.iter().map(|c| (c.scope.as_str(), c.level)).collect();
        assert_eq!(got, [("town", 100), ("agent-2", 100)]);
        assert_eq!(budgets.check(&store, now(&clock)).expect("check"), vec![]);
        // The overseer never counts toward the agents' budgets.
        rec.record(UsageRecord {
            at: crate::keys::Clock::now(&clock),
            slot: "overseer".into(),
            pool: PoolKind::Overseer,
            key: "…o".into(),
            model: "m".into(),
            outcome: RequestOutcome::Ok,
            tokens: Tokens {
                input: 10_000,
                ..Tokens::default()
            },
        });
        rec.flush();
        assert_eq!(budgets.check(&store, now(&clock)).expect("check"), vec![]);
        // A new day starts afresh.
        clock.advance(Duration::from_secs(86400));
        assert_eq!(budgets.check(&store, now(&clock)).expect("check"), vec![]);
        spend("agent-1", 850);
        let c = budgets.check(&store, now(&clock)).expect("check");
        let got: Vec<(&str, u8)> = c.iter().map(|c| (c.scope.as_str(), c.level)).collect();
        assert_eq!(got, [("town", 80), ("agent-1", 100)]);
        drop(rec);
        w.join();
    }
}
