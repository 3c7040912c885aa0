//! The durable outbox: every operation (a text, a typed alert to send, an
//! edit of a sent alert, its buttons removed) is written (and synced) to
//! `GASCLAW_HOME/outbox/` as JSON before the first attempt, and removed
//! only once Telegram accepted it (or rejected it as invalid: logged and
//! dropped, never retried forever). Messages to one chat keep their order;
//! consecutive pending ones are merged into one message (up to Telegram's
//! limit), so a burst of alerts costs few sends. Telegram unreachable, 5xx or
//! 429: retried with backoff, honouring `retry_after`, for as long as it
//! takes; after a crash or restart the outbox is delivered first.
//!
//! A delivered entry whose file cannot be removed is renamed aside, else
//! emptied (an empty file is a tombstone), and in any case remembered in
//! memory: it is never sent twice. An entry that cannot be written (a full
//! disk) is kept in memory, sent from there, and written again at every
//! pass until the disk takes it (a log line and `gasclaw_alerts_in_memory`
//! say so); only a crash while the disk is full can lose it.
//!
//! Typed alerts (`core::alerts::Alert`) are rendered at send time in the
//! recipient's language. The Telegram message id of each alert sent with
//! buttons is remembered in `outbox/messages.state` (written before the
//! entry is removed), so an edit queued later — even after a restart —
//! finds the message. Alerts with buttons and edits go one by one; texts
//! and alerts without buttons are merged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use teloxide::{ApiError, RequestError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use teloxide::types::{InlineKeyboardMarkup, MessageId};

use crate::config::ChatTarget;
use crate::core::alerts::{Alert, IncidentId};
use crate::i18n::Locales;
use crate::telegram::render::Tr;
use crate::telegram::{Target, Tg, send};

/// What an entry asks for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Ready Telegram HTML (announcements, budgets, GitHub); `silent`
    /// ones (info) make no sound.
    Text {
        html: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        silent: bool,
    },
    /// A typed alert; if it carries buttons its message id is remembered.
    Alert { alert: Alert },
    /// Rewrites the message sent for `alert.incident` (text and buttons).
    Edit { alert: Alert },
    /// Takes the buttons off the message sent for an incident.
    RemoveButtons { incident: IncidentId },
    /// Alerts held together (grouped within `ALERT_GROUP_WAIT`, or held
    /// during quiet hours: `quiet`) sent as one message, each with its
    /// buttons on a row of its own. Later edits of these incidents leave
    /// the shared message alone.
    Group {
        alerts: Vec<Alert>,
        #[serde(default)]
        quiet: bool,
    },
}

/// One queued operation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub target: ChatTarget,
    #[serde(flatten)]
    pub op: Op,
    pub created: chrono::DateTime<chrono::Utc>,
}

/// An entry as versions before typed alerts wrote it.
#[derive(Deserialize)]
struct LegacyEntry {
    seq: u64,
    target: ChatTarget,
    html: String,
    created: chrono::DateTime<chrono::Utc>,
}

fn parse_entry(bytes: &[u8]) -> Option<Entry> {
    serde_json::from_slice::<Entry>(bytes).ok().or_else(|| {
        serde_json::from_slice::<LegacyEntry>(bytes)
            .ok()
            .map(|l| Entry {
                seq: l.seq,
                target: l.target,
                op: Op::Text {
                    html: l.html,
                    silent: false,
                },
                created: l.created,
            })
    })
}

impl Entry {
    /// Whether it may share one message with its neighbours.
    fn mergeable(&self) -> bool {
        match &self.op {
            Op::Text { .. } => true,
            Op::Alert { alert } => alert.buttons.is_empty(),
            Op::Edit { .. } | Op::RemoveButtons { .. } | Op::Group { .. } => false,
        }
    }

    /// Whether sending it should make a sound.
    fn audible(&self) -> bool {
        match &self.op {
            Op::Alert { alert } => alert.audible(),
            Op::Group { alerts, .. } => alerts.iter().any(Alert::audible),
            Op::Text { silent, .. } => !silent,
            _ => true,
        }
    }
}

