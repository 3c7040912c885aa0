//! Presses on an alert's buttons (callback data `al:<incident>:<action>`).
//! The incident is looked up in the core's persisted incidents, so the
//! buttons of an alert sent before a restart of gasclaw still work; a press
//! on an incident that ended says so and takes the buttons off. The
//! presser's role is checked at the time of the press against the role of
//! the command the button stands for (`/mute` for Ack and Mute, `/restart`
//! for Restart); Restart then asks for the same confirmation as
//! `/restart`, and runs (and is audited) the same way.

use std::sync::Arc;

use teloxide::types::{CallbackQuery, MaybeInaccessibleMessage};

use super::{Entry, Outcome, Request, ask_confirmation, send, target_of};
use crate::core::Actor;
use crate::core::alerts::{AlertAction, IncidentId};
use crate::telegram::auth::Access;
use crate::telegram::render::Tr;
use crate::telegram::speaker::Speaker;
use crate::telegram::{Ctx, Tg};

pub(super) async fn press(
    bot: Tg,
    q: CallbackQuery,
    ctx: Arc<Ctx>,
    incident: IncidentId,
    action: AlertAction,
) -> anyhow::Result<()> {
    let lang = ctx.lang(q.from.language_code.as_deref());
    let tr = Tr::new(&ctx.locales, lang);
    let Some(MaybeInaccessibleMessage::Regular(message)) = q.message.as_ref() else {
        send::answer(&bot, &q.id.0, &tr.raw("alert-press-ended", &[])).await;
        return Ok(());
    };
    let message = message.as_ref();
    let alerts = ctx.core.alerts();
    let Some(open) = alerts.incidents.get(incident).filter(|i| i.is_open()) else {
        send::answer(&bot, &q.id.0, &tr.raw("alert-press-ended", &[])).await;
        if let Err(e) = send::remove_buttons(&bot, message.chat.id.0, message.id).await {
            tracing::debug!(error = %send::describe(&e), "could not take the buttons off an ended alert");
        }
        return Ok(());
    };
    let command = match action {
        AlertAction::Ack | AlertAction::Mute(_) => "mute",
        AlertAction::Restart(_) => "restart",
        // An agent's buttons carry `ag:` data (handlers::work), an escalation's
        // `es:` data (handlers/escalations.rs); never `al:`.
        AlertAction::Agent(_) | AlertAction::EscalationAck | AlertAction::EscalationClose => {
            send::answer(&bot, &q.id.0, &tr.raw("alert-press-denied", &[])).await;
            return Ok(());
        }
    };
    let Some(spec) = ctx.catalogue.get(command) else {
        send::answer(&bot, &q.id.0, &tr.raw("alert-press-denied", &[])).await;
        return Ok(());
    };
    let user = Speaker::name_of(&q.from);
    let actor = Actor::Person {
        id: q.from.id.0,
        name: user.clone(),
    };
    let target = target_of(message);
    let audit = |verb: &str, outcome: Outcome, detail: Option<&str>| {
        let id = incident.to_string();
        ctx.audit.record(&Entry {
            at: chrono::Utc::now(),
            actor: &actor,
            chat_id: target.chat_id,
            thread_id: target.thread_id,
            command: verb,
            args: vec![id.as_str(), &open.alert.subject.label()],
            outcome,
            detail,
        })
    };
    // Authorization now: the person may have lost (or never had) the role.
    let role = match ctx.access(q.from.id.0, message.chat.id.0, message.chat.is_private()) {
        Access::Allowed(role) if role >= spec.role => role,
        _ => {
            audit(&format!("alert-{}", verb(&action)), Outcome::Refused, None);
            send::answer(&bot, &q.id.0, &tr.raw("alert-press-denied", &[])).await;
            return Ok(());
        }
    };
    match action {
        AlertAction::Ack => {
            let Ok(i) = alerts.ack(incident, &user) else {
                send::answer(&bot, &q.id.0, &tr.raw("alert-press-ended", &[])).await;
                return Ok(());
            };
            audit("alert-ack", Outcome::Ok, None);
            send::answer(&bot, &q.id.0, &tr.raw("alert-press-acked", &[])).await;
            edit_everywhere(&ctx, incident);
            tracing::info!(incident = %i.id(), by = %user, "alert acknowledged");
        }
        AlertAction::Mute(d) => {
            let name = open.alert.subject.mute_name();
            let Some(until) = alerts.mutes.mute(name, d) else {
                send::answer(&bot, &q.id.0, &tr.raw("alert-press-denied", &[])).await;
                return Ok(());
            };
            audit("alert-mute", Outcome::Ok, None);
            let until = until.format("%Y-%m-%d %H:%M UTC").to_string();
            send::answer(
                &bot,
                &q.id.0,
                &tr.raw("alert-press-muted", &[("check", name), ("until", &until)]),
            )
            .await;
        }
        AlertAction::Restart(service) => {
            let who = Speaker {
                id: q.from.id.0,
                name: user,
                role,
                lang,
            };
            let args = super::args_of(&[("service", service.name())]);
            let Ok(req) = Request::new(spec, args, who, target, Some(message.id)) else {
                send::answer(&bot, &q.id.0, &tr.raw("alert-press-denied", &[])).await;
                return Ok(());
            };
            send::answer(&bot, &q.id.0, "").await;
            ask_confirmation(&ctx, &bot, req).await?;
        }
        // Answered above: their data is `ag:`/`es:`, never `al:`.
        AlertAction::Agent(_) | AlertAction::EscalationAck | AlertAction::EscalationClose => {}
    }
    Ok(())
}

fn verb(a: &AlertAction) -> &'static str {
    match a {
        AlertAction::Ack => "ack",
        AlertAction::Mute(_) => "mute",
        AlertAction::Restart(_) => "restart",
        AlertAction::Agent(_) => "agent",
        AlertAction::EscalationAck => "escalation-ack",
        AlertAction::EscalationClose => "escalation-close",
    }
}

/// Queues the edit of an incident's alert in every chat it went to (its
/// text as it reads now, with its buttons).
pub(crate) fn edit_everywhere(ctx: &Ctx, incident: IncidentId) {
    let Some(i) = ctx.core.alerts().incidents.get(incident) else {
        return;
    };
    for t in &i.targets {
        if let Err(e) = ctx.outbox.edit_alert(*t, i.current()) {
            tracing::error!(error = %e, "could not queue an alert's edit");
        }
    }
}
