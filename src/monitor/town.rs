//! The town's work, announced: a task under the monitor follows the event
//! log (the core's follower and its durable cursor), turns what is news
//! into messages through the durable outbox (each kind muted by its own
//! name: deaths, escalations, merges, convoys), routes a rig's news to its
//! forum topic (`RIG_TOPICS`), and reminds of unacknowledged escalations
//! every `ALERT_REPEAT`. The cursor is saved only after the messages are
//! queued, so a crash repeats at most the last poll, and never loses one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::{CheckId, Monitor};
use crate::core::alerts::{Alert, AlertAction, Fact, IncidentId, Severity, Subject};
use crate::core::work::announce::{self, Announcement, Kind};
use crate::core::work::digest;
use crate::core::work::escalations::valid_id;
use crate::core::work::events::{Follower, TownEvent};

/// How often the log is looked at: one `stat` when nothing changed, so the
/// latency from a line to its message stays well under 2 s.
pub const POLL: Duration = Duration::from_millis(500);

/// How often the inboxes merges and convoys arrive in are read (at most:
/// the monitor's interval when shorter).
pub const MAIL_POLL: Duration = Duration::from_secs(30);

/// How long the cursor may lag behind routine lines.
const ROUTINE_COMMIT: Duration = Duration::from_secs(5);

/// When each open escalation was last brought up (announced or reminded).
type Reminded = BTreeMap<String, DateTime<Utc>>;

impl Monitor {
    /// Queues one announcement as a typed alert (its severity decides
    /// whether it makes a sound; an escalation carries Ack and Close);
    /// agents' words pass the redactor.
    pub fn announce(&self, a: &Announcement) {
        let r = self.core.redactor();
        let mut a = a.clone();
        a.detail = r.redact(&a.detail);
        a.agent = a.agent.map(|s| r.redact(&s));
        a.subject = a.subject.map(|s| r.redact(&s));
        for (_, v) in &mut a.extra {
            *v = r.redact(v);
        }
        tracing::info!(kind = ?a.kind, severity = a.severity.name(), rig = ?a.rig, "town event announced");
        let (subject, buttons) = match &a.subject {
            Some(id) if a.kind == Kind::Escalation && valid_id(id) => (
                Subject::Escalation(id.clone()),
                vec![AlertAction::EscalationAck, AlertAction::EscalationClose],
            ),
            _ => (Subject::Town(a.kind), Vec::new()),
        };
        let alert = Alert {
            incident: IncidentId::fresh(),
            subject,
            severity: a.severity,
            buttons,
            consequences: Vec::new(),
            acked_by: None,
            resolved: None,
            fact: Fact::Town { news: a },
        };
        let check = CheckId::Work(kind_of(&alert));
        match alert_rig(&alert).and_then(|r| self.core.config().rig_topics.get(r).copied()) {
            // A rig's own topic (`RIG_TOPICS`) is that rig's room: its news
            // goes there at once.
            Some(topic) => {
                if self.core.alerts().mutes.is_muted(check) {
                    tracing::info!(check = %check, "alert muted");
                } else if let Err(e) = self.outbox.alert(topic, alert) {
                    tracing::error!(error = %e, "could not queue an alert");
                }
            }
            // Else as every alert: muted, held in quiet hours, grouped,
            // routed by severity.
            None => {
                self.send_alert(check, alert);
            }
        }
    }

    /// What one batch of events announces; returns how many were queued.
    pub fn announce_events(&self, events: &[TownEvent], reminded: &mut Reminded) -> usize {
        let mut n = 0;
        let log = self.core.digest_log();
        for ev in events {
            let Some(a) = announce::classify(ev) else {
                continue;
            };
            // Counted for the digest even when muted.
            log.record(&news_name(&a), a.at, None);
            if a.kind == Kind::Escalation
                && let Some(id) = &a.subject
            {
                reminded.insert(id.clone(), Utc::now());
            }
            self.announce(&a);
            n += 1;
        }
        n
    }

