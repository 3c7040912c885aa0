//! Installed versions of gasclaw and the programs it runs, and how they
//! compare with the pinned ones (no blind upgrades: only a report).

use serde::Serialize;

use super::Core;

#[derive(Debug, Clone, Serialize)]
pub struct ProgramVersion {
    pub program: &'static str,
    /// `None`: not installed (or it did not say).
    pub installed: Option<String>,
    pub pinned: Option<String>,
    /// Why there is no version.
    pub problem: Option<String>,
}

impl ProgramVersion {
    /// Installed and different from the pin (or missing while pinned).
    pub fn differs(&self) -> bool {
        match (&self.installed, &self.pinned) {
            (Some(i), Some(p)) => i != p,
            (None, Some(_)) => true,
            _ => false,
        }
    }
}

impl Core {
    /// Every version, concurrently, each under its own timeout
    /// (`CHECK_TIMEOUT`).
    pub async fn versions(&self) -> Vec<ProgramVersion> {
        let pins = &self.config().pins;
        let t = self.config().check_timeout;
        let (gt, dolt, bd, oc, cl) = tokio::join!(
            self.gastown.version(t),
            self.dolt.version(t),
            self.beads.version(t),
            self.openclaw.version(t),
            crate::stack::claude::version(&self.runner, t),
        );
        let mut out = vec![ProgramVersion {
            program: "gasclaw",
            installed: Some(env!("CARGO_PKG_VERSION").to_string()),
            pinned: None,
            problem: None,
        }];
        for (program, r, pin) in [
            ("gt", gt, &pins.gt),
            ("dolt", dolt, &pins.dolt),
            ("bd", bd, &pins.bd),
            ("openclaw", oc, &pins.openclaw),
            ("claude", cl, &pins.claude),
        ] {
            let (installed, problem) = match r {
                Ok(v) => (Some(v), None),
                Err(e) if e.is_not_found() => (None, Some("not installed".to_string())),
                Err(e) => (None, Some(e.to_string())),
            };
            out.push(ProgramVersion {
                program,
                installed,
                pinned: Some(pin.clone()),
                problem,
            });
        }
        out
    }
}
