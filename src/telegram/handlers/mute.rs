//! `/mute <check|all> <duration>` (operators): silence a check's alerts.

use std::time::Duration;

use crate::telegram::Ctx;
use crate::telegram::audit::Outcome;
use crate::telegram::speaker::{Reply, Speaker};

pub fn handle(ctx: &Ctx, who: &Speaker, check: &str, for_: Duration) -> anyhow::Result<Reply> {
    let tr = who.tr(&ctx.locales);
    // The catalogue refuses longer durations; this is the core's own check.
    let Some(until) = ctx.core.alerts().mutes.mute(check, for_) else {
        anyhow::bail!("a mute lasts at most 30 days");
    };
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
    Ok(Reply::text(text).audited_with(Outcome::Ok, format!("muted {check} until {until}")))
}
