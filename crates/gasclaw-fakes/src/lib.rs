//! In-process fakes of the services gasclaw talks to over HTTP, used by the
//! tests, the benchmarks and the offline `gasclaw demo`. They bind only
//! 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test doubles, never shipped

pub mod bot_api;
pub mod github;
pub mod kimi;
