//! gasclaw: runs and guards an autonomous coding-agent workspace (a Gastown
//! town of Claude Code agents on Kimi keys, overseen by an OpenClaw agent),
//! operated from Telegram.
//!
//! One core ([`core::Core`]), three faces (the CLI in [`cli`], the Telegram
//! bot, the monitor), and one adapter module per external program in
//! [`stack`].

pub mod cli;
pub mod config;
pub mod core;
pub mod demo;
pub mod fakes;
pub mod fsutil;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod logging;
pub mod monitor;
pub mod notify;
pub mod overseer_api;
pub mod run;
pub mod stack;
pub mod telegram;

/// What every async unit test runs under: a bound, so a hang fails the
/// test instead of stalling the suite.
#[cfg(test)]
pub(crate) mod testing {
    pub async fn bounded<F: std::future::Future>(f: F) -> F::Output {
        bounded_for(std::time::Duration::from_secs(60), f).await
    }

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
