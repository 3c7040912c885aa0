//! The words of the monitor's alerts (the alert state itself is the core's:
//! `core::alerts`). The state is sampled once per cycle, so a check
//! flapping within a cycle is one observation, not one message per flip.

use crate::core::activity::human_duration;
pub use crate::core::alerts::{AlertState, CheckId, Transition};
use crate::telegram::render::Tr;

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

/// A short message that leads with the check and its state.
pub fn render(tr: Tr<'_>, id: CheckId, t: &Transition, detail: &str, word: &str) -> String {
    let check = id.label();
    let state = tr.raw(&format!("mon-state-{word}"), &[]);
    let word = state.as_str();
    match (id, t) {
        (CheckId::Activity, Transition::Down) => format!(
            "⏰ <b>activity</b>: {}",
            tr.t("mon-activity-late", &[("detail", detail)])
        ),
        (CheckId::Activity, Transition::StillDown { for_ }) => {
            format!(
                "⏰ <b>activity</b>: {}",
                tr.t(
                    "mon-activity-still",
                    &[("for", &human_duration(for_.as_secs())), ("detail", detail)]
                )
            )
        }
        (CheckId::Activity, Transition::Recovered { after }) => {
            format!(
                "✅ <b>activity</b>: {}",
                tr.t(
                    "mon-activity-resumed",
                    &[("for", &human_duration(after.as_secs()))]
                )
            )
        }
        (CheckId::Keys(_), Transition::Down) => {
            format!(
                "🔑 <b>{check}</b>: {}",
                crate::telegram::render::esc(detail)
            )
        }
        (CheckId::Keys(_), Transition::StillDown { for_ }) => {
            format!(
                "🔑 <b>{check}</b>: {}",
                tr.t(
                    "mon-keys-still",
                    &[("for", &human_duration(for_.as_secs())), ("detail", detail)]
                )
            )
        }
        (CheckId::Keys(_), Transition::Recovered { after }) => {
            format!(
                "✅ <b>{check}</b>: {}",
                tr.t(
                    "mon-keys-recovered",
                    &[("for", &human_duration(after.as_secs()))]
                )
            )
        }
        (_, Transition::Down) => format!(
            "🔴 <b>{check}</b> {}",
            tr.t("mon-down", &[("state", word), ("detail", detail)])
        ),
        (_, Transition::StillDown { for_ }) => format!(
            "🔴 <b>{check}</b> {}",
            tr.t(
                "mon-still-down",
                &[
                    ("state", word),
                    ("for", &human_duration(for_.as_secs())),
                    ("detail", detail)
                ]
            )
        ),
        (_, Transition::Recovered { after }) => {
            format!(
                "✅ <b>{check}</b> {}",
                tr.t(
                    "mon-recovered",
                    &[("for", &human_duration(after.as_secs()))]
                )
            )
        }
    }
}
