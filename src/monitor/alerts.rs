//! The words of the monitor's alerts (the alert state itself is the core's:
//! `core::alerts`; the text is the Telegram face's, rendered at send time:
//! `telegram::render::alert`). The state is sampled once per cycle, so a
//! check flapping within a cycle is one observation, not one message per
//! flip.

pub use crate::core::alerts::{AlertState, CheckId, Transition};
use crate::telegram::render::Tr;
pub use crate::telegram::render::alert::render;

/// "no commit for N min (deadline M min)".
pub fn activity_detail(tr: Tr<'_>, age_secs: u64, deadline_secs: u64) -> String {
    tr.raw(
        "mon-activity-detail",
        &[
            ("age", &(age_secs / 60).to_string()),
            ("deadline", &(deadline_secs / 60).to_string()),
        ],
    )
}
