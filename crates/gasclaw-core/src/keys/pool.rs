//! The key pools: LRU selection among keys that are not cooling, per-agent
//! stickiness, cooldowns, invalid keys, events, and coalesced persistence.
//!
//! Selection is a scan of a handful of keys under one short mutex: well over
//! a million selections per second, and a key cooled by one request is never
//! handed to the next. Persistence is coalesced: requests only mark the pool
//! dirty; a flusher writes at most once per period.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

pub use super::error::PoolError;
use super::state::{KeyRecord, StateFile};
use super::{Clock, CooldownReason, EventSink, KeyEvent, KeyHash, PoolKind, key_hash, key_hint};

/// Cooldown after a 403 "too many concurrent requests".
pub const CONCURRENCY_COOLDOWN: Duration = Duration::from_secs(45);

/// No cooldown is ever longer than a day: `KEY_COOLDOWN` and
/// `KEY_QUOTA_COOLDOWN` are refused beyond it and an upstream `retry-after`
/// is clamped to it.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// `KEY_COOLDOWN`: after a 429 (longer if `retry-after` says so).
    pub cooldown: Duration,
    /// `KEY_QUOTA_COOLDOWN`: after a quota 403.
    pub quota_cooldown: Duration,
    /// How often the state file is written at most.
    pub flush_every: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            cooldown: Duration::from_secs(300),
            quota_cooldown: Duration::from_secs(3600),
            flush_every: Duration::from_secs(1),
        }
    }
}

/// What happened to a request sent with a pooled key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    RateLimited { retry_after: Option<Duration> },
    QuotaExhausted,
    Concurrency,
    Invalid,
    Overloaded,
    UpstreamError,
}

/// A key handed out for one request.
#[derive(Clone)]
pub struct Lease {
    pub index: usize,
    pub hash: KeyHash,
    pub hint: String,
    key: SecretString,
}

