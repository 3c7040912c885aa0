//! From an update to a handler: filter what never runs a command, parse,
//! authorize, validate arguments, confirm control commands, then call the
//! command's handler (one module per command).

mod activity;
mod agent_buttons;
mod agents;
mod alert_buttons;
mod alerts;
mod ask;
mod bootstrap;
mod done;
mod escalations;
mod exec;
mod help;
mod issues;
mod keys;
mod mail;
mod merge;
mod mute;
mod newtask;
mod nudge;
mod pause;
mod peek;
mod pin;
mod pr;
mod prs;
mod restart;
mod status;
mod stop;
mod take;
mod task;
mod tasks;
mod unmute;
mod usage;
mod version;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt as _;
use teloxide::prelude::*;
use teloxide::types::{
    CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, MaybeInaccessibleMessage, Me,
    MessageId,
};

use super::audit::{Entry, Outcome};
use super::auth::{Access, Role};
use super::catalogue::{Action, ArgValue, CommandSpec};
use super::confirm::{Pending, Refusal};
use super::render::{self, Tr};
use super::{Ctx, Target, Tg, grammar, send};
use crate::core::Actor;

/// One command to run, authorized and parsed.
pub struct Request {
    pub spec: Arc<CommandSpec>,
    pub args: Vec<ArgValue>,
    pub user_id: u64,
    pub user: String,
    pub role: Role,
    pub lang: &'static str,
    pub target: Target,
    /// The person's message (replies quote it).
    pub reply_to: Option<MessageId>,
}

impl Request {
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    pub fn tr<'a>(&'a self, ctx: &'a Ctx) -> Tr<'a> {
        Tr::new(&ctx.locales, self.lang)
    }

    /// Who sent it.
    pub fn actor(&self) -> Actor {
        Actor::Person {
            id: self.user_id,
            name: self.user.clone(),
        }
    }

    fn audit(&self, ctx: &Ctx, outcome: Outcome, detail: Option<&str>) {
        ctx.audit.record(&Entry {
            at: chrono::Utc::now(),
            actor: &self.actor(),
            chat_id: self.target.chat_id,
            thread_id: self.target.thread_id,
            command: &self.spec.name,
            args: self.args.iter().map(|a| a.typed.as_str()).collect(),
            outcome,
            detail,
        });
    }
}

fn target_of(msg: &Message) -> Target {
    Target {
        chat_id: msg.chat.id.0,
        // Reply into a thread only for real forum topics: echoing a reply
        // thread id in an ordinary group fails with "thread not found".
        thread_id: if msg.is_topic_message {
            msg.thread_id.map(|t| t.0.0)
        } else {
            None
        },
    }
}

/// Runs one update's handling so that nothing in it takes the bot down: an
/// error is a log line; a panic (logged with its location by the panic
/// hook) is a short "internal error" to the person, and the bot goes on.
pub async fn guarded(
    ctx: Arc<Ctx>,
    bot: Tg,
    target: Target,
    lang: &'static str,
    work: impl Future<Output = anyhow::Result<()>>,
) {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "a handler failed"),
        Err(_) => {
            ctx.telemetry.command("panic", "panic");
            tracing::error!(
                chat = target.chat_id,
                "handling an update panicked (see the panic above); the person is told and the bot goes on"
            );
            let text = render::internal_error(Tr::new(&ctx.locales, lang));
            if let Err(e) = send::message(&bot, target, &text, None, None).await {
                tracing::warn!(error = %send::describe(&e), "could not report the internal error");
            }
        }
    }
}

/// Queues `job` on `chat`'s lane; a job dropped because the lane is full
/// is counted in `/metrics` (command `lane`, outcome `dropped`).
fn enqueue(ctx: &Ctx, chat: i64, job: impl Future<Output = ()> + Send + 'static) {
    if !ctx.lanes.push(chat, Box::pin(job)) {
        ctx.telemetry.command("lane", "dropped");
    }
}

