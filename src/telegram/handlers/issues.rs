//! `/issues`: open GitHub issues, and which are already with the town.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let Some(gh) = super::github_or_say(ctx, bot, req).await? else {
        return Ok(());
    };
    let tr = req.tr(ctx);
    let text = match gh.issues().await {
        Ok(list) => render::github::issues(tr, &list, chrono::Utc::now()),
        Err(e) => render::github::error(tr, 0, &e),
    };
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
