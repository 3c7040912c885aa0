//! `/pin`: posts this chat's live status card (replacing an earlier one)
//! and pins it when the bot may pin. The card is a message the bot keeps
//! editing, so this handler sends it itself.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, pin};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let pinned = pin::post(ctx, bot, req.target, req.who.lang).await?;
    if !pinned {
        let tr = req.tr(ctx);
        send::message(
            bot,
            req.target,
            &tr.t("pin-not-pinned", &[]),
            None,
            req.reply_to,
        )
        .await?;
    }
    Ok(())
}
