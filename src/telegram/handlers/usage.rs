//! `/usage [today|week]`: the text summary, then the chart as a photo.
//! Read from `GASCLAW_HOME/usage.sqlite`, so it works in any gasclaw
//! process (the last second of counts may still be on its way).

use std::sync::Arc;

use super::{Request, send};
use crate::keys::usage::{Period, UsageReport, UsageStore};
use crate::telegram::{Ctx, Tg, chart, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let (period, word) = match req.arg("period") {
        Some("week") => (Period::Week, tr.raw("usage-period-week", &[])),
        _ => (Period::Today, tr.raw("usage-period-today", &[])),
    };
    let path = UsageStore::path_in(&ctx.core.config().home);
    let Some(store) = UsageStore::existing(&path) else {
        send::message(
            bot,
            req.target,
            &tr.t("usage-empty", &[]),
            None,
            req.reply_to,
        )
        .await?;
        return Ok(());
    };
    let now = chrono::Utc::now();
    let loaded =
        tokio::task::spawn_blocking(move || UsageReport::load(&store, period, now)).await?;
    let report = match loaded {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the usage database");
            let text = tr.t("usage-unavailable", &[("error", &e.to_string())]);
            send::message(bot, req.target, &text, None, req.reply_to).await?;
            return Ok(());
        }
    };
    if report.total.requests == 0 && report.quotas.is_empty() {
        send::message(
            bot,
            req.target,
            &tr.t("usage-empty", &[]),
            None,
            req.reply_to,
        )
        .await?;
        return Ok(());
    }
    let text = render::usage(tr, &report, &word);
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    let png = tokio::task::spawn_blocking(move || chart::render(&report)).await??;
    let caption = tr.t("usage-chart-caption", &[("period", &word)]);
    send::photo(bot, req.target, png, &caption, req.reply_to).await?;
    Ok(())
}
