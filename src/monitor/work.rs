//! The town's work in the monitor: each cycle reads every agent (peeking
//! the panes of those with hooked work), alerts a stuck agent once per
//! episode with Peek / Nudge / Restart buttons (a typed alert through the
//! outbox; its message says so when the episode ends), and — with `AUTO_PAUSE=on`
//! — pauses the town while no agent key is usable and resumes it after.
//! Agents a pause froze are not alerted.

use std::time::Instant;

use super::Monitor;
use crate::core::Actor;
use crate::core::alerts::incident::AgentVerb;
use crate::core::alerts::{
    Alert, AlertAction, CheckId, Fact, IncidentId, Resolution, Severity, Subject,
};
use crate::core::work::pause::PauseOutcome;
use crate::core::work::{Mark, WorkReport};

impl Monitor {
    /// One cycle's look at the work.
    pub(super) async fn watch_work(&self) {
        let report = self
            .core
            .agents_work(self.core.config().check_timeout, true)
            .await;
        self.alert_stuck(&report);
        self.auto_pause(&report).await;
    }

    fn alert_stuck(&self, report: &WorkReport) {
        let mut open = self.stuck.lock().unwrap_or_else(|e| e.into_inner());
        // An episode ends when the agent is no longer stuck: its message
        // is edited to say so (buttons gone), and the next one is news.
        let ended: Vec<String> = open
            .keys()
            .filter(|a| !report.stuck().any(|s| &s.address == *a))
            .cloned()
            .collect();
        for a in ended {
            let Some((mut alert, since, sent)) = open.remove(&a) else {
                continue;
            };
            if sent {
                alert.resolved = Some(Resolution {
                    lasted: since.elapsed(),
                    healed: false,
                });
                for t in &self.recipients {
                    if let Err(e) = self.outbox.edit_alert(*t, alert.clone()) {
                        tracing::error!(error = %e, "could not queue an alert's edit");
                    }
                }
            }
        }
        for a in report.stuck() {
            if report.is_paused(&a.address) || open.contains_key(&a.address) {
                continue;
            }
            tracing::warn!(agent = %a.address, bead = ?a.hook_bead, mark = a.mark.name(), secs = ?a.stuck_secs, "agent stuck");
            let alert = Alert {
                incident: IncidentId::fresh(),
                subject: Subject::Agent(a.address.clone()),
                severity: Severity::Warning,
                fact: Fact::Stuck {
                    agent: a.address.clone(),
                    bead: a.hook_bead.clone(),
                    title: a.work_title.clone(),
                    pane: a.mark == Mark::PaneStuck,
                    for_secs: a.stuck_secs.unwrap_or(0),
                },
                buttons: AgentVerb::ALL.into_iter().map(AlertAction::Agent).collect(),
                consequences: Vec::new(),
                acked_by: None,
                resolved: None,
            };
            self.core
                .digest_log()
                .record("stuck", chrono::Utc::now(), None);
            let sent = !self.core.alerts().mutes.is_muted(CheckId::Stuck);
            self.send_alert(CheckId::Stuck, alert.clone());
            open.insert(a.address.clone(), (alert, Instant::now(), sent));
        }
    }

    /// `AUTO_PAUSE`: no usable agent key for `AUTO_PAUSE_AFTER` pauses the
    /// town; a usable key again resumes it — only a pause gasclaw made
    /// itself (the ESTOP file's reason names the monitor).
    async fn auto_pause(&self, report: &WorkReport) {
        let cfg = self.core.config();
        if !cfg.auto_pause {
            return;
        }
        let Some(pools) = self.core.live_pools() else {
            return;
        };
        let agents = pools.status().agents;
        let none_usable = agents.total > 0 && agents.available == 0;
        let since = {
            let mut s = self.cooling_since.lock().unwrap_or_else(|e| e.into_inner());
            if none_usable {
                *s.get_or_insert_with(Instant::now)
            } else {
                *s = None;
                Instant::now()
            }
        };
        let me = Actor::Monitor.attribution();
        let ours = report
            .paused
            .iter()
            .any(|e| e.rig.is_none() && e.reason.contains(&me));
        let tr = self.tr();
        if none_usable && !report.town_paused() && since.elapsed() >= cfg.auto_pause_after {
            match self.core.pause(None, &Actor::Monitor).await {
                Ok(PauseOutcome::Done(_)) => {
                    let html = format!(
                        "⏸ {}",
                        tr.t(
                            "auto-paused",
                            &[(
                                "for",
                                &crate::core::activity::human_duration(since.elapsed().as_secs())
                            )]
                        )
                    );
                    self.alert(None, Severity::Warning, html);
                }
                Ok(PauseOutcome::Unchanged) => {}
                Err(e) => tracing::error!(error = %e, "could not pause the town"),
            }
        } else if !none_usable && ours {
            match self.core.resume(None, &Actor::Monitor).await {
                Ok(PauseOutcome::Done(_)) => {
                    self.alert(
                        None,
                        Severity::Info,
                        format!("▶️ {}", tr.t("auto-resumed", &[])),
                    );
                }
                Ok(PauseOutcome::Unchanged) => {}
                Err(e) => tracing::error!(error = %e, "could not resume the town"),
            }
        }
    }
}
