//! Every agent with its state, hooked bead, last progress and whether it is
//! stuck. Gastown's GUPP rule (gastown-work.md §2.1): work on the hook and
//! the agent bead not updated for 30 min is stuck, 15 min stalled (`mode:
//! ralph`: 240/120). "Progress" is the agent bead's `updated_at`; `gt status
//! --json` has the hook but no time, so both are read. gasclaw adds the
//! pane: hooked work and exactly the same pane for `STUCK_PANE_AFTER`
//! (hashed across monitor cycles) is stuck too — an agent sitting at a
//! prompt or dialog.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{AgentAddress, Estop, Nudged, WorkError};
use crate::core::{Actor, Core, Service};
use crate::stack::gastown::work::{AgentBead, RestartTarget};

const STALLED: Duration = Duration::from_secs(15 * 60);
const STUCK: Duration = Duration::from_secs(30 * 60);
const RALPH_STALLED: Duration = Duration::from_secs(120 * 60);
const RALPH_STUCK: Duration = Duration::from_secs(240 * 60);
/// Lines peeked to fingerprint a pane.
const PANE_LINES: u32 = 40;
/// The most lines `/peek` asks for (a message holds ~4096 characters).
pub const MAX_PEEK_LINES: u32 = 200;
/// `gt nudge` in wait-idle mode blocks up to 15 s + 60 s (§4.3).
pub const NUDGE_TIMEOUT: Duration = Duration::from_secs(100);

/// How an agent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mark {
    /// Nothing on its hook.
    Idle,
    /// Hooked work, progress recently.
    Working,
    /// Hooked work, no progress for 15 min (ralph: 120).
    Stalled,
    /// Hooked work, no progress for 30 min (ralph: 240): GUPP violation.
    Stuck,
    /// Hooked work and the same pane for `STUCK_PANE_AFTER`.
    PaneStuck,
    /// Hooked work and no session: a zombie.
    Dead,
    /// Not running, nothing hooked.
    Stopped,
}

impl Mark {
    /// Whether the monitor alerts it.
    pub fn is_stuck(self) -> bool {
        matches!(self, Mark::Stuck | Mark::PaneStuck)
    }

    pub fn name(self) -> &'static str {
        match self {
            Mark::Idle => "idle",
            Mark::Working => "working",
            Mark::Stalled => "stalled",
            Mark::Stuck => "stuck",
            Mark::PaneStuck => "pane-stuck",
            Mark::Dead => "dead",
            Mark::Stopped => "stopped",
        }
    }
}

/// The rule, alone: what the agent is, given what was read.
pub fn classify(
    running: bool,
    hooked: bool,
    since_progress: Option<Duration>,
    ralph: bool,
    pane_same: Option<Duration>,
    pane_after: Duration,
) -> Mark {
    let (stalled, stuck) = if ralph {
        (RALPH_STALLED, RALPH_STUCK)
    } else {
        (STALLED, STUCK)
    };
    match (running, hooked) {
        (false, true) => Mark::Dead,
        (false, false) => Mark::Stopped,
        (true, false) => Mark::Idle,
        (true, true) => {
            let idle = since_progress.unwrap_or_default();
            if idle >= stuck {
                Mark::Stuck
            } else if pane_same.is_some_and(|p| p >= pane_after) {
                Mark::PaneStuck
            } else if idle >= stalled {
                Mark::Stalled
            } else {
                Mark::Working
            }
        }
    }
}

/// One agent's work.
#[derive(Debug, Clone, Serialize)]
pub struct AgentWork {
    pub address: String,
    pub role: String,
    pub running: bool,
    /// gt's `agent_state` (working, done, stuck, escalated …).
    pub state: Option<String>,
    pub hook_bead: Option<String>,
    pub work_title: Option<String>,
    /// Seconds since the agent bead last moved.
    pub since_progress_secs: Option<u64>,
    /// Seconds the pane has looked exactly the same (monitor's cycles).
    pub pane_same_secs: Option<u64>,
    pub mark: Mark,
    /// How long it has been stuck by the mark's own measure.
    pub stuck_secs: Option<u64>,
}

