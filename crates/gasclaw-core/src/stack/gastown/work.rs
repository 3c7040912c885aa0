//! gt's work surfaces (gastown-work.md §2, §4, §7): the agent beads the GUPP
//! rule reads, `peek`, `nudge`, the overseer's mail, `estop`/`thaw` and one
//! agent's restart. Traps handled here: `gt status --json` has no
//! timestamps, so progress is the agent bead's `updated_at` read through bd
//! (`--include-infra`: agent beads are infra); `gt nudge` in wait-idle mode
//! can block ~75 s (callers give it a bounded timeout); `gt estop` always
//! exits 0 and its state is the `ESTOP`/`ESTOP.<rig>` files, which
//! `status --json` does not show. Values from people are passed as
//! `--flag=value` or after validation, never where gt could read an option.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Gastown, MAYOR_START, QUICK};
use crate::stack::StackError;
use crate::stack::beads::Beads;
use crate::stack::exec::Output;

/// An agent bead as bd lists it (label `gt:agent`); unknown fields ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct AgentBead {
    pub id: String,
    #[serde(default)]
    pub hook_bead: Option<String>,
    #[serde(default)]
    pub agent_state: Option<String>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub description: Option<String>,
}

impl AgentBead {
    /// `mode: ralph` agents get 120/240 min instead of 15/30 (§2.1).
    pub fn ralph(&self) -> bool {
        self.description
            .as_deref()
            .is_some_and(|d| d.lines().any(|l| l.trim() == "mode: ralph"))
    }
}

/// One message of `gt mail inbox --json` (§4.4); unknown fields ignored.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Mail {
    pub id: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub priority: Option<String>,
}

/// What `gt nudge` answered (exit 0 both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nudged {
    /// `✓ Nudged …`
    Delivered(String),
    /// `○ … skipped` (DND, deacon not running).
    Skipped(String),
}

/// An active E-stop: the town's (`rig: None`) or one rig's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Estop {
    pub rig: Option<String>,
    pub trigger: String,
    pub since: Option<DateTime<chrono::FixedOffset>>,
    pub reason: String,
}

/// Which command restarts an agent (§4.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartTarget {
    Deacon,
    Witness { rig: String },
    Refinery { rig: String },
    Crew { rig: String, name: String },
    Polecat { rig: String, name: String },
}

const NO_OPTION: &str = "a value may not start with `-`";

fn plain(v: &str) -> Result<&str, StackError> {
    if v.starts_with('-') {
        return Err(StackError::Other(format!("`{v}`: {NO_OPTION}")));
    }
    Ok(v)
}

impl Gastown {
    /// The beads directories that hold agent beads: the town's, then each
    /// rig's (`<town>/<rig>/.beads`, else its clone's, §2.3).
    fn agent_bead_dirs(&self, rigs: &[String]) -> Vec<PathBuf> {
        let mut dirs = vec![self.town.join(".beads")];
        for r in rigs {
            let candidates = [
                self.town.join(r).join(".beads"),
                self.town.join(r).join("mayor/rig/.beads"),
            ];
            if let Some(d) = candidates.into_iter().find(|d| d.is_dir()) {
                dirs.push(d);
            }
        }
        dirs
    }

    /// Every agent bead (`bd list --label=gt:agent --include-infra --json
    /// --flat`, as gt's own feed reads them) of the town and the rigs.
    pub async fn agent_beads(
        &self,
        rigs: &[String],
        timeout: Duration,
    ) -> Result<Vec<AgentBead>, StackError> {
        let mut all = Vec::new();
        for dir in self.agent_bead_dirs(rigs) {
            if !dir.is_dir() {
                continue;
            }
            let bd = Beads::new(self.runner.clone(), dir, self.dolt_port);
            let out = self
                .runner
                .run_ok(&bd.bd(timeout).args([
                    "list",
                    "--label=gt:agent",
                    "--include-infra",
                    "--json",
                    "--flat",
                    "--limit",
                    "0",
                ]))
                .await?;
            let beads: Vec<AgentBead> =
                serde_json::from_str(out.stdout.trim()).map_err(|e| StackError::Unexpected {
                    program: "bd",
                    detail: format!("list --label=gt:agent --json: {e}"),
                })?;
            all.extend(beads);
        }
        Ok(all)
    }

