//! The usage store (issue 15): sustained accounting at 2,000 requests/s
//! without a growing backlog (the writer's queue, sampled every second),
//! the writer's ceiling, and the database's size after a simulated week of
//! a 6-slot town (plus the overseer).
//! Run: `cargo bench --bench usage`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic on the unexpected

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gasclaw_core::keys::usage::{RequestOutcome, Tokens, UsageRecord, UsageStore};
use gasclaw_core::keys::{ManualClock, PoolKind, SystemClock};

fn record(at: SystemTime, slot: usize, key: usize, outcome: RequestOutcome) -> UsageRecord {
    UsageRecord {
        at,
        slot: if slot == 6 {
            "overseer".into()
        } else {
            format!("agent-{}", slot + 1)
        },
        pool: if slot == 6 {
            PoolKind::Overseer
        } else {
            PoolKind::Agents
        },
        key: format!("…k{key:03}"),
        model: "kimi-for-coding".into(),
        outcome,
        tokens: Tokens {
            input: 2_400,
            output: 380,
            cache_creation: 1_200,
            cache_read: 41_000,
        },
    }
}

fn sustained(rate: u64, secs: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = UsageStore::open(&UsageStore::path_in(dir.path())).expect("open");
    let (rec, writer) = store
        .spawn_writer(Duration::from_secs(90 * 86400), Arc::new(SystemClock))
        .expect("writer");
    let stats = rec.stats().clone();
    let start = Instant::now();
    let mut sent = 0u64;
    let mut samples = Vec::new();
    let mut next_sample = Duration::from_secs(1);
    // Paced in 5 ms steps, like requests ending all the time.
    while start.elapsed() < Duration::from_secs(secs) {
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due {
            let i = sent as usize;
            rec.record(record(SystemTime::now(), i % 7, i % 4, RequestOutcome::Ok));
            sent += 1;
        }
        if start.elapsed() >= next_sample {
            samples.push(stats.backlog.load(Ordering::Relaxed));
            next_sample += Duration::from_secs(1);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = start.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(1500));
    let after = stats.backlog.load(Ordering::Relaxed);
    let rows: u64 = store
        .rows_since(0)
        .expect("rows")
        .iter()
        .map(|r| r.requests)
        .sum();
    println!(
        "sustained: {sent} records in {elapsed:.1} s ({:.0}/s); queue each second: {samples:?}; \
         max {}, {after} left 1.5 s after the load; dropped {}; {} batches written; {rows} requests in the store",
        sent as f64 / elapsed,
        samples.iter().max().copied().unwrap_or(0),
        stats.dropped.load(Ordering::Relaxed),
        stats.flushes.load(Ordering::Relaxed),
    );
    drop(rec);
    writer.join();
}

fn ceiling(n: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = UsageStore::open(&UsageStore::path_in(dir.path())).expect("open");
    let (rec, writer) = store
        .spawn_writer(Duration::from_secs(90 * 86400), Arc::new(SystemClock))
        .expect("writer");
    let stats = rec.stats().clone();
    let start = Instant::now();
    let t0 = SystemTime::now();
    for i in 0..n {
        // Spread over hours so rows keep being added, not only updated.
        let at = t0 + Duration::from_secs(i / 50);
        while stats.backlog.load(Ordering::Relaxed) > 60_000 {
            std::thread::yield_now();
        }
        rec.record(record(
            at,
            (i % 7) as usize,
            (i % 4) as usize,
            RequestOutcome::Ok,
        ));
    }
    rec.flush();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "writer ceiling: {n} records summed and written in {secs:.2} s → {:.0} records/s (dropped {})",
        n as f64 / secs,
        stats.dropped.load(Ordering::Relaxed)
    );
    drop(rec);
    writer.join();
}

fn week() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = UsageStore::open(&UsageStore::path_in(dir.path())).expect("open");
    let t0 = UNIX_EPOCH + Duration::from_secs(1_796_000_000);
    let end = t0 + Duration::from_secs(7 * 86400);
    let clock = ManualClock::new(end);
    let (rec, writer) = store
        .spawn_writer(Duration::from_secs(90 * 86400), Arc::new(clock))
        .expect("writer");
    let mut n = 0u64;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for hour in 0..7 * 24u64 {
        for slot in 0..7usize {
            // One request a minute per agent, a few for the overseer.
            let per_hour = if slot == 6 { 10 } else { 60 };
            for m in 0..per_hour {
                let r = next();
                // Sticky to one key, sometimes rotated to another.
                let key = if r % 20 == 0 {
                    (slot + 1) % 3
                } else {
                    slot % 3
                };
                let outcome = match r % 100 {
                    0 | 1 => RequestOutcome::Failed,
                    2 => RequestOutcome::Cancelled,
                    _ => RequestOutcome::Ok,
                };
                let at = t0 + Duration::from_secs(hour * 3600 + m * 3600 / per_hour);
                rec.record(record(at, slot, if slot == 6 { 3 } else { key }, outcome));
                n += 1;
            }
        }
        if n % 20_000 < 430 {
            rec.flush();
        }
    }
    rec.flush();
    drop(rec);
    writer.join();
    let rows = store.rows_since(0).expect("rows").len();
    let main = std::fs::metadata(store.path())
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "a simulated week of a 6-slot town (+ overseer, 3 agent keys + 1): {n} requests → {rows} hourly rows; \
         usage.sqlite {:.0} KiB ({:.0} KiB with its WAL); 90 days ≈ {:.1} MiB",
        main as f64 / 1024.0,
        store.size_bytes() as f64 / 1024.0,
        main as f64 * 90.0 / 7.0 / 1024.0 / 1024.0
    );
}

fn main() {
    sustained(2_000, 10);
    ceiling(300_000);
    week();
}
