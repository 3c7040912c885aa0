//! `/activity`: the last commit's age against the deadline.

use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker) -> Reply {
    let report = ctx.core.activity().await;
    Reply::text(render::activity(who.tr(&ctx.locales), &report))
}