/// Runs `work` off the chat's lane (slow work: the overseer, programs,
/// beads), guarded like every update.
fn spawn_guarded(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    target: Target,
    lang: &'static str,
    work: impl Future<Output = anyhow::Result<()>> + Send + 'static,
) {
    tokio::spawn(guarded(ctx.clone(), bot.clone(), target, lang, work));
}

/// Whether a plain text addresses the bot: a DM, a mention, or a reply to
/// one of its messages (not a forum topic's creation message, which
/// Telegram gives as the "reply" of every message in the topic).
fn addresses_me(msg: &Message, me: &Me, ctx: &Ctx, text: &str) -> bool {
    let username = me.user.username.as_deref().unwrap_or(&ctx.username);
    let mention = format!("@{username}");
    let mentions_me = text
        .to_ascii_lowercase()
        .contains(&mention.to_ascii_lowercase());
    let replies_to_me = msg
        .reply_to_message()
        .filter(|m| m.forum_topic_created().is_none())
        .and_then(|m| m.from.as_ref())
        .is_some_and(|u| u.id == me.user.id);
    msg.chat.is_private() || mentions_me || replies_to_me
}

/// The sender's role when the message is something for the bot to act on
/// (counted against their rate); `None` for chatter, strangers and other
/// bots' commands.
fn addressed_role(
    msg: &Message,
    me: &Me,
    ctx: &Ctx,
    from: &teloxide::types::User,
    text: &str,
) -> Option<Role> {
    let Access::Allowed(role) = ctx.access(from.id.0, msg.chat.id.0, msg.chat.is_private()) else {
        return None;
    };
    let username = me.user.username.as_deref().unwrap_or(&ctx.username);
    let addressed = match grammar::parse(text) {
        Some(p) => grammar::is_for_me(&p, username),
        None => addresses_me(msg, me, ctx, text),
    };
    addressed.then_some(role)
}

/// Every message update. This runs in teloxide's per-chat worker, so it
/// never waits: it checks the person's rate and queues the handling on the
/// chat's lane.
pub async fn on_message(bot: Tg, msg: Message, me: Me, ctx: Arc<Ctx>) -> anyhow::Result<()> {
    // Never act on forwarded messages, other bots, or anonymous senders.
    if msg.forward_origin().is_some() {
        return Ok(());
    }
    let Some(from) = msg.from.as_ref().filter(|u| !u.is_bot) else {
        return Ok(());
    };
    let Some(text) = msg.text() else {
        return Ok(());
    };
    let target = target_of(&msg);
    let lang = ctx.lang(from.language_code.as_deref());
    let chat = msg.chat.id.0;
    let Some(role) = addressed_role(&msg, &me, &ctx, from, text) else {
        // Group chatter, other bots' commands and unlisted groups need
        // nothing, and must not fill the chat's lane; a stranger's DM gets
        // its one refusal.
        if msg.chat.is_private() {
            let job = guarded(
                ctx.clone(),
                bot.clone(),
                target,
                lang,
                handle_message(bot, msg, me, ctx.clone()),
            );
            enqueue(&ctx, chat, job);
        }
        return Ok(());
    };
    let cfg = &ctx.core.config().telegram;
    let per_minute = if role >= Role::Operator {
        cfg.operator_rate
    } else {
        cfg.member_rate
    };
    match ctx.rate.check(from.id.0, per_minute) {
        super::rate::Verdict::Go => {}
        super::rate::Verdict::SlowDown => {
            tracing::info!(
                user = from.id.0,
                chat,
                "over the command rate; told to slow down"
            );
            ctx.telemetry.command("rate", "slow_down");
            let (c, b) = (ctx.clone(), bot.clone());
            let reply_to = msg.id;
            let job = async move {
                let text = render::slow_down(Tr::new(&c.locales, lang), per_minute);
                send::message(&b, target, &text, None, Some(reply_to)).await?;
                Ok(())
            };
            enqueue(&ctx, chat, guarded(ctx.clone(), bot, target, lang, job));
            return Ok(());
        }
        super::rate::Verdict::Silent => {
            ctx.telemetry.command("rate", "ignored");
            return Ok(());
        }
    }
    let job = guarded(
        ctx.clone(),
        bot.clone(),
        target,
        lang,
        handle_message(bot, msg, me, ctx.clone()),
    );
    enqueue(&ctx, chat, job);
    Ok(())
}

