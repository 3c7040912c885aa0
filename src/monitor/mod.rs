//! The monitor: health and activity on a schedule, alerts on transitions
//! (heard once, reminded slowly, recovered with the downtime), key pool
//! events, mutes, and healing with backoff. Alerts go through the durable
//! outbox, so they never depend on the component being watched.

mod alerts;
mod heal;
mod hold;
mod town;
mod work;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::ChatTarget;
use crate::core::alerts::{
    Alert, AlertAction, Fact, Incident, IncidentId, Resolution, Severity, Subject, deps,
};
use crate::core::health::{CheckStatus, StatusReport};
use crate::core::{Actor, Core, Event, Service};
use crate::i18n::Locales;
use crate::keys::{KeyEvent, PoolKind};
use crate::telegram::outbox::Outbox;
use crate::telegram::render::Tr;

pub use alerts::{AlertState, CheckId, Transition, render as render_alert};

/// One sample of every kind of alert, for the locale snapshots. Details
/// from programs stay as they are; gasclaw's own are localized.
pub fn alerts_render_samples(tr: Tr<'_>) -> Vec<(CheckId, Transition, String, &'static str)> {
    use std::time::Duration;
    let m = Duration::from_secs(300);
    vec![
        (
            CheckId::Service(Service::Mayor),
            Transition::Down,
            "not running".into(),
            "down",
        ),
        (
            CheckId::Service(Service::Gateway),
            Transition::StillDown { for_: m },
            "port 18789: connection refused".into(),
            "down",
        ),
        (
            CheckId::Service(Service::Dolt),
            Transition::Recovered { after: m },
            String::new(),
            "ok",
        ),
        (
            CheckId::Activity,
            Transition::Down,
            alerts::activity_detail(tr, 65 * 60, 3600),
            "late",
        ),
        (
            CheckId::Activity,
            Transition::Recovered { after: m },
            String::new(),
            "ok",
        ),
        (
            CheckId::Keys(PoolKind::Agents),
            Transition::Down,
            tr.raw("mon-keys-cooling-detail", &[("wait", "4m 10s")]),
            "cooling",
        ),
        (
            CheckId::Keys(PoolKind::Overseer),
            Transition::StillDown { for_: m },
            tr.raw("mon-keys-invalid-detail", &[]),
            "invalid",
        ),
        (
            CheckId::Keys(PoolKind::Agents),
            Transition::Recovered { after: m },
            String::new(),
            "ok",
        ),
    ]
}
pub use crate::core::alerts::Mutes;

/// How the monitor behaves (from the configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    pub interval: Duration,
    pub repeat: Duration,
    pub heal: bool,
    /// First wait between restarts of one service; doubles up to 30×.
    pub heal_backoff: Duration,
    /// Failed restarts within an hour before asking for a human.
    pub heal_limit: usize,
}

/// What `/healthz` reports about the last cycle.
#[derive(Debug, Clone, Serialize)]
pub struct CycleSummary {
    pub at: DateTime<Utc>,
    pub duration_ms: u64,
    pub report: StatusReport,
}

pub struct Monitor {
    core: Arc<Core>,
    outbox: Arc<Outbox>,
    locales: Arc<Locales>,
    lang: &'static str,
    recipients: Vec<ChatTarget>,
    settings: Settings,
    heal: Mutex<BTreeMap<Service, heal::HealState>>,
    last_cycle: Mutex<Option<CycleSummary>>,
    /// Incidents that ended since the last cycle (their consequences still
    /// down are alerted then).
    ended: Mutex<Vec<IncidentId>>,
    /// Alerts waiting for the grouping window or the end of quiet hours.
    hold: hold::Hold,
    /// When Telegram last answered 409 (another poller on the token).
    last_conflict: Mutex<Option<Instant>>,
    /// The usage store and the daily budgets to watch (in `gasclaw run`).
    usage: std::sync::OnceLock<(crate::keys::usage::UsageStore, crate::keys::usage::Budgets)>,
    /// Each agent's open stuck episode: its alert, since when, and
    /// whether it was sent (not muted) (see `work`).
    stuck: Mutex<BTreeMap<String, (crate::core::alerts::Alert, Instant, bool)>>,
    /// Since when no agent key has been usable (`AUTO_PAUSE`).
    cooling_since: Mutex<Option<Instant>>,
}

