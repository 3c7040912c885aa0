//! `/alerts`: what is down now and what is muted.

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let alerts = ctx.core.alerts();
    let down: Vec<(String, String, String)> = alerts
        .down()
        .into_iter()
        .map(|(id, since, detail)| {
            (
                id.label().to_string(),
                since.format("%Y-%m-%d %H:%M UTC").to_string(),
                detail,
            )
        })
        .collect();
    let muted: Vec<(String, String)> = alerts
        .mutes
        .active()
        .into_iter()
        .map(|(n, u)| (n, u.format("%Y-%m-%d %H:%M UTC").to_string()))
        .collect();
    send::message(
        bot,
        req.target,
        &render::alerts(tr, &down, &muted),
        None,
        req.reply_to,
    )
    .await?;
    Ok(())
}
