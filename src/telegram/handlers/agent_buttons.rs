//! The stuck alert's buttons (`ag:p:<agent>` Peek, `ag:n:<agent>` Nudge,
//! `ag:r:<agent>` Restart) and the replies that act on the town: a reply
//! to a stuck alert nudges its agent with the reply's text, a reply to a
//! `/mail` message goes back to its sender as mail. Each becomes the
//! command it stands for, so roles, confirmation and audit are the
//! commands' own: a member is refused, Restart asks first.

use std::sync::Arc;

use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, MaybeInaccessibleMessage, Me};

use super::{Outcome, Request, args_of, ask_confirmation, execute, send, target_of};
use crate::core::alerts::incident::AgentVerb;
use crate::telegram::auth::{Access, Role};
use crate::telegram::catalogue::Args;
use crate::telegram::render::{self, Tr};
use crate::telegram::speaker::Speaker;
use crate::telegram::{Ctx, Tg};

/// Runs `command` as if the person had typed it: refused below its role,
/// confirmed when the catalogue says so.
async fn act(ctx: &Arc<Ctx>, bot: &Tg, base: Request) -> anyhow::Result<Result<(), Role>> {
    if base.who.role < base.required_role() {
        base.audit(ctx, Outcome::Refused, Some("role"));
        return Ok(Err(base.required_role()));
    }
    if base.spec.confirm {
        ask_confirmation(ctx, bot, base).await?;
    } else {
        execute(ctx, bot, base, None).await?;
    }
    Ok(Ok(()))
}

/// A stuck alert's Peek, Nudge or Restart on `agent`.
pub async fn on_button(
    bot: Tg,
    q: CallbackQuery,
    ctx: Arc<Ctx>,
    verb: AgentVerb,
    agent: &str,
) -> anyhow::Result<()> {
    let lang = ctx.lang(q.from.language_code.as_deref());
    let tr = Tr::new(&ctx.locales, lang);
    let Some(MaybeInaccessibleMessage::Regular(message)) = q.message.as_ref() else {
        send::answer(&bot, &q.id.0, &tr.raw("confirm-expired", &[])).await;
        return Ok(());
    };
    let command = match verb {
        AgentVerb::Peek => "peek",
        AgentVerb::Nudge => "nudge",
        AgentVerb::Restart => "restart",
    };
    let Some(spec) = ctx.catalogue.get(command) else {
        send::answer(&bot, &q.id.0, "").await;
        return Ok(());
    };
    let role = match ctx.access(q.from.id.0, message.chat.id.0, message.chat.is_private()) {
        Access::Allowed(r) => r,
        _ => {
            send::answer(&bot, &q.id.0, &tr.raw("work-button-denied", &[])).await;
            return Ok(());
        }
    };
    let nudge_text = ctx.core.config().nudge_text.clone();
    let args = match command {
        "peek" => args_of(&[("agent", agent)]),
        "nudge" => args_of(&[("agent", agent), ("text", &nudge_text)]),
        _ => args_of(&[("service", agent)]),
    };
    let who = Speaker {
        id: q.from.id.0,
        name: Speaker::name_of(&q.from),
        role,
        lang,
    };
    let Ok(req) = Request::new(spec, args, who, target_of(message), Some(message.id)) else {
        send::answer(&bot, &q.id.0, "").await;
        return Ok(());
    };
    match act(&ctx, &bot, req).await? {
        Ok(()) => send::answer(&bot, &q.id.0, "").await,
        Err(_) => send::answer(&bot, &q.id.0, &tr.raw("work-button-denied", &[])).await,
    }
    Ok(())
}

/// A reply to one of the bot's stuck alerts or mail messages: acted on and
/// `true`; anything else is `false` (the overseer gets it as before).
pub async fn on_reply(
    bot: &Tg,
    msg: &Message,
    me: &Me,
    ctx: &Arc<Ctx>,
    role: Role,
    text: &str,
) -> anyhow::Result<bool> {
    let Some(original) = msg
        .reply_to_message()
        .filter(|m| m.from.as_ref().is_some_and(|u| u.id == me.user.id))
    else {
        return Ok(false);
    };
    let Some(shown) = original.text() else {
        return Ok(false);
    };
    let from = msg.from.as_ref();
    let lang = ctx.lang(from.and_then(|f| f.language_code.as_deref()));
    let who = Speaker {
        id: from.map(|f| f.id.0).unwrap_or(0),
        name: from.map(Speaker::name_of).unwrap_or_default(),
        role,
        lang,
    };
    let request = |command: &str, args: Args| {
        let spec = ctx.catalogue.get(command)?;
        Request::new(spec, args, who.clone(), target_of(msg), Some(msg.id)).ok()
    };
    if let Some(agent) = render::work::stuck_agent_of(shown) {
        let Some(req) = request("nudge", args_of(&[("agent", agent), ("text", text)])) else {
            return Ok(false);
        };
        if act(ctx, bot, req).await?.is_err() {
            let tr = Tr::new(&ctx.locales, lang);
            send::message(
                bot,
                target_of(msg),
                &tr.t("work-button-denied", &[]),
                None,
                Some(msg.id),
            )
            .await?;
        }
        return Ok(true);
    }
    if let Some(id) = render::work::mail_id_of(shown) {
        let Some(req) = request("mail", args_of(&[("reply", id)])) else {
            return Ok(false);
        };
        let tr = Tr::new(&ctx.locales, lang);
        if req.who.role < req.required_role() {
            req.audit(ctx, Outcome::Refused, Some("role"));
            send::message(
                bot,
                req.target,
                &tr.t("work-button-denied", &[]),
                None,
                Some(msg.id),
            )
            .await?;
            return Ok(true);
        }
        let (reply, outcome) = match ctx.core.reply_mail(id, text, &req.actor()).await {
            Ok(to) => (
                format!("✉️ {}", tr.t("mail-replied", &[("to", &to)])),
                Outcome::Ok,
            ),
            Err(e) => (
                format!(
                    "❌ {}",
                    tr.t("mail-reply-failed", &[("error", &e.to_string())])
                ),
                Outcome::Failed,
            ),
        };
        req.audit(ctx, outcome, None);
        send::message(bot, req.target, &reply, None, Some(msg.id)).await?;
        return Ok(true);
    }
    Ok(false)
}