/// Whether a pool has a usable key, and if not, why.
fn pool_health(tr: Tr<'_>, p: &crate::keys::PoolStatus) -> (bool, String) {
    if p.available > 0 || p.total == 0 {
        return (true, String::new());
    }
    match p.keys.iter().filter_map(|k| k.cooldown_secs_left).min() {
        Some(s) => (
            false,
            tr.raw(
                "mon-keys-cooling-detail",
                &[("wait", &crate::core::activity::human_duration(s))],
            ),
        ),
        None => (false, tr.raw("mon-keys-invalid-detail", &[])),
    }
}

impl Monitor {
    pub fn new(core: Arc<Core>, outbox: Arc<Outbox>, locales: Arc<Locales>) -> Arc<Monitor> {
        let cfg = core.config();
        let hold = hold::Hold::load(cfg.home.join("alerts-held.json"));
        let mut recipients = vec![ChatTarget {
            chat_id: cfg.telegram.owner_id as i64,
            thread_id: None,
        }];
        for t in &cfg.alert_chats {
            if !recipients.contains(t) {
                recipients.push(*t);
            }
        }
        let lang = locales.pick(cfg.locale.as_deref(), None);
        let settings = Settings {
            interval: cfg.monitor_interval,
            repeat: cfg.alert_repeat,
            heal: cfg.auto_heal,
            heal_backoff: cfg.heal_backoff,
            heal_limit: 5,
        };
        Arc::new(Monitor {
            core,
            outbox,
            locales,
            lang,
            recipients,
            settings,
            heal: Mutex::default(),
            last_cycle: Mutex::default(),
            last_conflict: Mutex::default(),
            ended: Mutex::default(),
            hold,
            usage: std::sync::OnceLock::new(),
            stuck: Mutex::default(),
            cooling_since: Mutex::default(),
        })
    }

    /// Watches the daily token budgets (each cycle) in this store.
    pub fn set_usage(
        &self,
        store: crate::keys::usage::UsageStore,
        budgets: crate::keys::usage::Budgets,
    ) {
        let _ = self.usage.set((store, budgets));
    }

