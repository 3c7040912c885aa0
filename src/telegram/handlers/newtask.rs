//! `/newtask <title>` (operators): a new bead, created by the person.

use crate::telegram::audit::Outcome;
use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(ctx: &Ctx, who: &Speaker, title: &str) -> Reply {
    let tr = who.tr(&ctx.locales);
    match ctx.core.new_task(title, &who.actor()).await {
        Ok(b) => Reply::text(format!(
            "✅ {}",
            tr.t("task-created", &[("id", &b.id), ("title", &b.title)])
        ))
        .audited_with(Outcome::Ok, b.id),
        Err(e) => {
            Reply::text(render::beads_error(tr, &e)).audited_with(Outcome::Failed, e.to_string())
        }
    }
}
