//! `/agents`: the agents and whether each runs.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let report = ctx.core.agents(ctx.core.config().check_timeout).await;
    send::message(
        bot,
        req.target,
        &render::agents(req.tr(ctx), &report),
        None,
        req.reply_to,
    )
    .await?;
    Ok(())
}
