//! `/unmute [check|all]` (operators): hear a check's alerts again.

use crate::telegram::Ctx;
use crate::telegram::audit::Outcome;
use crate::telegram::speaker::{Reply, Speaker};

pub fn handle(ctx: &Ctx, who: &Speaker, check: &str) -> Reply {
    let tr = who.tr(&ctx.locales);
    let removed = ctx.core.alerts().mutes.unmute(check);
    let text = if removed.is_empty() {
        tr.t("unmute-none", &[])
    } else {
        format!(
            "🔔 {}",
            tr.t("unmute-done", &[("checks", &removed.join(", "))])
        )
    };
    Reply::text(text).audited_with(Outcome::Ok, format!("unmuted {}", removed.join(",")))
}
