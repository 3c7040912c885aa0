//! Pausing the town (gastown-work.md §4.5): `gt estop` freezes every agent
//! but the Mayor with its context kept, `gt thaw` resumes and nudges them.
//! Both exit 0 whatever happened, so the ESTOP files are the truth: the
//! result is read back from them.

use serde::Serialize;

use super::{Estop, WorkError};
use crate::core::{Actor, Core};

/// What a pause or resume did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PauseOutcome {
    /// Done; gt's summary line (`⛔ 4 session(s) frozen`, `✓ 4 session(s) resumed`).
    Done(String),
    /// Already paused (for pause) or not paused (for resume).
    Unchanged,
}

impl Core {
    /// The active freezes (the town's and each rig's), from the files.
    pub fn paused(&self) -> Vec<Estop> {
        self.gastown.estops()
    }

    async fn check_rig(&self, rig: Option<&str>) -> Result<(), WorkError> {
        if !self.gastown.town_exists() {
            return Err(WorkError::NoTown);
        }
        let Some(rig) = rig else { return Ok(()) };
        let status = self.gastown.status(self.config.check_timeout).await?;
        if status.rigs.iter().any(|r| r.name == rig) {
            Ok(())
        } else {
            Err(WorkError::UnknownRig(rig.chars().take(60).collect()))
        }
    }

    fn is_frozen(&self, rig: Option<&str>) -> bool {
        self.paused().iter().any(|e| e.rig.as_deref() == rig)
    }

    /// Freezes the town (or one rig).
    pub async fn pause(&self, rig: Option<&str>, by: &Actor) -> Result<PauseOutcome, WorkError> {
        self.check_rig(rig).await?;
        if self.is_frozen(rig) {
            return Ok(PauseOutcome::Unchanged);
        }
        tracing::info!(rig = ?rig, by = %by, "pausing");
        let reason = format!("paused through gasclaw by {}", by.attribution());
        let out = self.gastown.estop(rig, &reason).await?;
        if !self.is_frozen(rig) {
            return Err(WorkError::Gt(format!(
                "gt estop left no ESTOP file: {}",
                out.stdout
                    .lines()
                    .chain(out.stderr.lines())
                    .last()
                    .unwrap_or("")
            )));
        }
        Ok(PauseOutcome::Done(summary(&out.stdout, "frozen")))
    }

    /// Thaws the town (or one rig).
    pub async fn resume(&self, rig: Option<&str>, by: &Actor) -> Result<PauseOutcome, WorkError> {
        self.check_rig(rig).await?;
        if !self.is_frozen(rig) {
            return Ok(PauseOutcome::Unchanged);
        }
        tracing::info!(rig = ?rig, by = %by, "resuming");
        let out = self.gastown.thaw(rig).await?;
        if self.is_frozen(rig) {
            return Err(WorkError::Gt(format!(
                "gt thaw left the ESTOP file: {}",
                out.stdout
                    .lines()
                    .chain(out.stderr.lines())
                    .last()
                    .unwrap_or("")
            )));
        }
        Ok(PauseOutcome::Done(summary(&out.stdout, "resumed")))
    }
}

fn summary(stdout: &str, word: &str) -> String {
    stdout
        .lines()
        .map(str::trim)
        .find(|l| l.contains(word))
        .unwrap_or("")
        .to_string()
}
