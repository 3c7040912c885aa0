//! `/peek <agent> [lines]`: the agent's pane, redacted by the core.

use std::sync::Arc;

use super::{Outcome, Request, send};
use crate::telegram::{Ctx, Tg, render};

/// Lines shown when none are asked for.
const DEFAULT_LINES: u32 = 30;

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let agent = req.arg("agent").unwrap_or("");
    let lines = req
        .arg("lines")
        .and_then(|l| l.parse().ok())
        .unwrap_or(DEFAULT_LINES);
    let tr = req.tr(ctx);
    let (text, outcome) = match ctx.core.peek(agent, lines).await {
        Ok(t) => (render::work::peek(tr, agent, &t), Outcome::Ok),
        Err(e) => (
            format!(
                "❌ {}",
                tr.t(
                    "peek-failed",
                    &[("agent", agent), ("error", &e.to_string())]
                )
            ),
            Outcome::Failed,
        ),
    };
    // A pane is what the agent sees: who looked is on record.
    req.audit(ctx, outcome, None);
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