impl Lease {
    pub fn key(&self) -> &SecretString {
        &self.key
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("index", &self.index)
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum Selection {
    Key(Lease),
    /// Every usable key is cooling; `soonest` is back first.
    AllCooling {
        retry_after: Duration,
        soonest: Lease,
    },
    /// Every key is invalid.
    NoUsableKey,
}

struct Slot {
    key: SecretString,
    hash: KeyHash,
    hint: String,
    rec: KeyRecord,
    /// Refused by Kimi with 401: out of rotation until restart or `clear`.
    invalid: bool,
}

impl Slot {
    fn cooling(&self, now: SystemTime) -> bool {
        self.rec.cooldown_until.is_some_and(|u| u > now)
    }

    fn usable(&self, now: SystemTime) -> bool {
        !self.invalid && !self.cooling(now)
    }

    fn lease(&self, index: usize) -> Lease {
        Lease {
            index,
            hash: self.hash,
            hint: self.hint.clone(),
            key: self.key.clone(),
        }
    }
}

struct PoolState {
    slots: Vec<Slot>,
    sticky: HashMap<String, usize>,
    all_cooling: bool,
}

/// One pool of keys.
pub struct Pool {
    kind: PoolKind,
    state: std::sync::Mutex<PoolState>,
    settings: PoolSettings,
    clock: Arc<dyn Clock>,
    sink: EventSink,
    dirty: Arc<AtomicBool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    pub hint: String,
    pub hash: String,
    /// `available`, `cooling` or `invalid`.
    pub state: &'static str,
    pub cooldown_secs_left: Option<u64>,
    pub cooldown_reason: Option<CooldownReason>,
    pub uses: u64,
    pub rate_limits: u64,
    pub last_used: Option<DateTime<Utc>>,
    pub last_429: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolStatus {
    pub total: usize,
    pub available: usize,
    pub cooling: usize,
    pub invalid: usize,
    pub keys: Vec<KeyStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolsStatus {
    pub agents: PoolStatus,
    pub overseer: PoolStatus,
}

/// A cleared key.
#[derive(Debug, Clone)]
pub struct ClearedKey {
    pub hint: String,
    pub was: &'static str,
}

fn secs_ceil(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Pool {
    fn new(
        kind: PoolKind,
        keys: &[SecretString],
        records: &HashMap<String, KeyRecord>,
        settings: PoolSettings,
        clock: Arc<dyn Clock>,
        sink: EventSink,
        dirty: Arc<AtomicBool>,
    ) -> Pool {
        let slots = keys
            .iter()
            .map(|k| {
                let hash = key_hash(k.expose_secret());
                Slot {
                    key: k.clone(),
                    hash,
                    hint: key_hint(k.expose_secret()),
                    rec: records.get(&hash.to_string()).cloned().unwrap_or_default(),
                    invalid: false,
                }
            })
            .collect();
        Pool {
            kind,
            state: std::sync::Mutex::new(PoolState {
                slots,
                sticky: HashMap::new(),
                all_cooling: false,
            }),
            settings,
            clock,
            sink,
            dirty,
        }
    }

    pub fn kind(&self) -> PoolKind {
        self.kind
    }

    /// How many keys the pool holds.
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        // A poisoned pool mutex only means a panic elsewhere; the data (plain
        // records) is still consistent enough to keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends cooldowns whose time has come; raises the recovery events.
    fn expire(&self, st: &mut PoolState, now: SystemTime, events: &mut Vec<KeyEvent>) {
        for s in &mut st.slots {
            if s.rec.cooldown_until.is_some_and(|u| u <= now) {
                s.rec.cooldown_until = None;
                s.rec.cooldown_reason = None;
                self.dirty.store(true, Ordering::Relaxed);
                events.push(KeyEvent::KeyRecovered {
                    pool: self.kind,
                    hint: s.hint.clone(),
                    hash: s.hash,
                });
            }
        }
        if st.all_cooling && st.slots.iter().any(|s| s.usable(now)) {
            st.all_cooling = false;
            events.push(KeyEvent::Recovered { pool: self.kind });
        }
    }

    fn emit(&self, events: Vec<KeyEvent>) {
        for e in events {
            (self.sink)(e);
        }
    }

    /// Picks a key for `agent`: its sticky key while healthy, else the least
    /// recently used usable key.
    pub fn select(&self, agent: &str) -> Selection {
        let now = self.clock.now();
        let mut events = Vec::new();
        let sel = {
            let mut st = self.lock();
            self.expire(&mut st, now, &mut events);
            let sticky = st
                .sticky
                .get(agent)
                .copied()
                .filter(|i| st.slots.get(*i).is_some_and(|s| s.usable(now)));
            let chosen = sticky.or_else(|| {
                st.slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.usable(now))
                    .min_by_key(|(i, s)| (s.rec.last_used, *i))
                    .map(|(i, _)| i)
            });
            match chosen {
                Some(i) => {
                    st.sticky.insert(agent.to_string(), i);
                    let slot = &mut st.slots[i];
                    slot.rec.last_used = Some(now);
                    slot.rec.uses += 1;
                    self.dirty.store(true, Ordering::Relaxed);
                    Selection::Key(slot.lease(i))
                }
                None => self.soonest(&mut st, now, &mut events),
            }
        };
        self.emit(events);
        sel
    }

    fn soonest(
        &self,
        st: &mut PoolState,
        now: SystemTime,
        events: &mut Vec<KeyEvent>,
    ) -> Selection {
        let soonest = st
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.invalid)
            .filter_map(|(i, s)| s.rec.cooldown_until.map(|u| (u, i)))
            .min();
        match soonest {
            Some((until, i)) => {
                let retry_after = until.duration_since(now).unwrap_or_default();
                if !st.all_cooling {
                    st.all_cooling = true;
                    events.push(KeyEvent::AllCooling {
                        pool: self.kind,
                        next_available_in: retry_after,
                    });
                }
                Selection::AllCooling {
                    retry_after,
                    soonest: st.slots[i].lease(i),
                }
            }
            None => Selection::NoUsableKey,
        }
    }

    /// Records what happened to a request made with `lease`.
    pub fn report(&self, lease: &Lease, outcome: Outcome) {
        let now = self.clock.now();
        let mut events = Vec::new();
        {
            let mut st = self.lock();
            let Some(slot) = st.slots.get_mut(lease.index) else {
                return;
            };
            let cool = match outcome {
                Outcome::Success | Outcome::Overloaded | Outcome::UpstreamError => None,
                Outcome::RateLimited { retry_after } => Some((
                    self.settings.cooldown.max(retry_after.unwrap_or_default()),
                    CooldownReason::RateLimited,
                )),
                Outcome::QuotaExhausted => {
                    Some((self.settings.quota_cooldown, CooldownReason::Quota))
                }
                Outcome::Concurrency => Some((CONCURRENCY_COOLDOWN, CooldownReason::Concurrency)),
                Outcome::Invalid => {
                    if !slot.invalid {
                        slot.invalid = true;
                        events.push(KeyEvent::KeyInvalid {
                            pool: self.kind,
                            hint: slot.hint.clone(),
                            hash: slot.hash,
                        });
                    }
                    None
                }
            };
            if let Some((d, reason)) = cool {
                if reason == CooldownReason::RateLimited {
                    slot.rec.rate_limits += 1;
                    slot.rec.last_429 = Some(now);
                }
                let d = d.min(MAX_COOLDOWN);
                // A clock near the end of time must not panic the proxy.
                let until = now.checked_add(d).unwrap_or(now);
                let was_cooling = slot.cooling(now);
                // Concurrent requests may all see the 429: keep the latest end,
                // announce once.
                if slot.rec.cooldown_until.is_none_or(|u| u < until) {
                    slot.rec.cooldown_until = Some(until);
                    slot.rec.cooldown_reason = Some(reason);
                }
                if !was_cooling {
                    events.push(KeyEvent::RateLimited {
                        pool: self.kind,
                        hint: slot.hint.clone(),
                        hash: slot.hash,
                        cooldown: d,
                        reason,
                    });
                }
                self.dirty.store(true, Ordering::Relaxed);
            }
            if cool.is_some() || outcome == Outcome::Invalid {
                // Agents on this key move on at their next request.
                st.sticky.retain(|_, i| *i != lease.index);
                if !st.all_cooling && !st.slots.iter().any(|s| s.usable(now)) {
                    let _ = self.soonest(&mut st, now, &mut events);
                }
            }
        }
        self.emit(events);
    }

    /// Clears a key's cooldown and invalid mark. `selector` is its hint
    /// (`…abcd` or `abcd`), its 12-hex hash or a hash prefix (≥ 4).
    pub fn clear(&self, selector: &str) -> Result<ClearedKey, PoolError> {
        let sel = selector.trim().trim_start_matches('…').to_ascii_lowercase();
        let now = self.clock.now();
        let mut events = Vec::new();
        let result = {
            let mut st = self.lock();
            let matches: Vec<usize> = st
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    sel.len() >= 4
                        && (s.hash.to_string().starts_with(&sel)
                            || s.hint.trim_start_matches('…').to_ascii_lowercase() == sel)
                })
                .map(|(i, _)| i)
                .collect();
            match matches.as_slice() {
                [i] => {
                    let s = &mut st.slots[*i];
                    let was = if s.invalid {
                        "invalid"
                    } else if s.cooling(now) {
                        "cooling"
                    } else {
                        "available"
                    };
                    s.invalid = false;
                    if s.rec.cooldown_until.take().is_some() {
                        events.push(KeyEvent::KeyRecovered {
                            pool: self.kind,
                            hint: s.hint.clone(),
                            hash: s.hash,
                        });
                    }
                    s.rec.cooldown_reason = None;
                    let hint = s.hint.clone();
                    self.dirty.store(true, Ordering::Relaxed);
                    if st.all_cooling {
                        st.all_cooling = false;
                        events.push(KeyEvent::Recovered { pool: self.kind });
                    }
                    Ok(ClearedKey { hint, was })
                }
                _ => Err(PoolError::UnknownKey {
                    pool: self.kind,
                    selector: selector.to_string(),
                }),
            }
        };
        self.emit(events);
        result
    }

    pub fn status(&self) -> PoolStatus {
        let now = self.clock.now();
        let mut events = Vec::new();
        let status = {
            let mut st = self.lock();
            self.expire(&mut st, now, &mut events);
            let keys: Vec<KeyStatus> = st
                .slots
                .iter()
                .map(|s| {
                    let left = s
                        .rec
                        .cooldown_until
                        .and_then(|u| u.duration_since(now).ok());
                    KeyStatus {
                        hint: s.hint.clone(),
                        hash: s.hash.to_string(),
                        state: if s.invalid {
                            "invalid"
                        } else if left.is_some() {
                            "cooling"
                        } else {
                            "available"
                        },
                        cooldown_secs_left: left.map(secs_ceil),
                        cooldown_reason: left.and(s.rec.cooldown_reason),
                        uses: s.rec.uses,
                        rate_limits: s.rec.rate_limits,
                        last_used: s.rec.last_used.and_then(super::state::to_datetime),
                        last_429: s.rec.last_429.and_then(super::state::to_datetime),
                    }
                })
                .collect();
            PoolStatus {
                total: keys.len(),
                available: keys.iter().filter(|k| k.state == "available").count(),
                cooling: keys.iter().filter(|k| k.state == "cooling").count(),
                invalid: keys.iter().filter(|k| k.state == "invalid").count(),
                keys,
            }
        };
        self.emit(events);
        status
    }

    fn records(&self) -> HashMap<String, KeyRecord> {
        self.lock()
            .slots
            .iter()
            .map(|s| (s.hash.to_string(), s.rec.clone()))
            .collect()
    }
}

/// Both pools, their state file and its single-owner lock.
pub struct KeyPools {
    agents: Pool,
    overseer: Pool,
    file: StateFile,
    dirty: Arc<AtomicBool>,
    /// Held for the life of the pools: one process owns the state.
    _lock: Option<File>,
}

impl KeyPools {
    /// Takes the lock, loads the state (cooldowns survive a restart) and
    /// prunes keys that are no longer configured.
    pub fn open(
        home: &Path,
        agent_keys: &[SecretString],
        overseer_keys: &[SecretString],
        settings: PoolSettings,
        clock: Arc<dyn Clock>,
        sink: EventSink,
    ) -> Result<Arc<KeyPools>, PoolError> {
        let file = StateFile::new(home);
        let lock = file.lock()?;
        let pools = KeyPools::build(
            file,
            agent_keys,
            overseer_keys,
            settings,
            clock,
            sink,
            Some(lock),
        )?;
        Ok(Arc::new(pools))
    }

