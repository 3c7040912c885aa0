//! The durable outbox: every alert is written (and synced) to
//! `GASCLAW_HOME/outbox/` before the first attempt to send it, and removed
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use teloxide::{ApiError, RequestError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::ChatTarget;
use crate::telegram::{Target, Tg, send};

/// One queued message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub target: ChatTarget,
    /// Telegram HTML.
    pub html: String,
    pub created: chrono::DateTime<chrono::Utc>,
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
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn file_name(e: &Entry) -> String {
    format!("{:020}.json", e.seq)
}

impl Outbox {
    /// Opens (creating) the outbox; new entries continue after any left
    /// from before a crash.
    pub fn open(dir: &Path) -> std::io::Result<Outbox> {
        crate::fsutil::ensure_dir(dir, 0o700)?;
        let ob = Outbox {
            dir: dir.to_path_buf(),
            next: AtomicU64::new(1),
            wake: Notify::new(),
            stats: OutboxStats::default(),
            memory: Default::default(),
            done: Default::default(),
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
        let e = Entry {
            seq: self.next.fetch_add(1, Ordering::SeqCst),
            target,
            html,
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
            match std::fs::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice::<Entry>(&b).ok())
            {
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

    /// Merges the oldest consecutive entries for one chat into one message.
    fn batch(entries: &[Entry]) -> (String, usize) {
        let mut text = String::new();
        let mut n = 0;
        for e in entries {
            let extra = if text.is_empty() {
                e.html.chars().count()
            } else {
                e.html.chars().count() + 2
            };
            if n > 0 && text.chars().count() + extra > crate::telegram::render::MAX_TEXT {
                break;
            }
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&e.html);
            n += 1;
        }
        (text, n.max(1))
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
                let (text, n) = Outbox::batch(entries);
                let to = Target {
                    chat_id: target.chat_id,
                    thread_id: target.thread_id,
                };
                // An in-flight send is never abandoned at shutdown: Telegram
                // may already have it, and the entry must then be removed.
                if shutdown.is_cancelled() {
                    return;
                }
                let result = send::message(&bot, to, &text, None, None).await;
                match result {
                    Ok(_) => {
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
            p.iter().map(|e| e.html.as_str()).collect::<Vec<_>>(),
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
        let e = |i: u64, n: usize| Entry {
            seq: i,
            target: target(1),
            html: "x".repeat(n),
            created: chrono::Utc::now(),
        };
        let (t, n) = Outbox::batch(&[e(1, 10), e(2, 10), e(3, 10)]);
        assert_eq!((t.len(), n), (34, 3));
        let (_, n) = Outbox::batch(&[e(1, 3000), e(2, 3000)]);
        assert_eq!(n, 1);
    }
}
