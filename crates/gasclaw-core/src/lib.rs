//! gasclaw's core: everything below the faces. The configuration, the
//! state files, one adapter per external program ([`stack`]), the key pool
//! and its proxy ([`keys`]), and the orchestration core ([`core::Core`])
//! whose typed API the CLI, the Telegram bot and the monitor all call.
//!
//! Nothing here knows Telegram or a terminal: it returns typed values and
//! typed errors, and each face renders them.

pub mod config;
pub mod core;
pub mod fsutil;
pub mod keys;
pub mod privilege;
pub(crate) mod stack;

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
