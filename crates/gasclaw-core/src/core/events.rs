//! What the core tells its faces as things happen.

use std::sync::Arc;

use super::bootstrap::BootstrapReport;
use super::{Actor, Service};
// The bootstrap's progress types live with the bootstrap (which publishes
// them without knowing this stream); named here too for the faces.
pub use super::bootstrap::{BootstrapEvent, StepProgress};

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
        by: Actor,
        result: Result<String, String>,
    },
}

impl From<BootstrapEvent> for Event {
    fn from(e: BootstrapEvent) -> Event {
        Event::Bootstrap(e)
    }
}

impl From<Arc<BootstrapReport>> for Event {
    fn from(r: Arc<BootstrapReport>) -> Event {
        Event::BootstrapFinished(r)
    }
}