/// Every agent, plus the town's freeze.
#[derive(Debug, Clone, Serialize)]
pub struct WorkReport {
    pub agents: Vec<AgentWork>,
    pub paused: Vec<Estop>,
    pub error: Option<String>,
}

impl WorkReport {
    pub fn stuck(&self) -> impl Iterator<Item = &AgentWork> {
        self.agents.iter().filter(|a| a.mark.is_stuck())
    }

    /// Whether the whole town is frozen.
    pub fn town_paused(&self) -> bool {
        self.paused.iter().any(|e| e.rig.is_none())
    }

    /// Whether this agent is frozen (the town, or its rig; the Mayor is
    /// exempt from `gt estop`).
    pub fn is_paused(&self, address: &str) -> bool {
        if address == "mayor" {
            return false;
        }
        let rig = address.split_once('/').map(|(r, _)| r);
        self.paused
            .iter()
            .any(|e| e.rig.is_none() || e.rig.as_deref() == rig)
    }
}

/// The agent bead of a status entry: `hq-<name>` for the town's agents,
/// `<prefix>-<rig>-<role or polecat-/crew-name>` in a rig (gastown's ids).
fn bead_for<'a>(
    beads: &'a [AgentBead],
    rig: Option<&str>,
    name: &str,
    role: &str,
) -> Option<&'a AgentBead> {
    match rig {
        None => beads.iter().find(|b| b.id == format!("hq-{name}")),
        Some(r) => {
            let tail = match role {
                "polecat" => format!("-{r}-polecat-{name}"),
                "crew" => format!("-{r}-crew-{}", name.trim_start_matches("crew/")),
                _ => format!("-{r}-{name}"),
            };
            beads.iter().find(|b| b.id.ends_with(&tail))
        }
    }
}

fn pane_hash(text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.trim_end().hash(&mut h);
    h.finish()
}

