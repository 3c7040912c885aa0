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
pub mod overseer_api;
pub mod run;
pub mod supervise;
pub mod telegram;

// The faces name the core's modules as their own.
pub use gasclaw_core::{config, core, fsutil, keys};

/// What every async unit test runs under: a bound, so a hang fails the
/// test instead of stalling the suite.
#[cfg(test)]
pub(crate) mod testing {
    pub async fn bounded<F: std::future::Future>(f: F) -> F::Output {
        bounded_for(std::time::Duration::from_secs(60), f).await
    }

    /// A core over a temp `HOME` and `GASCLAW_HOME` (`dir/home`), with test
    /// keys and token.
    pub fn core(dir: &std::path::Path) -> std::sync::Arc<crate::core::Core> {
        let env: std::collections::BTreeMap<String, String> = [
            (
                "GASTOWN_KIMI_KEYS",
                "sk-kimi-aaaaaaaaaaaaaaaaaaaa1111".to_string(),
            ),
            (
                "OPENCLAW_KIMI_KEY",
                "sk-kimi-oooooooooooooooooooo9999".to_string(),
            ),
            (
                "TELEGRAM_BOT_TOKEN",
                "123456:AAbbCCddEEff_gg-hh".to_string(),
            ),
            ("TELEGRAM_OWNER_ID", "42".to_string()),
            ("HOME", dir.display().to_string()),
            ("GASCLAW_HOME", dir.join("home").display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let config = crate::config::Config::load(&env).expect("test config");
        crate::core::Core::new(config).expect("test core")
    }

    /// The key pools of `core`'s config, opened as `gasclaw run` opens
    /// them (cooldowns of 5 minutes and an hour, events dropped).
    pub fn pools(core: &crate::core::Core) -> std::sync::Arc<crate::keys::KeyPools> {
        let cfg = core.config();
        crate::keys::KeyPools::open(
            &cfg.home,
            &cfg.agent_keys,
            &cfg.overseer_keys,
            crate::keys::PoolSettings {
                cooldown: std::time::Duration::from_secs(300),
                quota_cooldown: std::time::Duration::from_secs(3600),
                flush_every: std::time::Duration::from_secs(1),
            },
            std::sync::Arc::new(crate::keys::SystemClock),
            std::sync::Arc::new(|_| {}),
        )
        .expect("test pools")
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
