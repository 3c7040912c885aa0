//! `/keys`: the pools; `/keys clear <key>` (operators) ends a cooldown.

use std::sync::Arc;

use super::{Outcome, Request, send};
use crate::keys::PoolsStatus;
use crate::telegram::auth::Role;
use crate::telegram::{Ctx, Tg, render};

/// The live pools when this process owns them, else the state on disk.
pub fn pools_status(ctx: &Ctx) -> Option<PoolsStatus> {
    ctx.core.pools_status().ok()
}

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    match (req.arg("clear"), req.arg("key")) {
        (Some(_), Some(key)) => {
            if req.role < Role::Operator {
                let text = tr.t(
                    "not-allowed",
                    &[
                        ("name", "keys clear"),
                        ("role", &render::role_name(tr, Role::Operator)),
                        ("yours", &render::role_name(tr, req.role)),
                    ],
                );
                send::message(bot, req.target, &text, None, req.reply_to).await?;
                return Ok(());
            }
            if ctx.core.live_pools().is_none() {
                send::message(
                    bot,
                    req.target,
                    &tr.t("keys-unavailable", &[]),
                    None,
                    req.reply_to,
                )
                .await?;
                return Ok(());
            }
            let result = ctx.core.clear_key(key, None);
            let text = match result {
                Ok(c) => {
                    req.audit(ctx, Outcome::Ok, Some(&format!("cleared {}", c.hint)));
                    tr.t("keys-cleared", &[("key", &c.hint), ("was", c.was)])
                }
                Err(e) => {
                    req.audit(ctx, Outcome::Failed, Some(&e.to_string()));
                    tr.t("error-internal", &[("error", &e.to_string())])
                }
            };
            send::message(bot, req.target, &text, None, req.reply_to).await?;
        }
        (Some(_), None) | (None, Some(_)) => {
            send::message(
                bot,
                req.target,
                &tr.t("keys-usage", &[]),
                None,
                req.reply_to,
            )
            .await?;
        }
        (None, None) => {
            let text = match pools_status(ctx) {
                Some(p) => render::keys(tr, &p),
                None => tr.t("keys-unavailable", &[]),
            };
            send::message(bot, req.target, &text, None, req.reply_to).await?;
        }
    }
    Ok(())
}
