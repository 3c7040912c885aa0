//! `/done <id>` (operators): close a bead.

use crate::telegram::audit::Outcome;
use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker, id: &str) -> Reply {
    let tr = who.tr(&ctx.locales);
    let reason = format!("closed from Telegram by {}", who.name);
    match ctx.core.close_task(id, &reason).await {
        Ok(b) => Reply::text(format!(
            "✅ {}",
            tr.t("task-closed", &[("id", &b.id), ("title", &b.title)])
        ))
        .audited_with(Outcome::Ok, b.id),
        Err(e) => {
            Reply::text(render::beads_error(tr, &e)).audited_with(Outcome::Failed, e.to_string())
        }
    }
}
