//! Bootstrap: one ordered, idempotent, single-flight sequence with rollback.
//!
//! Each step first reads real state and skips when its work is already
//! done; what a step starts is recorded, and on a failure everything this
//! run started is stopped again, newest first, while whatever was running
//! before is left alone. Progress is a stream of events the faces render.
//!
//! The order differs from the seed's list in one place: Dolt is made to
//! serve *before* `gt rig add`, which refuses to run without it.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::accounts::{self, Credentials};
use super::{Core, CoreError, SKILLS, Service};
use crate::stack::StackError;
use crate::stack::claude::{self, ClaudeSeed};
use crate::stack::dolt::{self, Probe};
use crate::stack::gastown::DaemonState;
use crate::stack::openclaw::{GatewayHealth, OverseerSettings, TelegramChannel};

/// How long the gateway may take to answer `/health` (first boot installs
/// plugin dependencies: 35–60 s and more were seen).
pub const GATEWAY_START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the rollback of a bootstrap interrupted by SIGTERM may take:
/// gasclaw must be gone within 10 s of the signal (Compose's grace).
pub const INTERRUPTED_ROLLBACK_BUDGET: Duration = Duration::from_secs(5);
/// How long Dolt may take to greet after `gt dolt start`.
const DOLT_START_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Keys,
    Town,
    Dolt,
    Rig,
    Agents,
    OverseerConfig,
    Skills,
    Doctor,
    Gateway,
    Daemon,
    Mayor,
    Report,
}

impl Step {
    pub const ALL: [Step; 12] = [
        Step::Keys,
        Step::Town,
        Step::Dolt,
        Step::Rig,
        Step::Agents,
        Step::OverseerConfig,
        Step::Skills,
        Step::Doctor,
        Step::Gateway,
        Step::Daemon,
        Step::Mayor,
        Step::Report,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Keys => "keys",
            Step::Town => "town",
            Step::Dolt => "dolt",
            Step::Rig => "rig",
            Step::Agents => "agents",
            Step::OverseerConfig => "openclaw-config",
            Step::Skills => "skills",
            Step::Doctor => "doctor",
            Step::Gateway => "gateway",
            Step::Daemon => "daemon",
            Step::Mayor => "mayor",
            Step::Report => "report",
        }
    }

    /// 1-based position, for "step 3/12".
    pub fn number(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "lowercase")]
pub enum StepOutcome {
    Done(String),
    Skipped(String),
    Failed(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step: Step,
    #[serde(flatten)]
    pub outcome: StepOutcome,
    pub elapsed_ms: u64,
}

/// One step's progress during a bootstrap.
#[derive(Debug, Clone, PartialEq)]
pub enum StepProgress {
    Started,
    Done(String),
    Skipped(String),
    Failed(String),
    /// Rollback undid something this run had started.
    RolledBack(String),
}

#[derive(Debug, Clone)]
pub struct BootstrapEvent {
    pub step: Step,
    pub progress: StepProgress,
    pub at: DateTime<Utc>,
}

/// What a bootstrap did.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapReport {
    pub steps: Vec<StepRecord>,
    /// The failed step and the program's own error.
    pub failed: Option<(Step, String)>,
    /// What rollback stopped, newest first.
    pub rolled_back: Vec<String>,
    pub elapsed_ms: u64,
}

impl BootstrapReport {
    pub fn ok(&self) -> bool {
        self.failed.is_none()
    }

    /// Whether the run changed nothing (every step skipped).
    pub fn changed_nothing(&self) -> bool {
        self.steps
            .iter()
            .filter(|r| r.step != Step::Report)
            .all(|r| matches!(r.outcome, StepOutcome::Skipped(_)))
    }
}

/// Something this run started, to undo on failure.
#[derive(Debug, Clone)]
enum Undo {
    RemoveTown(PathBuf),
    StopDolt,
    StopGateway,
    StopDaemon,
    StopMayor,
}

/// Holds the single-flight lock for the duration of a run.
struct FlightLock {
    _file: File,
}