/// The message id of each alert sent with buttons, by incident and chat.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SentIds {
    sent: Vec<SentId>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SentId {
    incident: IncidentId,
    target: ChatTarget,
    message_id: i32,
    at: chrono::DateTime<chrono::Utc>,
    /// A message shared by several alerts: not edited for one of them.
    #[serde(default)]
    shared: bool,
}

/// How many sent alerts are remembered (the oldest are forgotten first).
const MAX_SENT_IDS: usize = 5000;

/// Renders typed alerts at send time.
pub struct Renderer {
    locales: Arc<Locales>,
    /// The language of every recipient unless one is set for its chat.
    lang: &'static str,
    by_chat: BTreeMap<i64, &'static str>,
}

impl Renderer {
    pub fn new(locales: Arc<Locales>, lang: &'static str) -> Renderer {
        Renderer {
            locales,
            lang,
            by_chat: BTreeMap::new(),
        }
    }

    /// Renders for `chat_id` in `lang`.
    pub fn with_chat(mut self, chat_id: i64, lang: &'static str) -> Renderer {
        self.by_chat.insert(chat_id, lang);
        self
    }

    fn tr(&self, target: &ChatTarget) -> Tr<'_> {
        let lang = self
            .by_chat
            .get(&target.chat_id)
            .copied()
            .unwrap_or(self.lang);
        Tr::new(&self.locales, lang)
    }

    /// An entry's text for its recipient.
    fn text(&self, e: &Entry) -> String {
        match &e.op {
            Op::Text { html, .. } => html.clone(),
            Op::Alert { alert } | Op::Edit { alert } => {
                crate::telegram::render::alert::alert(self.tr(&e.target), alert)
            }
            Op::RemoveButtons { .. } => String::new(),
            Op::Group { alerts, quiet } => {
                let tr = self.tr(&e.target);
                let mut parts: Vec<String> = Vec::new();
                if *quiet {
                    parts.push(format!("🌙 <b>{}</b>", tr.t("alert-quiet-summary", &[])));
                }
                parts.extend(
                    alerts
                        .iter()
                        .map(|a| crate::telegram::render::alert::alert(tr, a)),
                );
                crate::telegram::render::fit(&parts.join("\n\n"), tr)
            }
        }
    }

    /// The buttons of alerts sharing a message: a row per alert, each
    /// label led by what the alert is about.
    fn group_buttons(&self, target: &ChatTarget, alerts: &[Alert]) -> Option<InlineKeyboardMarkup> {
        crate::telegram::render::alert::rows(self.tr(target), alerts)
    }

    /// An alert's buttons, labelled in the recipient's language.
    fn buttons(&self, target: &ChatTarget, a: &Alert) -> Option<InlineKeyboardMarkup> {
        crate::telegram::render::alert::buttons(self.tr(target), a)
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct OutboxStats {
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
}

pub struct Outbox {
    dir: PathBuf,
    next: AtomicU64,
    wake: Notify,
    pub stats: OutboxStats,
    /// Entries the disk did not take yet, by sequence number.
    memory: std::sync::Mutex<BTreeMap<u64, Entry>>,
    /// Delivered (or dropped) entries whose file is still there.
    done: std::sync::Mutex<std::collections::BTreeSet<u64>>,
    renderer: Renderer,
    /// The message ids of sent alerts (`messages.state`).
    sent_ids: std::sync::Mutex<SentIds>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Where the message ids of sent alerts are kept (not `.json`: not an
/// entry).
const SENT_IDS: &str = "messages.state";

fn file_name(e: &Entry) -> String {
    format!("{:020}.json", e.seq)
}

impl Outbox {
    /// Opens (creating) the outbox, rendering alerts in English; new
    /// entries continue after any left from before a crash.
    pub fn open(dir: &Path) -> std::io::Result<Outbox> {
        Outbox::open_with(dir, Renderer::new(Arc::new(Locales::embedded()), "en"))
    }

    /// Opens (creating) the outbox with the recipients' languages.
    pub fn open_with(dir: &Path, renderer: Renderer) -> std::io::Result<Outbox> {
        crate::fsutil::ensure_dir(dir, 0o700)?;
        let sent_ids = match std::fs::read(dir.join(SENT_IDS)) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "unreadable outbox message ids; edits of earlier alerts will be skipped");
                SentIds::default()
            }),
            Err(_) => SentIds::default(),
        };
        let ob = Outbox {
            dir: dir.to_path_buf(),
            next: AtomicU64::new(1),
            wake: Notify::new(),
            stats: OutboxStats::default(),
            memory: Default::default(),
            done: Default::default(),
            renderer,
            sent_ids: std::sync::Mutex::new(sent_ids),
        };
        let max = ob.pending()?.iter().map(|e| e.seq).max().unwrap_or(0);
        // Sequence numbers also carry wall time so they keep increasing
        // across restarts even if the directory was emptied.
        let floor = chrono::Utc::now().timestamp_micros().max(0) as u64;
        ob.next.store(max.max(floor) + 1, Ordering::SeqCst);
        Ok(ob)
    }

    /// Queues a message durably and wakes the sender.
    pub fn enqueue(&self, target: ChatTarget, html: String) -> std::io::Result<u64> {
        self.push(
            target,
            Op::Text {
                html,
                silent: false,
            },
        )
    }

    /// Queues a message that makes no sound (info).
    pub fn enqueue_silent(&self, target: ChatTarget, html: String) -> std::io::Result<u64> {
        self.push(target, Op::Text { html, silent: true })
    }

    /// Queues a typed alert (rendered when it is sent).
    pub fn alert(&self, target: ChatTarget, alert: Alert) -> std::io::Result<u64> {
        self.push(target, Op::Alert { alert })
    }

    /// Queues an edit of the message sent for `alert.incident` to `target`
    /// (to its text and buttons now).
    pub fn edit_alert(&self, target: ChatTarget, alert: Alert) -> std::io::Result<u64> {
        self.push(target, Op::Edit { alert })
    }

    /// An entry's text as it would be sent (for the snapshots).
    #[cfg(test)]
    pub fn render_for_test(&self, e: &Entry) -> String {
        self.renderer.text(e)
    }

    /// Queues alerts to go as one message (`quiet`: the summary of quiet
    /// hours).
    pub fn group(
        &self,
        target: ChatTarget,
        alerts: Vec<Alert>,
        quiet: bool,
    ) -> std::io::Result<u64> {
        self.push(target, Op::Group { alerts, quiet })
    }

    /// Queues the removal of the buttons of the message sent for
    /// `incident` to `target`.
    pub fn remove_buttons(&self, target: ChatTarget, incident: IncidentId) -> std::io::Result<u64> {
        self.push(target, Op::RemoveButtons { incident })
    }

    /// The message sent for `incident` to `target`, if it was sent with
    /// buttons.
    pub fn message_of(&self, incident: IncidentId, target: ChatTarget) -> Option<i32> {
        self.sent_of(incident, target).map(|s| s.message_id)
    }

    fn sent_of(&self, incident: IncidentId, target: ChatTarget) -> Option<SentId> {
        self.sent_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sent
            .iter()
            .rev()
            .find(|s| s.incident == incident && s.target == target)
            .cloned()
    }

    /// Remembers (durably) the message an alert went out as. The first
    /// message of an incident in a chat stays the one edits find.
    fn remember(&self, incident: IncidentId, target: ChatTarget, message_id: i32, shared: bool) {
        let mut ids = self.sent_ids.lock().unwrap_or_else(|p| p.into_inner());
        if ids
            .sent
            .iter()
            .any(|s| s.incident == incident && s.target == target)
        {
            return;
        }
        ids.sent.push(SentId {
            incident,
            target,
            message_id,
            at: chrono::Utc::now(),
            shared,
        });
        let excess = ids.sent.len().saturating_sub(MAX_SENT_IDS);
        ids.sent.drain(..excess);
        let written = serde_json::to_vec(&*ids)
            .map_err(std::io::Error::other)
            .and_then(|b| crate::fsutil::atomic_write(&self.dir.join(SENT_IDS), &b, 0o600));
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not save a sent alert's message id; it is kept in memory");
        }
    }

    fn push(&self, target: ChatTarget, op: Op) -> std::io::Result<u64> {
        let e = Entry {
            seq: self.next.fetch_add(1, Ordering::SeqCst),
            target,
            op,
            created: chrono::Utc::now(),
        };
        let seq = e.seq;
        if let Err(err) = self.write(&e) {
            let n = {
                let mut m = self.memory.lock().unwrap_or_else(|p| p.into_inner());
                m.insert(seq, e);
                m.len()
            };
            tracing::error!(error = %err, in_memory = n, "cannot write an alert to the outbox (disk full?); keeping it in memory and retrying");
        }
        self.wake.notify_one();
        Ok(seq)
    }

    fn write(&self, e: &Entry) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(e).map_err(std::io::Error::other)?;
        crate::fsutil::atomic_write(&self.dir.join(file_name(e)), &bytes, 0o600)
    }

    /// How many alerts wait in memory only (the disk refused them).
    pub fn in_memory(&self) -> usize {
        self.memory.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Tries again to write the alerts held in memory.
    pub fn persist_memory(&self) {
        let mut m = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        if m.is_empty() {
            return;
        }
        let before = m.len();
        m.retain(|_, e| self.write(e).is_err());
        if m.len() < before {
            tracing::info!(
                written = before - m.len(),
                still_in_memory = m.len(),
                "alerts kept in memory are in the outbox again"
            );
        }
    }

    /// Everything waiting, oldest first (on disk and in memory).
    pub fn pending(&self) -> std::io::Result<Vec<Entry>> {
        let mut v: Vec<Entry> = self
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        let done = self.done.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(d) => d,
            // The in-memory entries still go out.
            Err(e) if !v.is_empty() => {
                tracing::warn!(error = %e, "cannot read the outbox directory");
                v.sort_by_key(|e| e.seq);
                return Ok(v);
            }
            Err(e) => return Err(e),
        };
        for f in entries {
            let p = f?.path();
            if p.extension().is_none_or(|e| e != "json") {
                continue;
            }
            // A tombstone: delivered, but the file could not be removed.
            if std::fs::metadata(&p).is_ok_and(|m| m.len() == 0) {
                let _ = std::fs::remove_file(&p);
                continue;
            }
            match std::fs::read(&p).ok().and_then(|b| parse_entry(&b)) {
                Some(e) if done.contains(&e.seq) => {}
                Some(e) if v.iter().any(|m| m.seq == e.seq) => {}
                Some(e) => v.push(e),
                None => {
                    tracing::warn!(file = %p.display(), "unreadable outbox entry; moving it aside");
                    let _ = std::fs::rename(&p, p.with_extension("bad"));
                }
            }
        }
        v.sort_by_key(|e| e.seq);
        Ok(v)
    }

    pub fn len(&self) -> usize {
        self.pending().map(|v| v.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets a delivered (or dropped) entry. If its file cannot be
    /// removed it is renamed aside, else emptied, and remembered as done in
    /// any case: it is never sent again.
    fn remove(&self, e: &Entry) {
        if self
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&e.seq)
            .is_some()
        {
            return;
        }
        let path = self.dir.join(file_name(e));
        let Err(err) = std::fs::remove_file(&path) else {
            return;
        };
        if err.kind() == std::io::ErrorKind::NotFound {
            return;
        }
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(e.seq);
        let aside = std::fs::rename(&path, path.with_extension("sent")).is_ok()
            || std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(0))
                .is_ok();
        tracing::warn!(error = %err, seq = e.seq, tombstone = aside, "could not remove a delivered outbox entry; it will not be sent again");
    }

    /// Merges the oldest consecutive mergeable entries for one chat into
    /// one message (an alert with buttons or an edit goes alone). The
    /// message is silent only if every part is.
    fn batch(&self, entries: &[Entry]) -> (String, usize, bool) {
        let mut text = String::new();
        let mut n = 0;
        let mut audible = false;
        for e in entries {
            if n > 0 && !e.mergeable() {
                break;
            }
            let part = self.renderer.text(e);
            let extra = if text.is_empty() {
                part.chars().count()
            } else {
                part.chars().count() + 2
            };
            if n > 0 && text.chars().count() + extra > crate::telegram::render::MAX_TEXT {
                break;
            }
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&part);
            audible |= e.audible();
            n += 1;
            if !e.mergeable() {
                break;
            }
        }
        (text, n.max(1), !audible)
    }

    /// Carries out the first entry (or batch) for one chat; how many
    /// entries it covered.
    async fn deliver(&self, bot: &Tg, entries: &[Entry]) -> (Result<(), RequestError>, usize) {
        let Some(first) = entries.first() else {
            return (Ok(()), 0);
        };
        let target = first.target;
        let to = Target {
            chat_id: target.chat_id,
            thread_id: target.thread_id,
        };
        match &first.op {
            Op::Edit { alert } => {
                let Some(id) = self
                    .sent_of(alert.incident, target)
                    .filter(|s| !s.shared)
                    .map(|s| s.message_id)
                else {
                    tracing::info!(incident = %alert.incident, chat = target.chat_id, "no message of this alert alone to edit; skipping the edit");
                    return (Ok(()), 1);
                };
                let text = self.renderer.text(first);
                let markup = self.renderer.buttons(&target, alert);
                (
                    send::edit(bot, target.chat_id, MessageId(id), &text, markup).await,
                    1,
                )
            }
            Op::RemoveButtons { incident } => {
                let Some(id) = self
                    .sent_of(*incident, target)
                    .filter(|s| !s.shared)
                    .map(|s| s.message_id)
                else {
                    tracing::warn!(incident = %incident, chat = target.chat_id, "no sent message to take the buttons off; skipping");
                    return (Ok(()), 1);
                };
                (
                    send::remove_buttons(bot, target.chat_id, MessageId(id)).await,
                    1,
                )
            }
            Op::Group { alerts, .. } => {
                let text = self.renderer.text(first);
                let markup = self.renderer.group_buttons(&target, alerts);
                match send::message_with(bot, to, &text, markup, None, !first.audible()).await {
                    Ok(m) => {
                        for a in alerts {
                            self.remember(a.incident, target, m.id.0, true);
                        }
                        (Ok(()), 1)
                    }
                    Err(e) => (Err(e), 1),
                }
            }
            Op::Alert { alert } if !alert.buttons.is_empty() => {
                let text = self.renderer.text(first);
                let markup = self.renderer.buttons(&target, alert);
                match send::message_with(bot, to, &text, markup, None, !alert.audible()).await {
                    Ok(m) => {
                        self.remember(alert.incident, target, m.id.0, false);
                        (Ok(()), 1)
                    }
                    Err(e) => (Err(e), 1),
                }
            }
            _ => {
                let (text, n, silent) = self.batch(entries);
                (
                    send::message_with(bot, to, &text, None, None, silent)
                        .await
                        .map(|_| ()),
                    n,
                )
            }
        }
    }

    /// Delivers until `shutdown`. One pass sends at most one batch per chat;
    /// a chat in backoff does not hold up the others.
    pub async fn run(self: Arc<Self>, bot: Tg, shutdown: CancellationToken) {
        let mut backoff: BTreeMap<ChatTarget, (tokio::time::Instant, Duration)> = BTreeMap::new();
        loop {
            self.persist_memory();
            let pending = match self.pending() {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the outbox");
                    Vec::new()
                }
            };
            let mut by_chat: BTreeMap<ChatTarget, Vec<Entry>> = BTreeMap::new();
            for e in pending {
                by_chat.entry(e.target).or_default().push(e);
            }
            let now = tokio::time::Instant::now();
            let mut next_wake: Option<tokio::time::Instant> = None;
            let mut progressed = false;
            for (target, entries) in &by_chat {
                if let Some((until, _)) = backoff.get(target)
                    && *until > now
                {
                    next_wake = Some(next_wake.map_or(*until, |w| w.min(*until)));
                    continue;
                }
                // An in-flight send is never abandoned at shutdown: Telegram
                // may already have it, and the entry must then be removed.
                if shutdown.is_cancelled() {
                    return;
                }
                let (result, n) = self.deliver(&bot, entries).await;
                match result {
                    Ok(()) => {
                        for e in &entries[..n] {
                            self.remove(e);
                        }
                        self.stats.sent.fetch_add(n as u64, Ordering::Relaxed);
                        backoff.remove(target);
                        progressed = true;
                    }
                    Err(e) if permanent(&e) => {
                        tracing::error!(error = %send::describe(&e), chat = target.chat_id, dropped = n, "Telegram refused an alert as invalid; dropping it");
                        for entry in &entries[..n] {
                            self.remove(entry);
                        }
                        self.stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
                        progressed = true;
                    }
                    Err(e) => {
                        let prev = backoff
                            .get(target)
                            .map(|b| b.1)
                            .unwrap_or(Duration::from_millis(500));
                        let wait = match &e {
                            RequestError::RetryAfter(s) => s.duration(),
                            _ => (prev * 2).min(Duration::from_secs(60)),
                        };
                        tracing::warn!(error = %send::describe(&e), chat = target.chat_id, retry_in_ms = wait.as_millis() as u64, "alert not delivered yet");
                        self.stats.retries.fetch_add(1, Ordering::Relaxed);
                        let until = tokio::time::Instant::now() + wait;
                        backoff.insert(*target, (until, wait));
                        next_wake = Some(next_wake.map_or(until, |w| w.min(until)));
                    }
                }
            }
            // A batch may have left entries behind: go again at once.
            if progressed {
                continue;
            }
            if self.in_memory() > 0 {
                // Try the disk again soon even when nothing else happens.
                let soon = tokio::time::Instant::now() + Duration::from_secs(5);
                next_wake = Some(next_wake.map_or(soon, |w| w.min(soon)));
            }
            let sleep = next_wake.map(tokio::time::sleep_until);
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = async { match sleep { Some(s) => s.await, None => std::future::pending().await } } => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Tries to deliver what is queued for up to `within` (used at shutdown
    /// for "Gasclaw is stopping"); what remains waits for the next start.
    pub async fn drain(self: &Arc<Self>, bot: Tg, within: Duration) {
        let stop = CancellationToken::new();
        let task = tokio::spawn(self.clone().run(bot, stop.clone()));
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline && !self.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.cancel();
        let _ = task.await;
    }
}

/// Errors that retrying cannot fix: the message itself (400) or the chat
/// (blocked, kicked).
fn permanent(e: &RequestError) -> bool {
    match e {
        RequestError::Api(ApiError::Unknown(t)) => {
            t.starts_with("Bad Request") || t.starts_with("Forbidden")
        }
        RequestError::Api(
            ApiError::MessageIsTooLong
            | ApiError::MessageTextIsEmpty
            | ApiError::CantParseEntities(_)
            | ApiError::ChatNotFound
            | ApiError::BotBlocked
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::UserDeactivated
            | ApiError::CantInitiateConversation
            | ApiError::ButtonDataInvalid,
        ) => true,
        RequestError::MigrateToChatId(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: i64) -> ChatTarget {
        ChatTarget {
            chat_id: id,
            thread_id: None,
        }
    }

    #[test]
    fn entries_survive_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        let a = ob.enqueue(target(1), "a".into()).unwrap();
        let b = ob.enqueue(target(2), "b".into()).unwrap();
        assert!(b > a);
        drop(ob);
        let ob = Outbox::open(dir.path()).unwrap();
        let p = ob.pending().unwrap();
        assert_eq!(
            p.iter()
                .map(|e| match &e.op {
                    Op::Text { html, .. } => html.as_str(),
                    _ => "",
                })
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        let c = ob.enqueue(target(1), "c".into()).unwrap();
        assert!(c > b, "new entries come after the old ones");
        use std::os::unix::fs::PermissionsExt;
        for f in std::fs::read_dir(dir.path()).unwrap() {
            assert_eq!(
                f.unwrap().metadata().unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn batches_merge_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        let e = |i: u64, n: usize| Entry {
            seq: i,
            target: target(1),
            op: Op::Text {
                silent: false,
                html: "x".repeat(n),
            },
            created: chrono::Utc::now(),
        };
        let (t, n, silent) = ob.batch(&[e(1, 10), e(2, 10), e(3, 10)]);
        assert_eq!((t.len(), n, silent), (34, 3, false));
        let (_, n, _) = ob.batch(&[e(1, 3000), e(2, 3000)]);
        assert_eq!(n, 1);
    }

    #[test]
    fn entries_written_before_typed_alerts_are_still_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("00000000000000000005.json"),
            r#"{"seq":5,"target":{"chat_id":1,"thread_id":null},"html":"old","created":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        let p = ob.pending().unwrap();
        assert_eq!(
            p.iter().map(|e| e.op.clone()).collect::<Vec<_>>(),
            [Op::Text {
                html: "old".into(),
                silent: false
            }]
        );
    }
}
