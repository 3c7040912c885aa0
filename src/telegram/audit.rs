//! The audit log of control actions: one JSON line per action in
//! `GASCLAW_HOME/audit.log` (who, chat, command, when, outcome).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::core::Actor;

/// One control action, as written to the log.
#[derive(Debug)]
pub struct Entry<'a> {
    pub at: chrono::DateTime<chrono::Utc>,
    /// A Telegram person, or the overseer (its skills, through the local
    /// endpoint).
    pub actor: &'a Actor,
    pub chat_id: i64,
    pub thread_id: Option<i32>,
    pub command: &'a str,
    pub args: Vec<&'a str>,
    pub outcome: Outcome,
    pub detail: Option<&'a str>,
}

/// How a control action ended (or how far it got).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A confirmation was asked for.
    Asked,
    /// The person pressed "yes".
    Confirmed,
    /// The person pressed "no".
    Cancelled,
    /// Not allowed (no longer authorized, a merge GitHub would refuse, a
    /// control action from the overseer).
    Refused,
    Ok,
    Failed,
}

impl Outcome {
    /// `Ok` when `ok`, `Failed` otherwise.
    pub fn of(ok: bool) -> Outcome {
        if ok { Outcome::Ok } else { Outcome::Failed }
    }
}

/// The line's shape, unchanged since the log began: `actor` is the kind
/// (`person`, `overseer`), then the person's id and name (`0` and the kind
/// for gasclaw's own actors).
#[derive(Serialize)]
struct Line<'a> {
    at: chrono::DateTime<chrono::Utc>,
    actor: &'static str,
    user_id: u64,
    user: &'a str,
    chat_id: i64,
    thread_id: Option<i32>,
    command: &'a str,
    args: &'a [&'a str],
    outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

impl Serialize for Entry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (user_id, user) = match self.actor {
            Actor::Person { id, name } => (*id, name.as_str()),
            other => (0, other.kind()),
        };
        Line {
            at: self.at,
            actor: self.actor.kind(),
            user_id,
            user,
            chat_id: self.chat_id,
            thread_id: self.thread_id,
            command: self.command,
            args: &self.args,
            outcome: self.outcome,
            detail: self.detail,
        }
        .serialize(s)
    }
}

pub struct Audit {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Audit {
    pub fn new(path: PathBuf) -> Audit {
        Audit {
            path,
            lock: Mutex::new(()),
        }
    }

    pub fn record(&self, e: &Entry<'_>) {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let line = match serde_json::to_string(e) {
            Ok(l) => l,
            Err(err) => {
                tracing::error!(error = %err, "could not encode an audit entry");
                return;
            }
        };
        // One write per line: two processes' writers never interleave.
        let result = crate::fsutil::open_append(&self.path, 0o600).and_then(|mut f| {
            f.write_all(format!("{line}\n").as_bytes())
                .and_then(|_| f.sync_data())
        });
        if let Err(err) = result {
            tracing::error!(error = %err, path = %self.path.display(), "could not write the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry as every earlier version wrote it, field for field.
    #[derive(Serialize)]
    struct Before<'a> {
        at: chrono::DateTime<chrono::Utc>,
        actor: &'a str,
        user_id: u64,
        user: &'a str,
        chat_id: i64,
        thread_id: Option<i32>,
        command: &'a str,
        args: Vec<&'a str>,
        outcome: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<&'a str>,
    }

    fn at() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_767_300_000, 0).unwrap()
    }

    #[test]
    fn a_persons_line_is_byte_identical_to_the_earlier_format() {
        let person = Actor::Person {
            id: 42,
            name: "Owner".into(),
        };
        let now = serde_json::to_string(&Entry {
            at: at(),
            actor: &person,
            chat_id: -100,
            thread_id: Some(7),
            command: "restart",
            args: vec!["mayor"],
            outcome: Outcome::Failed,
            detail: None,
        })
        .unwrap();
        let before = serde_json::to_string(&Before {
            at: at(),
            actor: "person",
            user_id: 42,
            user: "Owner",
            chat_id: -100,
            thread_id: Some(7),
            command: "restart",
            args: vec!["mayor"],
            outcome: "failed",
            detail: None,
        })
        .unwrap();
        assert_eq!(now, before);
        assert_eq!(
            now,
            r#"{"at":"2026-01-01T20:40:00Z","actor":"person","user_id":42,"user":"Owner","chat_id":-100,"thread_id":7,"command":"restart","args":["mayor"],"outcome":"failed"}"#
        );
    }

    #[test]
    fn the_overseers_line_is_byte_identical_to_the_earlier_format() {
        let now = serde_json::to_string(&Entry {
            at: at(),
            actor: &Actor::Overseer,
            chat_id: 0,
            thread_id: None,
            command: "restart",
            args: vec![],
            outcome: Outcome::Refused,
            detail: Some("POST restart: the overseer may only read; ask the owner"),
        })
        .unwrap();
        let before = serde_json::to_string(&Before {
            at: at(),
            actor: "overseer",
            user_id: 0,
            user: "overseer",
            chat_id: 0,
            thread_id: None,
            command: "restart",
            args: vec![],
            outcome: "refused",
            detail: Some("POST restart: the overseer may only read; ask the owner"),
        })
        .unwrap();
        assert_eq!(now, before);
    }

    #[test]
    fn outcomes_serialize_to_the_earlier_words_and_round_trip() {
        let all = [
            Outcome::Asked,
            Outcome::Confirmed,
            Outcome::Cancelled,
            Outcome::Refused,
            Outcome::Ok,
            Outcome::Failed,
        ];
        let words: Vec<String> = all
            .iter()
            .map(|o| serde_json::to_string(o).unwrap())
            .collect();
        assert_eq!(
            words,
            [
                r#""asked""#,
                r#""confirmed""#,
                r#""cancelled""#,
                r#""refused""#,
                r#""ok""#,
                r#""failed""#
            ]
        );
        for (o, w) in all.iter().zip(&words) {
            assert_eq!(&serde_json::from_str::<Outcome>(w).unwrap(), o);
        }
        assert!(serde_json::from_str::<Outcome>(r#""done""#).is_err());
        assert_eq!(Outcome::of(true), Outcome::Ok);
        assert_eq!(Outcome::of(false), Outcome::Failed);
    }
}
