//! KimiGas: the key pools and the key-rotating proxy.
//!
//! Every model request from every agent (and from the overseer) goes through
//! gasclaw's proxy, which picks a pooled key, notices a 429 or a quota 403,
//! cools that key and replays the request with another. Keys never leave
//! this process except toward the Kimi API; on disk they are known only by
//! a 6-byte BLAKE2b digest.

pub mod error;
pub mod pool;
pub mod proxy;
pub mod state;
pub mod tokens;
pub mod usage;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use blake2::Digest;
use serde::{Deserialize, Serialize};

pub use pool::{
    ClearedKey, KeyPools, Lease, Outcome, Pool, PoolError, PoolSettings, PoolStatus, PoolsStatus,
    Selection,
};
pub use tokens::{Caller, LocalTokens};

/// Which pool a key belongs to. The pools never affect each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    Agents,
    Overseer,
}

impl PoolKind {
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Agents => "agents",
            PoolKind::Overseer => "overseer",
        }
    }
}

impl std::fmt::Display for PoolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A key's identity on disk and in logs: BLAKE2b with a 6-byte digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyHash(pub [u8; 6]);

impl std::fmt::Display for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl Serialize for KeyHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

pub fn key_hash(key: &str) -> KeyHash {
    let d = blake2::Blake2b::<blake2::digest::consts::U6>::digest(key.as_bytes());
    let mut out = [0u8; 6];
    out.copy_from_slice(&d);
    KeyHash(out)
}

/// `…` and the last 4 characters: the only part of a key ever shown.
pub fn key_hint(key: &str) -> String {
    crate::config::hint(key)
}

/// Why a key is cooling down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CooldownReason {
    /// 429 from Kimi: the key's request window is used up.
    RateLimited,
    /// 403 (or balance 429): the key's quota is exhausted.
    Quota,
    /// 403: too many concurrent requests on the key's account.
    Concurrency,
}

impl CooldownReason {
    pub fn name(self) -> &'static str {
        match self {
            CooldownReason::RateLimited => "rate_limited",
            CooldownReason::Quota => "quota",
            CooldownReason::Concurrency => "concurrency",
        }
    }
}

/// Pool events for the monitor (never carrying a key, only its hint).
#[derive(Debug, Clone, PartialEq)]
pub enum KeyEvent {
    /// A key was cooled down.
    RateLimited {
        pool: PoolKind,
        hint: String,
        hash: KeyHash,
        cooldown: Duration,
        reason: CooldownReason,
    },
    /// Every usable key of a pool is cooling.
    AllCooling {
        pool: PoolKind,
        next_available_in: Duration,
    },
    /// Kimi refused a key as invalid (401); it is out of rotation.
    KeyInvalid {
        pool: PoolKind,
        hint: String,
        hash: KeyHash,
    },
    /// The pool is usable again after `AllCooling`.
    Recovered { pool: PoolKind },
    /// One key's cooldown ended or was cleared.
    KeyRecovered {
        pool: PoolKind,
        hint: String,
        hash: KeyHash,
    },
}

/// Where pool events go (the core forwards them to its event stream).
pub type EventSink = Arc<dyn Fn(KeyEvent) + Send + Sync>;

/// The clock the pool reads; wall time, because cooldowns survive restarts.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> SystemTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock tests move by hand.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    pub fn new(start: SystemTime) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    pub fn advance(&self, d: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += d;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|_| SystemTime::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_12_hex_digits_and_stable() {
        let h = key_hash("sk-kimi-abc");
        assert_eq!(h.to_string().len(), 12);
        assert_eq!(h, key_hash("sk-kimi-abc"));
        assert_ne!(h, key_hash("sk-kimi-abd"));
        assert_eq!(key_hint("sk-kimi-0123456789"), "…6789");
    }
}
