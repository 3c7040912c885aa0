//! `/mute <check|all> <duration>` (operators): silence a check's alerts.

use std::sync::Arc;

use super::{Outcome, Request, send};
use crate::telegram::{Ctx, Tg};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let check = req.arg("check").unwrap_or("all");
    let for_ = crate::config::parse_duration(req.arg("duration").unwrap_or("")).unwrap_or_default();
    // The catalogue refuses longer durations; this is the core's own check.
    let Some(until) = ctx.core.alerts().mutes.mute(check, for_) else {
        anyhow::bail!("a mute lasts at most 30 days");
    };
    req.audit(
        ctx,
        Outcome::Ok,
        Some(&format!("muted {check} until {until}")),
    );
    let text = format!(
        "🔕 {}",
        tr.t(
            "mute-done",
            &[
                ("check", check),
                ("until", &until.format("%Y-%m-%d %H:%M UTC").to_string())
            ]
        )
    );
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