/// One message, on its chat's lane.
async fn handle_message(bot: Tg, msg: Message, me: Me, ctx: Arc<Ctx>) -> anyhow::Result<()> {
    let Some(from) = msg.from.as_ref() else {
        return Ok(());
    };
    let Some(text) = msg.text() else {
        return Ok(());
    };
    let Some(parsed) = grammar::parse(text) else {
        return plain_text(&bot, &msg, &me, &ctx, from, text).await;
    };
    let username = me.user.username.as_deref().unwrap_or(&ctx.username);
    if !grammar::is_for_me(&parsed, username) {
        return Ok(());
    }
    let target = target_of(&msg);
    let lang = ctx.lang(from.language_code.as_deref());
    let tr = Tr::new(&ctx.locales, lang);
    let role = match ctx.access(from.id.0, msg.chat.id.0, msg.chat.is_private()) {
        Access::Allowed(r) => r,
        Access::Ignore => return Ok(()),
        Access::StrangerDm => return refuse_stranger(&ctx, &bot, target, tr, from.id.0).await,
    };
    let Some(spec) = ctx.catalogue.get(&parsed.name) else {
        ctx.telemetry.command("unknown", "unknown");
        send::message(
            &bot,
            target,
            &tr.t("unknown-command", &[("name", &parsed.name)]),
            None,
            Some(msg.id),
        )
        .await?;
        return Ok(());
    };
    if role < spec.role {
        ctx.telemetry.command(&spec.name, "refused");
        let text = tr.t(
            "not-allowed",
            &[
                ("name", &spec.name),
                ("role", &render::role_name(tr, spec.role)),
                ("yours", &render::role_name(tr, role)),
            ],
        );
        send::message(&bot, target, &text, None, Some(msg.id)).await?;
        return Ok(());
    }
    let args = match spec.parse_args(parsed.args) {
        Ok(a) => a,
        Err(e) => {
            ctx.telemetry.command(&spec.name, "usage");
            send::message(
                &bot,
                target,
                &render::usage_error(tr, &spec, &e),
                None,
                Some(msg.id),
            )
            .await?;
            return Ok(());
        }
    };
    let req = Request {
        spec: spec.clone(),
        args,
        user_id: from.id.0,
        user: from
            .username
            .clone()
            .unwrap_or_else(|| from.first_name.clone()),
        role,
        lang,
        target,
        reply_to: Some(msg.id),
    };
    if spec.confirm {
        // A merge GitHub would refuse is refused before anyone confirms.
        if spec.action == Action::Merge && !merge::precheck(&ctx, &bot, &req).await? {
            return Ok(());
        }
        return ask_confirmation(&ctx, &bot, req).await;
    }
    execute(&ctx, &bot, req, None).await
}

/// A stranger's DM: one short refusal with their id (so the owner can allow
/// them), at most once per 10 minutes, and nothing about the system.
async fn refuse_stranger(
    ctx: &Ctx,
    bot: &Tg,
    target: Target,
    tr: Tr<'_>,
    user_id: u64,
) -> anyhow::Result<()> {
    tracing::info!(user = user_id, "refused a stranger");
    if ctx.should_refuse(user_id) {
        send::message(
            bot,
            target,
            &tr.t("stranger", &[("id", &user_id.to_string())]),
            None,
            None,
        )
        .await?;
    }
    Ok(())
}

