//! `/merge <n>` (owner, confirmed): merges a pull request only when GitHub
//! says it is mergeable and every check passed, with the repository's
//! allowed method; checked before the confirmation and again after it, and
//! audited.

use std::sync::Arc;

use teloxide::types::MessageId;

use super::{Outcome, Request, send};
use crate::telegram::{Ctx, Tg, render};

/// Refuses (and says why) a merge GitHub would refuse, before asking for
/// a confirmation. True when the confirmation may be asked.
pub async fn precheck(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<bool> {
    let Some(gh) = super::github_or_say(ctx, bot, req).await? else {
        return Ok(false);
    };
    let n = super::issue_number(req);
    match gh.merge_check(n).await {
        Ok(_) => Ok(true),
        Err(e) => {
            req.audit(ctx, Outcome::Refused, Some(&e.to_string()));
            let text = render::github::error(req.tr(ctx), n, &e);
            send::message(bot, req.target, &text, None, req.reply_to).await?;
            Ok(false)
        }
    }
}

pub async fn run(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
) -> anyhow::Result<()> {
    let Some(gh) = super::github_or_say(ctx, bot, &req).await? else {
        return Ok(());
    };
    let tr = req.tr(ctx);
    let n = super::issue_number(&req);
    let text = match gh.merge(n).await {
        Ok(m) => {
            req.audit(
                ctx,
                Outcome::Ok,
                Some(&format!("merged #{n} ({}) at {}", m.method, m.sha)),
            );
            render::github::merged(tr, &m)
        }
        Err(e) => {
            req.audit(ctx, Outcome::Refused, Some(&e.to_string()));
            render::github::error(tr, n, &e)
        }
    };
    super::status_message(bot, &req, status, &text).await?;
    Ok(())
}
