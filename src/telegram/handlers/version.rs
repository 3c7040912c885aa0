//! `/version`: gasclaw and the programs it runs, each asked with a timeout.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let versions = ctx.core.versions().await;
    send::message(
        bot,
        req.target,
        &render::versions(req.tr(ctx), &versions),
        None,
        req.reply_to,
    )
    .await?;
    Ok(())
}
