//! `/alerts`: what is down now (with each open incident's state:
//! acknowledged, muted, held) and what is muted, with the buttons of the
//! open incidents (the same as on their alerts).

use crate::core::alerts::Subject;
use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub fn handle(ctx: &Ctx, who: &Speaker) -> Reply {
    let tr = who.tr(&ctx.locales);
    let alerts = ctx.core.alerts();
    let open = alerts.incidents.open_incidents();
    let down: Vec<(String, String, String)> = alerts
        .down()
        .into_iter()
        .map(|(id, since, detail)| {
            let mut notes = Vec::new();
            if let Some(i) = open.iter().find(|i| i.alert.subject == Subject::Check(id)) {
                if let Some(who) = &i.acked_by {
                    notes.push(tr.raw("alerts-state-acked", &[("who", who)]));
                }
                if let Some(cause) = i
                    .caused_by
                    .and_then(|c| alerts.incidents.get(c))
                    .map(|c| c.alert.subject.label())
                {
                    notes.push(tr.raw("alerts-state-caused", &[("cause", &cause)]));
                } else if i.held {
                    notes.push(tr.raw("alerts-state-held", &[]));
                }
            }
            if alerts.mutes.is_muted(id) {
                notes.push(tr.raw("alerts-state-muted", &[]));
            }
            let detail = if notes.is_empty() {
                detail
            } else {
                format!("{detail} ({})", notes.join(", "))
            };
            (
                id.label().to_string(),
                since.format("%Y-%m-%d %H:%M UTC").to_string(),
                detail,
            )
        })
        .collect();
    let muted: Vec<(String, String)> = alerts
        .mutes
        .active()
        .into_iter()
        .map(|(n, u)| (n, u.format("%Y-%m-%d %H:%M UTC").to_string()))
        .collect();
    let current: Vec<_> = open.iter().map(|i| i.current()).collect();
    Reply::with_buttons(
        render::alerts(tr, &down, &muted),
        render::alert::rows(tr, &current),
    )
}
