//! `/pr <n>`: one pull request: checks, mergeability, size, link.

use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker, n: u64) -> Reply {
    let Some(gh) = ctx.core.github() else {
        return super::github_off(ctx, who);
    };
    let tr = who.tr(&ctx.locales);
    Reply::text(match gh.pr(n).await {
        Ok((pr, checks)) => render::github::pr(tr, &pr, &checks),
        Err(e) => render::github::error(tr, n, &e),
    })
}