    /// A read-only view for `gasclaw keys` while another process may own the
    /// state: no lock, never writes.
    pub fn read_status(
        home: &Path,
        agent_keys: &[SecretString],
        overseer_keys: &[SecretString],
        clock: Arc<dyn Clock>,
    ) -> Result<PoolsStatus, PoolError> {
        let pools = KeyPools::build(
            StateFile::new(home),
            agent_keys,
            overseer_keys,
            PoolSettings::default(),
            clock,
            Arc::new(|_| {}),
            None,
        )?;
        Ok(pools.status())
    }

    fn build(
        file: StateFile,
        agent_keys: &[SecretString],
        overseer_keys: &[SecretString],
        settings: PoolSettings,
        clock: Arc<dyn Clock>,
        sink: EventSink,
        lock: Option<File>,
    ) -> Result<KeyPools, PoolError> {
        if agent_keys.is_empty() {
            return Err(PoolError::NoKeys(PoolKind::Agents));
        }
        if overseer_keys.is_empty() {
            return Err(PoolError::NoKeys(PoolKind::Overseer));
        }
        let loaded = file.load()?;
        let dirty = Arc::new(AtomicBool::new(false));
        let agents = Pool::new(
            PoolKind::Agents,
            agent_keys,
            &loaded.agents,
            settings.clone(),
            clock.clone(),
            sink.clone(),
            dirty.clone(),
        );
        let overseer = Pool::new(
            PoolKind::Overseer,
            overseer_keys,
            &loaded.overseer,
            settings,
            clock,
            sink,
            dirty.clone(),
        );
        let pools = KeyPools {
            agents,
            overseer,
            file,
            dirty,
            _lock: lock,
        };
        // Hashes of keys no longer configured are dropped: write that out.
        let configured = |keys: &[SecretString]| -> std::collections::HashSet<String> {
            keys.iter()
                .map(|k| key_hash(k.expose_secret()).to_string())
                .collect()
        };
        let (a, o) = (configured(agent_keys), configured(overseer_keys));
        let pruned = loaded.agents.keys().any(|h| !a.contains(h))
            || loaded.overseer.keys().any(|h| !o.contains(h));
        if pruned || !pools.file.path().exists() {
            pools.dirty.store(true, Ordering::Relaxed);
        }
        Ok(pools)
    }

    pub fn pool(&self, kind: PoolKind) -> &Pool {
        match kind {
            PoolKind::Agents => &self.agents,
            PoolKind::Overseer => &self.overseer,
        }
    }

    pub fn status(&self) -> PoolsStatus {
        PoolsStatus {
            agents: self.agents.status(),
            overseer: self.overseer.status(),
        }
    }

    /// Writes the state now if anything changed since the last write.
    pub fn flush(&self) -> Result<(), PoolError> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let result = self
            .file
            .save(&self.agents.records(), &self.overseer.records());
        if result.is_err() {
            self.dirty.store(true, Ordering::Relaxed);
        }
        result
    }

    /// Flushes every `flush_every` while anything changed, and once more on
    /// shutdown.
    pub fn spawn_flusher(
        self: &Arc<Self>,
        every: Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let pools = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.cancelled() => break,
                }
                if let Err(e) = pools.flush() {
                    tracing::warn!(error = %e, "could not write the key state");
                }
            }
            if let Err(e) = pools.flush() {
                tracing::warn!(error = %e, "could not write the key state at shutdown");
            }
        })
    }
}

#[cfg(test)]
mod tests;
