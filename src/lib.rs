//! gasclaw: runs and guards an autonomous coding-agent workspace (a Gastown
//! town of Claude Code agents on Kimi keys, overseen by an OpenClaw agent),
//! operated from Telegram.
//!
//! This crate holds the faces — the CLI in [`cli`], the Telegram bot in
//! [`telegram`], the monitor in [`monitor`], the HTTP endpoint in [`http`] —
//! and `gasclaw run`, which composes them. Everything they call lives in
//! `gasclaw_core`; the faces reach it only through its typed API.

pub mod cli;
pub mod http;
pub mod i18n;
pub mod logging;
pub mod monitor;
pub mod notify;
pub mod run;
pub mod telegram;

// The faces name the core's modules as their own.
pub use gasclaw_core::{config, core, fsutil, keys};

/// What every async unit test runs under: a bound, so a hang fails the
/// test instead of stalling the suite.
#[cfg(test)]
pub(crate) mod testing {
    /// For tests on paused (virtual) time that legitimately wait long.
    pub async fn bounded_for<F: std::future::Future>(
        limit: std::time::Duration,
        f: F,
    ) -> F::Output {
        tokio::time::timeout(limit, f)
            .await
            .unwrap_or_else(|_| panic!("the test did not finish within {limit:?}"))
    }
}
