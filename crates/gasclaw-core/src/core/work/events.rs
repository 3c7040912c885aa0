//! Following the town's event log (`<town>/.events.jsonl`, gastown-work.md
//! §1) with a durable cursor.
//!
//! The log is appended by every gt process under a flock, one JSON object per
//! line, and **rewritten by rename** at daemon start and hourly by the KRC
//! pruner (new inode, expired lines dropped). The follower therefore tails
//! the path, not a file handle: it keeps the byte offset of the last complete
//! line, buffers a torn last line until its `\n`, and on every poll compares
//! the path's inode and size with its own. On a new inode it first drains
//! what the old file still holds, then reads the new one from the start,
//! skipping lines older than the last one it processed and, within a short
//! slack, the exact lines it already saw (gt's timestamps have one-second
//! precision). The cursor (inode, offset, the last line's hash, the recent
//! lines' hashes) is saved atomically in `GASCLAW_HOME`, so nothing is
//! announced twice across restarts and nothing written while gasclaw was
//! down is missed. A line that is not an event is counted and skipped, never
//! fatal.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use blake2::Digest;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How far back (in event time) a rewrite may reorder lines: writers stamp
/// the time before they take the lock.
const SLACK_SECS: i64 = 5;
/// The most recent line hashes kept for deduplication.
const MAX_RECENT: usize = 4096;
/// A line longer than this is not an event (gt's own reader stops at 1 MiB).
const MAX_LINE: usize = 1 << 20;
/// How much of the file before the cursor is read to check that the cursor
/// still points just after the line it names.
const VERIFY_WINDOW: u64 = 2 * MAX_LINE as u64;

/// One line of the event log (§1.2): `ts`, `source`, `type`, `actor`,
/// `payload` (absent when empty), `visibility`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TownEvent {
    pub ts: DateTime<Utc>,
    #[serde(default)]
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub payload: Value,
    #[serde(default)]
    pub visibility: String,
}

impl TownEvent {
    /// A payload field as text (numbers and booleans too); `None` when
    /// absent or empty.
    pub fn field(&self, key: &str) -> Option<String> {
        match self.payload.get(key)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Array(a) if !a.is_empty() => Some(
                a.iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            _ => None,
        }
    }
}

/// Why a line is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("not UTF-8")]
    NotUtf8,
    #[error("not an event: {0}")]
    NotAnEvent(String),
    #[error("longer than {MAX_LINE} bytes")]
    TooLong,
}

/// Parses one line (without its `\n`).
pub fn parse_line(line: &[u8]) -> Result<TownEvent, LineError> {
    if line.len() > MAX_LINE {
        return Err(LineError::TooLong);
    }
    let text = std::str::from_utf8(line).map_err(|_| LineError::NotUtf8)?;
    let ev: TownEvent =
        serde_json::from_str(text.trim()).map_err(|e| LineError::NotAnEvent(e.to_string()))?;
    if ev.kind.is_empty() {
        return Err(LineError::NotAnEvent("empty type".into()));
    }
    if !(ev.payload.is_null() || ev.payload.is_object()) {
        return Err(LineError::NotAnEvent("payload is not an object".into()));
    }
    Ok(ev)
}

/// The follower's errors (reading the log or saving the cursor).
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("reading the event log {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("saving the event cursor {path}: {source}")]
    SaveCursor {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn line_hash(line: &[u8]) -> String {
    hex::encode(blake2::Blake2b::<blake2::digest::consts::U8>::digest(line))
}

/// Where the follower is, durably.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The inode of the file the offset is in (0: never opened).
    pub inode: u64,
    /// Just after the last complete line processed.
    pub offset: u64,
    /// The hash of that line (checked on reopening: an inode number may be
    /// reused by a later rewrite).
    #[serde(default)]
    pub last_line: Option<String>,
    /// The newest event time processed.
    #[serde(default)]
    pub last_ts: Option<DateTime<Utc>>,
    /// Hashes of the lines processed within `SLACK_SECS` of `last_ts`.
    #[serde(default)]
    pub recent: VecDeque<(DateTime<Utc>, String)>,
}

/// What one poll found.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<TownEvent>,
    /// Lines that were not events (skipped).
    pub malformed: usize,
    /// The log was replaced (the KRC rewrite) since the last poll.
    pub rewritten: bool,
}

