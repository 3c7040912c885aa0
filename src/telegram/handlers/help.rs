//! `/start`, `/help`: what this bot is and the commands this person may use.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let text = render::help(req.tr(ctx), req.role, &ctx.catalogue.for_role(req.role));
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