    /// Alerts each budget crossed today for the first time (80 % and
    /// 100 %, once each per day); returns how many were queued.
    pub fn check_budgets(&self, now: DateTime<Utc>) -> usize {
        let Some((store, budgets)) = self.usage.get() else {
            return 0;
        };
        let crossings = match budgets.check(store, now) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "could not check the token budgets");
                return 0;
            }
        };
        let tr = self.tr();
        for c in &crossings {
            let scope = if c.scope == "town" {
                tr.raw("usage-town", &[])
            } else {
                c.scope.clone()
            };
            let html = format!(
                "{} <b>{}</b>: {}",
                if c.level >= 100 { "🛑" } else { "💸" },
                tr.t("mon-budget-title", &[]),
                tr.t(
                    "mon-budget",
                    &[
                        ("scope", &scope),
                        ("level", &c.level.to_string()),
                        ("used", &crate::keys::usage::report::tokens_short(c.used)),
                        (
                            "budget",
                            &crate::keys::usage::report::tokens_short(c.budget)
                        ),
                    ]
                )
            );
            tracing::info!(scope = %c.scope, level = c.level, used = c.used, budget = c.budget, "token budget crossed");
            self.alert(None, Severity::Warning, html);
        }
        crossings.len()
    }

    pub fn tr(&self) -> Tr<'_> {
        Tr::new(&self.locales, self.lang)
    }

    pub fn last_cycle(&self) -> Option<CycleSummary> {
        self.last_cycle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Queues a message for every recipient of its severity (unless
    /// `check` is muted); info makes no sound.
    fn alert(&self, check: Option<CheckId>, severity: Severity, html: String) {
        if let Some(c) = check
            && self.core.alerts().mutes.is_muted(c)
        {
            tracing::info!(check = %c, "alert muted");
            return;
        }
        for t in self.route(severity) {
            let queued = if severity == Severity::Info {
                self.outbox.enqueue_silent(t, html.clone())
            } else {
                self.outbox.enqueue(t, html.clone())
            };
            if let Err(e) = queued {
                tracing::error!(error = %e, "could not queue an alert");
            }
        }
    }

    /// The recipients of a severity: each `ALERT_CHAT_IDS` entry receives
    /// the severities it names (every one if it names none); the owner
    /// receives everything unless listed there.
    fn route(&self, severity: Severity) -> Vec<ChatTarget> {
        let filters = &self.core.config().alert_filters;
        self.recipients
            .iter()
            .filter(|t| {
                let f = filters
                    .iter()
                    .find(|(c, _)| c == *t)
                    .map(|(_, f)| *f)
                    .unwrap_or(crate::config::SeverityFilter::ALL);
                match severity {
                    Severity::Critical => f.critical,
                    Severity::Warning => f.warning,
                    Severity::Info => f.info,
                }
            })
            .copied()
            .collect()
    }

    /// Whether it is quiet hours now.
    fn quiet_now(&self, now: DateTime<Utc>) -> bool {
        let cfg = self.core.config();
        cfg.quiet_hours
            .is_some_and(|q| crate::core::alerts::quiet::in_quiet_hours(now, cfg.tz, q))
    }

    /// Sends what is held and due: the grouped alerts as one message per
    /// chat (a single one as itself), the quiet hours' as one summary. The
    /// incidents learn where their alert went.
    pub fn flush_held(&self, now: DateTime<Utc>) {
        let (grouped, quiet) = self.hold.due(
            now,
            self.core.config().alert_group_wait,
            self.quiet_now(now),
        );
        let board = self.core.alerts();
        for (items, is_quiet) in [(grouped, false), (quiet, true)] {
            if items.is_empty() {
                continue;
            }
            let mut alerts: Vec<Alert> = Vec::new();
            for h in &items {
                if alerts.iter().any(|a| a.incident == h.alert.incident) {
                    continue;
                }
                // The opening alert as its incident reads now (consequences
                // listed, acknowledged) while it was held.
                let mut a = h.alert.clone();
                if !a.buttons.is_empty()
                    && let Some(i) = board.incidents.get(a.incident).filter(|i| i.is_open())
                {
                    a = i.current();
                }
                alerts.push(a);
            }
            for t in &self.recipients {
                let mine: Vec<Alert> = alerts
                    .iter()
                    .filter(|a| self.route(a.severity).contains(t))
                    .cloned()
                    .collect();
                let queued = match mine.as_slice() {
                    [] => continue,
                    [one] if !is_quiet => self.outbox.alert(*t, one.clone()),
                    _ => self.outbox.group(*t, mine.clone(), is_quiet),
                };
                if let Err(e) = queued {
                    tracing::error!(error = %e, "could not queue held alerts");
                    continue;
                }
                for a in &mine {
                    let _ = board.incidents.update(a.incident, |i| {
                        i.held = false;
                        if !i.targets.contains(t) {
                            i.targets.push(*t);
                        }
                    });
                }
            }
            tracing::info!(alerts = alerts.len(), quiet = is_quiet, "held alerts sent");
            self.hold.remove(&items);
        }
    }

    fn alert_to(&self, check: CheckId, recipients: &[ChatTarget], html: String) {
        if self.core.alerts().mutes.is_muted(check) {
            tracing::info!(check = %check, "alert muted");
            return;
        }
        for t in recipients {
            if let Err(e) = self.outbox.enqueue(*t, html.clone()) {
                tracing::error!(error = %e, "could not queue an alert");
            }
        }
    }

    /// Tells the humans gasclaw is up (with a one-screen summary) or which
    /// bootstrap step failed.
    pub async fn announce_start(&self, report: Option<&crate::core::bootstrap::BootstrapReport>) {
        let tr = self.tr();
        let status = self.core.status().await;
        let pools = self.core_pools_status();
        let summary = crate::telegram::render::status(tr, &status, pools.as_ref());
        let head = match report.and_then(|r| r.failed.as_ref()) {
            None => format!("🟢 <b>{}</b>", tr.t("mon-up", &[])),
            Some((step, e)) => format!(
                "🟠 <b>{}</b>",
                tr.t("mon-up-failed", &[("step", step.name()), ("error", e)])
            ),
        };
        let severity = if report.and_then(|r| r.failed.as_ref()).is_some() {
            Severity::Critical
        } else {
            Severity::Info
        };
        self.alert(
            None,
            severity,
            crate::telegram::render::fit(&format!("{head}\n\n{summary}"), tr),
        );
    }

    pub fn announce_stopping(&self) {
        self.alert(
            None,
            Severity::Info,
            format!("⏹ <b>{}</b>", self.tr().t("mon-stopping", &[])),
        );
    }

    fn core_pools_status(&self) -> Option<crate::keys::PoolsStatus> {
        self.core.pools_status().ok()
    }

    /// One cycle: check everything, alert on transitions, heal.
    pub async fn cycle(&self) {
        let started = Instant::now();
        let report = self.core.status().await;
        let now = Utc::now();
        // The live pools (in `gasclaw run`): reading their status each
        // cycle is what notices cooldowns ending and raises "recovered".
        if let Some(p) = self.core.live_pools() {
            // Sampled once per cycle (reading the status also ends the
            // cooldowns whose time has come): a pool that flaps between
            // cycles is one observation, not a message per flip. Going
            // down is also alerted at once, from the pool's event.
            let st = p.status();
            for (kind, ps) in [
                (PoolKind::Agents, &st.agents),
                (PoolKind::Overseer, &st.overseer),
            ] {
                let (ok, detail) = pool_health(self.tr(), ps);
                self.observe(CheckId::Keys(kind), ok, &detail, "cooling", now);
            }
        }
        let conflict = *self.last_conflict.lock().unwrap_or_else(|e| e.into_inner());
        // With another poller on the token, teloxide's polling meets a 409 at
        // least every ~40 s (10 s long poll + at most 30 s backoff); a quiet
        // period longer than that means the bot is alone again.
        let quiet = self.core.config().telegram_conflict_quiet;
        if conflict.is_none_or(|t| t.elapsed() >= quiet) {
            self.observe(CheckId::Telegram, true, "", "ok", now);
        }
        for c in &report.checks {
            let id = CheckId::Service(c.name);
            if c.stopped.is_some() {
                // Stopped on purpose: no alert now, and none "recovered"
                // later for a downtime a person chose.
                if let Some(i) = self.core.alerts().incident_of(id) {
                    self.resolve(i, now, false);
                }
                self.core.alerts().forget(id);
                continue;
            }
            let ok = c.status == CheckStatus::Ok;
            let word = match c.status {
                CheckStatus::Ok => "ok",
                CheckStatus::Down => "down",
                CheckStatus::Unknown => "unknown",
            };
            self.observe(id, ok, &c.detail, word, now);
        }
        let town_stopped = report
            .checks
            .iter()
            .any(|c| c.name == Service::Agents && c.stopped.is_some());
        let a = &report.activity;
        let detail = match a.last_commit_age_secs {
            Some(age) => alerts::activity_detail(self.tr(), age, a.deadline_secs),
            None => a.detail.clone(),
        };
        self.observe(
            CheckId::Activity,
            // Nobody commits in a town stopped on purpose.
            a.compliant || town_stopped,
            &detail,
            if a.last_commit_age_secs.is_some() {
                "late"
            } else {
                "unknown"
            },
            now,
        );
        self.release_consequences();
        self.check_budgets(now);
        self.watch_work().await;
        if self.settings.heal {
            self.heal_down(&report).await;
        }
        if let Err(e) = self.core.rotate_gateway_log() {
            tracing::warn!(error = %e, "could not rotate the gateway log");
        }
        *self.last_cycle.lock().unwrap_or_else(|e| e.into_inner()) = Some(CycleSummary {
            at: now,
            duration_ms: started.elapsed().as_millis() as u64,
            report,
        });
    }

    /// Feeds one observation into a check's alert state.
    fn observe(&self, id: CheckId, ok: bool, detail: &str, word: &str, now: DateTime<Utc>) {
        let msg = self
            .core
            .alerts()
            .observe(id, ok, detail, now, self.settings.repeat);
        let Some((transition, incident)) = msg else {
            return;
        };
        self.note_for_digest(&transition, now);
        let recovered = matches!(transition, Transition::Recovered { .. });
        let down = transition == Transition::Down;
        let alert = Alert {
            incident,
            subject: Subject::Check(id),
            severity: severity_of(id, &transition),
            fact: Fact::Check {
                id,
                transition,
                detail: detail.to_string(),
                word: word.to_string(),
            },
            // The buttons go on the first alert of an incident only; the
            // reminders point back at it.
            buttons: if down { buttons_for(id) } else { Vec::new() },
            consequences: Vec::new(),
            acked_by: None,
            resolved: None,
        };
        let board = self.core.alerts();
        let held = board
            .incidents
            .get(incident)
            .is_some_and(|i| i.caused_by.is_some());
        if held {
            // A consequence of a cause that is down: the cause's alert
            // speaks for it (no reminder, no recovery line of its own).
            if recovered {
                let _ = board.incidents.end(incident, now, false);
            }
            return;
        }
        if down && let Some(cause) = self.down_cause(id) {
            board.incidents.open(Incident {
                alert,
                opened: now,
                ended: None,
                acked_by: None,
                healed: false,
                targets: Vec::new(),
                held: true,
                caused_by: Some(cause),
            });
            if let Ok(c) = board.incidents.update(cause, |c| {
                let s = Subject::Check(id);
                if !c.alert.consequences.contains(&s) {
                    c.alert.consequences.push(s);
                }
            }) {
                tracing::info!(check = %id, cause = %c.alert.subject.label(), "down because of its cause; listed in the cause's alert");
                self.edit_everywhere(&c);
            }
            return;
        }
        if recovered {
            // Gone before its alert went out: nothing to tell.
            let never_told = self.hold.forget(incident);
            self.resolve(incident, now, false);
            if never_told {
                return;
            }
        }
        // The incident is saved before its alert is queued: killed in
        // between, a restarted gasclaw continues it instead of alerting
        // the same "down" twice.
        if down {
            board.incidents.open(Incident {
                alert: alert.clone(),
                opened: now,
                ended: None,
                acked_by: None,
                healed: false,
                held: true,
                targets: Vec::new(),
                caused_by: None,
            });
        }
        let sent_to = self.send_alert(id, alert);
        if down {
            let _ = board.incidents.update(incident, |i| {
                i.held = sent_to.is_empty();
                i.targets = sent_to;
            });
        }
    }

    /// The open incident of a declared cause of `id` (`core::alerts::deps`)
    /// that is down now and alerted on its own.
    fn down_cause(&self, id: CheckId) -> Option<IncidentId> {
        let board = self.core.alerts();
        deps::causes(id).find_map(|c| {
            let i = board.incidents.get(board.incident_of(c)?)?;
            (i.is_open() && i.caused_by.is_none()).then(|| i.id())
        })
    }

    /// Queues the edit of an incident's alert in every chat it went to.
    fn edit_everywhere(&self, i: &Incident) {
        for t in &i.targets {
            if let Err(e) = self.outbox.edit_alert(*t, i.current()) {
                tracing::error!(error = %e, "could not queue an alert's edit");
            }
        }
    }

    /// Alerts, on their own, the consequences still down of the causes
    /// that ended since the last call (run once every check was observed,
    /// so a consequence that came back with its cause is not alerted).
    fn release_consequences(&self) {
        let ended: Vec<IncidentId> =
            std::mem::take(&mut *self.ended.lock().unwrap_or_else(|e| e.into_inner()));
        let board = self.core.alerts();
        for cause in ended {
            for i in board.incidents.caused_by(cause) {
                let Subject::Check(id) = i.alert.subject else {
                    continue;
                };
                let sent_to = self.send_alert(id, i.alert.clone());
                let _ = board.incidents.update(i.id(), |i| {
                    i.caused_by = None;
                    i.held = false;
                    i.targets = sent_to;
                });
                tracing::info!(check = %id, "still down after its cause recovered; alerted now");
            }
        }
    }

    /// Ends an incident: its alert is edited in place to say how long it
    /// lasted, who acknowledged it and whether healing brought it back, and
    /// loses its buttons.
    fn resolve(&self, incident: IncidentId, now: DateTime<Utc>, healed: bool) {
        let Ok(i) = self.core.alerts().incidents.end(incident, now, healed) else {
            return;
        };
        self.ended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(incident);
        let mut a = i.current();
        a.resolved = Some(Resolution {
            lasted: (now - i.opened).to_std().unwrap_or_default(),
            healed,
        });
        for t in &i.targets {
            if let Err(e) = self.outbox.edit_alert(*t, a.clone()) {
                tracing::error!(error = %e, "could not queue an alert's edit");
            }
        }
    }

    /// Queues a typed alert (unless `check` is muted): an incident's first
    /// alert waits for the grouping window, warnings and info wait for the
    /// end of quiet hours (held durably), the rest goes at once to the
    /// recipients of its severity; where it went.
    fn send_alert(&self, check: CheckId, alert: Alert) -> Vec<ChatTarget> {
        if self.core.alerts().mutes.is_muted(check) {
            tracing::info!(check = %check, "alert muted");
            return Vec::new();
        }
        let now = Utc::now();
        let quiet = alert.severity != Severity::Critical && self.quiet_now(now);
        let opening = !alert.buttons.is_empty();
        if quiet || opening {
            self.hold.push(hold::Held {
                alert,
                since: now,
                quiet,
            });
            return Vec::new();
        }
        let mut sent = Vec::new();
        for t in self.route(alert.severity) {
            match self.outbox.alert(t, alert.clone()) {
                Ok(_) => sent.push(t),
                Err(e) => tracing::error!(error = %e, "could not queue an alert"),
            }
        }
        sent
    }

    /// What is down right now, and since when.
    pub fn down(&self) -> Vec<(CheckId, DateTime<Utc>, String)> {
        self.core.alerts().down()
    }

    /// Reacts to core events: key pools, a person's restart, a 409.
    fn on_event(&self, ev: &Event) {
        let now = Utc::now();
        match ev {
            Event::Key(k) => {
                let tr = self.tr();
                match k {
                    KeyEvent::AllCooling {
                        pool,
                        next_available_in,
                    } => {
                        let id = CheckId::Keys(*pool);
                        let detail = tr.raw(
                            "mon-keys-cooling-detail",
                            &[(
                                "wait",
                                &crate::core::activity::human_duration(next_available_in.as_secs()),
                            )],
                        );
                        self.observe(id, false, &detail, "cooling", now);
                    }
                    // Recovery is the cycle's to say (see `cycle`), so a
                    // pool flapping within a cycle is heard once.
                    KeyEvent::KeyInvalid { pool, hint, .. } => {
                        let html = format!(
                            "🔑 {}",
                            tr.t(
                                "mon-key-invalid",
                                &[("pool", pool_name(tr, *pool).as_str()), ("key", hint)]
                            )
                        );
                        self.alert(Some(CheckId::Keys(*pool)), Severity::Warning, html);
                    }
                    _ => {}
                }
            }
            Event::Restarted { service, by, .. } if !matches!(by, Actor::Monitor) => {
                // A person acted: healing may try again.
                self.heal
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(service);
            }
            Event::TelegramConflict => {
                *self.last_conflict.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Instant::now());
                let id = CheckId::Telegram;
                let detail = self.tr().raw("mon-telegram-conflict", &[]);
                self.observe(id, false, &detail, "conflict", now);
            }
            _ => {}
        }
    }

    /// Polls GitHub every `GITHUB_POLL` (the first at once) and announces
    /// what changed to `GITHUB_CHAT`, else the owner and `ALERT_CHAT_IDS`,
    /// through the outbox and the `github` mute. The events are queued
    /// before the poller saves its cursor.
    pub async fn run_github(self: Arc<Self>, shutdown: CancellationToken) {
        let Some(gh) = self.core.github().cloned() else {
            return;
        };
        let cfg = self.core.config();
        let targets = match cfg.github.chat {
            Some(t) => vec![t],
            None => self.recipients.clone(),
        };
        let mut tick = tokio::time::interval(cfg.github.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => return,
            }
            let poll = gh.poll(|events| {
                let tr = self.tr();
                for e in events {
                    let html = crate::telegram::render::github::event(tr, e);
                    self.alert_to(CheckId::Github, &targets, html);
                }
            });
            tokio::select! {
                r = poll => match r {
                    Ok(events) if !events.is_empty() => tracing::info!(events = events.len(), "GitHub changes announced"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "GitHub poll failed; trying again next round"),
                },
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Runs the schedule until `shutdown`: the first cycle at once, never
    /// two at a time, a failing check never stopping the loop.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let github = tokio::spawn(self.clone().run_github(shutdown.clone()));
        let work = tokio::spawn(self.clone().run_work(shutdown.clone()));
        let mut events = self.core.subscribe();
        let me = self.clone();
        let sd = shutdown.clone();
        let listener = tokio::spawn(async move {
            loop {
                tokio::select! {
                    ev = events.recv() => match ev {
                        Ok(ev) => me.on_event(&ev),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => tracing::warn!(missed = n, "monitor missed events"),
                        Err(_) => break,
                    },
                    _ = sd.cancelled() => break,
                }
            }
        });
        // Held alerts go out when their window or quiet hours end, between
        // cycles too.
        let (me, sd) = (self.clone(), shutdown.clone());
        let flusher = tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_millis(500));
            loop {
                tokio::select! {
                    _ = t.tick() => me.flush_held(Utc::now()),
                    _ = sd.cancelled() => break,
                }
            }
        });
        let mut tick = tokio::time::interval(self.settings.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => break,
            }
            // A panic in a cycle must not end the loop.
            let me = self.clone();
            if let Err(e) = tokio::spawn(async move { me.cycle().await }).await {
                tracing::error!(error = %e, "a monitor cycle failed");
            }
        }
        listener.abort();
        flusher.abort();
        let _ = github.await;
        let _ = work.await;
    }
}

