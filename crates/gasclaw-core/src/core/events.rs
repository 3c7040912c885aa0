//! What the core tells its faces as things happen.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Service;
use super::bootstrap::{BootstrapReport, Step};

/// One step's progress during a bootstrap.
#[derive(Debug, Clone, PartialEq)]
pub enum StepProgress {
    Started,
    Done(String),
    Skipped(String),
    Failed(String),
    /// Rollback undid something this run had started.
    RolledBack(String),
}

#[derive(Debug, Clone)]
pub struct BootstrapEvent {
    pub step: Step,
    pub progress: StepProgress,
    pub at: DateTime<Utc>,
}

/// Everything published on the core's event stream.
#[derive(Debug, Clone)]
pub enum Event {
    Bootstrap(BootstrapEvent),
    /// A bootstrap finished (successfully or not).
    BootstrapFinished(Arc<BootstrapReport>),
    /// A key pool changed (rate limit, all cooling, invalid key, recovered).
    Key(crate::keys::KeyEvent),
    /// Telegram answered 409: another process polls the bot token.
    TelegramConflict,
    /// A person or the monitor restarted a service.
    Restarted {
        service: Service,
        by: String,
        result: Result<String, String>,
    },
}
