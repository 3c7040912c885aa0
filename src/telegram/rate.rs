//! The per-person command rate: what one person may ask of the bot in a
//! minute (members a few, the owner and operators many more). Over it the
//! person gets one "slow down" and then silence until the minute frees up,
//! so one eager or hostile member cannot keep the bot busy for everyone.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window the rate is counted over.
const WINDOW: Duration = Duration::from_secs(60);

/// What to do with one more command from a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Go,
    /// Over the rate for the first time in this stretch: say so, once.
    SlowDown,
    /// Still over it: nothing at all.
    Silent,
}

#[derive(Default)]
struct Person {
    /// When the accepted commands of the last minute came, oldest first.
    times: VecDeque<Instant>,
    warned: bool,
}

#[derive(Default)]
pub struct PersonRate {
    people: Mutex<HashMap<u64, Person>>,
}

impl PersonRate {
    pub fn check(&self, user: u64, per_minute: u32) -> Verdict {
        self.check_at(user, per_minute, Instant::now())
    }

    fn check_at(&self, user: u64, per_minute: u32, now: Instant) -> Verdict {
        let mut people = self.people.lock().unwrap_or_else(|e| e.into_inner());
        // Forget people idle for a minute, so the map stays small.
        if people.len() > 1024 {
            people.retain(|_, p| {
                p.times
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < WINDOW)
            });
        }
        let p = people.entry(user).or_default();
        while p
            .times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            p.times.pop_front();
        }
        if p.times.len() < per_minute as usize {
            p.times.push_back(now);
            p.warned = false;
            Verdict::Go
        } else if p.warned {
            Verdict::Silent
        } else {
            p.warned = true;
            Verdict::SlowDown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slow_down_then_silence_until_the_minute_frees_up() {
        let r = PersonRate::default();
        let t0 = Instant::now();
        for i in 0..5 {
            assert_eq!(r.check_at(1, 5, t0 + Duration::from_secs(i)), Verdict::Go);
        }
        assert_eq!(
            r.check_at(1, 5, t0 + Duration::from_secs(6)),
            Verdict::SlowDown
        );
        for i in 7..60 {
            assert_eq!(
                r.check_at(1, 5, t0 + Duration::from_secs(i)),
                Verdict::Silent
            );
        }
        // Someone else is not affected.
        assert_eq!(r.check_at(2, 5, t0 + Duration::from_secs(30)), Verdict::Go);
        // The first command leaves the window: one more goes, and a new
        // stretch over the rate is told again.
        assert_eq!(r.check_at(1, 5, t0 + Duration::from_secs(60)), Verdict::Go);
        assert_eq!(
            r.check_at(1, 5, t0 + Duration::from_secs(60)),
            Verdict::SlowDown
        );
    }
}
