//! Outgoing rate limiting below Telegram's limits: about one message a
//! second per chat, 20 a minute per group, 30 a second overall.
//!
//! teloxide's `Throttle` adaptor releases queued requests only every 250 ms,
//! which added 0–250 ms to every reply (measured: p50 229 ms between the
//! overseer's answer and its sendMessage). This limiter computes the exact
//! earliest moment each send may go, so a message under the limits leaves at
//! once, and one over them waits just long enough. A small margin covers the
//! difference between when we send and when Telegram counts.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// One limit: at most `n` sends within any `window`.
#[derive(Debug, Clone, Copy)]
struct Rule {
    n: usize,
    window: Duration,
}

const PER_CHAT: Rule = Rule {
    n: 1,
    window: Duration::from_millis(1050),
};
const PER_GROUP: Rule = Rule {
    n: 20,
    window: Duration::from_secs(61),
};
const OVERALL: Rule = Rule {
    n: 30,
    window: Duration::from_millis(1050),
};

#[derive(Default)]
struct State {
    /// (when, chat) of recent sends, oldest first, at most a minute old.
    sent: VecDeque<(Instant, i64)>,
}

/// The earliest time a send may go so that `rule` holds over `times`
/// (sorted, oldest first).
fn earliest(times: &[Instant], rule: Rule, now: Instant) -> Instant {
    if times.len() < rule.n {
        return now;
    }
    // The n-th most recent send must leave the window first.
    let t = times[times.len() - rule.n];
    (t + rule.window).max(now)
}

/// Shared by every sender (handlers, the outbox, the overseer relay).
pub struct Limiter {
    enabled: bool,
    state: Mutex<State>,
}

impl Limiter {
    pub fn new(enabled: bool) -> Limiter {
        Limiter {
            enabled,
            state: Mutex::default(),
        }
    }

    /// Waits until a message to `chat_id` may be sent, and records it.
    pub async fn acquire(&self, chat_id: i64) {
        if !self.enabled {
            return;
        }
        loop {
            let wait = {
                let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                while st
                    .sent
                    .front()
                    .is_some_and(|(t, _)| now.duration_since(*t) > PER_GROUP.window)
                {
                    st.sent.pop_front();
                }
                let all: Vec<Instant> = st.sent.iter().map(|(t, _)| *t).collect();
                let mine: Vec<Instant> = st
                    .sent
                    .iter()
                    .filter(|(_, c)| *c == chat_id)
                    .map(|(t, _)| *t)
                    .collect();
                let mut at = earliest(&all, OVERALL, now).max(earliest(&mine, PER_CHAT, now));
                if chat_id < 0 {
                    at = at.max(earliest(&mine, PER_GROUP, now));
                }
                if at <= now {
                    st.sent.push_back((now, chat_id));
                    return;
                }
                at - now
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_sends_per_chat_and_group() {
        // Virtual time: minutes of rate-limit windows pass in milliseconds.
        crate::testing::bounded_for(Duration::from_secs(3600), async {
            let l = Limiter::new(true);
            let t0 = tokio::time::Instant::now();
            l.acquire(7).await;
            l.acquire(8).await;
            assert!(
                t0.elapsed() < Duration::from_millis(10),
                "different chats go at once"
            );
            l.acquire(7).await;
            assert!(t0.elapsed() >= PER_CHAT.window, "the same chat waits");
            let l = Limiter::new(true);
            let t0 = tokio::time::Instant::now();
            for _ in 0..21 {
                l.acquire(-100).await;
            }
            assert!(
                t0.elapsed() >= PER_GROUP.window,
                "the 21st message to a group waits a minute"
            );
            let off = Limiter::new(false);
            let t0 = tokio::time::Instant::now();
            for _ in 0..100 {
                off.acquire(1).await;
            }
            assert!(t0.elapsed() < Duration::from_millis(10));
        })
        .await
    }
}
