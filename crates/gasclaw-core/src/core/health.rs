//! Health: every check runs concurrently under its own timeout and reads real
//! state — an exit code of 0 from a status command is never proof of life.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::activity::ActivityReport;
use super::{Core, Service};
use crate::stack::StackError;
use crate::stack::dolt::{self, Probe};
use crate::stack::gastown::DaemonState;
use crate::stack::openclaw::GatewayHealth;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Down,
    /// The check itself could not tell (program missing, unreadable output).
    Unknown,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Down => "down",
            CheckStatus::Unknown => "unknown",
        }
    }
}

/// One check's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: Service,
    pub status: CheckStatus,
    pub detail: String,
    pub latency_ms: u64,
    /// Stopped on purpose (`/stop`, `gasclaw stop`): who and when. The
    /// monitor neither heals nor alerts such a service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<super::stopped::StopMark>,
    /// The probe gave no answer within `CHECK_TIMEOUT`: shown as down, but
    /// no evidence that the service is (healing leaves it alone).
    #[serde(skip)]
    pub timed_out: bool,
}

/// The answer to "how is the stack?".
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub checks: Vec<Check>,
}

impl HealthReport {
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.status == CheckStatus::Ok)
    }

    pub fn get(&self, s: Service) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == s)
    }
}

/// Health and activity together: what `status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub checks: Vec<Check>,
    pub activity: ActivityReport,
}

impl StatusReport {
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.status == CheckStatus::Ok)
    }
}

/// The agents as `gt status --json` lists them.
#[derive(Debug, Clone, Serialize)]
pub struct AgentsReport {
    pub agents: Vec<AgentState>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentState {
    pub name: String,
    pub running: bool,
}

impl Core {
    /// Runs every check concurrently.
    pub async fn health(&self) -> HealthReport {
        let t = self.config().check_timeout;
        let (d, dm, m, g, a) = tokio::join!(
            timed(Service::Dolt, t, self.check_dolt()),
            timed(Service::Daemon, t, self.check_daemon()),
            timed(Service::Mayor, t, self.check_mayor()),
            timed(Service::Gateway, t, self.check_gateway()),
            timed(Service::Agents, t, self.check_agents(t)),
        );
        let mut checks = vec![d, dm, m, g, a];
        let marks = self.stopped_file().load();
        for c in &mut checks {
            c.stopped = marks.get(&c.name).cloned();
        }
        HealthReport { checks }
    }

    /// One check, as the monitor re-checks a single service after healing.
    pub async fn check(&self, s: Service) -> Check {
        let t = self.config().check_timeout;
        match s {
            Service::Dolt => timed(s, t, self.check_dolt()).await,
            Service::Daemon => timed(s, t, self.check_daemon()).await,
            Service::Mayor => timed(s, t, self.check_mayor()).await,
            Service::Gateway => timed(s, t, self.check_gateway()).await,
            Service::Agents => timed(s, t, self.check_agents(t)).await,
        }
    }

    /// Health and activity, concurrently.
    pub async fn status(&self) -> StatusReport {
        let (health, activity) = tokio::join!(self.health(), self.activity());
        StatusReport {
            checks: health.checks,
            activity,
        }
    }

    async fn check_dolt(&self) -> (CheckStatus, String) {
        let port = self.config().dolt_port;
        let p = dolt::probe(port).await;
        let status = match p {
            Probe::Serving { .. } => CheckStatus::Ok,
            _ => CheckStatus::Down,
        };
        (status, p.describe(port))
    }

    async fn check_daemon(&self) -> (CheckStatus, String) {
        if !self.gastown.town_exists() {
            return no_town(&self.config().gt_root);
        }
        match self.gastown.daemon_status().await {
            Ok(DaemonState::Running { pid: Some(pid) }) => {
                (CheckStatus::Ok, format!("running (pid {pid})"))
            }
            Ok(DaemonState::Running { pid: None }) => (CheckStatus::Ok, "running".into()),
            Ok(DaemonState::Stopped) => (CheckStatus::Down, "not running".into()),
            Err(e) => unknown(e),
        }
    }

    async fn check_mayor(&self) -> (CheckStatus, String) {
        if !self.gastown.town_exists() {
            return no_town(&self.config().gt_root);
        }
        match self.gastown.mayor_running().await {
            Ok(true) => (CheckStatus::Ok, "running".into()),
            Ok(false) => (CheckStatus::Down, "not running".into()),
            Err(e) => unknown(e),
        }
    }

    async fn check_gateway(&self) -> (CheckStatus, String) {
        let port = self.config().gateway_port;
        match self.openclaw.health().await {
            GatewayHealth::Live => {
                let ready = match self.openclaw.ready().await {
                    Some(true) => "ready",
                    Some(false) => "starting",
                    None => "readiness unknown",
                };
                (CheckStatus::Ok, format!("live on port {port}, {ready}"))
            }
            GatewayHealth::Wrong(why) => (CheckStatus::Down, format!("port {port}: {why}")),
            GatewayHealth::Down(why) => (CheckStatus::Down, format!("port {port}: {why}")),
        }
    }

    async fn check_agents(&self, timeout: Duration) -> (CheckStatus, String) {
        let report = self.agents(timeout).await;
        if let Some(e) = report.error {
            return (CheckStatus::Unknown, e);
        }
        let running: Vec<&str> = report
            .agents
            .iter()
            .filter(|a| a.running)
            .map(|a| a.name.as_str())
            .collect();
        let total = report.agents.len();
        if running.is_empty() {
            (CheckStatus::Down, format!("none of {total} agents running"))
        } else {
            (
                CheckStatus::Ok,
                format!(
                    "{} of {total} running: {}",
                    running.len(),
                    running.join(", ")
                ),
            )
        }
    }

    /// The agents and whether each runs (count `running: true`, never the
    /// length of the list: mayor and deacon are always listed).
    pub async fn agents(&self, timeout: Duration) -> AgentsReport {
        if !self.gastown.town_exists() {
            return AgentsReport {
                agents: vec![],
                error: Some(no_town(&self.config().gt_root).1),
            };
        }
        match self.gastown.status(timeout).await {
            Ok(s) => AgentsReport {
                agents: s
                    .all_agents()
                    .into_iter()
                    .map(|(name, running)| AgentState { name, running })
                    .collect(),
                error: None,
            },
            Err(e) => AgentsReport {
                agents: vec![],
                error: Some(e.to_string()),
            },
        }
    }
}

fn no_town(root: &std::path::Path) -> (CheckStatus, String) {
    (
        CheckStatus::Down,
        format!("no town at {} (run bootstrap)", root.display()),
    )
}

fn unknown(e: StackError) -> (CheckStatus, String) {
    (CheckStatus::Unknown, e.to_string())
}

async fn timed(
    name: Service,
    timeout: Duration,
    check: impl std::future::Future<Output = (CheckStatus, String)>,
) -> Check {
    let start = Instant::now();
    let (status, detail, timed_out) = match tokio::time::timeout(timeout, check).await {
        Ok((s, d)) => (s, d, false),
        Err(_) => (
            CheckStatus::Down,
            format!("no answer within {}s", timeout.as_secs()),
            true,
        ),
    };
    Check {
        name,
        status,
        detail,
        latency_ms: start.elapsed().as_millis() as u64,
        stopped: None,
        timed_out,
    }
}
