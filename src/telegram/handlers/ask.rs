//! `/ask <text>`: a question to the overseer (reaches the bot even with
//! BotFather's privacy mode on, where plain group messages do not).

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::overseer::{self, Speaker};
use crate::telegram::{Ctx, Tg};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let Some(reply_to) = req.reply_to else {
        send::message(
            bot,
            req.target,
            &req.tr(ctx).t("usage", &[("usage", &req.spec.usage())]),
            None,
            None,
        )
        .await?;
        return Ok(());
    };
    let who = Speaker {
        id: req.user_id,
        name: &req.user,
        role: req.role,
        lang: req.lang,
    };
    overseer::relay(
        ctx,
        bot,
        req.target,
        reply_to,
        who,
        req.arg("text").unwrap_or(""),
    )
    .await
}