    /// `gt peek <address> <lines>`: the pane as captured (raw; the caller
    /// redacts it).
    pub async fn peek(&self, address: &str, lines: u32) -> Result<String, StackError> {
        let out = self
            .run(
                self.gt(QUICK)
                    .args(["peek", plain(address)?])
                    .arg(lines.to_string()),
            )
            .await?;
        if !out.success() {
            return Err(gt_error(&out));
        }
        Ok(out.stdout)
    }

    /// `gt nudge <address> --message=<text>` in wait-idle mode (the default:
    /// it waits for the agent's prompt instead of interrupting it). Blocks
    /// up to ~75 s; `timeout` bounds it.
    pub async fn nudge(
        &self,
        address: &str,
        text: &str,
        timeout: Duration,
    ) -> Result<Nudged, StackError> {
        let out = self
            .run(
                self.gt(timeout)
                    .args(["nudge", plain(address)?])
                    .arg(format!("--message={text}")),
            )
            .await?;
        if !out.success() {
            return Err(gt_error(&out));
        }
        let line = out
            .stdout
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string();
        Ok(if line.starts_with('○') {
            Nudged::Skipped(line)
        } else {
            Nudged::Delivered(line)
        })
    }

    /// `gt mail inbox <address> --json`: the overseer's own mailbox (gasclaw
    /// runs gt from the town root without `GT_ROLE`, so its identity is
    /// `overseer`) or any other, read-only since gt 1.1.0 (1.0.1
    /// acknowledged deliveries as a side effect of listing). `null` = none.
    pub async fn mail_inbox(&self, address: &str) -> Result<Vec<Mail>, StackError> {
        let out = self
            .run_ok(self.gt(QUICK).env_remove("GT_ROLE").args([
                "mail",
                "inbox",
                plain(address)?,
                "--json",
            ]))
            .await?;
        let v: Option<Vec<Mail>> =
            serde_json::from_str(out.stdout.trim()).map_err(|e| StackError::Unexpected {
                program: "gt",
                detail: format!("mail inbox --json: {e}"),
            })?;
        Ok(v.unwrap_or_default())
    }

    /// `gt mail read <id>`: marks it read (the overseer's own mailbox).
    pub async fn mail_read(&self, id: &str) -> Result<Mail, StackError> {
        let out = self
            .run_ok(self.gt(QUICK).args(["mail", "read", plain(id)?, "--json"]))
            .await?;
        serde_json::from_str(out.stdout.trim()).map_err(|e| StackError::Unexpected {
            program: "gt",
            detail: format!("mail read --json: {e}"),
        })
    }

