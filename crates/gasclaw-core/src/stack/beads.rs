//! bd (Beads): the town's task database. Every call sets `BEADS_DIR` (bd
//! never reads `BD_ROOT`) and `BEADS_DOLT_AUTO_START=0` (no shadow servers),
//! asks for `--json`, and reads errors from both streams (`show --json`
//! prints its error on stdout).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StackError;
use super::exec::{Invocation, Runner};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Set to `1`, bd 1.0.5 wraps every `--json` answer in
/// `{"schema_version":1,"data":…}` (opt-in now, announced as bd 2's
/// default). Neither gasclaw's parsers nor gt 1.2.1's (gt reads bd's JSON
/// too) expect it, so it is removed from every `bd` and `gt` child rather
/// than accepted here: one place fixes both readers.
pub const JSON_ENVELOPE: &str = "BD_JSON_ENVELOPE";

/// A bead (task), the fields gasclaw shows; unknown fields ignored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Bead {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub issue_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub close_reason: Option<String>,
}

/// A bead with its labels and times (escalations, the digest's counts).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LabelledBead {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub closed_at: Option<String>,
}

/// Why bd gave no answer, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum BeadsError {
    #[error("the town has no task database yet (run bootstrap)")]
    NoDatabase,
    #[error("no task matches `{0}`")]
    NotFound(String),
    #[error("bd: {0}")]
    Failed(String),
    #[error(transparent)]
    Stack(#[from] StackError),
}

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
            .env("BD_NON_INTERACTIVE", "1")
            .env("BD_ACTOR", "gasclaw");
        if let Some(parent) = self.beads_dir.parent().filter(|p| p.is_dir()) {
            inv = inv.cwd(parent);
        }
        inv
    }

    async fn json(&self, args: &[&str], subject: &str) -> Result<Value, BeadsError> {
        if !self.beads_dir.is_dir() {
            return Err(BeadsError::NoDatabase);
        }
        let mut all: Vec<&str> = args.to_vec();
        all.push("--json");
        let out = self
            .runner
            .run(&self.bd(TIMEOUT).args(&all))
            .await
            .map_err(StackError::from)?;
        if out.success() {
            return serde_json::from_str(out.stdout.trim())
                .map_err(|e| BeadsError::Failed(format!("unreadable answer: {e}")));
        }
        // The JSON error can be on either stream.
        let err = [&out.stdout, &out.stderr]
            .iter()
            .find_map(|s| serde_json::from_str::<Value>(s.trim()).ok())
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| out.error_message());
        Err(if err.contains("no beads database") {
            BeadsError::NoDatabase
        } else if err.contains("no issue found") || err.contains("no issues found") {
            // `show` says "no issues found matching the provided IDs";
            // `close`/`update` say "no issue found matching \"id\"".
            BeadsError::NotFound(subject.to_string())
        } else {
            BeadsError::Failed(err.trim_start_matches("Error: ").to_string())
        })
    }

    /// Open beads, newest first (sorted here: bd's sort direction is not
    /// part of its documented surface).
    pub async fn open(&self, limit: usize) -> Result<Vec<Bead>, BeadsError> {
        let v = self
            .json(&["list", "--sort", "created", "-n", "500"], "")
            .await?;
        let mut list: Vec<Bead> =
            serde_json::from_value(v).map_err(|e| BeadsError::Failed(e.to_string()))?;
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        list.truncate(limit);
        Ok(list)
    }

    pub async fn show(&self, id: &str) -> Result<Bead, BeadsError> {
        let v = self.json(&["show", id], id).await?;
        let mut list: Vec<Bead> =
            serde_json::from_value(v).map_err(|e| BeadsError::Failed(e.to_string()))?;
        list.pop()
            .ok_or_else(|| BeadsError::NotFound(id.to_string()))
    }

    pub async fn create(&self, title: &str, actor: &str) -> Result<Bead, BeadsError> {
        let v = self
            .json(&["create", "--title", title, "--actor", actor], title)
            .await?;
        serde_json::from_value(v).map_err(|e| BeadsError::Failed(e.to_string()))
    }

    /// A bead with a description (`-d`).
    pub async fn create_described(
        &self,
        title: &str,
        description: &str,
        actor: &str,
    ) -> Result<Bead, BeadsError> {
        let v = self
            .json(
                &[
                    "create",
                    "--title",
                    title,
                    "-d",
                    description,
                    "--actor",
                    actor,
                ],
                title,
            )
            .await?;
        serde_json::from_value(v).map_err(|e| BeadsError::Failed(e.to_string()))
    }

    pub async fn close(&self, id: &str, reason: &str) -> Result<Bead, BeadsError> {
        let v = self.json(&["close", id, "--reason", reason], id).await?;
        let mut list: Vec<Bead> =
            serde_json::from_value(v).map_err(|e| BeadsError::Failed(e.to_string()))?;
        list.pop()
            .ok_or_else(|| BeadsError::NotFound(id.to_string()))
    }

    /// Open escalations: ephemeral `gt:escalation` beads in the town
    /// database. bd 1.0.5 keeps ephemeral beads in the wisps table, which
    /// plain `bd list` (and so `gt escalate list`) skips; `--include-infra`
    /// reads it (gastown-work.md §3.1).
    pub async fn open_escalations(&self) -> Result<Vec<LabelledBead>, BeadsError> {
        let v = self
            .json(
                &[
                    "list",
                    "--label=gt:escalation",
                    "--status=open",
                    "--include-infra",
                    "-n",
                    "0",
                ],
                "",
            )
            .await?;
        serde_json::from_value(v).map_err(|e| BeadsError::Failed(e.to_string()))
    }

    /// Beads of every status, with their times (the daily digest counts
    /// what was opened and closed).
    pub async fn all_with_times(&self) -> Result<Vec<LabelledBead>, BeadsError> {
        let v = self.json(&["list", "--all", "-n", "0"], "").await?;
        serde_json::from_value(v).map_err(|e| BeadsError::Failed(e.to_string()))
    }

    pub async fn version(&self, timeout: Duration) -> Result<String, StackError> {
        let out = self.runner.run_ok(&self.bd(timeout).arg("version")).await?;
        super::parse_semver(&out.stdout).ok_or_else(|| StackError::Unexpected {
            program: "bd",
            detail: format!("version printed {:?}", out.stdout.trim()),
        })
    }
}