/// Tails the event log by path. See the module comment.
pub struct Follower {
    path: PathBuf,
    cursor_path: Option<PathBuf>,
    cursor: Cursor,
    file: Option<File>,
    /// Bytes after the last complete line (a torn line).
    partial: Vec<u8>,
    /// Skipping the rest of an over-long line.
    skipping: bool,
    /// The line skipped is one started before the follower was (not
    /// malformed).
    quiet_skip: bool,
    dirty: bool,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("path", &self.path)
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

impl Follower {
    /// A follower of `path` whose cursor lives in `cursor_path` (`None`: in
    /// memory only, starting at the end, as `gasclaw events --follow` does).
    /// A missing or unreadable cursor starts at the end of the log: history
    /// from before gasclaw first ran is not news.
    pub fn new(path: PathBuf, cursor_path: Option<PathBuf>) -> Follower {
        let cursor = cursor_path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<Cursor>(&b).ok())
            .unwrap_or_default();
        Follower {
            path,
            cursor_path,
            cursor,
            file: None,
            partial: Vec::new(),
            skipping: false,
            quiet_skip: false,
            dirty: false,
        }
    }

    /// Starts from the beginning of the log when there is no cursor yet
    /// (`gasclaw events` shows the history).
    pub fn from_start(mut self) -> Follower {
        if self.cursor.inode == 0 {
            self.cursor.inode = u64::MAX;
        }
        self
    }

    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    fn read_err(&self, source: std::io::Error) -> EventsError {
        EventsError::Read {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads what was appended since the last poll (and handles a rewrite).
    pub fn poll(&mut self) -> Result<Batch, EventsError> {
        let mut batch = Batch::default();
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // No log yet (a town being made): every line it will get
                // is news, so it is read from its start when it appears.
                if self.cursor.inode == 0 {
                    self.cursor.inode = u64::MAX;
                }
                return Ok(batch);
            }
            Err(e) => return Err(self.read_err(e)),
        };
        let (ino, len) = (meta.ino(), meta.len());
        let mut resync = false;
        if self.file.is_none() {
            let mut f = File::open(&self.path).map_err(|e| self.read_err(e))?;
            if self.cursor.inode == 0 {
                // First run: start at the end (after a torn last line's
                // newline, when it comes).
                let mut last = [0u8; 1];
                let torn = len > 0
                    && f.seek(SeekFrom::End(-1)).is_ok()
                    && f.read_exact(&mut last).is_ok()
                    && last[0] != b'\n';
                f.seek(SeekFrom::End(0)).map_err(|e| self.read_err(e))?;
                self.cursor = Cursor {
                    inode: ino,
                    offset: len,
                    ..Cursor::default()
                };
                self.skipping = torn;
                self.quiet_skip = torn;
                self.dirty = true;
            } else if self.cursor.inode == ino
                && len >= self.cursor.offset
                && self.cursor_line_matches(&mut f)
            {
                f.seek(SeekFrom::Start(self.cursor.offset))
                    .map_err(|e| self.read_err(e))?;
            } else {
                // Rewritten while gasclaw was away.
                f.seek(SeekFrom::Start(0)).map_err(|e| self.read_err(e))?;
                resync = true;
                batch.rewritten = self.cursor.inode != u64::MAX;
            }
            self.file = Some(f);
        } else if ino != self.cursor.inode || len < self.cursor.offset {
            if ino != self.cursor.inode {
                // The old file may hold lines appended after our last read.
                self.read_available(false, &mut batch)?;
            }
            self.file = Some(File::open(&self.path).map_err(|e| self.read_err(e))?);
            resync = true;
            batch.rewritten = true;
        }
        if resync {
            self.partial.clear();
            self.skipping = false;
            self.cursor.inode = ino;
            self.cursor.offset = 0;
            self.dirty = true;
        }
        self.read_available(resync, &mut batch)?;
        Ok(batch)
    }