impl Core {
    /// Every agent's work. `watch_panes` (the monitor) also peeks each
    /// running agent with hooked work and remembers its pane; others read
    /// what the last cycle saw.
    pub async fn agents_work(&self, timeout: Duration, watch_panes: bool) -> WorkReport {
        if !self.gastown.town_exists() {
            return WorkReport {
                agents: vec![],
                paused: self.gastown.estops(),
                error: Some(WorkError::NoTown.to_string()),
            };
        }
        let status = match self.gastown.status(timeout).await {
            Ok(s) => s,
            Err(e) => {
                return WorkReport {
                    agents: vec![],
                    paused: self.gastown.estops(),
                    error: Some(e.to_string()),
                };
            }
        };
        let rigs: Vec<String> = status.rigs.iter().map(|r| r.name.clone()).collect();
        // Progress matters only for hooked work, and status shows the
        // hooks: with none, bd is not asked (most cycles of an idle town).
        let hooked = status
            .agents
            .iter()
            .chain(status.rigs.iter().flat_map(|r| r.agents.iter()))
            .any(|a| a.hook_bead.as_deref().is_some_and(|h| !h.is_empty()));
        let (beads, bead_error) = if !hooked {
            (vec![], None)
        } else {
            match self.gastown.agent_beads(&rigs, timeout).await {
                Ok(b) => (b, None),
                Err(e) => (vec![], Some(format!("agent beads: {e}"))),
            }
        };
        let now = Utc::now();
        let pane_after = self.config.stuck_pane_after;
        let mut listed: Vec<(Option<&str>, &crate::stack::gastown::AgentRuntime)> =
            status.agents.iter().map(|a| (None, a)).collect();
        for r in &status.rigs {
            listed.extend(r.agents.iter().map(|a| (Some(r.name.as_str()), a)));
        }
        let mut agents = Vec::new();
        let mut seen = Vec::new();
        for (rig, a) in listed {
            let address = match rig {
                None => a.name.clone(),
                Some(r) => format!("{r}/{}", a.name),
            };
            let role = a.role.clone().unwrap_or_else(|| a.name.clone());
            let bead = bead_for(&beads, rig, &a.name, &role);
            let hook = a.hook_bead.clone().filter(|h| !h.is_empty()).or_else(|| {
                bead.and_then(|b| b.hook_bead.clone())
                    .filter(|h| !h.is_empty())
            });
            let since_progress = bead
                .and_then(|b| b.updated_at)
                .map(|t: DateTime<Utc>| (now - t).to_std().unwrap_or_default());
            let ralph = bead.is_some_and(AgentBead::ralph);
            let mut pane_same = self.pane_same(&address);
            if watch_panes && a.running && hook.is_some() {
                seen.push(address.clone());
                pane_same = match self.gastown.peek(&address, PANE_LINES).await {
                    Ok(text) => Some(self.remember_pane(&address, &text)),
                    Err(e) => {
                        tracing::debug!(agent = %address, error = %e, "could not peek");
                        None
                    }
                };
            }
            let mark = classify(
                a.running,
                hook.is_some(),
                since_progress,
                ralph,
                pane_same,
                pane_after,
            );
            let stuck_secs = match mark {
                Mark::Stuck | Mark::Stalled => since_progress.map(|d| d.as_secs()),
                Mark::PaneStuck => pane_same.map(|d| d.as_secs()),
                _ => None,
            };
            agents.push(AgentWork {
                address,
                role,
                running: a.running,
                state: a
                    .state
                    .clone()
                    .or_else(|| bead.and_then(|b| b.agent_state.clone())),
                work_title: a.work_title.clone(),
                hook_bead: hook,
                since_progress_secs: since_progress.map(|d| d.as_secs()),
                pane_same_secs: pane_same.map(|d| d.as_secs()),
                mark,
                stuck_secs,
            });
        }
        if watch_panes {
            // Forget panes of agents no longer hooked or running: a new
            // episode starts from a fresh pane.
            self.work
                .panes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|k, _| seen.contains(k));
        }
        WorkReport {
            agents,
            // Read last: a pause made while the agents were read counts.
            paused: self.gastown.estops(),
            error: bead_error,
        }
    }

    fn pane_same(&self, address: &str) -> Option<Duration> {
        self.work
            .panes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(address)
            .map(|(_, since)| since.elapsed())
    }

    fn remember_pane(&self, address: &str, text: &str) -> Duration {
        let h = pane_hash(text);
        let mut panes = self.work.panes.lock().unwrap_or_else(|e| e.into_inner());
        let entry: &mut (u64, Instant) = panes
            .entry(address.to_string())
            .or_insert((h, Instant::now()));
        if entry.0 != h {
            *entry = (h, Instant::now());
        }
        entry.1.elapsed()
    }

    /// The agent's address checked against the town's agents.
    async fn known_agent(&self, address: &str) -> Result<(AgentAddress, String), WorkError> {
        let addr = AgentAddress::parse(address)?;
        if !self.gastown.town_exists() {
            return Err(WorkError::NoTown);
        }
        let status = self.gastown.status(self.config.check_timeout).await?;
        let mut roles: HashMap<String, String> = status
            .agents
            .iter()
            .map(|a| (a.name.clone(), a.role.clone().unwrap_or_default()))
            .collect();
        for r in &status.rigs {
            for a in &r.agents {
                roles.insert(
                    format!("{}/{}", r.name, a.name),
                    a.role.clone().unwrap_or_default(),
                );
            }
        }
        let key = addr.as_str().replace("/polecats/", "/");
        match roles.get(&key) {
            Some(role) => Ok((addr, role.clone())),
            None => Err(WorkError::UnknownAgent(addr.to_string())),
        }
    }

    /// The agent's pane, its last `lines` (gt adds the visible screen),
    /// with every secret gasclaw knows replaced.
    pub async fn peek(&self, address: &str, lines: u32) -> Result<String, WorkError> {
        if lines == 0 || lines > MAX_PEEK_LINES {
            return Err(WorkError::BadLines {
                max: MAX_PEEK_LINES,
            });
        }
        let (addr, _) = self.known_agent(address).await?;
        let text = self.gastown.peek(addr.as_str(), lines).await?;
        Ok(self.redactor().redact(&text))
    }

    /// Nudges an agent (gt's wait-idle mode: typed at its next prompt).
    /// Bounded by [`NUDGE_TIMEOUT`]; callers run it off the chat's lane.
    pub async fn nudge(&self, address: &str, text: &str, by: &Actor) -> Result<Nudged, WorkError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(WorkError::EmptyText);
        }
        let (addr, _) = self.known_agent(address).await?;
        // gt names the sender `unknown` from the town root: say who asks.
        let text = format!("[{}] {text}", by.attribution());
        tracing::info!(agent = %addr, by = %by, "nudging");
        Ok(self
            .gastown
            .nudge(addr.as_str(), &text, NUDGE_TIMEOUT)
            .await?)
    }

    /// Restarts one agent with its role's own command (gastown-work.md
    /// §4.6); the Mayor through the mayor service's restart. Returns gt's
    /// last line.
    pub async fn restart_agent(&self, address: &str, by: &Actor) -> Result<String, WorkError> {
        let (addr, role) = self.known_agent(address).await?;
        tracing::info!(agent = %addr, by = %by, "restarting an agent");
        let target = match (addr.as_str(), addr.rig(), role.as_str()) {
            ("mayor", None, _) => {
                let r = self
                    .restart(Service::Mayor, by)
                    .await
                    .map_err(|e| WorkError::Gt(e.to_string()))?;
                return if r.ok() {
                    Ok(r.action)
                } else {
                    Err(WorkError::Gt(r.check.detail))
                };
            }
            ("deacon", None, _) => RestartTarget::Deacon,
            (_, Some(rig), "witness") => RestartTarget::Witness { rig: rig.into() },
            (_, Some(rig), "refinery") => RestartTarget::Refinery { rig: rig.into() },
            (a, Some(rig), "crew") => RestartTarget::Crew {
                rig: rig.into(),
                name: a.rsplit('/').next().unwrap_or(a).into(),
            },
            (a, Some(rig), _) => RestartTarget::Polecat {
                rig: rig.into(),
                name: a.rsplit('/').next().unwrap_or(a).into(),
            },
            (a, None, _) => return Err(WorkError::UnknownAgent(a.into())),
        };
        let out = self.gastown.restart_agent(&target).await?;
        Ok(out
            .stdout
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("restarted")
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u64 = 60;

    fn d(mins: u64) -> Option<Duration> {
        Some(Duration::from_secs(mins * M))
    }

    #[test]
    fn gupp_rule() {
        let pane = Duration::from_secs(900);
        assert_eq!(classify(true, false, d(999), false, None, pane), Mark::Idle);
        assert_eq!(
            classify(true, true, d(14), false, None, pane),
            Mark::Working
        );
        assert_eq!(
            classify(true, true, d(15), false, None, pane),
            Mark::Stalled
        );
        assert_eq!(
            classify(true, true, d(29), false, None, pane),
            Mark::Stalled
        );
        assert_eq!(classify(true, true, d(30), false, None, pane), Mark::Stuck);
        assert_eq!(
            classify(true, true, d(120), true, None, pane),
            Mark::Stalled
        );
        assert_eq!(
            classify(true, true, d(100), true, None, pane),
            Mark::Working
        );
        assert_eq!(classify(true, true, d(240), true, None, pane), Mark::Stuck);
        assert_eq!(
            classify(true, true, d(1), false, d(15), pane),
            Mark::PaneStuck
        );
        assert_eq!(
            classify(true, true, d(1), false, d(14), pane),
            Mark::Working
        );
        assert_eq!(classify(false, true, d(1), false, None, pane), Mark::Dead);
        assert_eq!(
            classify(false, false, None, false, None, pane),
            Mark::Stopped
        );
    }

    #[test]
    fn paused_scope() {
        let e = |rig: Option<&str>| Estop {
            rig: rig.map(str::to_string),
            trigger: "manual".into(),
            since: None,
            reason: String::new(),
        };
        let r = WorkReport {
            agents: vec![],
            paused: vec![e(Some("project"))],
            error: None,
        };
        assert!(r.is_paused("project/nux"));
        assert!(!r.is_paused("other/nux"));
        assert!(!r.is_paused("deacon"));
        assert!(!r.town_paused());
        let r = WorkReport {
            agents: vec![],
            paused: vec![e(None)],
            error: None,
        };
        assert!(r.is_paused("deacon"));
        assert!(!r.is_paused("mayor"));
        assert!(r.town_paused());
    }
}
