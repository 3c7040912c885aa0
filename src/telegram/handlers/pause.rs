//! `/pause [rig]` (owner, confirmed, audited): gt's estop, read back from the
//! ESTOP files, reported in the confirmation's message.

use std::sync::Arc;

use teloxide::types::MessageId;

use super::{Outcome, Request, send};
use crate::core::work::pause::PauseOutcome;
use crate::telegram::{Ctx, Tg};

pub async fn run(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
) -> anyhow::Result<()> {
    let rig = req.arg("rig").map(str::to_string);
    let id = super::status_message(bot, &req, status, "⏳").await?;
    let (ctx, bot) = (ctx.clone(), bot.clone());
    tokio::spawn(async move {
        let tr = req.tr(&ctx);
        let (text, outcome) = match ctx.core.pause(rig.as_deref(), &req.actor()).await {
            Ok(PauseOutcome::Done(line)) => (
                format!(
                    "⏸ {}",
                    match &rig {
                        None => tr.t("pause-done", &[("line", &line)]),
                        Some(r) => tr.t("pause-rig-done", &[("rig", r), ("line", &line)]),
                    }
                ),
                Outcome::Ok,
            ),
            Ok(PauseOutcome::Unchanged) => (tr.t("pause-unchanged", &[]), Outcome::Ok),
            Err(e) => (
                format!("❌ {}", tr.t("pause-failed", &[("error", &e.to_string())])),
                Outcome::Failed,
            ),
        };
        req.audit(&ctx, outcome, None);
        if let Err(e) = send::edit(&bot, req.target.chat_id, id, &text, None).await {
            tracing::warn!(error = %send::describe(&e), "could not report the pause");
        }
    });
    Ok(())
}
