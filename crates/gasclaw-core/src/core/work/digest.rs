//! The daily digest: at `DIGEST_AT` (in `GASCLAW_TZ`), the day's numbers —
//! beads opened and closed, merges, commits, incidents and their downtime,
//! escalations, deaths, tokens. What only the monitor sees as it happens
//! (incidents, the town's news) is appended to `GASCLAW_HOME/digest-log.jsonl`
//! with its time, so the numbers survive restarts; beads and commits are
//! counted from bd and git when the digest is made.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::core::Core;

/// A start within this long after the digest's time still sends the day's
/// digest (gasclaw restarted around the hour); later, the day is skipped.
pub const GRACE: chrono::Duration = chrono::Duration::hours(1);

/// The day a digest covers: from the last digest (else 24 hours before
/// today's time) up to when it is made, so consecutive digests tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub day: NaiveDate,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Today's digest time in `tz` (a time skipped by a DST change moves to
/// the first valid minute after it).
fn fire_time(day: NaiveDate, at: NaiveTime, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    (0..=120).find_map(|m| {
        let t = day
            .and_time(at)
            .checked_add_signed(chrono::Duration::minutes(m))?;
        tz.from_local_datetime(&t)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
    })
}

/// The digest due at `now`, if any: today's time has come, less than
/// [`GRACE`] ago, and today's was not sent yet (`last_sent`: the day and
/// time of the last one).
pub fn due(
    now: DateTime<Utc>,
    at: NaiveTime,
    tz: chrono_tz::Tz,
    last_sent: Option<(NaiveDate, DateTime<Utc>)>,
) -> Option<Window> {
    let day = now.with_timezone(&tz).date_naive();
    if last_sent.is_some_and(|(d, _)| d == day) {
        return None;
    }
    let fire = fire_time(day, at, tz)?;
    if now < fire || now >= fire.checked_add_signed(GRACE)? {
        return None;
    }
    let day_before = fire.checked_sub_signed(chrono::Duration::days(1))?;
    let two_days = fire.checked_sub_signed(chrono::Duration::days(2))?;
    let from = match last_sent {
        Some((_, t)) if t > two_days && t < now => t,
        _ => day_before,
    };
    Some(Window { day, from, to: now })
}

/// One thing the monitor saw, for the digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logged {
    pub at: DateTime<Utc>,
    /// `down`, `recovered`, or a news kind's name (`death`, `mass_death`,
    /// `escalation`, `merged`, `merge_failed`, `convoy_landed`), `stuck`.
    pub what: String,
    /// The downtime of a recovery, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secs: Option<u64>,
}

/// The append-only log behind the digest's numbers.
#[derive(Debug, Clone)]
pub struct DigestLog {
    path: PathBuf,
}

impl DigestLog {
    pub fn new(home: &Path) -> DigestLog {
        DigestLog {
            path: home.join("digest-log.jsonl"),
        }
    }

    /// Appends one line (one write); a failure is logged, not fatal.
    pub fn record(&self, what: &str, at: DateTime<Utc>, secs: Option<u64>) {
        let line = Logged {
            at,
            what: what.to_string(),
            secs,
        };
        let Ok(mut text) = serde_json::to_string(&line) else {
            return;
        };
        text.push('\n');
        let written = crate::fsutil::open_append(&self.path, crate::fsutil::PUBLIC_MODE)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not note an event for the daily digest");
        }
    }

    /// Every line (unreadable ones skipped).
    pub fn read(&self) -> Vec<Logged> {
        std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Drops what is older than `before` (after a digest).
    pub fn prune(&self, before: DateTime<Utc>) {
        let keep: String = self
            .read()
            .into_iter()
            .filter(|l| l.at >= before)
            .filter_map(|l| serde_json::to_string(&l).ok())
            .map(|l| l + "\n")
            .collect();
        if let Err(e) =
            crate::fsutil::atomic_write(&self.path, keep.as_bytes(), crate::fsutil::PUBLIC_MODE)
        {
            tracing::warn!(error = %e, "could not prune the digest log");
        }
    }
}

/// The day's numbers. `None`: could not be counted (the program failed).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Digest {
    pub day: NaiveDate,
    pub tz: String,
    pub beads_opened: Option<usize>,
    pub beads_closed: Option<usize>,
    pub commits: Option<usize>,
    pub merges: usize,
    pub merge_failures: usize,
    pub convoys: usize,
    pub incidents: usize,
    pub downtime_secs: u64,
    pub escalations: usize,
    pub escalations_open: Option<usize>,
    pub deaths: usize,
    pub mass_deaths: usize,
    /// Stuck-agent episodes alerted (one per episode).
    pub stuck: usize,
    /// Tokens through the key proxy (when usage accounting runs here).
    pub tokens: Option<u64>,
}

fn within(t: Option<&str>, w: &Window) -> bool {
    t.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .is_some_and(|t| t >= w.from && t < w.to)
}

/// Adds what the digest log says of `w` to `d`.
fn count_log(d: &mut Digest, logged: &[Logged], w: &Window) {
    for l in logged {
        if l.at < w.from || l.at >= w.to {
            continue;
        }
        match l.what.as_str() {
            "down" => d.incidents += 1,
            "recovered" => d.downtime_secs += l.secs.unwrap_or(0),
            "death" => d.deaths += 1,
            "mass_death" => d.mass_deaths += 1,
            "escalation" => d.escalations += 1,
            "merged" => d.merges += 1,
            "merge_failed" => d.merge_failures += 1,
            "convoy_landed" => d.convoys += 1,
            "stuck" => d.stuck += 1,
            _ => {}
        }
    }
}