/// Plain text: relayed to the overseer from the owner and operators in a
/// DM, or in an allowed group when it mentions the bot or replies to it.
async fn plain_text(
    bot: &Tg,
    msg: &Message,
    me: &Me,
    ctx: &Arc<Ctx>,
    from: &teloxide::types::User,
    text: &str,
) -> anyhow::Result<()> {
    let target = target_of(msg);
    let lang = ctx.lang(from.language_code.as_deref());
    let tr = Tr::new(&ctx.locales, lang);
    let role = match ctx.access(from.id.0, msg.chat.id.0, msg.chat.is_private()) {
        Access::Allowed(r) => r,
        Access::Ignore => return Ok(()),
        Access::StrangerDm => return refuse_stranger(ctx, bot, target, tr, from.id.0).await,
    };
    if !addresses_me(msg, me, ctx, text) {
        return Ok(());
    }
    if role < Role::Operator {
        send::message(
            bot,
            target,
            &tr.t("overseer-operators-only", &[]),
            None,
            Some(msg.id),
        )
        .await?;
        return Ok(());
    }
    // A reply to a stuck alert (a nudge) or to the town's mail (mail back).
    if agent_buttons::on_reply(bot, msg, me, ctx, role, text).await? {
        return Ok(());
    }
    // The mention addresses the bot; the overseer gets the question.
    let username = me.user.username.as_deref().unwrap_or(&ctx.username);
    let question = strip_mention(text, &format!("@{username}"));
    if question.is_empty() {
        return Ok(());
    }
    let name = from
        .username
        .clone()
        .unwrap_or_else(|| from.first_name.clone());
    let (id, reply_to) = (from.id.0, msg.id);
    let (c, b) = (ctx.clone(), bot.clone());
    // The overseer may think for minutes: off the chat's lane.
    spawn_guarded(ctx, bot, target, lang, async move {
        let who = super::overseer::Speaker {
            id,
            name: &name,
            role,
            lang,
        };
        super::overseer::relay(&c, &b, target, reply_to, who, &question).await
    });
    Ok(())
}

fn strip_mention(text: &str, mention: &str) -> String {
    match regex::Regex::new(&format!("(?i){}\\b", regex::escape(mention))) {
        Ok(re) => re.replace_all(text, "").trim().to_string(),
        Err(_) => text.trim().to_string(),
    }
}

/// The human-readable action for a confirmation prompt.
fn action_text(ctx: &Ctx, req: &Request) -> String {
    let tr = req.tr(ctx);
    match req.spec.action {
        Action::Restart => tr.raw(
            "action-restart",
            &[("service", req.arg("service").unwrap_or("?"))],
        ),
        Action::Bootstrap => tr.raw("action-bootstrap", &[]),
        Action::Stop => tr.raw("action-stop", &[]),
        Action::Pause | Action::Resume => {
            let verb = if req.spec.action == Action::Pause {
                "pause"
            } else {
                "resume"
            };
            match req.arg("rig") {
                Some(rig) => tr.raw(&format!("action-{verb}-rig"), &[("rig", rig)]),
                None => tr.raw(&format!("action-{verb}"), &[]),
            }
        }
        Action::Merge => tr.raw(
            "action-merge",
            &[("number", &issue_number(req).to_string())],
        ),
        _ => {
            let mut s = format!("/{}", req.spec.name);
            for a in &req.args {
                s.push(' ');
                s.push_str(&a.typed);
            }
            s
        }
    }
}

async fn ask_confirmation(ctx: &Ctx, bot: &Tg, req: Request) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let what = action_text(ctx, &req);
    let id = ctx.confirms.add(Pending {
        command: req.spec.name.clone(),
        args: req.args.clone(),
        user_id: req.user_id,
        chat_id: req.target.chat_id,
        thread_id: req.target.thread_id,
        lang: req.lang,
        what: what.clone(),
        created: std::time::Instant::now(),
    });
    let buttons = InlineKeyboardMarkup::new(vec![vec![
        InlineKeyboardButton::callback(tr.raw("confirm-yes", &[]), format!("ok:{id}")),
        InlineKeyboardButton::callback(tr.raw("confirm-no", &[]), format!("no:{id}")),
    ]]);
    req.audit(ctx, Outcome::Asked, None);
    send::message(
        bot,
        req.target,
        &render::confirm_prompt(tr, &what),
        Some(buttons),
        req.reply_to,
    )
    .await?;
    Ok(())
}

