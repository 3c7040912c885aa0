//! `/keys`: the pools; `/keys clear <key>` (a sub-command the catalogue
//! gives to operators) ends a cooldown.

use crate::keys::PoolsStatus;
use crate::telegram::audit::Outcome;
use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

/// The live pools when this process owns them, else the state on disk.
pub fn pools_status(ctx: &Ctx) -> Option<PoolsStatus> {
    ctx.core.pools_status().ok()
}

pub fn handle(ctx: &Ctx, who: &Speaker) -> Reply {
    let tr = who.tr(&ctx.locales);
    Reply::text(match pools_status(ctx) {
        Some(p) => render::keys(tr, &p),
        None => tr.t("keys-unavailable", &[]),
    })
}

/// `/keys clear <key>`: audited.
pub fn clear(ctx: &Ctx, who: &Speaker, key: &str) -> Reply {
    let tr = who.tr(&ctx.locales);
    if ctx.core.live_pools().is_none() {
        return Reply::text(tr.t("keys-unavailable", &[]));
    }
    match ctx.core.clear_key(key, None) {
        Ok(c) => Reply::text(tr.t("keys-cleared", &[("key", &c.hint), ("was", c.was)]))
            .audited_with(Outcome::Ok, format!("cleared {}", c.hint)),
        Err(e) => Reply::text(tr.t("error-internal", &[("error", &e.to_string())]))
            .audited_with(Outcome::Failed, e.to_string()),
    }
}