impl Core {
    /// The digest log (the monitor appends to it).
    pub fn digest_log(&self) -> DigestLog {
        DigestLog::new(&self.config.home)
    }

    /// The numbers of `w` (tokens are the caller's: the usage store is the
    /// running process's).
    pub async fn digest(&self, w: &Window) -> Digest {
        let mut d = Digest {
            day: w.day,
            tz: self.config.tz.name().to_string(),
            ..Digest::default()
        };
        count_log(&mut d, &self.digest_log().read(), w);
        match self.beads.all_with_times().await {
            Ok(all) => {
                d.beads_opened = Some(
                    all.iter()
                        .filter(|b| within(b.created_at.as_deref(), w))
                        .count(),
                );
                d.beads_closed = Some(
                    all.iter()
                        .filter(|b| within(b.closed_at.as_deref(), w))
                        .count(),
                );
            }
            Err(e) => tracing::warn!(error = %e, "the digest could not count the beads"),
        }
        d.escalations_open = self.escalations().await.ok().map(|v| v.len());
        let mut hashes = BTreeSet::new();
        let mut counted = false;
        for dir in self.activity_dirs() {
            match self
                .git
                .commits_between(
                    &dir,
                    w.from.timestamp(),
                    w.to.timestamp(),
                    self.config.check_timeout,
                )
                .await
            {
                Ok(Some(h)) => {
                    counted = true;
                    hashes.extend(h);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, dir = %dir.display(), "the digest could not count commits")
                }
            }
        }
        d.commits = counted.then_some(hashes.len());
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn due_once_a_day_at_its_local_time_within_the_grace() {
        let tz = chrono_tz::Tz::Asia__Shanghai; // UTC+8
        let at = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        assert_eq!(due(utc("2026-12-06T00:59:59Z"), at, tz, None), None);
        let w = due(utc("2026-12-06T01:00:30Z"), at, tz, None).unwrap();
        assert_eq!(w.day, NaiveDate::from_ymd_opt(2026, 12, 6).unwrap());
        assert_eq!(
            (w.from, w.to),
            (utc("2026-12-05T01:00:00Z"), utc("2026-12-06T01:00:30Z"))
        );
        assert!(due(utc("2026-12-06T01:59:00Z"), at, tz, None).is_some());
        assert_eq!(
            due(utc("2026-12-06T02:00:00Z"), at, tz, None),
            None,
            "past the grace"
        );
        let sent = Some((w.day, w.to));
        assert_eq!(due(utc("2026-12-06T01:10:00Z"), at, tz, sent), None, "sent");
        // The next day's starts where this one ended.
        let next = due(utc("2026-12-07T01:00:05Z"), at, tz, sent).unwrap();
        assert_eq!(next.from, utc("2026-12-06T01:00:30Z"));
        // After a long pause, a day back only.
        let long_ago = Some((
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            utc("2026-11-01T01:00:00Z"),
        ));
        assert_eq!(
            due(utc("2026-12-07T01:00:05Z"), at, tz, long_ago)
                .unwrap()
                .from,
            utc("2026-12-06T01:00:00Z")
        );
        // Berlin's spring gap: 02:30 does not exist on 2026-03-29.
        let berlin = chrono_tz::Tz::Europe__Berlin;
        let gap = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        assert_eq!(due(utc("2026-03-29T00:59:00Z"), gap, berlin, None), None);
        let w = due(utc("2026-03-29T01:00:00Z"), gap, berlin, None).unwrap();
        assert_eq!(
            w.from,
            utc("2026-03-28T01:00:00Z"),
            "03:00 CEST, the first minute after"
        );
    }

    #[test]
    fn the_day_counts_what_the_log_says_within_its_window() {
        let w = Window {
            day: NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
            from: utc("2026-12-06T00:00:00Z"),
            to: utc("2026-12-07T00:00:00Z"),
        };
        let at = |t: &str, what: &str, secs: Option<u64>| Logged {
            at: utc(t),
            what: what.to_string(),
            secs,
        };
        let logged = [
            at("2026-12-05T23:59:59Z", "stuck", None),
            at("2026-12-06T01:00:00Z", "stuck", None),
            at("2026-12-06T02:00:00Z", "stuck", None),
            at("2026-12-06T03:00:00Z", "down", None),
            at("2026-12-06T03:05:00Z", "recovered", Some(300)),
            at("2026-12-06T04:00:00Z", "merged", None),
            at("2026-12-07T00:00:00Z", "death", None),
        ];
        let mut d = Digest::default();
        count_log(&mut d, &logged, &w);
        assert_eq!(
            (d.stuck, d.incidents, d.downtime_secs, d.merges, d.deaths),
            (2, 1, 300, 1, 0)
        );
    }

    #[test]
    fn the_log_keeps_what_it_is_told_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let log = DigestLog::new(dir.path());
        log.record("down", utc("2026-12-05T10:00:00Z"), None);
        log.record("recovered", utc("2026-12-05T10:05:00Z"), Some(300));
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("digest-log.jsonl"))
            .unwrap()
            .write_all(b"not json\n")
            .unwrap();
        log.record("death", utc("2026-12-06T10:00:00Z"), None);
        assert_eq!(log.read().len(), 3);
        log.prune(utc("2026-12-06T00:00:00Z"));
        let left = log.read();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].what, "death");
    }
}
