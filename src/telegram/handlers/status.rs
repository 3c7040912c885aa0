//! `/status`: the health report and activity, with the key pools' summary.

use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker) -> Reply {
    let report = ctx.core.status().await;
    let pools = super::keys::pools_status(ctx);
    let tr = who.tr(&ctx.locales);
    Reply::text(format!(
        "{}{}\n\n{}",
        // A frozen town (gt estop) leads the report.
        render::work::paused_lines(tr, &ctx.core.paused()),
        render::status(tr, &report, pools.as_ref()),
        render::github::status_line(
            tr,
            ctx.core.github().map(|g| g.as_ref()),
            chrono::Utc::now()
        )
    ))
}