/// A button press: queued on its chat's lane, like a message.
pub async fn on_callback(bot: Tg, q: CallbackQuery, ctx: Arc<Ctx>) -> anyhow::Result<()> {
    let lang = ctx.lang(q.from.language_code.as_deref());
    let chat = match q.message.as_ref() {
        Some(m) => m.chat().id.0,
        None => q.from.id.0 as i64,
    };
    let target = Target {
        chat_id: chat,
        thread_id: None,
    };
    let job = guarded(
        ctx.clone(),
        bot.clone(),
        target,
        lang,
        handle_callback(bot, q, ctx.clone()),
    );
    enqueue(&ctx, chat, job);
    Ok(())
}

async fn handle_callback(bot: Tg, q: CallbackQuery, ctx: Arc<Ctx>) -> anyhow::Result<()> {
    if q.data
        .as_deref()
        .is_some_and(|d| d.starts_with(crate::core::alerts::CALLBACK_PREFIX))
    {
        return alert_buttons::press(bot, q, ctx).await;
    }
    let lang = ctx.lang(q.from.language_code.as_deref());
    let tr = Tr::new(&ctx.locales, lang);
    let Some((verb, id)) = q.data.as_deref().and_then(|d| d.split_once(':')) else {
        send::answer(&bot, &q.id.0, "").await;
        return Ok(());
    };
    if verb == "ag" {
        let data = id.to_string();
        return agent_buttons::on_button(bot, q, ctx, &data).await;
    }
    let Some(MaybeInaccessibleMessage::Regular(message)) = q.message.as_ref() else {
        send::answer(&bot, &q.id.0, &tr.raw("confirm-expired", &[])).await;
        return Ok(());
    };
    let message = message.as_ref();
    if verb == "es" {
        return escalations::callback(&ctx, &bot, &q, message, id).await;
    }
    let pending = match ctx.confirms.take(id, q.from.id.0) {
        Ok(p) => p,
        Err(r) => {
            let key = match r {
                Refusal::Used => "confirm-used",
                Refusal::Expired => "confirm-expired",
                Refusal::NotYours => "confirm-not-yours",
            };
            send::answer(&bot, &q.id.0, &tr.raw(key, &[])).await;
            if r == Refusal::Expired {
                send::edit(
                    &bot,
                    message.chat.id.0,
                    message.id,
                    &tr.t("confirm-expired", &[]),
                    None,
                )
                .await?;
            }
            return Ok(());
        }
    };
    let Some(spec) = ctx.catalogue.get(&pending.command) else {
        send::answer(&bot, &q.id.0, &tr.raw("confirm-used", &[])).await;
        return Ok(());
    };
    let target = Target {
        chat_id: pending.chat_id,
        thread_id: pending.thread_id,
    };
    let user = q
        .from
        .username
        .clone()
        .unwrap_or_else(|| q.from.first_name.clone());
    let mut req = Request {
        spec: spec.clone(),
        args: pending.args.clone(),
        user_id: q.from.id.0,
        user,
        role: Role::Member,
        lang: pending.lang,
        target,
        reply_to: None,
    };
    let tr = Tr::new(&ctx.locales, pending.lang);
    if verb != "ok" {
        req.audit(&ctx, Outcome::Cancelled, None);
        send::answer(&bot, &q.id.0, &tr.raw("confirm-ok", &[])).await;
        send::edit(
            &bot,
            target.chat_id,
            message.id,
            &tr.t("confirm-cancelled", &[("what", &pending.what)]),
            None,
        )
        .await?;
        return Ok(());
    }
    // Authorization again, now: the person may have lost their role.
    let private = message.chat.is_private();
    match ctx.access(q.from.id.0, pending.chat_id, private) {
        Access::Allowed(role) if role >= spec.role => req.role = role,
        _ => {
            req.audit(&ctx, Outcome::Refused, Some("no longer authorized"));
            send::answer(&bot, &q.id.0, &tr.raw("confirm-denied", &[])).await;
            send::edit(
                &bot,
                target.chat_id,
                message.id,
                &tr.t("confirm-denied", &[]),
                None,
            )
            .await?;
            return Ok(());
        }
    }
    req.audit(&ctx, Outcome::Confirmed, None);
    send::answer(&bot, &q.id.0, &tr.raw("confirm-ok", &[])).await;
    execute(&ctx, &bot, req, Some(message.id)).await
}