/// The buttons on a check's alert: Ack, Mute 1h, and Restart for a
/// service gasclaw can restart (whether or not auto-heal is on).
fn buttons_for(id: CheckId) -> Vec<AlertAction> {
    let mut b = vec![AlertAction::Ack, AlertAction::Mute(MUTE_BUTTON)];
    if let CheckId::Service(s) = id {
        b.push(AlertAction::Restart(s));
    }
    b
}

/// What the Mute button silences a check for.
const MUTE_BUTTON: Duration = Duration::from_secs(3600);

/// How loud a check's transition is: the stack or a pool down is critical,
/// activity and a 409 conflict are warnings, a recovery is info.
fn severity_of(id: CheckId, t: &Transition) -> Severity {
    match (id, t) {
        (_, Transition::Recovered { .. }) => Severity::Info,
        (CheckId::Service(_) | CheckId::Keys(_), _) => Severity::Critical,
        (CheckId::Activity | CheckId::Telegram, _) => Severity::Warning,
        (CheckId::Github, _) => Severity::Info,
        (CheckId::Stuck, _) => Severity::Warning,
        (CheckId::Work(_), _) => Severity::Warning,
    }
}

fn pool_name(tr: Tr<'_>, p: PoolKind) -> String {
    tr.raw(
        match p {
            PoolKind::Agents => "pool-agents",
            PoolKind::Overseer => "pool-overseer",
        },
        &[],
    )
}

