//! gasclaw's long-lived tasks under watch. Each runs inside its own tokio
//! task so a panic is caught; when one ends before shutdown it is marked
//! dead (`/healthz` answers 503 naming it) and, by its policy, started again
//! with backoff or taken as fatal: gasclaw then stops in order and exits
//! non-zero so the container restarts. Also the panic hook that logs every
//! panic with its location.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// What to do when a task dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Start it again after a backoff; after [`MAX_RESTARTS`] within
    /// [`RESTART_WINDOW`], give up as [`Policy::Exit`] does.
    Restart,
    /// Stop gasclaw with a non-zero exit.
    Exit,
}

pub const MAX_RESTARTS: usize = 5;
pub const RESTART_WINDOW: Duration = Duration::from_secs(600);

/// One task's state as `/healthz` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskState {
    pub alive: bool,
    pub restarts: u32,
    /// Why it last died.
    pub last_failure: Option<String>,
}

#[derive(Default)]
pub struct Supervisor {
    tasks: Mutex<BTreeMap<&'static str, TaskState>>,
    /// Cancelled when a task died for good.
    fatal: CancellationToken,
    fatal_reason: Mutex<Option<String>>,
}

impl Supervisor {
    pub fn new() -> Arc<Supervisor> {
        Arc::default()
    }

    fn set(&self, name: &'static str, f: impl FnOnce(&mut TaskState)) {
        let mut t = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        let s = t.entry(name).or_insert(TaskState {
            alive: false,
            restarts: 0,
            last_failure: None,
        });
        f(s);
    }

    /// Every task and its state.
    pub fn tasks(&self) -> BTreeMap<&'static str, TaskState> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The tasks that are not running now.
    pub fn dead(&self) -> Vec<&'static str> {
        self.tasks()
            .into_iter()
            .filter(|(_, s)| !s.alive)
            .map(|(n, _)| n)
            .collect()
    }

    /// Resolves when a task died for good.
    pub async fn fatal(&self) {
        self.fatal.cancelled().await
    }

    /// Why gasclaw must exit non-zero, if a task died for good.
    pub fn fatal_reason(&self) -> Option<String> {
        self.fatal_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs `make()`'s future as `name` until `stop`, by `policy`.
    pub fn spawn<F, Fut>(
        self: &Arc<Self>,
        name: &'static str,
        policy: Policy,
        stop: CancellationToken,
        make: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        tokio::spawn(self.clone().watch(name, policy, stop, make))
    }

    /// [`Supervisor::spawn`] in the caller's task.
    pub async fn watch<F, Fut>(
        self: Arc<Self>,
        name: &'static str,
        policy: Policy,
        stop: CancellationToken,
        mut make: F,
    ) where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let mut deaths: VecDeque<Instant> = VecDeque::new();
        loop {
            self.set(name, |s| s.alive = true);
            // Its own task: a panic ends that task, not this watch.
            let outcome = tokio::spawn(make()).await;
            if stop.is_cancelled() {
                return;
            }
            let why = match outcome {
                Ok(Ok(())) => "it ended".to_string(),
                Ok(Err(e)) => format!("{e:#}"),
                Err(e) if e.is_panic() => "it panicked".to_string(),
                Err(e) => e.to_string(),
            };
            self.set(name, |s| {
                s.alive = false;
                s.last_failure = Some(why.clone());
            });
            let now = Instant::now();
            deaths.push_back(now);
            while deaths
                .front()
                .is_some_and(|t| now.duration_since(*t) > RESTART_WINDOW)
            {
                deaths.pop_front();
            }
            if policy == Policy::Exit || deaths.len() > MAX_RESTARTS {
                let reason = format!("the {name} task died ({why})");
                tracing::error!(task = name, why = %why, "a long-lived task died for good; gasclaw stops and exits non-zero so it is restarted");
                *self.fatal_reason.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
                self.fatal.cancel();
                return;
            }
            // 1 s, 2 s, 4 s … between restarts within the window.
            let wait = Duration::from_secs(1 << (deaths.len() - 1).min(5));
            tracing::error!(task = name, why = %why, restart_in_s = wait.as_secs(), "a long-lived task died; restarting it");
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => return,
            }
            self.set(name, |s| s.restarts += 1);
        }
    }
}

/// Logs every panic, with its location, through the log (the default hook
/// writes a bare line to stderr that log collectors may not parse).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "unknown".into());
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string();
        tracing::error!(%location, thread, panic = %what, "panicked");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_dead_task_is_named_restarted_and_at_last_fatal() {
        crate::testing::bounded_for(Duration::from_secs(3600), async {
            let sup = Supervisor::new();
            let stop = CancellationToken::new();
            let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let r = runs.clone();
            let gate = Arc::new(tokio::sync::Notify::new());
            let g = gate.clone();
            sup.spawn("outbox", Policy::Restart, stop.clone(), move || {
                let r = r.clone();
                let g = g.clone();
                async move {
                    r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    g.notified().await;
                    panic!("boom");
                }
            });
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert!(sup.dead().is_empty());
            gate.notify_one();
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert_eq!(sup.dead(), ["outbox"], "named while it waits to restart");
            assert_eq!(
                sup.tasks()["outbox"].last_failure.as_deref(),
                Some("it panicked")
            );
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert!(sup.dead().is_empty(), "restarted");
            assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
            assert_eq!(sup.tasks()["outbox"].restarts, 1);
            // Dying again and again: fatal.
            for _ in 0..MAX_RESTARTS {
                gate.notify_one();
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            sup.fatal().await;
            assert!(sup.fatal_reason().is_some_and(|r| r.contains("outbox")));

            // An Exit task is fatal at once; a stop is not a death.
            let sup = Supervisor::new();
            let s2 = CancellationToken::new();
            sup.spawn("http", Policy::Exit, s2.clone(), || async {
                anyhow::bail!("address in use")
            });
            sup.fatal().await;
            assert_eq!(
                sup.fatal_reason().as_deref(),
                Some("the http task died (address in use)")
            );
            let sup = Supervisor::new();
            let s3 = CancellationToken::new();
            let inner = s3.clone();
            let h = sup.spawn("monitor", Policy::Exit, s3.clone(), move || {
                let s = inner.clone();
                async move {
                    s.cancelled().await;
                    Ok(())
                }
            });
            s3.cancel();
            h.await.expect("the watch ends with the stop");
            assert!(sup.fatal_reason().is_none());
        })
        .await
    }
}
