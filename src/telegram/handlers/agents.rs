//! `/agents`: every agent with its state, hooked bead, last progress and
//! stuck marks (the panes as the monitor's last cycle saw them).

use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker) -> Reply {
    let report = ctx
        .core
        .agents_work(ctx.core.config().check_timeout, false)
        .await;
    Reply::text(render::work::agents(who.tr(&ctx.locales), &report))
}