fn take_flight_lock(home: &std::path::Path) -> Result<FlightLock, CoreError> {
    let path = home.join("bootstrap.lock");
    let file = crate::fsutil::open_append(&path, 0o600).map_err(|e| CoreError::Io {
        what: format!("opening {}", path.display()),
        source: e,
    })?;
    match file.try_lock() {
        Ok(()) => Ok(FlightLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(CoreError::BootstrapRunning),
        Err(std::fs::TryLockError::Error(e)) => Err(CoreError::Io {
            what: format!("locking {}", path.display()),
            source: e,
        }),
    }
}

struct Run<'a> {
    core: &'a Core,
    progress: Option<UnboundedSender<BootstrapEvent>>,
    undo: Vec<(Step, Undo)>,
    /// What the running step is about to start: undone too if the step is
    /// interrupted before it could record it in `undo`.
    pending: Option<(Step, Undo)>,
    records: Vec<StepRecord>,
    /// Whether the overseer's config or skills changed in this run.
    overseer_changed: bool,
}

impl Run<'_> {
    fn emit(&self, step: Step, progress: StepProgress) {
        let ev = BootstrapEvent {
            step,
            progress,
            at: Utc::now(),
        };
        if let Some(tx) = &self.progress {
            let _ = tx.send(ev.clone());
        }
        self.core.publish(ev);
    }
}

type StepResult = Result<StepOutcome, StepError>;

/// Why a bootstrap step failed: a program's own error, or what gasclaw found
/// wrong. The report keeps its text (what the faces show).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("interrupted: gasclaw is shutting down")]
    Interrupted,
    #[error("{0}")]
    Failed(String),
}

impl Core {
    /// Runs the bootstrap. Fails only when another bootstrap is running;
    /// a failed step is reported in the returned report.
    pub async fn bootstrap(
        &self,
        progress: Option<UnboundedSender<BootstrapEvent>>,
    ) -> Result<Arc<BootstrapReport>, CoreError> {
        self.bootstrap_until(progress, &CancellationToken::new())
            .await
    }

