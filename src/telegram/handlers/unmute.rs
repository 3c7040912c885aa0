//! `/unmute [check|all]` (operators): hear a check's alerts again.

use std::sync::Arc;

use super::{Outcome, Request, send};
use crate::telegram::{Ctx, Tg};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let removed = ctx
        .core
        .alerts()
        .mutes
        .unmute(req.arg("check").unwrap_or("all"));
    req.audit(
        ctx,
        Outcome::Ok,
        Some(&format!("unmuted {}", removed.join(","))),
    );
    let text = if removed.is_empty() {
        tr.t("unmute-none", &[])
    } else {
        format!(
            "🔔 {}",
            tr.t("unmute-done", &[("checks", &removed.join(", "))])
        )
    };
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
