//! One queue per chat, off teloxide's dispatcher: the dispatcher's per-chat
//! workers only hand an update over (never wait), and each chat's lane runs
//! its handlers in order, waiting on Telegram's limits for that chat alone.
//! A chat that floods its lane loses updates (logged and counted) instead
//! of holding anyone else up. Lanes end when idle.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

/// Updates a chat may have waiting (at Telegram's 20 messages a minute to a
/// group, a minute and a half of replies).
const DEPTH: usize = 32;

/// A lane with nothing to do for this long ends (a new update starts one).
const IDLE: Duration = Duration::from_secs(60);

pub type Job = BoxFuture<'static, ()>;

#[derive(Default)]
pub struct Lanes {
    lanes: Mutex<HashMap<i64, mpsc::Sender<Job>>>,
    dropped: AtomicU64,
}

impl Lanes {
    /// Queues `job` on `chat`'s lane without waiting; false when the lane
    /// is full and the job was dropped.
    pub fn push(self: &Arc<Self>, chat: i64, job: Job) -> bool {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let job = match lanes.get(&chat) {
            None => job,
            Some(tx) => match tx.try_send(job) {
                Ok(()) => return true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        chat,
                        "this chat has {DEPTH} updates waiting; dropped one (a flood?)"
                    );
                    return false;
                }
                Err(mpsc::error::TrySendError::Closed(job)) => job,
            },
        };
        let (tx, rx) = mpsc::channel(DEPTH);
        // A new channel has room.
        let _ = tx.try_send(job);
        lanes.insert(chat, tx);
        tokio::spawn(self.clone().drain(chat, rx));
        true
    }

    /// Updates dropped because their chat's lane was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    async fn drain(self: Arc<Self>, chat: i64, mut rx: mpsc::Receiver<Job>) {
        loop {
            match tokio::time::timeout(IDLE, rx.recv()).await {
                Ok(Some(job)) => job.await,
                Ok(None) => return,
                Err(_) => {
                    // Under the lock, so no push lands in a lane that ends.
                    let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
                    if rx.is_empty() {
                        lanes.remove(&chat);
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stuck_chat_holds_up_no_other_and_drops_its_flood() {
        crate::testing::bounded_for(Duration::from_secs(10), async {
            let lanes = Arc::new(Lanes::default());
            let (tx, mut rx) = mpsc::unbounded_channel::<(i64, usize)>();
            let gate = Arc::new(tokio::sync::Notify::new());
            // Chat 1's first job never finishes until the gate opens.
            let g = gate.clone();
            let (started_tx, started) = tokio::sync::oneshot::channel();
            assert!(lanes.push(
                1,
                Box::pin(async move {
                    let _ = started_tx.send(());
                    g.notified().await
                })
            ));
            started.await.expect("the first job runs");
            let mut accepted = 0;
            for i in 0..100 {
                let tx = tx.clone();
                if lanes.push(
                    1,
                    Box::pin(async move {
                        let _ = tx.send((1, i));
                    }),
                ) {
                    accepted += 1;
                }
            }
            assert_eq!(
                accepted, DEPTH,
                "the flood beyond the lane's depth is dropped"
            );
            assert!(lanes.dropped() >= 100 - DEPTH as u64);
            let t = tx.clone();
            assert!(lanes.push(
                2,
                Box::pin(async move {
                    let _ = t.send((2, 0));
                })
            ));
            assert_eq!(rx.recv().await, Some((2, 0)), "chat 2 went first");
            gate.notify_one();
            for i in 0..DEPTH {
                assert_eq!(rx.recv().await, Some((1, i)), "in order");
            }
        })
        .await
    }
}
