//! `/tasks`: open beads, newest first.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let text = match ctx.core.tasks(20).await {
        Ok(list) => render::tasks(tr, &list),
        Err(e) => render::beads_error(tr, &e),
    };
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
