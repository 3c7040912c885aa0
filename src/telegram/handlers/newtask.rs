//! `/newtask <title>` (operators): a new bead, created by the person.

use std::sync::Arc;

use super::{Outcome, Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let text = match ctx
        .core
        .new_task(req.arg("title").unwrap_or(""), &req.actor())
        .await
    {
        Ok(b) => {
            req.audit(ctx, Outcome::Ok, Some(&b.id));
            format!(
                "✅ {}",
                tr.t("task-created", &[("id", &b.id), ("title", &b.title)])
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