    /// [`Core::bootstrap`] that gives up when `cancel` fires (SIGTERM): the
    /// running step is dropped (the runner kills its children's process
    /// groups), and what this run started is rolled back newest first,
    /// within [`INTERRUPTED_ROLLBACK_BUDGET`].
    pub async fn bootstrap_until(
        &self,
        progress: Option<UnboundedSender<BootstrapEvent>>,
        cancel: &CancellationToken,
    ) -> Result<Arc<BootstrapReport>, CoreError> {
        let _flight = take_flight_lock(&self.config().home)?;
        // Healing and a person's /restart never work on a service while
        // bootstrap does.
        let mut guards = Vec::new();
        for s in Service::ALL {
            guards.push(self.lock_service(s, Duration::from_secs(300)).await?);
        }
        let started = Instant::now();
        let mut run = Run {
            core: self,
            progress,
            undo: Vec::new(),
            pending: None,
            records: Vec::new(),
            overseer_changed: false,
        };
        let mut failed = None;
        let mut interrupted = false;
        for step in Step::ALL {
            run.emit(step, StepProgress::Started);
            let t = Instant::now();
            let result = tokio::select! {
                r = self.run_step(step, &mut run) => Some(r),
                _ = cancel.cancelled() => None,
            };
            let result = match result {
                Some(r) => r,
                None => {
                    interrupted = true;
                    if let Some(p) = run.pending.take() {
                        run.undo.push(p);
                    }
                    Err(StepError::Interrupted)
                }
            };
            run.pending = None;
            let outcome = match result {
                Ok(o) => o,
                Err(e) => StepOutcome::Failed(e.to_string()),
            };
            let progress = match &outcome {
                StepOutcome::Done(d) => StepProgress::Done(d.clone()),
                StepOutcome::Skipped(d) => StepProgress::Skipped(d.clone()),
                StepOutcome::Failed(e) => StepProgress::Failed(e.clone()),
            };
            run.emit(step, progress);
            if let StepOutcome::Failed(e) = &outcome {
                tracing::error!(step = %step, error = %e, "bootstrap step failed");
                failed = Some((step, e.clone()));
            }
            run.records.push(StepRecord {
                step,
                outcome,
                elapsed_ms: t.elapsed().as_millis() as u64,
            });
            if failed.is_some() {
                break;
            }
        }
        let mut rolled_back = Vec::new();
        if failed.is_none() {
            for (_, u) in &run.undo {
                let s = match u {
                    Undo::StopDolt => Service::Dolt,
                    Undo::StopGateway => Service::Gateway,
                    Undo::StopDaemon => Service::Daemon,
                    Undo::StopMayor => Service::Mayor,
                    Undo::RemoveTown(_) => continue,
                };
                self.mark_started(s);
            }
        }
        if failed.is_some() {
            let grace = if interrupted {
                Duration::from_secs(2)
            } else {
                Duration::from_secs(10)
            };
            let rollback = async {
                while let Some((step, undo)) = run.undo.pop() {
                    let what = self.undo(&undo, grace).await;
                    run.emit(step, StepProgress::RolledBack(what.clone()));
                    rolled_back.push(what);
                }
            };
            if interrupted {
                if tokio::time::timeout(INTERRUPTED_ROLLBACK_BUDGET, rollback)
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        "rollback did not finish within {}s of the shutdown",
                        INTERRUPTED_ROLLBACK_BUDGET.as_secs()
                    );
                }
            } else {
                rollback.await;
            }
        }
        // An explicit bootstrap ends every stopped-on-purpose mark; only
        // now, so the monitor says nothing about services coming up.
        if !interrupted && let Err(e) = self.stopped_file().clear(&Service::ALL) {
            tracing::error!(error = %e, "could not clear the stopped state");
        }
        drop(guards);
        let report = Arc::new(BootstrapReport {
            steps: run.records,
            failed,
            rolled_back,
            elapsed_ms: started.elapsed().as_millis() as u64,
        });
        self.publish(report.clone());
        Ok(report)
    }

    async fn run_step(&self, step: Step, run: &mut Run<'_>) -> StepResult {
        match step {
            Step::Keys => self.step_keys(),
            Step::Town => self.step_town(run).await,
            Step::Dolt => self.step_dolt(run).await,
            Step::Rig => self.step_rig().await,
            Step::Agents => self.step_agents().await,
            Step::OverseerConfig => self.step_overseer_config(run).await,
            Step::Skills => self.step_skills(run).await,
            Step::Doctor => self.step_doctor(run).await,
            Step::Gateway => self.step_gateway(run).await,
            Step::Daemon => self.step_daemon(run).await,
            Step::Mayor => self.step_mayor(run).await,
            Step::Report => Ok(StepOutcome::Done("the stack is up".into())),
        }
    }

    /// How each agent slot reaches the model: gasclaw's proxy with the
    /// slot's own local token as a Bearer token (no approval dialog in
    /// interactive Claude Code); the real keys never leave gasclaw.
    pub fn agent_credentials(&self) -> Vec<Credentials> {
        (1..=self.config().agent_count)
            .filter_map(|n| self.local_tokens().agent_token(n))
            .map(|t| Credentials {
                base_url: self.proxy_url(),
                secret: t.clone(),
                bearer: true,
            })
            .collect()
    }

    /// What `openclaw.json` is written from.
    pub fn overseer_settings(&self) -> OverseerSettings {
        let cfg = self.config();
        OverseerSettings {
            gateway_port: cfg.gateway_port,
            gateway_token: self.gateway_token().clone(),
            // The overseer's model goes through the proxy too, drawing from
            // the overseer pool with its own local token.
            provider_base_url: self.proxy_url(),
            provider_api_key: self.local_tokens().overseer_token().clone(),
            workspace: self.home.openclaw.join("overseer"),
            telegram: cfg
                .openclaw_telegram_token
                .as_ref()
                .map(|t| TelegramChannel {
                    bot_token: t.clone(),
                    owner_id: cfg.telegram.owner_id,
                }),
            exec_full: cfg.overseer_exec == crate::config::OverseerExec::Full,
        }
    }

    fn step_keys(&self) -> StepResult {
        let creds = self.agent_credentials();
        let io = |what: &str, source: std::io::Error| StepError::Io {
            what: what.to_string(),
            source,
        };
        let mut changed = accounts::write_account_files(&self.home.accounts, &creds)
            .map_err(|e| io("writing ~/.kimi-accounts", e))?
            .len();
        self.runner
            .hand_over_tree(&self.home.accounts)
            .map_err(|e| io("handing ~/.kimi-accounts to STACK_USER", e))?;
        let town = &self.config().gt_root;
        let rig = town.join(&self.config().rig_name);
        let seed = ClaudeSeed {
            trusted_dirs: vec![
                town.clone(),
                town.join("mayor"),
                town.join("deacon"),
                rig.join("witness"),
                rig.join("refinery/rig"),
                rig.join("mayor/rig"),
            ],
            approved_key_fingerprints: creds
                .iter()
                .filter(|c| !c.bearer)
                .map(|c| claude::key_fingerprint(c.secret.expose_secret()))
                .collect(),
        };
        let written = claude::seed_config_dir(&self.home.claude, &seed)?;
        // Claude rewrites these files as the agents' uid: theirs to keep.
        for p in std::iter::once(&self.home.claude).chain(&written) {
            self.runner
                .hand_over(p)
                .map_err(|e| io("handing the agents' Claude config to STACK_USER", e))?;
        }
        changed += written.len();
        Ok(if changed == 0 {
            StepOutcome::Skipped(format!(
                "{} agent accounts and the Claude config already in place",
                creds.len()
            ))
        } else {
            StepOutcome::Done(format!(
                "{} agent accounts, Claude config in {} ({changed} files written)",
                creds.len(),
                self.home.claude.display()
            ))
        })
    }

    async fn step_town(&self, run: &mut Run<'_>) -> StepResult {
        let town = self.config().gt_root.clone();
        // A town made before the uid split is gasclaw's: gt, running as
        // the stack's uid, would fail on it in many places; say it once.
        if let Some(stack) = &self.config().stack
            && let Ok(meta) = std::fs::metadata(&town)
        {
            use std::os::unix::fs::MetadataExt;
            if meta.uid() != stack.id.uid {
                return Err(StepError::Failed(format!(
                    "the town at {} belongs to uid {}, not STACK_USER ({}); give it to the stack once: chown -R {}:{} {}",
                    town.display(),
                    meta.uid(),
                    stack.id.describe(),
                    stack.id.uid,
                    stack.id.gid,
                    town.display()
                )));
            }
        }
        if self.gastown.town_exists() {
            match self.gastown.town_incomplete() {
                None => {
                    return Ok(StepOutcome::Skipped(format!(
                        "town at {} already installed",
                        town.display()
                    )));
                }
                Some(why) => {
                    return Err(StepError::Failed(format!(
                        "the town at {} is incomplete ({why}); finish it with `gt install {} --force` or remove it",
                        town.display(),
                        town.display()
                    )));
                }
            }
        }
        let existed = match std::fs::read_dir(&town) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(StepError::Failed(format!(
                        "GT_ROOT {} exists, is not empty and holds no town; refusing to install over it",
                        town.display()
                    )));
                }
                true
            }
            Err(_) => false,
        };
        // gt install and dolt init refuse to run without a Dolt identity.
        self.dolt.ensure_identity().await?;
        let dolt_before = dolt::probe(self.config().dolt_port).await.is_serving();
        // Record before running: a failed install may leave a partial town.
        if !existed {
            run.undo.push((Step::Town, Undo::RemoveTown(town.clone())));
        }
        if !dolt_before {
            run.pending = Some((Step::Town, Undo::StopDolt));
        }
        let result = self.gastown.install().await;
        if !dolt_before && dolt::probe(self.config().dolt_port).await.is_serving() {
            run.undo.push((Step::Town, Undo::StopDolt));
        }
        result?;
        Ok(StepOutcome::Done(format!(
            "installed a town at {}",
            town.display()
        )))
    }

    async fn step_dolt(&self, run: &mut Run<'_>) -> StepResult {
        let port = self.config().dolt_port;
        match dolt::probe(port).await {
            Probe::Serving { .. } => {
                return Ok(StepOutcome::Skipped(format!("serving on port {port}")));
            }
            // Something holds the port but does not serve: starting another
            // server cannot help and would make things worse.
            p @ (Probe::Refusing { .. } | Probe::Wedged { .. }) => {
                return Err(StepError::Failed(p.describe(port)));
            }
            Probe::Down { .. } => {}
        }
        run.pending = Some((Step::Dolt, Undo::StopDolt));
        self.gastown.dolt_start().await?;
        run.pending = None;
        run.undo.push((Step::Dolt, Undo::StopDolt));
        let start = Instant::now();
        loop {
            let p = dolt::probe(port).await;
            if p.is_serving() {
                return Ok(StepOutcome::Done(format!(
                    "started with `gt dolt start`, serving on port {port} after {}s",
                    start.elapsed().as_secs()
                )));
            }
            if start.elapsed() > DOLT_START_TIMEOUT {
                return Err(StepError::Failed(format!(
                    "`gt dolt start` succeeded but {}",
                    p.describe(port)
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn step_rig(&self) -> StepResult {
        let name = &self.config().rig_name;
        if self.gastown.rig_registered(name) {
            return Ok(StepOutcome::Skipped(format!(
                "rig `{name}` already registered"
            )));
        }
        let url = self.config().rig_git_url();
        self.gastown.rig_add(name, &url).await?;
        Ok(StepOutcome::Done(format!("added rig `{name}` from {url}")))
    }

    async fn step_agents(&self) -> StepResult {
        self.known_proxy_port()?;
        let cfg = accounts::agents_config(
            &self.agent_credentials(),
            &self.home.claude,
            self.runner.children_run_as_root(),
        );
        let changed = self.gastown.write_agents(&cfg)?;
        // Read it back through gt itself, run in the town root.
        let listed = self.gastown.agent_list().await?;
        if let Some(missing) = cfg
            .agents
            .iter()
            .find(|a| !listed.iter().any(|l| l.name == a.alias))
        {
            return Err(StepError::Failed(format!(
                "gt does not list agent `{}` after writing settings/config.json",
                missing.alias
            )));
        }
        let default = self.gastown.default_agent().await?;
        if default != cfg.default_agent {
            return Err(StepError::Failed(format!(
                "gt's default agent is `{default}`, expected `{}`",
                cfg.default_agent
            )));
        }
        let what = format!(
            "{} agents ({}…), default `{default}`",
            cfg.agents.len(),
            accounts::DEFAULT_ALIAS
        );
        Ok(if changed {
            StepOutcome::Done(format!("defined {what}"))
        } else {
            StepOutcome::Skipped(format!("{what} already defined"))
        })
    }

    async fn step_overseer_config(&self, run: &mut Run<'_>) -> StepResult {
        self.known_proxy_port()?;
        let settings = self.overseer_settings();
        let changed = self.openclaw.write_config(&settings)?;
        let path = self.openclaw.config_path();
        if !changed {
            return Ok(StepOutcome::Skipped(format!(
                "{} unchanged",
                path.display()
            )));
        }
        run.overseer_changed = true;
        self.validate_overseer_config().await?;
        Ok(StepOutcome::Done(format!(
            "wrote and validated {}",
            path.display()
        )))
    }

    /// The agents and the overseer are told the proxy's port: with
    /// `KIMI_PROXY_PORT=0` only a running gasclaw knows it.
    fn known_proxy_port(&self) -> Result<u16, StepError> {
        self.proxy_port().ok_or_else(|| {
            StepError::Failed(
                "KIMI_PROXY_PORT=0: the proxy's port is chosen by `gasclaw run`, and no running gasclaw reported one (GASCLAW_HOME/addresses.json)".into(),
            )
        })
    }

    async fn validate_overseer_config(&self) -> Result<(), StepError> {
        let v = self.openclaw.validate().await?;
        if v.valid {
            Ok(())
        } else {
            Err(StepError::Failed(format!(
                "openclaw rejects {}: {}",
                self.openclaw.config_path().display(),
                v.issues.join("; ")
            )))
        }
    }

    /// Installs the skills and lets the overseer run exactly their scripts
    /// (its exec allowlist), unless `OVERSEER_EXEC=full`. The scripts reach
    /// gasclaw through its local endpoint; the gasclaw binary is not on the
    /// list (it would run any subcommand, `stop` included).
    async fn step_skills(&self, run: &mut Run<'_>) -> StepResult {
        let changed = self.openclaw.install_skills(&SKILLS)?;
        let dir = self.openclaw.skills_dir();
        let mut allowed = 0;
        if self.config().overseer_exec == crate::config::OverseerExec::Skills {
            // Earlier versions allowlisted the gasclaw binary itself (any
            // subcommand, `stop` included): gone with the new skills.
            if !changed.is_empty()
                && let Ok(exe) = std::env::current_exe().and_then(|p| p.canonicalize())
                && let Err(e) = self
                    .openclaw
                    .allowlist_remove(&exe.display().to_string())
                    .await
            {
                tracing::warn!(error = %e, "could not remove gasclaw itself from the overseer's exec allowlist");
            }
            for pattern in [format!("{}/*/scripts/*", dir.display())] {
                if self.openclaw.allowlist(&pattern).await? {
                    allowed += 1;
                }
            }
        }
        if changed.is_empty() && allowed == 0 {
            return Ok(StepOutcome::Skipped(format!(
                "skills in {} up to date",
                dir.display()
            )));
        }
        run.overseer_changed = true;
        Ok(StepOutcome::Done(format!(
            "installed {} files into {}{}",
            changed.len(),
            dir.display(),
            if allowed > 0 {
                "; the overseer may run their scripts and nothing else (exec allowlist)"
            } else {
                ""
            }
        )))
    }

    async fn step_doctor(&self, run: &mut Run<'_>) -> StepResult {
        if !run.overseer_changed && self.openclaw.health().await == GatewayHealth::Live {
            return Ok(StepOutcome::Skipped(
                "config unchanged and the gateway is live".into(),
            ));
        }
        // Findings are reported, never fatal.
        let mut detail = match self.openclaw.doctor().await {
            Ok(r) => {
                let findings: Vec<&str> = r
                    .findings
                    .iter()
                    .map(String::as_str)
                    .filter(|l| !l.starts_with("OpenClaw ") && !l.is_empty())
                    .take(8)
                    .collect();
                format!(
                    "doctor exited {}: {}",
                    r.exit_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "abnormally".into()),
                    if findings.is_empty() {
                        "no findings".into()
                    } else {
                        findings.join(" | ")
                    }
                )
            }
            Err(e) => format!("doctor could not run: {e}"),
        };
        // doctor --repair rewrites the file; gasclaw owns its keys.
        let settings = self.overseer_settings();
        let drift = self.openclaw.drift(&settings);
        if !drift.is_empty() {
            self.openclaw.write_config(&settings)?;
            self.validate_overseer_config().await?;
            detail.push_str(&format!(
                "; restored {} (changed by doctor)",
                drift.join(", ")
            ));
        }
        Ok(StepOutcome::Done(detail))
    }

    async fn step_gateway(&self, run: &mut Run<'_>) -> StepResult {
        let port = self.config().gateway_port;
        match self.openclaw.health().await {
            GatewayHealth::Live => return Ok(StepOutcome::Skipped(format!("live on port {port}"))),
            GatewayHealth::Wrong(why) => {
                return Err(StepError::Failed(format!(
                    "port {port} is taken by something that is not the gateway: {why}"
                )));
            }
            GatewayHealth::Down(_) => {}
        }
        let pid = self.openclaw.spawn_gateway()?;
        run.undo.push((Step::Gateway, Undo::StopGateway));
        let start = Instant::now();
        loop {
            if self.openclaw.health().await == GatewayHealth::Live {
                return Ok(StepOutcome::Done(format!(
                    "started `openclaw gateway run` (pid {pid}), live on port {port} after {}s",
                    start.elapsed().as_secs()
                )));
            }
            if !crate::stack::exec::pid_alive(pid) {
                return Err(StepError::Failed(format!(
                    "`openclaw gateway run` exited during start-up: {}",
                    self.gateway_log_tail(6)
                )));
            }
            if start.elapsed() > GATEWAY_START_TIMEOUT {
                return Err(StepError::Failed(format!(
                    "the gateway did not answer /health within {}s: {}",
                    GATEWAY_START_TIMEOUT.as_secs(),
                    self.gateway_log_tail(4)
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The last lines of the gateway's log, redacted, on one line.
    pub fn gateway_log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.openclaw.log_file()).unwrap_or_default();
        let tail: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let start = tail.len().saturating_sub(lines);
        let joined = tail[start..].join(" | ");
        if joined.is_empty() {
            "(no output)".into()
        } else {
            self.runner.redactor().redact(&joined)
        }
    }

    async fn step_daemon(&self, run: &mut Run<'_>) -> StepResult {
        match self.gastown.daemon_status().await? {
            DaemonState::Running { pid } => {
                return Ok(StepOutcome::Skipped(match pid {
                    Some(p) => format!("running (pid {p})"),
                    None => "running".into(),
                }));
            }
            DaemonState::Stopped => {}
        }
        run.pending = Some((Step::Daemon, Undo::StopDaemon));
        // Retries a lost start race itself, then fails naming it.
        self.gastown.daemon_start().await?;
        run.pending = None;
        run.undo.push((Step::Daemon, Undo::StopDaemon));
        // Confirm it really runs: `start` can report success for a daemon
        // that dies right after.
        for _ in 0..20 {
            if let Ok(DaemonState::Running { pid }) = self.gastown.daemon_status().await {
                return Ok(StepOutcome::Done(format!(
                    "started the Gastown daemon{}",
                    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(StepError::Failed(
            "`gt daemon start` returned but the daemon is not running".into(),
        ))
    }

    async fn step_mayor(&self, run: &mut Run<'_>) -> StepResult {
        if self.gastown.mayor_running().await? {
            return Ok(StepOutcome::Skipped("the Mayor is running".into()));
        }
        run.pending = Some((Step::Mayor, Undo::StopMayor));
        let result = self.gastown.mayor_start().await;
        // A start that timed out may still have left a session behind.
        run.pending = None;
        run.undo.push((Step::Mayor, Undo::StopMayor));
        result?;
        for _ in 0..20 {
            if self.gastown.mayor_running().await.unwrap_or(false) {
                return Ok(StepOutcome::Done(format!(
                    "started the Mayor with agent `{}`",
                    accounts::DEFAULT_ALIAS
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(StepError::Failed(
            "`gt mayor start` returned but the Mayor is not running".into(),
        ))
    }

    async fn undo(&self, u: &Undo, grace: Duration) -> String {
        let r: Result<String, StackError> = match u {
            Undo::StopMayor => self
                .gastown
                .mayor_stop()
                .await
                .map(|_| "stopped the Mayor".into()),
            Undo::StopDaemon => self
                .gastown
                .daemon_stop()
                .await
                .map(|_| "stopped the daemon".into()),
            Undo::StopGateway => {
                self.openclaw.stop_gateway(grace).await;
                Ok("stopped the gateway".into())
            }
            Undo::StopDolt => self
                .gastown
                .dolt_stop()
                .await
                .map(|_| "stopped Dolt".into()),
            Undo::RemoveTown(dir) => std::fs::remove_dir_all(dir)
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .map(|_| format!("removed the partial town at {}", dir.display()))
                .map_err(|e| StackError::io(format!("removing {}", dir.display()), e)),
        };
        match r {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "rollback step failed");
                format!("could not undo ({e})")
            }
        }
    }
}
