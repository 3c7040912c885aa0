//! `/tasks`: open beads, newest first.

use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker) -> Reply {
    let tr = who.tr(&ctx.locales);
    Reply::text(match ctx.core.tasks(20).await {
        Ok(list) => render::tasks(tr, &list),
        Err(e) => render::beads_error(tr, &e),
    })
}
