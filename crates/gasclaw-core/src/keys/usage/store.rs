//! The usage database: `GASCLAW_HOME/usage.sqlite` (0600, WAL).
//!
//! One row per (hour, slot, key, model, outcome) with request and token
//! sums. A single writer thread owns the write connection: it sums the
//! records it receives in memory and writes them in one transaction every
//! second or every [`BATCH`] records, so a crash (even `kill -9`) loses at
//! most the batch not yet written. Readers (the CLI, `/usage`, budgets)
//! open their own connections; WAL lets them read while it writes. Rows
//! older than the retention are deleted hourly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, params};

use super::quota::QuotaSample;
use super::{Recorder, RequestOutcome, Tokens, UsageRecord, UsageStats};
use crate::keys::{Clock, PoolKind};

/// The schema this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;
/// Records summed before a write, at most.
pub const BATCH: usize = 1000;
/// The longest a record waits in memory before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often the writer looks at its queue.
pub const DRAIN_EVERY: Duration = Duration::from_millis(100);
/// Records the proxy may queue before new ones are dropped.
pub const QUEUE: usize = 65_536;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("usage database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("usage database {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "usage database {path} has schema version {found}, newer than this gasclaw's {SCHEMA_VERSION}; upgrade gasclaw or move the file aside"
    )]
    TooNew { path: PathBuf, found: i64 },
}

