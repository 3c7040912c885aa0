//! `/pr <n>`: one pull request: checks, mergeability, size, link.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let Some(gh) = super::github_or_say(ctx, bot, req).await? else {
        return Ok(());
    };
    let tr = req.tr(ctx);
    let n = super::issue_number(req);
    let text = match gh.pr(n).await {
        Ok((pr, checks)) => render::github::pr(tr, &pr, &checks),
        Err(e) => render::github::error(tr, n, &e),
    };
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