    /// `gt mail send <to> -s … -m … [--reply-to id] --type=reply` as the
    /// overseer. The recipient is woken by gt (keystrokes into its pane).
    pub async fn mail_send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        reply_to: Option<&str>,
    ) -> Result<(), StackError> {
        let mut inv = self
            .gt(QUICK)
            .args(["mail", "send", plain(to)?])
            .arg(format!("--subject={subject}"))
            .arg(format!("--message={body}"));
        if let Some(id) = reply_to {
            inv = inv
                .arg(format!("--reply-to={}", plain(id)?))
                .arg("--type=reply");
        }
        let out = self.run(inv).await?;
        if !out.success() {
            return Err(gt_error(&out));
        }
        Ok(())
    }

    /// `gt estop [--rig r] --reason=…`: exits 0 whatever happened (§4.5),
    /// so the caller reads the files afterwards.
    pub async fn estop(&self, rig: Option<&str>, reason: &str) -> Result<Output, StackError> {
        let mut inv = self
            .gt(QUICK)
            .arg("estop")
            .arg(format!("--reason={reason}"));
        if let Some(r) = rig {
            inv = inv.arg(format!("--rig={}", plain(r)?));
        }
        self.run_ok(inv).await
    }

    /// `gt thaw [--rig r]`: resumes and nudges the frozen sessions.
    pub async fn thaw(&self, rig: Option<&str>) -> Result<Output, StackError> {
        let mut inv = self.gt(QUICK).arg("thaw");
        if let Some(r) = rig {
            inv = inv.arg(format!("--rig={}", plain(r)?));
        }
        self.run_ok(inv).await
    }

    /// The active E-stops, from the files (`status --json` has no field).
    pub fn estops(&self) -> Vec<Estop> {
        let Ok(dir) = std::fs::read_dir(&self.town) else {
            return vec![];
        };
        let mut v: Vec<Estop> = dir
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let rig = match name.as_str() {
                    "ESTOP" => None,
                    n => Some(n.strip_prefix("ESTOP.")?.to_string()),
                };
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                Some(parse_estop(rig, &text))
            })
            .collect();
        v.sort_by(|a, b| a.rig.cmp(&b.rig));
        v
    }

    /// One agent's restart with its role's own command (§4.6).
    pub async fn restart_agent(&self, target: &RestartTarget) -> Result<Output, StackError> {
        let inv = self.gt(MAYOR_START);
        let inv = match target {
            RestartTarget::Deacon => inv.args(["deacon", "restart"]),
            RestartTarget::Witness { rig } => inv.args(["witness", "restart", plain(rig)?]),
            RestartTarget::Refinery { rig } => inv.args(["refinery", "restart", plain(rig)?]),
            RestartTarget::Crew { rig, name } => inv
                .args(["crew", "restart", plain(name)?])
                .arg(format!("--rig={rig}")),
            RestartTarget::Polecat { rig, name } => {
                inv.args(["session", "restart"])
                    .arg(format!("{}/{}", plain(rig)?, name))
            }
        };
        self.run_ok(inv).await
    }
}

/// `<trigger>\t<RFC3339 local>\t<reason>\n`.
pub fn parse_estop(rig: Option<String>, text: &str) -> Estop {
    let mut parts = text.trim_end_matches('\n').splitn(3, '\t');
    let trigger = parts.next().unwrap_or("").to_string();
    let since = parts
        .next()
        .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok());
    let reason = parts.next().unwrap_or("").trim().to_string();
    Estop {
        rig,
        trigger,
        since,
        reason,
    }
}

/// gt's `Error: …` line (without the prefix), else its last words.
fn gt_error(out: &Output) -> StackError {
    StackError::Other(
        out.error_message()
            .trim_start_matches("Error: ")
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estop_file_lines() {
        let e = parse_estop(
            Some("project".into()),
            "manual\t2026-12-06T20:01:02+01:00\ton a plane\n",
        );
        assert_eq!(e.rig.as_deref(), Some("project"));
        assert_eq!(e.trigger, "manual");
        assert_eq!(e.reason, "on a plane");
        assert!(e.since.is_some());
        let bad = parse_estop(None, "garbage");
        assert_eq!(bad.trigger, "garbage");
        assert!(bad.since.is_none());
    }

    #[test]
    fn agent_beads_parse_with_ralph_mode() {
        let v: Vec<AgentBead> = serde_json::from_str(
            r#"[{"id":"hq-mayor","hook_bead":"hq-1","agent_state":"working",
                "updated_at":"2026-12-06T19:00:00.000000000Z","description":"x\nmode: ralph","labels":["gt:agent"]},
               {"id":"hq-deacon"}]"#,
        )
        .unwrap();
        assert!(v[0].ralph());
        assert!(!v[1].ralph());
        assert_eq!(v[0].hook_bead.as_deref(), Some("hq-1"));
    }

    #[test]
    fn option_like_values_are_refused() {
        assert!(plain("--all").is_err());
        assert!(plain("mayor").is_ok());
    }
}
