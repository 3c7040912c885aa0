//! Pending confirmations of control commands: single-use, valid for
//! `CONFIRM_TIMEOUT` (60 s), only for the person who asked. Authorization is checked again by the
//! caller when the button is pressed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::catalogue::Args;

/// What is waiting for a press.
#[derive(Debug, Clone)]
pub struct Pending {
    pub command: String,
    pub args: Args,
    pub user_id: u64,
    pub chat_id: i64,
    pub thread_id: Option<i32>,
    pub lang: &'static str,
    pub what: String,
    pub created: Instant,
}

/// Why a press is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown id: already used, or never existed.
    Used,
    Expired,
    /// Someone else pressed; the confirmation stays for its owner.
    NotYours,
}

pub struct Confirmations {
    pending: Mutex<HashMap<String, Pending>>,
    ttl: Duration,
}

impl Confirmations {
    pub fn new(ttl: Duration) -> Confirmations {
        Confirmations {
            pending: Mutex::default(),
            ttl,
        }
    }

    /// Stores a confirmation; returns its id (8 hex digits, fits the 64-byte
    /// callback data).
    pub fn add(&self, p: Pending) -> String {
        let id = hex::encode(rand::random::<[u8; 4]>());
        let mut m = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        // Forget the expired ones while here.
        m.retain(|_, v| v.created.elapsed() < self.ttl * 2);
        m.insert(id.clone(), p);
        id
    }

    /// Takes the confirmation for `user_id` (single use).
    pub fn take(&self, id: &str, user_id: u64) -> Result<Pending, Refusal> {
        let mut m = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = m.get(id) else {
            return Err(Refusal::Used);
        };
        if p.user_id != user_id {
            return Err(Refusal::NotYours);
        }
        let p = m.remove(id).ok_or(Refusal::Used)?;
        if p.created.elapsed() > self.ttl {
            return Err(Refusal::Expired);
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(user: u64, age: Duration) -> Pending {
        Pending {
            command: "restart".into(),
            args: Args::default(),
            user_id: user,
            chat_id: 1,
            thread_id: None,
            lang: "en",
            what: "Restart mayor".into(),
            created: Instant::now() - age,
        }
    }

    #[test]
    fn single_use_owner_only_and_expiring() {
        let c = Confirmations::new(Duration::from_secs(60));
        let id = c.add(pending(7, Duration::ZERO));
        assert_eq!(id.len(), 8);
        assert_eq!(c.take(&id, 8).unwrap_err(), Refusal::NotYours);
        assert!(c.take(&id, 7).is_ok());
        assert_eq!(c.take(&id, 7).unwrap_err(), Refusal::Used);
        let old = c.add(pending(7, Duration::from_secs(61)));
        assert_eq!(c.take(&old, 7).unwrap_err(), Refusal::Expired);
        assert_eq!(c.take(&old, 7).unwrap_err(), Refusal::Used);
    }
}
