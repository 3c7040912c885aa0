//! `/stop` (owner): "stopping…", then what was stopped.

use crate::telegram::Ctx;
use crate::telegram::audit::Outcome;
use crate::telegram::render::{self, Tr};
use crate::telegram::speaker::{Reply, Speaker};

/// The status message while it stops.
pub fn working(tr: Tr<'_>) -> String {
    format!("⏹ {}", tr.t("stopping", &[]))
}

pub async fn handle(ctx: &Ctx, who: &Speaker) -> Reply {
    let tr = who.tr(&ctx.locales);
    match ctx.core.stop(&who.actor()).await {
        Ok(report) => Reply::text(render::stop(tr, &report)).audited(Outcome::of(report.ok())),
        Err(e) => Reply::text(tr.t("error-internal", &[("error", &e.to_string())]))
            .audited_with(Outcome::Failed, e.to_string()),
    }
}