pub(super) enum Msg {
    Record(UsageRecord),
    Quota(QuotaSample),
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// One stored row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Unix seconds of the hour's start (UTC).
    pub hour: i64,
    pub slot: String,
    pub pool: String,
    pub key: String,
    pub model: String,
    pub outcome: RequestOutcome,
    pub requests: u64,
    pub tokens: Tokens,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Bucket {
    hour: i64,
    slot: String,
    pool: PoolKind,
    key: String,
    model: String,
    outcome: RequestOutcome,
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

pub fn hour_of(t: SystemTime) -> i64 {
    let s = unix(t);
    s - s.rem_euclid(3600)
}

/// Sums that fit SQLite's signed integers.
fn sql_u64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn from_sql(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The usage database: open, migrate, read; [`UsageStore::spawn_writer`]
/// starts the one writer.
#[derive(Debug, Clone)]
pub struct UsageStore {
    path: PathBuf,
}

impl UsageStore {
    pub fn path_in(home: &Path) -> PathBuf {
        home.join("usage.sqlite")
    }

    /// Creates (0600) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<UsageStore, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Created 0600 before SQLite opens it; the WAL and shared-memory
            // files SQLite adds take the database file's mode.
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .map_err(io)?;
        }
        let store = UsageStore {
            path: path.to_path_buf(),
        };
        let conn = store.connect(false)?;
        store.migrate(&conn)?;
        Ok(store)
    }

    /// The store if its file exists (readers never create it).
    pub fn existing(path: &Path) -> Option<UsageStore> {
        path.exists().then(|| UsageStore {
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn connect(&self, read_only: bool) -> Result<Connection, StoreError> {
        let flags = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn = Connection::open_with_flags(&self.path, flags).map_err(|e| self.err(e))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| self.err(e))?;
        if !read_only {
            // WAL: readers never block the writer. NORMAL: a committed
            // batch survives the process dying (not a power cut).
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| self.err(e))?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(|e| self.err(e))?;
        }
        Ok(conn)
    }

    fn migrate(&self, conn: &Connection) -> Result<(), StoreError> {
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
            });
        }
        if version < 1 {
            conn.execute_batch(
                "BEGIN;
                 CREATE TABLE IF NOT EXISTS usage_hourly (
                   hour INTEGER NOT NULL,
                   slot TEXT NOT NULL,
                   pool TEXT NOT NULL,
                   key TEXT NOT NULL,
                   model TEXT NOT NULL,
                   outcome TEXT NOT NULL,
                   requests INTEGER NOT NULL,
                   input INTEGER NOT NULL,
                   output INTEGER NOT NULL,
                   cache_creation INTEGER NOT NULL,
                   cache_read INTEGER NOT NULL,
                   PRIMARY KEY (hour, slot, key, model, outcome)
                 ) WITHOUT ROWID;
                 CREATE TABLE IF NOT EXISTS quota_samples (
                   at INTEGER NOT NULL,
                   pool TEXT NOT NULL,
                   key TEXT NOT NULL,
                   quota_limit INTEGER NOT NULL,
                   used INTEGER NOT NULL,
                   remaining INTEGER NOT NULL,
                   reset INTEGER,
                   PRIMARY KEY (key, at)
                 ) WITHOUT ROWID;
                 CREATE TABLE IF NOT EXISTS budget_alerts (
                   day TEXT NOT NULL,
                   scope TEXT NOT NULL,
                   level INTEGER NOT NULL,
                   at INTEGER NOT NULL,
                   PRIMARY KEY (day, scope, level)
                 ) WITHOUT ROWID;
                 PRAGMA user_version = 1;
                 COMMIT;",
            )
            .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Starts the writer thread; the [`Recorder`] feeds it. It stops (after
    /// a last write) when every recorder is dropped.
    pub fn spawn_writer(
        &self,
        retention: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<(Recorder, Writer), StoreError> {
        self.spawn_writer_with_queue(retention, clock, QUEUE)
    }

    /// As [`UsageStore::spawn_writer`], with a queue of `queue` records.
    pub fn spawn_writer_with_queue(
        &self,
        retention: Duration,
        clock: Arc<dyn Clock>,
        queue: usize,
    ) -> Result<(Recorder, Writer), StoreError> {
        let conn = self.connect(false)?;
        self.migrate(&conn)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(queue);
        let stats = Arc::new(UsageStats::default());
        let st = stats.clone();
        let store = self.clone();
        let ck = clock.clone();
        let thread = std::thread::Builder::new()
            .name("usage-writer".into())
            .spawn(move || writer_loop(store, conn, rx, st, retention, ck))
            .map_err(|source| StoreError::Io {
                path: self.path.clone(),
                source,
            })?;
        let waker = thread.thread().clone();
        Ok((
            Recorder {
                tx,
                stats,
                clock,
                writer: waker,
            },
            Writer { thread },
        ))
    }

    /// Every row from `since_hour` on.
    pub fn rows_since(&self, since_hour: i64) -> Result<Vec<Row>, StoreError> {
        let conn = self.connect(true)?;
        let mut stmt = conn
            .prepare(
                "SELECT hour, slot, pool, key, model, outcome, requests, input, output, cache_creation, cache_read
                 FROM usage_hourly WHERE hour >= ?1 ORDER BY hour, slot, key, model, outcome",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![since_hour], |r| {
                let outcome: String = r.get(5)?;
                Ok(Row {
                    hour: r.get(0)?,
                    slot: r.get(1)?,
                    pool: r.get(2)?,
                    key: r.get(3)?,
                    model: r.get(4)?,
                    outcome: RequestOutcome::parse(&outcome).unwrap_or(RequestOutcome::Failed),
                    requests: from_sql(r.get(6)?),
                    tokens: Tokens {
                        input: from_sql(r.get(7)?),
                        output: from_sql(r.get(8)?),
                        cache_creation: from_sql(r.get(9)?),
                        cache_read: from_sql(r.get(10)?),
                    },
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Quota samples taken at or after `since` (unix seconds), oldest first.
    pub fn quota_since(&self, since: i64) -> Result<Vec<QuotaSample>, StoreError> {
        let conn = self.connect(true)?;
        let mut stmt = conn
            .prepare(
                "SELECT at, pool, key, quota_limit, used, remaining, reset FROM quota_samples
                 WHERE at >= ?1 ORDER BY at, key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![since], |r| {
                let pool: String = r.get(1)?;
                Ok(QuotaSample {
                    at: r.get(0)?,
                    pool: if pool == "overseer" {
                        PoolKind::Overseer
                    } else {
                        PoolKind::Agents
                    },
                    key: r.get(2)?,
                    limit: from_sql(r.get(3)?),
                    used: from_sql(r.get(4)?),
                    remaining: from_sql(r.get(5)?),
                    reset: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Marks a budget alert as sent; false when it already was (today).
    pub fn claim_budget_alert(
        &self,
        day: &str,
        scope: &str,
        level: u8,
        at: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.connect(false)?;
        let n = conn
            .execute(
                "INSERT OR IGNORE INTO budget_alerts (day, scope, level, at) VALUES (?1, ?2, ?3, ?4)",
                params![day, scope, level, at],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// The database's size on disk, WAL included.
    pub fn size_bytes(&self) -> u64 {
        let mut n = 0;
        for suffix in ["", "-wal"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            n += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        }
        n
    }

    fn write(
        &self,
        conn: &mut Connection,
        sums: &mut HashMap<Bucket, (u64, Tokens)>,
        quotas: &mut Vec<QuotaSample>,
    ) -> Result<(), rusqlite::Error> {
        let tx = conn.transaction()?;
        {
            let mut up = tx.prepare_cached(
                "INSERT INTO usage_hourly (hour, slot, pool, key, model, outcome, requests, input, output, cache_creation, cache_read)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (hour, slot, key, model, outcome) DO UPDATE SET
                   requests = requests + excluded.requests,
                   input = input + excluded.input,
                   output = output + excluded.output,
                   cache_creation = cache_creation + excluded.cache_creation,
                   cache_read = cache_read + excluded.cache_read",
            )?;
            for (b, (n, t)) in sums.iter() {
                up.execute(params![
                    b.hour,
                    b.slot,
                    b.pool.name(),
                    b.key,
                    b.model,
                    b.outcome.name(),
                    sql_u64(*n),
                    sql_u64(t.input),
                    sql_u64(t.output),
                    sql_u64(t.cache_creation),
                    sql_u64(t.cache_read),
                ])?;
            }
            let mut q = tx.prepare_cached(
                "INSERT OR REPLACE INTO quota_samples (at, pool, key, quota_limit, used, remaining, reset)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for s in quotas.iter() {
                q.execute(params![
                    s.at,
                    s.pool.name(),
                    s.key,
                    sql_u64(s.limit),
                    sql_u64(s.used),
                    sql_u64(s.remaining),
                    s.reset,
                ])?;
            }
        }
        tx.commit()?;
        sums.clear();
        quotas.clear();
        Ok(())
    }

    fn prune(&self, conn: &Connection, cutoff: i64) -> Result<(), rusqlite::Error> {
        conn.execute("DELETE FROM usage_hourly WHERE hour < ?1", params![cutoff])?;
        conn.execute("DELETE FROM quota_samples WHERE at < ?1", params![cutoff])?;
        conn.execute("DELETE FROM budget_alerts WHERE at < ?1", params![cutoff])?;
        Ok(())
    }
}

/// The writer thread; `join` waits for its last write (which happens once every
/// [`Recorder`] is gone).
pub struct Writer {
    thread: std::thread::JoinHandle<()>,
}

impl Writer {
    /// Waits for the thread to finish its last write.
    pub fn join(self) {
        self.thread.thread().unpark();
        let _ = self.thread.join();
    }
}

fn writer_loop(
    store: UsageStore,
    mut conn: Connection,
    rx: std::sync::mpsc::Receiver<Msg>,
    stats: Arc<UsageStats>,
    retention: Duration,
    clock: Arc<dyn Clock>,
) {
    use std::sync::mpsc::TryRecvError;
    let mut sums: HashMap<Bucket, (u64, Tokens)> = HashMap::new();
    let mut quotas: Vec<QuotaSample> = Vec::new();
    let mut pending = 0usize;
    let mut last_write = Instant::now();
    let mut last_prune: Option<Instant> = None;
    let retention_secs = i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
    loop {
        // Drain what is queued. The writer is never woken per record (a
        // wake-up per request costs the proxy a syscall and a context
        // switch): it looks every `DRAIN_EVERY`, or when a flush asks.
        let mut flush_replies = Vec::new();
        let mut stop = false;
        while pending < BATCH {
            match rx.try_recv() {
                Ok(Msg::Record(r)) => {
                    let b = Bucket {
                        hour: hour_of(r.at),
                        slot: r.slot,
                        pool: r.pool,
                        key: r.key,
                        model: r.model,
                        outcome: r.outcome,
                    };
                    let e = sums.entry(b).or_default();
                    e.0 += 1;
                    e.1.add(&r.tokens);
                    pending += 1;
                }
                Ok(Msg::Quota(q)) => quotas.push(q),
                Ok(Msg::Flush(reply)) => flush_replies.push(reply),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    stop = true;
                    break;
                }
            }
        }
        let full = pending >= BATCH;
        let due = last_write.elapsed() >= FLUSH_EVERY;
        if full
            || !flush_replies.is_empty()
            || stop
            || (due && (!sums.is_empty() || !quotas.is_empty()))
        {
            if !sums.is_empty() || !quotas.is_empty() {
                match store.write(&mut conn, &mut sums, &mut quotas) {
                    Ok(()) => {
                        stats.flushes.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        // Kept in memory and tried again at the next write.
                        tracing::warn!(error = %e, "could not write token usage; retrying");
                    }
                }
            }
            if sums.is_empty() {
                stats.backlog.fetch_sub(pending as u64, Ordering::Relaxed);
                pending = 0;
            }
            last_write = Instant::now();
        }
        if due && last_prune.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
            last_prune = Some(Instant::now());
            let cutoff = unix(clock.now()).saturating_sub(retention_secs);
            if let Err(e) = store.prune(&conn, cutoff) {
                tracing::warn!(error = %e, "could not delete old token usage");
            }
        }
        for r in flush_replies {
            let _ = r.send(());
        }
        if stop {
            return;
        }
        if !full {
            std::thread::park_timeout(DRAIN_EVERY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ManualClock;

    fn rec(at: SystemTime, slot: &str, key: &str, out: u64) -> UsageRecord {
        UsageRecord {
            at,
            slot: slot.into(),
            pool: PoolKind::Agents,
            key: key.into(),
            model: "kimi-for-coding".into(),
            outcome: RequestOutcome::Ok,
            tokens: Tokens {
                input: 10,
                output: out,
                cache_creation: 1,
                cache_read: 2,
            },
        }
    }

    #[test]
    fn records_sum_per_hour_and_survive_reopening() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = UsageStore::path_in(dir.path());
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = ManualClock::new(t0);
        let store = UsageStore::open(&path).expect("open");
        let (rec_, writer) = store
            .spawn_writer(Duration::from_secs(90 * 86400), Arc::new(clock.clone()))
            .expect("writer");
        for i in 0..2500u64 {
            rec_.record(rec(t0 + Duration::from_secs(i), "agent-1", "…aaaa", 3));
        }
        rec_.record(rec(t0, "agent-2", "…bbbb", 5));
        rec_.flush();
        assert_eq!(rec_.stats().backlog.load(Ordering::Relaxed), 0);
        drop(rec_);
        writer.join();
        let again = UsageStore::open(&path).expect("reopen");
        let rows = again.rows_since(0).expect("rows");
        let a: u64 = rows
            .iter()
            .filter(|r| r.slot == "agent-1")
            .map(|r| r.requests)
            .sum();
        let out: u64 = rows
            .iter()
            .filter(|r| r.slot == "agent-1")
            .map(|r| r.tokens.output)
            .sum();
        assert_eq!((a, out), (2500, 7500));
        // 2500 s from an hour boundary spans one or two hours.
        assert!(rows.iter().filter(|r| r.slot == "agent-1").count() <= 2);
        assert_eq!(
            std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = UsageStore::open(&UsageStore::path_in(dir.path())).expect("open");
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (r, w) = store
            .spawn_writer_with_queue(
                Duration::from_secs(86400),
                Arc::new(ManualClock::new(t0)),
                8,
            )
            .expect("writer");
        let started = Instant::now();
        for i in 0..5000 {
            r.record(rec(t0 + Duration::from_secs(i), "agent-1", "…a", 1));
        }
        // Never waited for the writer (it looks every 100 ms).
        assert!(started.elapsed() < DRAIN_EVERY, "{:?}", started.elapsed());
        let dropped = r.stats().dropped.load(Ordering::Relaxed);
        assert!(dropped > 0);
        r.flush();
        assert_eq!(r.stats().backlog.load(Ordering::Relaxed), 0);
        let stored: u64 = store
            .rows_since(0)
            .expect("rows")
            .iter()
            .map(|r| r.requests)
            .sum();
        assert_eq!(stored + dropped, 5000);
        assert_eq!(r.stats().recorded.load(Ordering::Relaxed), 5000);
        drop(r);
        w.join();
    }

    #[test]
    fn a_newer_schema_is_refused_and_old_rows_are_pruned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = UsageStore::path_in(dir.path());
        let store = UsageStore::open(&path).expect("open");
        // Reopening an up-to-date database migrates nothing.
        UsageStore::open(&path).expect("reopen");
        let t_now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (r, w) = store
            .spawn_writer(
                Duration::from_secs(86400),
                Arc::new(ManualClock::new(t_now)),
            )
            .expect("writer");
        r.record(rec(
            t_now - Duration::from_secs(3 * 86400),
            "agent-1",
            "…a",
            1,
        ));
        r.flush();
        // The hourly prune runs on the next due write.
        std::thread::sleep(FLUSH_EVERY + Duration::from_millis(200));
        r.record(rec(t_now, "agent-1", "…a", 1));
        r.flush();
        drop(r);
        w.join();
        let rows = store.rows_since(0).expect("rows");
        assert_eq!(rows.len(), 1, "{rows:?}");
        let conn = Connection::open(&path).expect("conn");
        conn.pragma_update(None, "user_version", 99).expect("bump");
        drop(conn);
        let e = UsageStore::open(&path).expect_err("too new");
        assert!(e.to_string().contains("schema version 99"), "{e}");
    }
}