/// Runs an authorized request. `status` is a message of ours to edit in
/// place (the confirmation prompt) rather than sending a new one.
pub async fn execute(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
) -> anyhow::Result<()> {
    // Slow work leaves the chat's lane (restart, bootstrap and stop spawn
    // their own): the chat's next command is not held up behind it.
    if matches!(
        req.spec.action,
        Action::Ask
            | Action::Exec
            | Action::Tasks
            | Action::Task
            | Action::Newtask
            | Action::Done
            | Action::Peek
            | Action::Mail
            | Action::Pin
            | Action::Escalations
    ) {
        let (c, b) = (ctx.clone(), bot.clone());
        let (target, lang) = (req.target, req.lang);
        spawn_guarded(ctx, bot, target, lang, async move {
            run_action(&c, &b, req, status).await
        });
        return Ok(());
    }
    run_action(ctx, bot, req, status).await
}

async fn run_action(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
) -> anyhow::Result<()> {
    let (name, target, lang, reply_to) =
        (req.spec.name.clone(), req.target, req.lang, req.reply_to);
    let result = match req.spec.action {
        Action::Help => help::run(ctx, bot, &req).await,
        Action::Status => status::run(ctx, bot, &req).await,
        Action::Keys => keys::run(ctx, bot, &req).await,
        Action::Agents => agents::run(ctx, bot, &req).await,
        Action::Activity => activity::run(ctx, bot, &req).await,
        Action::Restart => restart::run(ctx, bot, req, status).await,
        Action::Bootstrap => bootstrap::run(ctx, bot, req, status).await,
        Action::Stop => stop::run(ctx, bot, req, status).await,
        Action::Exec => exec::run(ctx, bot, &req).await,
        Action::Mute => mute::run(ctx, bot, &req).await,
        Action::Unmute => unmute::run(ctx, bot, &req).await,
        Action::Alerts => alerts::run(ctx, bot, &req).await,
        Action::Ask => ask::run(ctx, bot, &req).await,
        Action::Version => version::run(ctx, bot, &req).await,
        Action::Tasks => tasks::run(ctx, bot, &req).await,
        Action::Task => task::run(ctx, bot, &req).await,
        Action::Newtask => newtask::run(ctx, bot, &req).await,
        Action::Done => done::run(ctx, bot, &req).await,
        Action::Usage => usage::run(ctx, bot, &req).await,
        Action::Prs => prs::run(ctx, bot, &req).await,
        Action::Pr => pr::run(ctx, bot, &req).await,
        Action::Merge => merge::run(ctx, bot, req, status).await,
        Action::Issues => issues::run(ctx, bot, &req).await,
        Action::Take => take::run(ctx, bot, &req).await,
        Action::Peek => peek::run(ctx, bot, &req).await,
        Action::Nudge => nudge::run(ctx, bot, req, status).await,
        Action::Mail => mail::run(ctx, bot, &req).await,
        Action::Pause => pause::run(ctx, bot, req, status, pause::Freeze::Pause).await,
        Action::Resume => pause::run(ctx, bot, req, status, pause::Freeze::Resume).await,
        Action::Pin => pin::run(ctx, bot, &req).await,
        Action::Escalations => escalations::run(ctx, bot, &req).await,
    };
    ctx.telemetry
        .command(&name, if result.is_ok() { "ok" } else { "error" });
    if let Err(e) = result {
        // A short reply to the person, the cause in the log.
        tracing::error!(command = %name, error = %format!("{e:#}"), "command failed");
        let tr = Tr::new(&ctx.locales, lang);
        let text = tr.t("error-internal", &[("error", &short_error(&e))]);
        if let Err(e) = send::message(bot, target, &text, None, reply_to).await {
            tracing::warn!(error = %send::describe(&e), "could not report the error");
        }
    }
    Ok(())
}

