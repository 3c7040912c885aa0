//! `/stop` (owner): "stopping…", then what was stopped.

use std::sync::Arc;

use teloxide::types::MessageId;

use super::{Outcome, Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let text = format!("⏹ {}", tr.t("stopping", &[]));
    let id = super::status_message(bot, &req, status, &text).await?;
    let (ctx, bot) = (ctx.clone(), bot.clone());
    tokio::spawn(async move {
        let text = match ctx.core.stop(&req.actor()).await {
            Ok(report) => {
                req.audit(&ctx, Outcome::of(report.ok()), None);
                render::stop(req.tr(&ctx), &report)
            }
            Err(e) => {
                req.audit(&ctx, Outcome::Failed, Some(&e.to_string()));
                req.tr(&ctx)
                    .t("error-internal", &[("error", &e.to_string())])
            }
        };
        if let Err(e) = send::edit(&bot, req.target.chat_id, id, &text, None).await {
            tracing::warn!(error = %send::describe(&e), "could not report the stop");
        }
    });
    Ok(())
}
