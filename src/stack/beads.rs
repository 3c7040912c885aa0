//! bd (Beads): the town's task database. Every call sets `BEADS_DIR` (bd
//! never reads `BD_ROOT`) and `BEADS_DOLT_AUTO_START=0` (no shadow servers).

use std::path::PathBuf;
use std::time::Duration;

use super::StackError;
use super::exec::{Invocation, Runner};

#[derive(Debug, Clone)]
pub struct Beads {
    runner: Runner,
    beads_dir: PathBuf,
    dolt_port: u16,
}

impl Beads {
    pub fn new(runner: Runner, beads_dir: PathBuf, dolt_port: u16) -> Beads {
        Beads {
            runner,
            beads_dir,
            dolt_port,
        }
    }

    pub fn bd(&self, timeout: Duration) -> Invocation {
        let mut inv = Invocation::new("bd", timeout)
            .env("BEADS_DIR", &self.beads_dir)
            .env("BEADS_DOLT_AUTO_START", "0")
            .env("BEADS_DOLT_SERVER_PORT", self.dolt_port.to_string())
            .env("BD_NON_INTERACTIVE", "1");
        if let Some(parent) = self.beads_dir.parent() {
            inv = inv.cwd(parent);
        }
        inv
    }

    pub async fn version(&self, timeout: Duration) -> Result<String, StackError> {
        let out = self.runner.run_ok(&self.bd(timeout).arg("version")).await?;
        super::parse_semver(&out.stdout).ok_or_else(|| StackError::Unexpected {
            program: "bd",
            detail: format!("version printed {:?}", out.stdout.trim()),
        })
    }
}
