//! `/take <n>` (operators): hands GitHub issue n to the town as a bead and
//! comments on the issue; audited.

use std::sync::Arc;

use super::{Outcome, Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let Some(gh) = super::github_or_say(ctx, bot, req).await? else {
        return Ok(());
    };
    let tr = req.tr(ctx);
    let n = super::issue_number(req);
    let text = match gh.take(n, &req.actor()).await {
        Ok(t) => {
            req.audit(
                ctx,
                Outcome::Ok,
                Some(&format!("issue #{n} → bead {}", t.bead)),
            );
            render::github::taken(tr, &t)
        }
        Err(e) => {
            req.audit(ctx, Outcome::Failed, Some(&e.to_string()));
            render::github::error(tr, n, &e)
        }
    };
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
