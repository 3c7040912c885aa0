//! `gt` (Gastown 1.2.1): town, rig, agent config, daemon, mayor, status.
//!
//! Traps handled here (gastown-cli.md §14): status commands exit 0 when
//! stopped (T1), `gt status --json` always lists mayor and deacon (T2),
//! `gt config` writes into the cwd (T3) and stores `args: []` (T4), the base
//! URL only reaches agents through `agents.<alias>.env` (T5), re-running
//! install/rig add fails on a persisted town (T7). Every call runs with
//! cwd = the town and `GT_ROOT` set.
//!
//! Why 1.2.1 (gastown-work.md §6): from 1.2.0 `gt handoff` (patrol roles,
//! crew compaction) merges `agents.<alias>.env` into the respawned pane, so
//! agents keep the proxy URL, their token and the config dir; 1.0.1 dropped
//! them. What changed for gasclaw since 1.0.1, checked at 1.2.1's source:
//! `gt install` exits 1 (`Error: starting Dolt server for beads: …`,
//! `initializing town beads: …`) where 1.0.1 printed `⚠ Could not …` and
//! exited 0; dolt >= 2.0.7 is required; a full `gt status` overlapping
//! another one silently runs as `--fast` (gasclaw always asks `--fast`, so
//! its fields are the same either way). `daemon`, `mayor`, `up`,
//! `config agent`/`default-agent` and `rig add` are unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::StackError;
use super::exec::{Invocation, Output, Runner};

pub mod work;

const QUICK: Duration = Duration::from_secs(30);
/// `gt mayor start` can block 180 s waiting for the agent (T8).
const MAYOR_START: Duration = Duration::from_secs(200);
/// Install and rig add clone repositories.
const SLOW: Duration = Duration::from_secs(300);
/// How often, and how far apart, a "running" daemon without a pid is asked
/// again (see `daemon_status`).
const PID_UNKNOWN_RETRIES: usize = 4;
const PID_UNKNOWN_PAUSE: Duration = Duration::from_millis(100);
/// `gt daemon start` is tried again after losing the start race (a probe
/// held the daemon's lock at its single attempt).
const DAEMON_START_ATTEMPTS: u32 = 3;
const DAEMON_RETRY_PAUSE: Duration = Duration::from_millis(300);

/// What gt copies from its own environment into every agent it starts when
/// set and non-empty (gt 1.2.1 `internal/config/env.go`, the pass-through
/// list; unchanged since 1.0.1). In gasclaw's hands each is harmful: an API
/// key stops interactive Claude at the "Detected a custom API key" dialog,
/// model and provider switches and proxies bypass the key pool. gasclaw
/// removes them from every `gt` child (see `core::accounts::stack_scrubs`).
pub const PASS_THROUGH: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_CUSTOM_HEADERS",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "CLAUDE_CODE_SUBAGENT_MODEL",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_SKIP_BEDROCK_AUTH",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_PROFILE",
    "AWS_BEARER_TOKEN_BEDROCK",
    "ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION",
    "CLAUDE_CODE_USE_FOUNDRY",
    "CLAUDE_CODE_SKIP_FOUNDRY_AUTH",
    "ANTHROPIC_FOUNDRY_API_KEY",
    "ANTHROPIC_FOUNDRY_BASE_URL",
    "ANTHROPIC_FOUNDRY_RESOURCE",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_SKIP_VERTEX_AUTH",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "VERTEX_PROJECT",
    "VERTEX_LOCATION",
    "VERTEX_REGION_CLAUDE_3_5_HAIKU",
    "VERTEX_REGION_CLAUDE_3_7_SONNET",
    "VERTEX_REGION_CLAUDE_4_0_OPUS",
    "VERTEX_REGION_CLAUDE_4_0_SONNET",
    "VERTEX_REGION_CLAUDE_4_1_OPUS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "CLAUDE_CODE_CLIENT_CERT",
    "CLAUDE_CODE_CLIENT_KEY",
    "CLAUDE_CODE_CLIENT_KEY_PASSPHRASE",
];

/// The Claude Code agent definition gasclaw writes into the town settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSpec {
    pub alias: String,
    pub command: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// Which agent each role runs, plus the default.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentsConfig {
    pub agents: Vec<AgentSpec>,
    pub default_agent: String,
    pub role_agents: BTreeMap<String, String>,
}

/// The daemon as `gt daemon status` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonState {
    Running { pid: Option<u32> },
    Stopped,
}

