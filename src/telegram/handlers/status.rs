//! `/status`: the health report and activity, with the key pools' summary.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let report = ctx.core.status().await;
    let pools = super::keys::pools_status(ctx);
    let tr = req.tr(ctx);
    let text = format!(
        "{}{}\n\n{}",
        // A frozen town (gt estop) leads the report.
        render::work::paused_lines(tr, &ctx.core.paused()),
        render::status(tr, &report, pools.as_ref()),
        render::github::status_line(
            tr,
            ctx.core.github().map(|g| g.as_ref()),
            chrono::Utc::now()
        )
    );
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
