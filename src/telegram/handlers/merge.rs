//! `/merge <n>` (owner, confirmed): merges a pull request only when GitHub
//! says it is mergeable and every check passed, with the repository's
//! allowed method; checked before the confirmation and again after it, and
//! audited.

use crate::telegram::audit::Outcome;
use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

/// A merge GitHub would refuse, refused (and said why) before anyone is
/// asked to confirm it; `None` when the confirmation may be asked.
pub async fn precheck(ctx: &Ctx, who: &Speaker, n: u64) -> Option<Reply> {
    let Some(gh) = ctx.core.github() else {
        return Some(super::github_off(ctx, who));
    };
    match gh.merge_check(n).await {
        Ok(_) => None,
        Err(e) => Some(
            Reply::text(render::github::error(who.tr(&ctx.locales), n, &e))
                .audited_with(Outcome::Refused, e.to_string()),
        ),
    }
}

pub async fn handle(ctx: &Ctx, who: &Speaker, n: u64) -> Reply {
    let Some(gh) = ctx.core.github() else {
        return super::github_off(ctx, who);
    };
    let tr = who.tr(&ctx.locales);
    match gh.merge(n).await {
        Ok(m) => Reply::text(render::github::merged(tr, &m)).audited_with(
            Outcome::Ok,
            format!("merged #{n} ({}) at {}", m.method, m.sha),
        ),
        Err(e) => Reply::text(render::github::error(tr, n, &e))
            .audited_with(Outcome::Refused, e.to_string()),
    }
}