/// The subset of `gt status --json` gasclaw reads; every section optional
/// (missing = unknown, not down), unknown fields ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TownStatus {
    #[serde(default)]
    pub agents: Vec<AgentRuntime>,
    #[serde(default)]
    pub rigs: Vec<RigStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgentRuntime {
    pub name: String,
    #[serde(default)]
    pub running: bool,
    /// `coordinator`, `health-check`, `witness`, `refinery`, `polecat`, `crew`.
    #[serde(default)]
    pub role: Option<String>,
    /// Work fields (gastown-work.md §7): absent when status degrades.
    #[serde(default)]
    pub hook_bead: Option<String>,
    #[serde(default)]
    pub work_title: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RigStatus {
    pub name: String,
    #[serde(default)]
    pub agents: Vec<AgentRuntime>,
}

impl TownStatus {
    /// Every agent with where it lives: `mayor`, `project/witness` …
    pub fn all_agents(&self) -> Vec<(String, bool)> {
        let mut v: Vec<(String, bool)> = self
            .agents
            .iter()
            .map(|a| (a.name.clone(), a.running))
            .collect();
        for rig in &self.rigs {
            for a in &rig.agents {
                v.push((format!("{}/{}", rig.name, a.name), a.running));
            }
        }
        v
    }
}

/// One entry of `gt config agent list --json`.
#[derive(Debug, Clone, Deserialize)]
pub struct AgentEntry {
    pub name: String,
}

/// The town at `GT_ROOT`.
#[derive(Debug, Clone)]
pub struct Gastown {
    runner: Runner,
    town: PathBuf,
    dolt_port: u16,
}

impl Gastown {
    pub fn new(runner: Runner, town: PathBuf, dolt_port: u16) -> Gastown {
        Gastown {
            runner,
            town,
            dolt_port,
        }
    }

    fn gt(&self, timeout: Duration) -> Invocation {
        let cwd = if self.town.is_dir() {
            self.town.clone()
        } else {
            self.town
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/"))
        };
        Invocation::new("gt", timeout)
            .cwd(cwd)
            .env("GT_ROOT", &self.town)
            .env("GT_DOLT_PORT", self.dolt_port.to_string())
            // bd must never start a shadow Dolt server (beads-and-dolt.md §7.6).
            .env("BEADS_DOLT_AUTO_START", "0")
    }

    async fn run(&self, inv: Invocation) -> Result<Output, StackError> {
        Ok(self.runner.run(&inv).await?)
    }

    async fn run_ok(&self, inv: Invocation) -> Result<Output, StackError> {
        Ok(self.runner.run_ok(&inv).await?)
    }

    /// A town exists when `mayor/town.json` parses (never trust install's
    /// exit code alone: 1.0.1's partial installs exited 0, and a failed 1.2.1
    /// install leaves the files it wrote before failing).
    pub fn town_exists(&self) -> bool {
        read_json(&self.town.join("mayor/town.json"))
            .map(|v| v.get("type").and_then(Value::as_str) == Some("town"))
            .unwrap_or(false)
    }

    /// What a complete install leaves behind, beyond the town marker.
    pub fn town_incomplete(&self) -> Option<String> {
        if !self.town_exists() {
            return Some(format!("{} has no mayor/town.json", self.town.display()));
        }
        if !self.town.join(".beads/metadata.json").is_file() {
            return Some(
                "the town's beads were not initialised (.beads/metadata.json is missing)".into(),
            );
        }
        None
    }

    pub async fn install(&self) -> Result<Output, StackError> {
        if let Some(parent) = self.town.parent()
            && !parent.exists()
        {
            // gt (the stack's uid) creates the town in it.
            std::fs::create_dir_all(parent)
                .and_then(|()| self.runner.hand_over(parent))
                .map_err(|e| StackError::io(format!("creating {}", parent.display()), e))?;
        }
        let out = self
            .run_ok(
                self.gt(SLOW)
                    .arg("install")
                    .arg(&self.town)
                    .args(["--dolt-port", &self.dolt_port.to_string()]),
            )
            .await?;
        // 1.2.1 fails loudly (exit 1) when Dolt or the town's beads cannot
        // be set up; 1.0.1 printed `⚠ Could not …` and exited 0 (T6). A
        // partial town is still checked for: other steps may still only warn.
        if let Some(problem) = self.town_incomplete() {
            let warnings: Vec<&str> = out
                .stdout
                .lines()
                .chain(out.stderr.lines())
                .map(str::trim)
                .filter(|l| l.starts_with("⚠ Could not"))
                .collect();
            let detail = if warnings.is_empty() {
                problem
            } else {
                format!("{problem}; gt said: {}", warnings.join("; "))
            };
            return Err(StackError::Unexpected {
                program: "gt",
                detail: format!("install exited 0 but left a partial town: {detail}"),
            });
        }
        Ok(out)
    }

    pub fn rig_registered(&self, name: &str) -> bool {
        read_json(&self.town.join("mayor/rigs.json"))
            .and_then(|v| v.get("rigs").and_then(|r| r.get(name)).cloned())
            .is_some()
    }

    /// `gt rig add`; `url` must already be remote-looking (`file://` for a
    /// local path) — gt rejects plain paths.
    pub async fn rig_add(&self, name: &str, url: &str) -> Result<Output, StackError> {
        self.run_ok(self.gt(SLOW).args(["rig", "add", name, url]))
            .await
    }

    /// Writes the agent definitions into `settings/config.json` directly:
    /// `env` cannot be set from the CLI and `gt config agent set` would store
    /// `args: []`. Unknown keys already in the file are kept. Returns whether
    /// the file changed.
    pub fn write_agents(&self, cfg: &AgentsConfig) -> Result<bool, StackError> {
        let path = self.town.join("settings/config.json");
        let mut root = match std::fs::read_to_string(&path) {
            Ok(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(StackError::Unexpected {
                        program: "gt",
                        detail: format!(
                            "{} is not a JSON object; fix or remove it",
                            path.display()
                        ),
                    });
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(StackError::io(format!("reading {}", path.display()), e)),
        };
        root.entry("type").or_insert_with(|| json!("town-settings"));
        root.entry("version").or_insert_with(|| json!(1));
        let agents = root.entry("agents").or_insert_with(|| json!({}));
        if !agents.is_object() {
            *agents = json!({});
        }
        if let Value::Object(agents) = agents {
            for a in &cfg.agents {
                let mut entry = match agents.remove(&a.alias) {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                entry.insert("provider".into(), json!("claude"));
                entry.insert("command".into(), json!(a.command));
                entry.insert("args".into(), json!(a.args));
                entry.insert("env".into(), json!(a.env));
                agents.insert(a.alias.clone(), Value::Object(entry));
            }
        }
        root.insert("default_agent".into(), json!(cfg.default_agent));
        let roles = root.entry("role_agents").or_insert_with(|| json!({}));
        if !roles.is_object() {
            *roles = json!({});
        }
        if let Value::Object(roles) = roles {
            for (role, alias) in &cfg.role_agents {
                roles.insert(role.clone(), json!(alias));
            }
        }
        // The env blocks hold credentials: owner-only, the owner being
        // the stack's uid (gt reads and rewrites the file).
        let changed = crate::fsutil::write_json_if_changed(
            &path,
            &Value::Object(root),
            crate::fsutil::SECRET_MODE,
        )
        .map_err(|e| StackError::io(format!("writing {}", path.display()), e))?;
        for p in [path.parent().unwrap_or(&self.town), &path] {
            self.runner
                .hand_over(p)
                .map_err(|e| StackError::io(format!("handing {} to STACK_USER", p.display()), e))?;
        }
        Ok(changed)
    }

    /// `gt config agent list --json`, run in the town root (T3).
    pub async fn agent_list(&self) -> Result<Vec<AgentEntry>, StackError> {
        let out = self
            .run_ok(self.gt(QUICK).args(["config", "agent", "list", "--json"]))
            .await?;
        serde_json::from_str(out.stdout.trim()).map_err(|e| StackError::Unexpected {
            program: "gt",
            detail: format!("config agent list --json: {e}"),
        })
    }

    /// `gt config default-agent` → the name it prints.
    pub async fn default_agent(&self) -> Result<String, StackError> {
        let out = self
            .run_ok(self.gt(QUICK).args(["config", "default-agent"]))
            .await?;
        out.stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("Default agent:"))
            .map(|s| s.trim().to_string())
            .ok_or_else(|| StackError::Unexpected {
                program: "gt",
                detail: format!("config default-agent printed {:?}", out.stdout.trim()),
            })
    }

    /// Parses `gt daemon status` (exit 0 either way: T1).
    ///
    /// gt judges "running" by trying the daemon's flock, and every probe
    /// (`gt daemon status`, `gt status`) takes that lock for a moment itself,
    /// so a probe that meets another one sees a stopped daemon as "running
    /// (PID 0)". A daemon that really runs writes its pid file right after
    /// taking the lock, so a running answer without a pid is asked again.
    pub async fn daemon_status(&self) -> Result<DaemonState, StackError> {
        let mut state = self.daemon_status_once().await?;
        for _ in 0..PID_UNKNOWN_RETRIES {
            if state != (DaemonState::Running { pid: None }) {
                break;
            }
            tokio::time::sleep(PID_UNKNOWN_PAUSE).await;
            state = self.daemon_status_once().await?;
        }
        Ok(state)
    }

    async fn daemon_status_once(&self) -> Result<DaemonState, StackError> {
        let out = self
            .run_ok(self.gt(QUICK).args(["daemon", "status"]))
            .await?;
        parse_daemon_status(&out.stdout).ok_or_else(|| StackError::Unexpected {
            program: "gt",
            detail: format!(
                "daemon status printed neither `● Daemon is running` nor `○ Daemon is not running`: {:?}",
                first_line(&out.stdout)
            ),
        })
    }

    /// `gt daemon start`, tried again after a lost start race (see
    /// [`Gastown::daemon_start_once`]) up to `DAEMON_START_ATTEMPTS` times;
    /// `Ok` only for a daemon that really runs.
    pub async fn daemon_start(&self) -> Result<Output, StackError> {
        let mut attempt = 1;
        loop {
            match self.daemon_start_once().await {
                Err(e) if lost_start_race(&e) && attempt < DAEMON_START_ATTEMPTS => {
                    tracing::info!(attempt, error = %e, "the daemon lost its start race; trying again");
                    attempt += 1;
                    tokio::time::sleep(DAEMON_RETRY_PAUSE).await;
                }
                Err(e) if lost_start_race(&e) => {
                    return Err(StackError::Other(format!(
                        "the daemon lost its start race {attempt} times (something kept probing its lock): {e}"
                    )));
                }
                other => return other,
            }
        }
    }

    /// One `gt daemon start`; `Ok` only for a daemon that really runs.
    ///
    /// gt's daemon tries its lock once and every probe takes that lock for a
    /// moment (gt 1.2.1 `daemon/daemon.go` Run and IsRunning), so what `gt
    /// daemon start` says is not proof: a probe overlapping the new daemon's
    /// attempt makes it exit (`Error: daemon failed to start: daemon already
    /// running (lock held by another process)`), one overlapping gt's own
    /// poll makes gt exit 0 with `● Daemon already running (PID 0)`, and one
    /// overlapping its pre-check gives `Error: daemon already running (PID
    /// 0)`. So an answer claiming a running daemon is confirmed with `gt
    /// daemon status`; a lost race is reported as such ([`lost_start_race`]).
    async fn daemon_start_once(&self) -> Result<Output, StackError> {
        let out = self.run(self.gt(QUICK).args(["daemon", "start"])).await?;
        let pre_check = out.stderr.lines().any(|l| {
            l.trim_start()
                .starts_with("Error: daemon already running (PID")
        });
        if !out.success() && !pre_check {
            return Err(out.into_error().into());
        }
        if let DaemonState::Running { pid: Some(_) } = self.daemon_status().await? {
            return Ok(out);
        }
        let said = out
            .stdout
            .lines()
            .chain(out.stderr.lines())
            .map(str::trim)
            .find(|l| l.contains("aemon"))
            .unwrap_or("nothing")
            .to_string();
        Err(StackError::Unexpected {
            program: "gt",
            detail: format!("daemon start said {said:?} but no daemon runs ({START_RACE})"),
        })
    }

    pub async fn daemon_stop(&self) -> Result<Output, StackError> {
        let out = self.run(self.gt(QUICK).args(["daemon", "stop"])).await?;
        if out.success() || out.stderr.contains("daemon is not running") {
            Ok(out)
        } else {
            Err(out.into_error().into())
        }
    }

    /// `gt mayor status --running` prints exactly `true` or `false`.
    pub async fn mayor_running(&self) -> Result<bool, StackError> {
        let out = self
            .run_ok(self.gt(QUICK).args(["mayor", "status", "--running"]))
            .await?;
        match out.stdout.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(StackError::Unexpected {
                program: "gt",
                detail: format!("mayor status --running printed {other:?}"),
            }),
        }
    }

    /// Starts the mayor with the default agent (the daemon restarts it with
    /// that one too, so no `--agent` override).
    pub async fn mayor_start(&self) -> Result<Output, StackError> {
        self.run_ok(self.gt(MAYOR_START).args(["mayor", "start"]))
            .await
    }

    pub async fn mayor_stop(&self) -> Result<Output, StackError> {
        let out = self.run(self.gt(QUICK).args(["mayor", "stop"])).await?;
        if out.success() || out.stderr.contains("is not running") {
            Ok(out)
        } else {
            Err(out.into_error().into())
        }
    }

    /// Starts the town's own Dolt server (never a second one: gasclaw only
    /// calls this after the probe found the port silent).
    pub async fn dolt_start(&self) -> Result<Output, StackError> {
        self.run_ok(self.gt(QUICK).args(["dolt", "start"])).await
    }

    pub async fn dolt_stop(&self) -> Result<Output, StackError> {
        let out = self.run(self.gt(QUICK).args(["dolt", "stop"])).await?;
        if out.success() || out.stdout.contains("not running") || out.stderr.contains("not running")
        {
            Ok(out)
        } else {
            Err(out.into_error().into())
        }
    }

    /// `gt up`: starts every town service and agent that is not running.
    /// On failure gt prints only its JSON (`{"success":false,"services":[…]}`)
    /// and exits 1, so the error names the services that failed, with gt's
    /// detail for each.
    pub async fn up(&self) -> Result<Output, StackError> {
        let out = self.run(self.gt(SLOW).args(["up", "--json"])).await?;
        if out.success() {
            return Ok(out);
        }
        let Some(failed) = up_failures(&out.stdout) else {
            return Err(out.into_error().into());
        };
        Err(StackError::Exec(super::ExecError::Failed {
            command: out.command.clone(),
            status: out.status_text(),
            message: failed,
        }))
    }

    /// `gt status --json --fast`, tolerant of missing sections.
    pub async fn status(&self, timeout: Duration) -> Result<TownStatus, StackError> {
        let out = self
            .run_ok(self.gt(timeout).args(["status", "--json", "--fast"]))
            .await?;
        serde_json::from_str(out.stdout.trim()).map_err(|e| StackError::Unexpected {
            program: "gt",
            detail: format!("status --json: {e}"),
        })
    }

    pub async fn version(&self, timeout: Duration) -> Result<String, StackError> {
        let out = self.run_ok(self.gt(timeout).arg("--version")).await?;
        super::parse_semver(&out.stdout).ok_or_else(|| StackError::Unexpected {
            program: "gt",
            detail: format!("--version printed {:?}", first_line(&out.stdout)),
        })
    }
}

/// The work surfaces gasclaw reads and acts on (gastown-work.md §1, §3).
impl Gastown {
    /// The town's event log (appended under `.events.jsonl.lock`, rewritten
    /// by rename hourly by the KRC pruner; `.feed.jsonl` stops receiving
    /// events after the first prune, so it is never read).
    pub fn events_path(&self) -> PathBuf {
        self.town.join(".events.jsonl")
    }

    /// `gt escalate ack <id>` run from the town root without `GT_ROLE`, so
    /// gt's `detectSender` records the acker as `overseer`.
    pub async fn escalate_ack(&self, id: &str) -> Result<Output, StackError> {
        self.run_ok(
            self.gt(QUICK)
                .env_remove("GT_ROLE")
                .args(["escalate", "ack", id]),
        )
        .await
    }

    /// `gt escalate close <id> --reason R` (the reason is required), as
    /// `overseer`.
    pub async fn escalate_close(&self, id: &str, reason: &str) -> Result<Output, StackError> {
        self.run_ok(
            self.gt(QUICK)
                .env_remove("GT_ROLE")
                .args(["escalate", "close", id, "--reason", reason]),
        )
        .await
    }
}

/// The failed services of a `gt up --json` answer: `Daemon: …; Mayor: …`.
fn up_failures(stdout: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Up {
        services: Vec<UpService>,
    }
    #[derive(Deserialize)]
    struct UpService {
        name: String,
        ok: bool,
        #[serde(default)]
        detail: String,
    }
    let up: Up = serde_json::from_str(stdout.trim()).ok()?;
    let failed: Vec<String> = up
        .services
        .iter()
        .filter(|s| !s.ok)
        .map(|s| format!("{}: {}", s.name, s.detail))
        .collect();
    (!failed.is_empty()).then(|| format!("not all services started: {}", failed.join("; ")))
}

/// Whether a failed `gt daemon start` lost the start race (worth another
/// try) rather than failed for a reason that would repeat.
pub fn lost_start_race(e: &StackError) -> bool {
    let text = e.to_string();
    text.contains("daemon already running (lock held by another process)")
        || text.contains(START_RACE)
}

const START_RACE: &str = "a probe held the daemon's lock: the start race";

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

/// `● Daemon is running (PID n)` / `○ Daemon is not running`.
pub fn parse_daemon_status(stdout: &str) -> Option<DaemonState> {
    for line in stdout.lines().map(str::trim) {
        if line.contains("Daemon is not running") {
            return Some(DaemonState::Stopped);
        }
        if let Some(rest) = line.split("Daemon is running").nth(1) {
            // gt prints PID 0 when the lock is held but no pid file exists.
            let pid = rest
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| !w.is_empty())
                .and_then(|w| w.parse().ok())
                .filter(|&p: &u32| p != 0);
            return Some(DaemonState::Running { pid });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_status_lines() {
        assert_eq!(
            parse_daemon_status("● Daemon is running (PID 1234)\n  Town: /x\n"),
            Some(DaemonState::Running { pid: Some(1234) })
        );
        assert_eq!(
            parse_daemon_status("○ Daemon is not running\n\nStart with: gt daemon start\n"),
            Some(DaemonState::Stopped)
        );
        assert_eq!(
            parse_daemon_status("● Daemon is running (PID 0)\n"),
            Some(DaemonState::Running { pid: None })
        );
        assert_eq!(parse_daemon_status("weird"), None);
    }

    #[test]
    fn up_failures_name_the_services() {
        let json = r#"{
  "success": false,
  "services": [
    {"name": "Dolt", "type": "dolt", "ok": true, "detail": "already running"},
    {"name": "Daemon", "type": "daemon", "ok": false, "detail": "daemon failed to start (check logs with 'gt daemon logs')"},
    {"name": "Mayor", "type": "mayor", "ok": false, "detail": "waiting for mayor to start: agent exited"}
  ],
  "summary": {"total": 3, "started": 1, "failed": 2}
}"#;
        assert_eq!(
            up_failures(json).as_deref(),
            Some(
                "not all services started: Daemon: daemon failed to start (check logs with 'gt daemon logs'); Mayor: waiting for mayor to start: agent exited"
            )
        );
        assert_eq!(up_failures("}"), None);
    }

    #[test]
    fn status_json_tolerates_missing_sections_and_unknown_fields() {
        let s: TownStatus = serde_json::from_str(
            r#"{"name":"gt","agents":[{"name":"mayor","running":true,"x":1},{"name":"deacon","running":false}],
                "rigs":[{"name":"project","agents":[{"name":"witness","running":true}]}],"summary":{}}"#,
        )
        .unwrap();
        assert_eq!(
            s.all_agents(),
            vec![
                ("mayor".to_string(), true),
                ("deacon".to_string(), false),
                ("project/witness".to_string(), true)
            ]
        );
    }

    #[test]
    fn write_agents_keeps_unknown_keys_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let gt = Gastown::new(
            Runner::new(Default::default(), &[]),
            dir.path().to_path_buf(),
            3307,
        );
        std::fs::create_dir_all(dir.path().join("settings")).unwrap();
        std::fs::write(
            dir.path().join("settings/config.json"),
            r#"{"type":"town-settings","version":1,"cli_theme":"dark","agents":{"other":{"command":"x"}}}"#,
        )
        .unwrap();
        let cfg = AgentsConfig {
            agents: vec![AgentSpec {
                alias: "kimi-claude".into(),
                command: "claude".into(),
                args: vec!["--dangerously-skip-permissions".into()],
                env: [("IS_SANDBOX".to_string(), "1".to_string())].into(),
            }],
            default_agent: "kimi-claude".into(),
            role_agents: [("mayor".to_string(), "kimi-claude".to_string())].into(),
        };
        assert!(gt.write_agents(&cfg).unwrap());
        assert!(!gt.write_agents(&cfg).unwrap());
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("settings/config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(v["cli_theme"], "dark");
        assert_eq!(v["agents"]["other"]["command"], "x");
        assert_eq!(
            v["agents"]["kimi-claude"]["args"][0],
            "--dangerously-skip-permissions"
        );
        assert_eq!(v["default_agent"], "kimi-claude");
        assert_eq!(v["role_agents"]["mayor"], "kimi-claude");
    }
}