    /// Announces the merges and landed convoys the town mailed since the
    /// last look (they never reach the event log).
    async fn announce_mail(&self, seen: &mut crate::core::work::town_mail::MailSeen) {
        match self.core.mail_news(seen).await {
            Ok(news) => {
                let log = self.core.digest_log();
                for a in &news {
                    log.record(&news_name(a), a.at, None);
                    self.announce(a);
                }
            }
            Err(e) => tracing::debug!(error = %e, "could not read the town's mail"),
        }
    }

    /// Reminds of each open escalation nobody acknowledged for
    /// `ALERT_REPEAT` (the monitor's rule for things still down).
    async fn remind_escalations(&self, reminded: &mut Reminded) {
        let list = match self.core.escalations().await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "could not list the open escalations");
                return;
            }
        };
        let now = Utc::now();
        let repeat = chrono::Duration::from_std(self.settings.repeat)
            .unwrap_or_else(|_| chrono::Duration::hours(1));
        reminded.retain(|id, _| list.iter().any(|e| &e.id == id));
        for e in list.iter().filter(|e| !e.acked) {
            let last = *reminded.entry(e.id.clone()).or_insert(now);
            if now - last < repeat {
                continue;
            }
            reminded.insert(e.id.clone(), now);
            let since = e
                .created_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| (now - t.with_timezone(&Utc)).num_seconds().max(0) as u64)
                .unwrap_or(self.settings.repeat.as_secs());
            // A reminder is the escalation's news again, with its age.
            let who = e.escalated_by.clone();
            let mut extra = vec![
                ("severity".to_string(), e.severity.clone()),
                (
                    "reminder".to_string(),
                    crate::core::activity::human_duration(since),
                ),
            ];
            if let Some(src) = &e.source {
                extra.push(("source".into(), src.clone()));
            }
            self.announce(&Announcement {
                kind: Kind::Escalation,
                severity: announce::escalation_severity(&e.severity),
                at: now,
                rig: who.as_deref().and_then(announce::rig_of),
                agent: who,
                subject: Some(e.id.clone()),
                detail: e.title.clone(),
                extra,
            });
        }
    }

    /// Notes an incident's start and end for the digest.
    pub(super) fn note_for_digest(&self, t: &super::Transition, now: DateTime<Utc>) {
        match t {
            super::Transition::Down => self.core.digest_log().record("down", now, None),
            super::Transition::Recovered { after } => {
                self.core
                    .digest_log()
                    .record("recovered", now, Some(after.as_secs()))
            }
            super::Transition::StillDown { .. } => {}
        }
    }

    /// Tokens through the key proxy in `[from, to)`, when this process
    /// keeps the usage store.
    fn tokens_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<u64> {
        let (store, _) = self.usage.get()?;
        let first_hour = from.timestamp() - from.timestamp().rem_euclid(3600);
        let rows = store
            .rows_since(first_hour)
            .map_err(|e| tracing::warn!(error = %e, "the digest could not read the usage store"))
            .ok()?;
        Some(
            rows.iter()
                .filter(|r| r.hour < to.timestamp())
                .map(|r| r.tokens.total())
                .sum(),
        )
    }

    /// Sends the daily digest when it is due (`DIGEST_AT` in `GASCLAW_TZ`)
    /// to the owner and the alert chats, once a day.
    pub async fn maybe_send_digest(&self, state: &mut DigestState, now: DateTime<Utc>) -> bool {
        let cfg = self.core.config();
        let Some(at) = cfg.digest_at else {
            return false;
        };
        let last = state.last.zip(state.last_at);
        let Some(w) = digest::due(now, at, cfg.tz, last) else {
            return false;
        };
        let mut d = self.core.digest(&w).await;
        d.tokens = self.tokens_between(w.from, w.to);
        let html = crate::telegram::render::town::digest(self.tr(), &d);
        self.alert(None, Severity::Info, html);
        state.last = Some(w.day);
        state.last_at = Some(w.to);
        state.save(&cfg.home);
        self.core
            .digest_log()
            .prune(w.from - chrono::Duration::days(1));
        tracing::info!(day = %w.day, "daily digest sent");
        true
    }

    /// Follows the event log until `shutdown`.
    pub async fn run_work(self: Arc<Self>, shutdown: CancellationToken) {
        let mut follower: Follower = self.core.event_follower(true);
        let mut reminded = Reminded::new();
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_reminder_check = tokio::time::Instant::now();
        let mut digest = DigestState::load(&self.core.config().home);
        let mut mail_seen = crate::core::work::town_mail::MailSeen::load(&self.core.config().home);
        let mail_every = self.settings.interval.min(MAIL_POLL);
        let mut last_mail: Option<tokio::time::Instant> = None;
        let mut last_commit = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => break,
            }
            let mut f = follower;
            // File reads and the cursor's fsync stay off the runtime.
            let joined = tokio::task::spawn_blocking(move || {
                let r = f.poll();
                (f, r)
            })
            .await;
            let Ok((mut f, polled)) = joined else {
                tracing::error!("the event log follower panicked; starting it again");
                follower = self.core.event_follower(true);
                continue;
            };
            match polled {
                Ok(batch) => {
                    if batch.rewritten {
                        tracing::info!(
                            "the event log was rewritten (KRC prune); resumed after the last line"
                        );
                    }
                    if batch.malformed > 0 {
                        tracing::warn!(
                            lines = batch.malformed,
                            "skipped lines of the event log that are not events"
                        );
                    }
                    let announced = self.announce_events(&batch.events, &mut reminded);
                    // After news, at once (so a restart does not repeat it);
                    // routine lines move the cursor at most every few seconds
                    // (re-reading a few of them after a crash costs nothing).
                    if announced > 0 || last_commit.elapsed() >= ROUTINE_COMMIT {
                        last_commit = tokio::time::Instant::now();
                        let (g, saved) = tokio::task::spawn_blocking(move || {
                            let r = f.commit();
                            (f, r)
                        })
                        .await
                        .unwrap_or_else(|_| (self.core.event_follower(true), Ok(())));
                        if let Err(e) = saved {
                            tracing::warn!(error = %e, "could not save the event cursor");
                        }
                        f = g;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not read the event log"),
            }
            follower = f;
            self.maybe_send_digest(&mut digest, Utc::now()).await;
            if last_mail.is_none_or(|t| t.elapsed() >= mail_every) {
                last_mail = Some(tokio::time::Instant::now());
                self.announce_mail(&mut mail_seen).await;
            }
            if last_reminder_check.elapsed() >= self.settings.interval {
                last_reminder_check = tokio::time::Instant::now();
                self.remind_escalations(&mut reminded).await;
            }
        }
        if let Err(e) = follower.commit() {
            tracing::warn!(error = %e, "could not save the event cursor");
        }
    }
}