/// Shows `text` in the message to edit in place (the confirmation prompt),
/// or in a new reply; returns its id for the later edits.
pub async fn status_message(
    bot: &Tg,
    req: &Request,
    status: Option<MessageId>,
    text: &str,
) -> anyhow::Result<MessageId> {
    Ok(match status {
        Some(id) => {
            send::edit(bot, req.target.chat_id, id, text, None).await?;
            id
        }
        None => {
            send::message(bot, req.target, text, None, req.reply_to)
                .await?
                .id
        }
    })
}

/// The GitHub side, or a reply saying it is off.
pub async fn github_or_say<'a>(
    ctx: &'a Ctx,
    bot: &Tg,
    req: &Request,
) -> anyhow::Result<Option<&'a Arc<crate::core::github::GithubWatch>>> {
    if ctx.core.github().is_none() {
        send::message(
            bot,
            req.target,
            &render::github::off(req.tr(ctx)),
            None,
            req.reply_to,
        )
        .await?;
    }
    Ok(ctx.core.github())
}

/// The `number` argument (`12` or `#12`; the catalogue's pattern checked it).
pub fn issue_number(req: &Request) -> u64 {
    req.arg("number")
        .unwrap_or("")
        .trim_start_matches('#')
        .parse()
        .unwrap_or(0)
}

/// An error for a chat reply: Telegram errors described without internals.
fn short_error(e: &anyhow::Error) -> String {
    match e.downcast_ref::<teloxide::RequestError>() {
        Some(re) => send::describe(re),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gasclaw_fakes::bot_api::{FakeBotApi, FakeOptions};

    /// A panic in one update's handling: the person hears "internal error"
    /// (through the real teloxide bot and the fake Bot API), the panic is
    /// counted, and the caller goes on.
    #[tokio::test]
    async fn a_panicking_handler_is_an_internal_error_reply() {
        crate::testing::bounded(async {
            let dir = tempfile::tempdir().expect("test value");
            let core = crate::testing::core(dir.path());
            let fake = FakeBotApi::start(FakeOptions::default())
                .await
                .expect("test value");
            let bot = Tg::new(
                teloxide::Bot::new(fake.token()).set_api_url(fake.url().parse().expect("url")),
                false,
            );
            let telemetry = Arc::new(super::super::Telemetry::default());
            let ctx = super::super::context(
                core,
                Arc::new(crate::i18n::Locales::embedded()),
                telemetry.clone(),
                "gas_bot".into(),
                Arc::new(
                    crate::telegram::outbox::Outbox::open(&dir.path().join("outbox"))
                        .expect("outbox"),
                ),
            )
            .expect("test value");
            let target = Target {
                chat_id: 42,
                thread_id: None,
            };
            for lang in ["en", "zh-CN"] {
                guarded(ctx.clone(), bot.clone(), target, lang, async {
                    let v: Vec<u8> = Vec::new();
                    // An out-of-bounds index: a bug, not a person's input.
                    let i = v.len() + std::hint::black_box(3);
                    anyhow::ensure!(v[i] == 0, "unreachable");
                    Ok(())
                })
                .await;
            }
            let sent = fake.sent_messages(42);
            assert_eq!(sent.len(), 2, "{sent:?}");
            assert!(sent[0].text.contains("Something went wrong inside gasclaw"));
            assert!(sent[1].text.contains("gasclaw 内部出错"));
            assert!(
                telemetry
                    .commands()
                    .contains(&(("panic".into(), "panic".into()), 2))
            );
            fake.stop();
        })
        .await
    }
}
