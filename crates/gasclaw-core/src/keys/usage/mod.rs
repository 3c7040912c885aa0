//! Token accounting: what every model request through the proxy used,
//! per caller (agent slot or overseer), key, model and hour.
//!
//! The proxy reads `usage` from each answer as it streams past
//! ([`tap`]), and hands one [`UsageRecord`] per request to a [`Recorder`]:
//! a bounded channel to a writer thread that sums records per hour and
//! writes them to SQLite in batches ([`store`]). The request path never
//! waits on the database; when the channel is full the record is dropped
//! and the drop is counted (`gasclaw_usage_dropped_total`). Each key's
//! weekly quota comes from Kimi's advisory `/usages` endpoint ([`quota`]);
//! [`report`] turns the store into summaries, forecasts and budget alerts.

pub mod meter;
pub mod quota;
pub mod report;
pub mod store;
pub mod tap;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::Serialize;

use super::{Clock, PoolKind};

pub use report::{Budgets, Crossing, Period, UsageReport};
pub use store::{StoreError, UsageStore, Writer};

/// Tokens of one request (or a sum of them), by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_creation: u64,
    pub cache_read: u64,
}

impl Tokens {
    /// All four kinds: what budgets count.
    pub fn total(&self) -> u64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_creation)
            .saturating_add(self.cache_read)
    }

    pub fn add(&mut self, o: &Tokens) {
        self.input = self.input.saturating_add(o.input);
        self.output = self.output.saturating_add(o.output);
        self.cache_creation = self.cache_creation.saturating_add(o.cache_creation);
        self.cache_read = self.cache_read.saturating_add(o.cache_read);
    }

    /// `(kind, count)` in the order metrics and JSON use.
    pub fn kinds(&self) -> [(&'static str, u64); 4] {
        [
            ("input", self.input),
            ("output", self.output),
            ("cache_creation", self.cache_creation),
            ("cache_read", self.cache_read),
        ]
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestOutcome {
    /// A complete answer.
    Ok,
    /// An error status, an upstream failure, or a stream cut or ended by
    /// an `error` event.
    Failed,
    /// The client went away before the answer ended.
    Cancelled,
}

impl RequestOutcome {
    pub fn name(self) -> &'static str {
        match self {
            RequestOutcome::Ok => "ok",
            RequestOutcome::Failed => "failed",
            RequestOutcome::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RequestOutcome> {
        match s {
            "ok" => Some(RequestOutcome::Ok),
            "failed" => Some(RequestOutcome::Failed),
            "cancelled" => Some(RequestOutcome::Cancelled),
            _ => None,
        }
    }
}

/// One request as counted.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRecord {
    pub at: SystemTime,
    /// `agent-3` or `overseer`.
    pub slot: String,
    pub pool: PoolKind,
    /// The hint of the key that answered; empty when no key was used.
    pub key: String,
    /// The model the answer named (else the one asked for, else empty).
    pub model: String,
    pub outcome: RequestOutcome,
    pub tokens: Tokens,
}

/// Live counters for `/metrics` (since this process started).
#[derive(Debug, Default)]
pub struct UsageStats {
    pub recorded: AtomicU64,
    /// Records lost because the writer's channel was full.
    pub dropped: AtomicU64,
    /// Records sent but not yet written.
    pub backlog: AtomicU64,
    /// Batches written.
    pub flushes: AtomicU64,
    tokens: Mutex<BTreeMap<(String, String), Tokens>>,
}

impl UsageStats {
    /// `(slot, key hint, tokens)`, sorted.
    pub fn tokens(&self) -> Vec<(String, String, Tokens)> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|((s, k), t)| (s.clone(), k.clone(), *t))
            .collect()
    }
}

/// The proxy's side of the store: cheap to clone, never blocks, never
/// wakes the writer (it drains its queue on its own schedule).
#[derive(Clone)]
pub struct Recorder {
    tx: std::sync::mpsc::SyncSender<store::Msg>,
    stats: Arc<UsageStats>,
    clock: Arc<dyn Clock>,
    /// The writer thread, woken only to flush.
    writer: std::thread::Thread,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    pub fn stats(&self) -> &Arc<UsageStats> {
        &self.stats
    }

    /// Hands a record to the writer; if its queue is full the record is
    /// dropped (and counted), never waited for.
    pub fn record(&self, r: UsageRecord) {
        self.stats.recorded.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.stats.tokens.lock() {
            m.entry((r.slot.clone(), r.key.clone()))
                .or_default()
                .add(&r.tokens);
        }
        self.stats.backlog.fetch_add(1, Ordering::Relaxed);
        if self.tx.try_send(store::Msg::Record(r)).is_err() {
            self.stats.backlog.fetch_sub(1, Ordering::Relaxed);
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues a quota sample (from the `/usages` poller).
    pub fn quota(&self, q: quota::QuotaSample) {
        if self.tx.try_send(store::Msg::Quota(q)).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Writes everything queued so far; returns once it is on disk.
    pub fn flush(&self) {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if self.tx.send(store::Msg::Flush(tx)).is_ok() {
            self.writer.unpark();
            let _ = rx.recv();
        }
    }
}

/// Accounting as `gasclaw run` holds it: the store, the proxy's recorder
/// and the quota poller.
pub struct Accounting {
    pub store: UsageStore,
    pub recorder: Recorder,
    pub quota: Arc<quota::QuotaPoller>,
    /// Kept so the writer thread is not detached before the last flush.
    _writer: Writer,
}

/// Why accounting could not start (gasclaw then runs without it).
#[derive(Debug, thiserror::Error)]
pub enum AccountingError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("building the quota client: {0}")]
    Client(#[source] reqwest::Error),
}

impl Accounting {
    /// Opens `GASCLAW_HOME/usage.sqlite` (migrating it) and starts the
    /// writer; the poller asks `/usages` of every key.
    pub fn open(
        home: &std::path::Path,
        retention: std::time::Duration,
        base: &url::Url,
        keys: Vec<(PoolKind, secrecy::SecretString)>,
        clock: Arc<dyn Clock>,
    ) -> Result<Accounting, AccountingError> {
        let store = UsageStore::open(&UsageStore::path_in(home))?;
        let (recorder, writer) = store.spawn_writer(retention, clock)?;
        let quota = Arc::new(
            quota::QuotaPoller::new(base, keys, recorder.clone())
                .map_err(AccountingError::Client)?,
        );
        Ok(Accounting {
            store,
            recorder,
            quota,
            _writer: writer,
        })
    }
}
