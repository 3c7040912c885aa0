//! Escalations (gastown-work.md §3): beads in the town database, labelled
//! `gt:escalation` and `severity:<s>`, whose description is the title, a
//! blank line, then `key: value` lines (`null` for empty). Listed through bd
//! with `--include-infra` (bd 1.0.5 hides them from `gt escalate list`);
//! acknowledged and closed through `gt escalate ack|close`, as `overseer`.

use serde::Serialize;

use super::WorkError;
use crate::core::{Actor, Core};
use crate::stack::beads::LabelledBead;

/// One open escalation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Escalation {
    pub id: String,
    pub title: String,
    /// gt's severity: critical, high, medium, low.
    pub severity: String,
    pub reason: Option<String>,
    pub source: Option<String>,
    pub escalated_by: Option<String>,
    pub escalated_at: Option<String>,
    pub acked: bool,
    pub acked_by: Option<String>,
    pub created_at: Option<String>,
}

/// The description's `key: value` block.
fn fields(desc: &str) -> std::collections::BTreeMap<&str, &str> {
    desc.lines()
        .skip(2)
        .filter_map(|l| l.split_once(": "))
        .filter(|(_, v)| *v != "null" && !v.is_empty())
        .collect()
}

impl Escalation {
    pub fn from_bead(b: &LabelledBead) -> Escalation {
        let desc = b.description.as_deref().unwrap_or("");
        let f = fields(desc);
        let get = |k: &str| f.get(k).map(|v| v.to_string());
        let severity = get("severity")
            .or_else(|| {
                b.labels
                    .iter()
                    .find_map(|l| l.strip_prefix("severity:").map(str::to_string))
            })
            .unwrap_or_else(|| "medium".into());
        Escalation {
            id: b.id.clone(),
            title: b.title.clone(),
            severity,
            reason: get("reason"),
            source: get("source"),
            escalated_by: get("escalated_by"),
            escalated_at: get("escalated_at"),
            acked: b.labels.iter().any(|l| l == "acked"),
            acked_by: get("acked_by"),
            created_at: b.created_at.clone(),
        }
    }
}

/// A bead id as bd makes them (`hq-ab12`); anything else (a flag, a space)
/// never reaches gt. At most 59 bytes: a button's data (`es:a:<id>`) is
/// limited to 64.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 59
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Core {
    /// The open escalations, most severe first, then oldest first.
    pub async fn escalations(&self) -> Result<Vec<Escalation>, WorkError> {
        let rank = |s: &str| match s {
            "critical" => 0,
            "high" => 1,
            "medium" => 2,
            _ => 3,
        };
        let mut v: Vec<Escalation> = self
            .beads
            .open_escalations()
            .await?
            .iter()
            .map(Escalation::from_bead)
            .collect();
        v.sort_by(|a, b| {
            rank(&a.severity)
                .cmp(&rank(&b.severity))
                .then(a.created_at.cmp(&b.created_at))
        });
        Ok(v)
    }

    /// `gt escalate ack <id>` as the overseer; gt's answer.
    pub async fn ack_escalation(&self, id: &str, by: &Actor) -> Result<String, WorkError> {
        if !valid_id(id) {
            return Err(WorkError::BadId(id.to_string()));
        }
        let out = self.gastown.escalate_ack(id).await?;
        tracing::info!(escalation = id, by = %by.attribution(), "escalation acknowledged");
        Ok(out.stdout.trim().to_string())
    }

    /// `gt escalate close <id> --reason …` as the overseer; the reason
    /// names the person.
    pub async fn close_escalation(
        &self,
        id: &str,
        reason: &str,
        by: &Actor,
    ) -> Result<String, WorkError> {
        if !valid_id(id) {
            return Err(WorkError::BadId(id.to_string()));
        }
        let reason = format!("{reason} (by {})", by.attribution());
        let out = self.gastown.escalate_close(id, &reason).await?;
        tracing::info!(escalation = id, by = %by.attribution(), "escalation closed");
        Ok(out.stdout.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_block_and_labels() {
        let b = LabelledBead {
            id: "hq-ab12".into(),
            title: "Build is broken".into(),
            description: Some("Build is broken\n\nseverity: high\nreason: null\nsource: ci\nescalated_by: project/Toast\nescalated_at: 2026-06-01T11:14:03+02:00\nacked_by: null\nacked_at: null".into()),
            labels: vec!["gt:escalation".into(), "severity:high".into(), "acked".into()],
            ..Default::default()
        };
        let e = Escalation::from_bead(&b);
        assert_eq!(e.severity, "high");
        assert_eq!(e.reason, None);
        assert_eq!(e.source.as_deref(), Some("ci"));
        assert_eq!(e.escalated_by.as_deref(), Some("project/Toast"));
        assert!(e.acked);
        let bare = LabelledBead {
            id: "hq-1".into(),
            labels: vec!["severity:critical".into()],
            ..Default::default()
        };
        assert_eq!(Escalation::from_bead(&bare).severity, "critical");
    }

    #[test]
    fn ids_that_could_be_flags_are_refused() {
        assert!(valid_id("hq-ab12"));
        for bad in ["", "--all", "-r", "a b", "hq-1;rm", &"x".repeat(60)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
