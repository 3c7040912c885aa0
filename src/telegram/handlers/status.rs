//! `/status`: the health report and activity, with the key pools' summary.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let report = ctx.core.status().await;
    let pools = super::keys::pools_status(ctx);
    let text = render::status(req.tr(ctx), &report, pools.as_ref());
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
