//! `/task <id>`: one bead.

use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker, id: &str) -> Reply {
    let tr = who.tr(&ctx.locales);
    Reply::text(match ctx.core.task(id).await {
        Ok(b) => render::task(tr, &b),
        Err(e) => render::beads_error(tr, &e),
    })
}
