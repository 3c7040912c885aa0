//! `/take <n>` (operators): hands GitHub issue n to the town as a bead and
//! comments on the issue; audited.

use crate::telegram::audit::Outcome;
use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker, n: u64) -> Reply {
    let Some(gh) = ctx.core.github() else {
        return super::github_off(ctx, who);
    };
    let tr = who.tr(&ctx.locales);
    match gh.take(n, &who.actor()).await {
        Ok(t) => Reply::text(render::github::taken(tr, &t))
            .audited_with(Outcome::Ok, format!("issue #{n} → bead {}", t.bead)),
        Err(e) => Reply::text(render::github::error(tr, n, &e))
            .audited_with(Outcome::Failed, e.to_string()),
    }
}
