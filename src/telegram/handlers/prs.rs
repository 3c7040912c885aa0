//! `/prs`: open pull requests with their check state, age and author.

use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker) -> Reply {
    let Some(gh) = ctx.core.github() else {
        return super::github_off(ctx, who);
    };
    let tr = who.tr(&ctx.locales);
    Reply::text(match gh.prs().await {
        Ok(list) => render::github::prs(tr, &list, chrono::Utc::now()),
        Err(e) => render::github::error(tr, 0, &e),
    })
}
