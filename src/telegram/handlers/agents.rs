//! `/agents`: every agent with its state, hooked bead, last progress and
//! stuck marks (the panes as the monitor's last cycle saw them).

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let report = ctx
        .core
        .agents_work(ctx.core.config().check_timeout, false)
        .await;
    send::message(
        bot,
        req.target,
        &render::work::agents(req.tr(ctx), &report),
        None,
        req.reply_to,
    )
    .await?;
    Ok(())
}
