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
pub mod run;
pub mod stack;
pub mod telegram;
