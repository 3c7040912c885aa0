//! `/nudge <agent> <text>` (and the stuck alert's Nudge button, and a reply
//! to a stuck alert): "nudging…", then the result in the same message. gt
//! waits for the agent's prompt (up to ~75 s), so the dispatcher runs it in
//! its own task and the chat stays responsive.

use crate::core::work::Nudged;
use crate::telegram::Ctx;
use crate::telegram::audit::Outcome;
use crate::telegram::render::Tr;
use crate::telegram::speaker::{Reply, Speaker};

/// The status message while gt waits.
pub fn working(tr: Tr<'_>, agent: &str) -> String {
    format!("👉 {}", tr.t("nudge-sending", &[("agent", agent)]))
}

pub async fn handle(ctx: &Ctx, who: &Speaker, agent: &str, words: &str) -> Reply {
    let tr = who.tr(&ctx.locales);
    match ctx.core.nudge(agent, words, &who.actor()).await {
        Ok(Nudged::Delivered(_)) => {
            Reply::text(format!("✅ {}", tr.t("nudge-done", &[("agent", agent)])))
                .audited(Outcome::Ok)
        }
        Ok(Nudged::Skipped(line)) => Reply::text(format!(
            "⚪ {}",
            tr.t("nudge-skipped", &[("agent", agent), ("line", &line)])
        ))
        .audited(Outcome::Failed),
        Err(e) => Reply::text(format!(
            "❌ {}",
            tr.t(
                "nudge-failed",
                &[("agent", agent), ("error", &e.to_string())]
            )
        ))
        .audited(Outcome::Failed),
    }
}