/// The digest log's name for a piece of news.
fn news_name(a: &Announcement) -> String {
    serde_json::to_value(a.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The kind of news an alert of ours carries (for its mute).
fn kind_of(a: &Alert) -> Kind {
    match &a.fact {
        Fact::Town { news } => news.kind,
        _ => Kind::Escalation,
    }
}

/// The last day a digest went out (`GASCLAW_HOME/digest.json`), so a
/// restart never sends it twice.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct DigestState {
    pub last: Option<chrono::NaiveDate>,
    /// When it went out (the next one counts from there).
    #[serde(default)]
    pub last_at: Option<DateTime<Utc>>,
}

impl DigestState {
    fn path(home: &std::path::Path) -> std::path::PathBuf {
        home.join("digest.json")
    }

    pub fn load(home: &std::path::Path) -> DigestState {
        std::fs::read(Self::path(home))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save(&self, home: &std::path::Path) {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        if let Err(e) =
            crate::fsutil::atomic_write(&Self::path(home), &bytes, crate::fsutil::PUBLIC_MODE)
        {
            tracing::warn!(error = %e, "could not save the digest's day");
        }
    }
}

/// The rig a town alert is about, if any.
fn alert_rig(a: &Alert) -> Option<&str> {
    match &a.fact {
        Fact::Town { news } => news.rig.as_deref(),
        _ => None,
    }
}
