//! The town's work in the monitor: each cycle reads every agent (peeking
//! the panes of those with hooked work), alerts a stuck agent once per
//! episode with Peek / Nudge / Restart buttons, and — with `AUTO_PAUSE=on`
//! — pauses the town while no agent key is usable and resumes it after.
//! Agents a pause froze are not alerted.

use std::time::Instant;

use super::Monitor;
use crate::core::Actor;
use crate::core::alerts::CheckId;
use crate::core::work::WorkReport;
use crate::core::work::pause::PauseOutcome;
use crate::telegram::render::work as render;

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
        let mut heard = self.stuck.lock().unwrap_or_else(|e| e.into_inner());
        // An episode ends when the agent is no longer stuck: the next one
        // is news again.
        heard.retain(|a| report.stuck().any(|s| &s.address == a));
        for a in report.stuck() {
            if report.is_paused(&a.address) || heard.contains(&a.address) {
                continue;
            }
            heard.insert(a.address.clone());
            tracing::warn!(agent = %a.address, bead = ?a.hook_bead, mark = a.mark.name(), secs = ?a.stuck_secs, "agent stuck");
            let tr = self.tr();
            let html = render::stuck_alert(tr, a);
            let buttons = render::stuck_buttons(tr, &a.address);
            self.alert_with_buttons(CheckId::Stuck, html, buttons);
        }
    }

    /// Sends an alert with buttons through the bot when it is there (the
    /// durable outbox carries text only); text through the outbox when
    /// there is no bot or the send fails.
    fn alert_with_buttons(
        &self,
        check: CheckId,
        html: String,
        buttons: Option<teloxide::types::InlineKeyboardMarkup>,
    ) {
        if self.core.alerts().mutes.is_muted(check) {
            tracing::info!(check = %check, "alert muted");
            return;
        }
        let Some(bot) = self.bot.get().cloned() else {
            self.alert(Some(check), html);
            return;
        };
        for t in self.recipients.clone() {
            let (bot, html, buttons, outbox) = (
                bot.clone(),
                html.clone(),
                buttons.clone(),
                self.outbox.clone(),
            );
            tokio::spawn(async move {
                let target = crate::telegram::Target {
                    chat_id: t.chat_id,
                    thread_id: t.thread_id,
                };
                if let Err(e) =
                    crate::telegram::send::message(&bot, target, &html, buttons, None).await
                {
                    tracing::warn!(error = %crate::telegram::send::describe(&e), "alert with buttons failed; queued as text");
                    if let Err(e) = outbox.enqueue(t, html) {
                        tracing::error!(error = %e, "could not queue an alert");
                    }
                }
            });
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
                    self.alert(None, html);
                }
                Ok(PauseOutcome::Unchanged) => {}
                Err(e) => tracing::error!(error = %e, "could not pause the town"),
            }
        } else if !none_usable && ours {
            match self.core.resume(None, &Actor::Monitor).await {
                Ok(PauseOutcome::Done(_)) => {
                    self.alert(None, format!("▶️ {}", tr.t("auto-resumed", &[])));
                }
                Ok(PauseOutcome::Unchanged) => {}
                Err(e) => tracing::error!(error = %e, "could not resume the town"),
            }
        }
    }
}