    /// Whether the bytes just before the cursor's offset are the line it
    /// names (else the inode number was reused by another file).
    fn cursor_line_matches(&self, f: &mut File) -> bool {
        let Some(want) = &self.cursor.last_line else {
            return self.cursor.offset == 0;
        };
        let end = self.cursor.offset;
        let start = end.saturating_sub(VERIFY_WINDOW);
        let mut buf = vec![0u8; (end - start) as usize];
        if f.seek(SeekFrom::Start(start)).is_err() || f.read_exact(&mut buf).is_err() {
            return false;
        }
        let Some(body) = buf.strip_suffix(b"\n") else {
            return false;
        };
        let line = match memchr::memrchr(b'\n', body) {
            Some(i) => &body[i + 1..],
            None if start == 0 => body,
            None => return false,
        };
        &line_hash(line) == want
    }

    fn read_available(&mut self, resync: bool, batch: &mut Batch) -> Result<(), EventsError> {
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        let mut chunk = Vec::new();
        f.read_to_end(&mut chunk).map_err(|e| EventsError::Read {
            path: self.path.clone(),
            source: e,
        })?;
        if chunk.is_empty() {
            return Ok(());
        }
        let mut rest: &[u8] = &chunk;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            let (piece, tail) = rest.split_at(i);
            rest = &tail[1..];
            let consumed = (self.partial.len() + piece.len() + 1) as u64;
            let skipped = std::mem::take(&mut self.skipping);
            let line = if self.partial.is_empty() {
                piece.to_vec()
            } else {
                let mut l = std::mem::take(&mut self.partial);
                l.extend_from_slice(piece);
                l
            };
            self.cursor.offset += consumed;
            self.dirty = true;
            if skipped {
                if !std::mem::take(&mut self.quiet_skip) {
                    batch.malformed += 1;
                }
                continue;
            }
            self.take_line(&line, resync, batch);
        }
        if self.skipping {
            self.cursor.offset += rest.len() as u64;
        } else {
            self.partial.extend_from_slice(rest);
            if self.partial.len() > MAX_LINE {
                // Not an event, however it ends: skip to its newline.
                self.cursor.offset += self.partial.len() as u64;
                self.partial.clear();
                self.skipping = true;
            }
        }
        Ok(())
    }

    fn take_line(&mut self, line: &[u8], resync: bool, batch: &mut Batch) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let hash = line_hash(line);
        self.cursor.last_line = Some(hash.clone());
        let ev = match parse_line(line) {
            Ok(ev) => ev,
            Err(e) => {
                tracing::debug!(error = %e, "skipping a line of the event log that is not an event");
                batch.malformed += 1;
                return;
            }
        };
        if resync && let Some(last) = self.cursor.last_ts {
            if ev.ts < last - chrono::Duration::seconds(SLACK_SECS) {
                return;
            }
            // Seen before the rewrite: consume one occurrence (two
            // identical events in one second are two events).
            if let Some(i) = self.cursor.recent.iter().position(|(_, h)| *h == hash) {
                self.cursor.recent.remove(i);
                self.remember(ev.ts, hash);
                return;
            }
        }
        self.remember(ev.ts, hash);
        batch.events.push(ev);
    }

    fn remember(&mut self, ts: DateTime<Utc>, hash: String) {
        let last = self.cursor.last_ts.map_or(ts, |l| l.max(ts));
        self.cursor.last_ts = Some(last);
        self.cursor.recent.push_back((ts, hash));
        let floor = last - chrono::Duration::seconds(SLACK_SECS);
        while self.cursor.recent.front().is_some_and(|(t, _)| *t < floor)
            || self.cursor.recent.len() > MAX_RECENT
        {
            self.cursor.recent.pop_front();
        }
    }

    /// Saves the cursor (atomically) if it moved; call after what the
    /// events caused is itself durable (queued in the outbox).
    pub fn commit(&mut self) -> Result<(), EventsError> {
        let Some(path) = &self.cursor_path else {
            return Ok(());
        };
        if !self.dirty {
            return Ok(());
        }
        let bytes = serde_json::to_vec(&self.cursor).map_err(|e| EventsError::SaveCursor {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        crate::fsutil::atomic_write(path, &bytes, crate::fsutil::PUBLIC_MODE).map_err(|e| {
            EventsError::SaveCursor {
                path: path.clone(),
                source: e,
            }
        })?;
        self.dirty = false;
        Ok(())
    }

    /// The path followed.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests;
