//! `/version`: gasclaw and the programs it runs, each asked with a timeout.

use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker) -> Reply {
    let versions = ctx.core.versions().await;
    Reply::text(render::versions(who.tr(&ctx.locales), &versions))
}
