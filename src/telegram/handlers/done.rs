//! `/done <id>` (operators): close a bead.

use std::sync::Arc;

use super::{Outcome, Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let reason = format!("closed from Telegram by {}", req.user);
    let text = match ctx
        .core
        .close_task(req.arg("id").unwrap_or(""), &reason)
        .await
    {
        Ok(b) => {
            req.audit(ctx, Outcome::Ok, Some(&b.id));
            format!(
                "✅ {}",
                tr.t("task-closed", &[("id", &b.id), ("title", &b.title)])
            )
        }
        Err(e) => {
            req.audit(ctx, Outcome::Failed, Some(&e.to_string()));
            render::beads_error(tr, &e)
        }
    };
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
