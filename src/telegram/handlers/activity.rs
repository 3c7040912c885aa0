//! `/activity`: the last commit's age against the deadline.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let report = ctx.core.activity().await;
    send::message(
        bot,
        req.target,
        &render::activity(req.tr(ctx), &report),
        None,
        req.reply_to,
    )
    .await?;
    Ok(())
}
