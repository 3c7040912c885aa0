//! `/nudge <agent> <text>` (and the stuck alert's Nudge button, and a reply
//! to a stuck alert): "nudging…", then the result in the same message. gt
//! waits for the agent's prompt (up to ~75 s), so the work runs in its own
//! task and the chat stays responsive.

use std::sync::Arc;

use teloxide::types::MessageId;

use super::{Outcome, Request, send};
use crate::core::work::Nudged;
use crate::telegram::{Ctx, Tg};

pub async fn run(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
) -> anyhow::Result<()> {
    let agent = req.arg("agent").unwrap_or("").to_string();
    let tr = req.tr(ctx);
    let text = format!("👉 {}", tr.t("nudge-sending", &[("agent", &agent)]));
    let id = super::status_message(bot, &req, status, &text).await?;
    let (ctx, bot) = (ctx.clone(), bot.clone());
    tokio::spawn(async move {
        let tr = req.tr(&ctx);
        let words = req.arg("text").unwrap_or("");
        let (text, outcome) = match ctx.core.nudge(&agent, words, &req.actor()).await {
            Ok(Nudged::Delivered(_)) => (
                format!("✅ {}", tr.t("nudge-done", &[("agent", &agent)])),
                Outcome::Ok,
            ),
            Ok(Nudged::Skipped(line)) => (
                format!(
                    "⚪ {}",
                    tr.t("nudge-skipped", &[("agent", &agent), ("line", &line)])
                ),
                Outcome::Failed,
            ),
            Err(e) => (
                format!(
                    "❌ {}",
                    tr.t(
                        "nudge-failed",
                        &[("agent", &agent), ("error", &e.to_string())]
                    )
                ),
                Outcome::Failed,
            ),
        };
        req.audit(&ctx, outcome, None);
        if let Err(e) = send::edit(&bot, req.target.chat_id, id, &text, None).await {
            tracing::warn!(error = %send::describe(&e), "could not report the nudge");
        }
    });
    Ok(())
}
