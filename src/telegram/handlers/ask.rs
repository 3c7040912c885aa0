//! `/ask <text>`: a question to the overseer (reaches the bot even with
//! BotFather's privacy mode on, where plain group messages do not). The
//! relay answers in the chat itself: it shows "typing…" while the overseer
//! thinks and splits a long answer.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, overseer};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request, question: &str) -> anyhow::Result<()> {
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
    overseer::relay(ctx, bot, req.target, reply_to, &req.who, question).await
}
