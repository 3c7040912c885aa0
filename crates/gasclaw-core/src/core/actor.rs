//! Who acted: a person in Telegram, a person at the terminal, or gasclaw
//! itself (the monitor healing, the overseer reading). Every action the
//! core takes on someone's behalf names one, so a rule such as "a person's
//! restart lets healing try again" is a match, not a string comparison.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Who asked for an action.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Actor {
    /// A Telegram user: their numeric id and the name they go by
    /// (username, else first name).
    Person { id: u64, name: String },
    /// Someone at the terminal, through `gasclaw <command>`.
    Cli,
    /// The monitor, healing a service that went down.
    Monitor,
    /// The overseer's skills, through the local endpoint.
    Overseer,
}

impl Actor {
    /// A person decided this (in Telegram or at the terminal), not gasclaw
    /// by itself: their restart ends a stopped-on-purpose mark and waits
    /// for a busy service, where healing neither clears nor queues.
    pub fn is_human(&self) -> bool {
        matches!(self, Actor::Person { .. } | Actor::Cli)
    }

    /// The kind alone, as the audit log's `actor` field and the serde tag
    /// spell it.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Person { .. } => "person",
            Actor::Cli => "cli",
            Actor::Monitor => "monitor",
            Actor::Overseer => "overseer",
        }
    }

    /// The name recorded by the programs that keep their own author field
    /// (bd's `--actor`, the GitHub take record), as earlier versions wrote
    /// it, so existing beads and records read the same.
    pub fn attribution(&self) -> String {
        match self {
            Actor::Person { name, .. } => format!("telegram:{name}"),
            Actor::Cli => "gasclaw-cli".into(),
            Actor::Monitor => "gasclaw-monitor".into(),
            Actor::Overseer => "gasclaw-overseer".into(),
        }
    }
}

/// What logs and the stopped-on-purpose mark show: `Owner (42)` for a
/// person, the kind for the others (`cli`, `monitor`, `overseer`).
impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Person { id, name } => write!(f, "{name} ({id})"),
            other => f.write_str(other.kind()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> [Actor; 4] {
        [
            Actor::Person {
                id: 42,
                name: "Owner".into(),
            },
            Actor::Cli,
            Actor::Monitor,
            Actor::Overseer,
        ]
    }

    #[test]
    fn serde_uses_stable_lowercase_tags_and_round_trips() {
        let json: Vec<String> = all()
            .iter()
            .map(|a| serde_json::to_string(a).unwrap())
            .collect();
        assert_eq!(
            json,
            [
                r#"{"kind":"person","id":42,"name":"Owner"}"#,
                r#"{"kind":"cli"}"#,
                r#"{"kind":"monitor"}"#,
                r#"{"kind":"overseer"}"#,
            ]
        );
        for (a, j) in all().iter().zip(&json) {
            assert_eq!(&serde_json::from_str::<Actor>(j).unwrap(), a);
            // The tag is the kind the audit log writes.
            let v: serde_json::Value = serde_json::from_str(j).unwrap();
            assert_eq!(v["kind"], a.kind());
        }
    }

    #[test]
    fn an_unknown_kind_or_a_person_without_id_is_refused() {
        let e = serde_json::from_str::<Actor>(r#"{"kind":"stranger"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `stranger`"), "{e}");
        let e = serde_json::from_str::<Actor>(r#"{"kind":"person","name":"x"}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `id`"), "{e}");
    }

    #[test]
    fn display_and_attribution_keep_the_earlier_strings() {
        let shown: Vec<String> = all().iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["Owner (42)", "cli", "monitor", "overseer"]);
        let recorded: Vec<String> = all().iter().map(Actor::attribution).collect();
        assert_eq!(
            recorded,
            [
                "telegram:Owner",
                "gasclaw-cli",
                "gasclaw-monitor",
                "gasclaw-overseer"
            ]
        );
        let human: Vec<bool> = all().iter().map(Actor::is_human).collect();
        assert_eq!(human, [true, true, false, false]);
    }
}
