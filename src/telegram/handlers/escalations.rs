//! `/escalations`: the open ones, each with **Ack** and **Close** buttons
//! (`es:a:<id>`, `es:c:<id>`). A press is checked again here (operators
//! only: a member sees the list, not the power), done through gt as the
//! overseer, audited, and answered in the chat.

use std::sync::Arc;

use teloxide::types::{CallbackQuery, InlineKeyboardMarkup, Message};

use super::send;
use crate::core::Actor;
use crate::telegram::audit::{Entry, Outcome};
use crate::telegram::auth::{Access, Role};
use crate::telegram::press::{self, Press};
use crate::telegram::render::{self, Tr};
use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, Tg};

/// At most this many escalations (and rows of buttons) in one reply.
const MAX_LISTED: usize = 10;

/// The Ack and Close buttons of each escalation, one row each.
pub fn buttons(tr: Tr<'_>, ids: &[&str]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(ids.iter().map(|id| {
        [(false, "work-button-ack"), (true, "work-button-close")]
            .into_iter()
            .filter_map(|(close, label)| {
                let press = Press::Escalation {
                    close,
                    id: (*id).to_string(),
                };
                press::button(format!("{} {id}", tr.raw(label, &[])), &press)
            })
            .collect::<Vec<_>>()
    }))
}

pub async fn handle(ctx: &Ctx, who: &Speaker) -> anyhow::Result<Reply> {
    let tr = who.tr(&ctx.locales);
    let list = ctx.core.escalations().await?;
    let list: Vec<_> = list
        .into_iter()
        .map(|mut e| {
            let r = ctx.core.redactor();
            e.title = r.redact(&e.title);
            e.source = e.source.map(|s| r.redact(&s));
            e
        })
        .collect();
    let text = render::town::escalations(tr, &list, MAX_LISTED);
    let ids: Vec<&str> = list
        .iter()
        .take(MAX_LISTED)
        .map(|e| e.id.as_str())
        .filter(|id| crate::core::work::escalations::valid_id(id))
        .collect();
    let markup = (!ids.is_empty()).then(|| buttons(tr, &ids));
    Ok(Reply::with_buttons(text, markup))
}

/// An Ack or Close press on escalation `id`.
pub async fn callback(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    q: &CallbackQuery,
    message: &Message,
    close: bool,
    id: &str,
) -> anyhow::Result<()> {
    let lang = ctx.lang(q.from.language_code.as_deref());
    let tr = Tr::new(&ctx.locales, lang);
    let name = Speaker::name_of(&q.from);
    let actor = Actor::Person {
        id: q.from.id.0,
        name: name.clone(),
    };
    let target = super::target_of(message);
    let command = if close {
        "escalation-close"
    } else {
        "escalation-ack"
    };
    let audit = |outcome: Outcome, detail: Option<&str>| {
        ctx.audit.record(&Entry {
            at: chrono::Utc::now(),
            actor: &actor,
            chat_id: target.chat_id,
            thread_id: target.thread_id,
            command,
            args: vec![id],
            outcome,
            detail,
        });
    };
    let private = message.chat.is_private();
    match ctx.access(q.from.id.0, message.chat.id.0, private) {
        Access::Allowed(role) if role >= Role::Operator => {}
        _ => {
            audit(Outcome::Refused, Some("operators only"));
            ctx.telemetry.command(command, "refused");
            send::answer(bot, &q.id.0, &tr.raw("work-escalation-operators", &[])).await;
            return Ok(());
        }
    }
    let result = if close {
        ctx.core
            .close_escalation(id, &format!("closed from Telegram by {name}"), &actor)
            .await
    } else {
        ctx.core.ack_escalation(id, &actor).await
    };
    let text = match &result {
        Ok(_) => {
            audit(Outcome::Ok, None);
            render::town::escalation_done(tr, close, id, &format!("@{name}"))
        }
        Err(e) => {
            let err = ctx.core.redactor().redact(&e.to_string());
            audit(Outcome::Failed, Some(&err));
            render::town::escalation_failed(tr, id, &err)
        }
    };
    ctx.telemetry
        .command(command, if result.is_ok() { "ok" } else { "error" });
    // A closed escalation's alert (one row of buttons) is done with them;
    // a list of several keeps the others'.
    let rows = message
        .reply_markup()
        .map_or(0, |m| m.inline_keyboard.len());
    if close
        && rows == 1
        && result.is_ok()
        && let Err(e) = send::remove_buttons(bot, message.chat.id.0, message.id).await
    {
        tracing::debug!(error = %send::describe(&e), "could not take the buttons off");
    }
    send::answer(bot, &q.id.0, "").await;
    send::message(bot, target, &text, None, Some(message.id)).await?;
    Ok(())
}
