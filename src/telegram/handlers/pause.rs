//! `/pause [rig]` and `/resume [rig]` (owner, confirmed, audited): gt's
//! estop and thaw, read back from the ESTOP files, reported in the
//! confirmation's message. One handler: the two differ only in the verb.

use crate::core::work::pause::PauseOutcome;
use crate::telegram::Ctx;
use crate::telegram::audit::Outcome;
use crate::telegram::command::Freeze;
use crate::telegram::speaker::{Reply, Speaker};

/// The prefix of its texts in the locales (`pause-done`, `resume-done` …).
fn key(freeze: Freeze) -> &'static str {
    match freeze {
        Freeze::Pause => "pause",
        Freeze::Resume => "resume",
    }
}

fn icon(freeze: Freeze) -> &'static str {
    match freeze {
        Freeze::Pause => "⏸",
        Freeze::Resume => "▶️",
    }
}

/// The status message while gt works.
pub const WORKING: &str = "⏳";

pub async fn handle(ctx: &Ctx, who: &Speaker, freeze: Freeze, rig: Option<&str>) -> Reply {
    let tr = who.tr(&ctx.locales);
    let key = |what: &str| format!("{}-{what}", key(freeze));
    let done = match freeze {
        Freeze::Pause => ctx.core.pause(rig, &who.actor()).await,
        Freeze::Resume => ctx.core.resume(rig, &who.actor()).await,
    };
    match done {
        Ok(PauseOutcome::Done(line)) => Reply::text(format!(
            "{} {}",
            icon(freeze),
            match rig {
                None => tr.t(&key("done"), &[("line", &line)]),
                Some(r) => tr.t(&key("rig-done"), &[("rig", r), ("line", &line)]),
            }
        ))
        .audited(Outcome::Ok),
        Ok(PauseOutcome::Unchanged) => {
            Reply::text(tr.t(&key("unchanged"), &[])).audited(Outcome::Ok)
        }
        Err(e) => Reply::text(format!(
            "❌ {}",
            tr.t(&key("failed"), &[("error", &e.to_string())])
        ))
        .audited(Outcome::Failed),
    }
}
