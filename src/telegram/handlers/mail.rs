//! `/mail`: the town's latest mail to the humans, one message each (so a
//! reply names the one it answers), marked read once shown.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

/// At most this many messages per `/mail`.
const SHOWN: usize = 5;

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let mail = match ctx.core.mail(SHOWN).await {
        Ok(m) => m,
        Err(e) => {
            let text = format!("❌ {}", tr.t("mail-failed", &[("error", &e.to_string())]));
            send::message(bot, req.target, &text, None, req.reply_to).await?;
            return Ok(());
        }
    };
    if mail.is_empty() {
        send::message(
            bot,
            req.target,
            &tr.t("mail-empty", &[]),
            None,
            req.reply_to,
        )
        .await?;
        return Ok(());
    }
    // Oldest first, so the newest is at the bottom of the chat.
    for m in mail.iter().rev() {
        send::message(
            bot,
            req.target,
            &render::work::mail(tr, m),
            None,
            req.reply_to,
        )
        .await?;
        if !m.read
            && let Err(e) = ctx.core.read_mail(&m.id).await
        {
            tracing::warn!(error = %e, "could not mark a mail read");
        }
    }
    Ok(())
}
