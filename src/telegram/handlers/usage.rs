//! `/usage [today|week]`: the text summary, then the chart as a photo.
//! Read from `GASCLAW_HOME/usage.sqlite`, so it works in any gasclaw
//! process (the last second of counts may still be on its way).

use crate::keys::usage::{Period, UsageReport, UsageStore};
use crate::telegram::speaker::{Photo, Reply, Speaker};
use crate::telegram::{Ctx, chart, render};

pub async fn handle(ctx: &Ctx, who: &Speaker, period: Period) -> anyhow::Result<Reply> {
    let tr = who.tr(&ctx.locales);
    let word = match period {
        Period::Week => tr.raw("usage-period-week", &[]),
        _ => tr.raw("usage-period-today", &[]),
    };
    let path = UsageStore::path_in(&ctx.core.config().home);
    let Some(store) = UsageStore::existing(&path) else {
        return Ok(Reply::text(tr.t("usage-empty", &[])));
    };
    let now = chrono::Utc::now();
    let loaded =
        tokio::task::spawn_blocking(move || UsageReport::load(&store, period, now)).await?;
    let report = match loaded {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the usage database");
            return Ok(Reply::text(
                tr.t("usage-unavailable", &[("error", &e.to_string())]),
            ));
        }
    };
    if report.total.requests == 0 && report.quotas.is_empty() {
        return Ok(Reply::text(tr.t("usage-empty", &[])));
    }
    let text = render::usage(tr, &report, &word);
    // The text stands without the chart: a chart that fails is logged.
    let photo = match tokio::task::spawn_blocking(move || chart::render(&report)).await {
        Ok(Ok(png)) => Some(Photo {
            png,
            caption: tr.t("usage-chart-caption", &[("period", &word)]),
        }),
        Ok(Err(e)) => {
            tracing::warn!(error = %format!("{e:#}"), "could not draw the usage chart");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "the usage chart's task failed");
            None
        }
    };
    Ok(Reply {
        photo,
        ..Reply::text(text)
    })
}