#[cfg(test)]
mod budget_tests {
    use super::*;
    use crate::keys::usage::{Budgets, RequestOutcome, Tokens, UsageRecord, UsageStore};
    use crate::keys::{Clock, ManualClock};
    use std::time::{Duration, UNIX_EPOCH};

    /// Budget crossings reach the durable outbox once each (80 %, 100 %),
    /// in the configured language, and not again the same day.
    #[test]
    fn budget_alerts_go_through_the_outbox_once_each() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("gasclaw");
        let env: std::collections::BTreeMap<String, String> = [
            ("GASTOWN_KIMI_KEYS", "sk-kimi-aaaaaaaaaaaaaaaaaaaa1111"),
            ("OPENCLAW_KIMI_KEY", "sk-kimi-oooooooooooooooooooo9999"),
            ("TELEGRAM_BOT_TOKEN", "123456:AAbbCCddEEff_gg-hh"),
            ("TELEGRAM_OWNER_ID", "42"),
            ("GASCLAW_HOME", home.to_str().expect("utf-8")),
            ("GASCLAW_LOCALE", "en"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let core = Core::new(crate::config::Config::load(&env).expect("config")).expect("core");
        let outbox = Arc::new(Outbox::open(&home.join("outbox")).expect("outbox"));
        let monitor = Monitor::new(core, outbox.clone(), Arc::new(Locales::embedded()));
        let store = UsageStore::open(&UsageStore::path_in(&home)).expect("store");
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000 - 1_800_000_000 % 86400 + 600);
        let clock = ManualClock::new(t0);
        let (rec, _w) = store
            .spawn_writer(Duration::from_secs(86400 * 90), Arc::new(clock.clone()))
            .expect("writer");
        monitor.set_usage(
            store,
            Budgets {
                daily: Some(1_000_000),
                per_slot: None,
            },
        );
        let spend = |n: u64| {
            rec.record(UsageRecord {
                at: clock.now(),
                slot: "agent-1".into(),
                pool: crate::keys::PoolKind::Agents,
                key: "…aaaa".into(),
                model: "kimi-for-coding".into(),
                outcome: RequestOutcome::Ok,
                tokens: Tokens {
                    input: n,
                    ..Tokens::default()
                },
            });
            rec.flush();
        };
        let now = || DateTime::<Utc>::from(clock.now());
        spend(700_000);
        assert_eq!(monitor.check_budgets(now()), 0);
        spend(150_000);
        assert_eq!(monitor.check_budgets(now()), 1);
        assert_eq!(monitor.check_budgets(now()), 0);
        clock.advance(Duration::from_secs(3600));
        spend(200_000);
        assert_eq!(monitor.check_budgets(now()), 1);
        assert_eq!(monitor.check_budgets(now()), 0);
        let sent: Vec<String> = outbox
            .pending()
            .expect("pending")
            .into_iter()
            .map(|e| match e.op {
                crate::telegram::outbox::Op::Text { html, .. } => html,
                other => panic!("not a text: {other:?}"),
            })
            .collect();
        assert_eq!(
            sent,
            [
                "💸 <b>token budget</b>: the town has used 80 % of its daily budget (850.0k of 1.0M tokens).",
                "🛑 <b>token budget</b>: the town has used 100 % of its daily budget (1.1M of 1.0M tokens).",
            ]
        );
    }
}
