//! `/peek <agent> [lines]`: the agent's pane, redacted by the core.

use crate::telegram::audit::Outcome;
use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker, agent: &str, lines: u32) -> Reply {
    let tr = who.tr(&ctx.locales);
    // A pane is what the agent sees: who looked is on record.
    match ctx.core.peek(agent, lines).await {
        Ok(t) => Reply::text(render::work::peek(tr, agent, &t)).audited(Outcome::Ok),
        Err(e) => Reply::text(format!(
            "❌ {}",
            tr.t(
                "peek-failed",
                &[("agent", agent), ("error", &e.to_string())]
            )
        ))
        .audited(Outcome::Failed),
    }
}
