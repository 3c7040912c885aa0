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
mod dispatch;
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
    CallbackQuery, InlineKeyboardMarkup, MaybeInaccessibleMessage, Me, MessageId,
};

use super::audit::{Entry, Outcome};
use super::auth::{Access, Role};
use super::catalogue::{ArgValue, Args, CommandSpec, UsageError};
use super::command::{BotCommand, Freeze};
use super::confirm::{Pending, Refusal};
use super::press::Press;
use super::render::{self, Tr};
use super::speaker::{After, Progress, Reply, Speaker};
use super::{Ctx, Target, Tg, grammar, send};
use crate::core::Actor;
use dispatch::{deliver, execute};

/// One command to run: authorized, its words checked by the catalogue and
/// typed.
pub struct Request {
    pub spec: Arc<CommandSpec>,
    /// The words as the catalogue checked them (the audit log's and the
    /// confirmation's record of what was asked).
    pub args: Args,
    pub command: BotCommand,
    pub who: Speaker,
    pub target: Target,
    /// The person's message (replies quote it).
    pub reply_to: Option<MessageId>,
}

impl Request {
    /// The typed command `args` of `spec` stand for.
    pub fn new(
        spec: Arc<CommandSpec>,
        args: Args,
        who: Speaker,
        target: Target,
        reply_to: Option<MessageId>,
    ) -> Result<Request, UsageError> {
        let command = BotCommand::from_args(&spec, &args)?;
        Ok(Request {
            spec,
            args,
            command,
            who,
            target,
            reply_to,
        })
    }

    pub fn tr<'a>(&self, ctx: &'a Ctx) -> Tr<'a> {
        self.who.tr(&ctx.locales)
    }

    /// Who sent it.
    pub fn actor(&self) -> Actor {
        self.who.actor()
    }

    /// The role these arguments need (a sub-command's may be higher).
    pub fn required_role(&self) -> Role {
        self.spec.role_for(&self.args)
    }

    fn audit(&self, ctx: &Ctx, outcome: Outcome, detail: Option<&str>) {
        ctx.audit.record(&Entry {
            at: chrono::Utc::now(),
            actor: &self.actor(),
            chat_id: self.target.chat_id,
            thread_id: self.target.thread_id,
            command: &self.spec.name,
            args: self.args.typed(),
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
        return refuse_role(&ctx, &bot, &msg, tr, &spec.name, spec.role, role).await;
    }
    let who = Speaker {
        id: from.id.0,
        name: Speaker::name_of(from),
        role,
        lang,
    };
    let req = match read_request(&spec, parsed.args, who, target, msg.id) {
        Ok(r) => r,
        Err(Unfit::Usage(e)) => {
            ctx.telemetry.command(&spec.name, "usage");
            let text = render::usage_error(tr, &spec, &e);
            send::message(&bot, target, &text, None, Some(msg.id)).await?;
            return Ok(());
        }
        Err(Unfit::Role { name, needed }) => {
            return refuse_role(&ctx, &bot, &msg, tr, &name, needed, role).await;
        }
    };
    if spec.confirm {
        // A merge GitHub would refuse is refused before anyone confirms.
        if let BotCommand::Merge { number } = req.command
            && let Some(refusal) = merge::precheck(ctx.as_ref(), &req.who, number).await
        {
            return deliver(&ctx, &bot, &req, None, refusal).await;
        }
        return ask_confirmation(&ctx, &bot, req).await;
    }
    execute(&ctx, &bot, req, None).await
}

/// Why a command's words do not make a request.
enum Unfit {
    Usage(UsageError),
    /// A sub-command that needs more than its command (`/keys clear`).
    Role {
        name: String,
        needed: Role,
    },
}

/// The request `text` makes of `spec`: its words checked by the catalogue,
/// the sub-command's role checked, the command typed.
fn read_request(
    spec: &Arc<CommandSpec>,
    text: &str,
    who: Speaker,
    target: Target,
    reply_to: MessageId,
) -> Result<Request, Unfit> {
    let args = spec.parse_args(text).map_err(Unfit::Usage)?;
    let needed = spec.role_for(&args);
    if who.role < needed {
        let name = spec.name_for(&args);
        return Err(Unfit::Role { name, needed });
    }
    Request::new(spec.clone(), args, who, target, Some(reply_to)).map_err(Unfit::Usage)
}

/// "/name needs role X; yours is Y", counted as refused.
async fn refuse_role(
    ctx: &Ctx,
    bot: &Tg,
    msg: &Message,
    tr: Tr<'_>,
    name: &str,
    needed: Role,
    role: Role,
) -> anyhow::Result<()> {
    ctx.telemetry
        .command(name.split(' ').next().unwrap_or(name), "refused");
    let text = tr.t(
        "not-allowed",
        &[
            ("name", name),
            ("role", &render::role_name(tr, needed)),
            ("yours", &render::role_name(tr, role)),
        ],
    );
    send::message(bot, target_of(msg), &text, None, Some(msg.id)).await?;
    Ok(())
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
    let who = Speaker {
        id: from.id.0,
        name: Speaker::name_of(from),
        role,
        lang,
    };
    let reply_to = msg.id;
    let (c, b) = (ctx.clone(), bot.clone());
    // The overseer may think for minutes: off the chat's lane.
    spawn_guarded(ctx, bot, target, lang, async move {
        super::overseer::relay(&c, &b, target, reply_to, &who, &question).await
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
    match &req.command {
        BotCommand::Restart(target) => tr.raw("action-restart", &[("service", target.name())]),
        BotCommand::Bootstrap => tr.raw("action-bootstrap", &[]),
        BotCommand::Stop => tr.raw("action-stop", &[]),
        BotCommand::Freeze { freeze, rig } => {
            let verb = match freeze {
                Freeze::Pause => "pause",
                Freeze::Resume => "resume",
            };
            match rig {
                Some(rig) => tr.raw(&format!("action-{verb}-rig"), &[("rig", rig)]),
                None => tr.raw(&format!("action-{verb}"), &[]),
            }
        }
        BotCommand::Merge { number } => tr.raw("action-merge", &[("number", &number.to_string())]),
        _ => {
            let mut s = format!("/{}", req.spec.name);
            for word in req.args.typed() {
                s.push(' ');
                s.push_str(word);
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
        user_id: req.who.id,
        chat_id: req.target.chat_id,
        thread_id: req.target.thread_id,
        lang: req.who.lang,
        what: what.clone(),
        created: std::time::Instant::now(),
    });
    let buttons = InlineKeyboardMarkup::new(vec![
        [(true, "confirm-yes"), (false, "confirm-no")]
            .into_iter()
            .filter_map(|(yes, label)| {
                let press = Press::Confirm {
                    yes,
                    id: id.to_string(),
                };
                super::press::button(tr.raw(label, &[]), &press)
            })
            .collect::<Vec<_>>(),
    ]);
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
    let lang = ctx.lang(q.from.language_code.as_deref());
    let tr = Tr::new(&ctx.locales, lang);
    let Some(press) = q.data.as_deref().and_then(Press::parse) else {
        send::answer(&bot, &q.id.0, "").await;
        return Ok(());
    };
    let (yes, id) = match press {
        Press::Alert { incident, action } => {
            return alert_buttons::press(bot, q, ctx, incident, action).await;
        }
        Press::Agent { verb, agent } => {
            return agent_buttons::on_button(bot, q, ctx, verb, &agent).await;
        }
        Press::Escalation { close, id } => {
            let Some(MaybeInaccessibleMessage::Regular(message)) = q.message.as_ref() else {
                send::answer(&bot, &q.id.0, &tr.raw("confirm-expired", &[])).await;
                return Ok(());
            };
            return escalations::callback(&ctx, &bot, &q, message, close, &id).await;
        }
        Press::Confirm { yes, id } => (yes, id),
    };
    let Some(MaybeInaccessibleMessage::Regular(message)) = q.message.as_ref() else {
        send::answer(&bot, &q.id.0, &tr.raw("confirm-expired", &[])).await;
        return Ok(());
    };
    let message = message.as_ref();
    let pending = match ctx.confirms.take(&id, q.from.id.0) {
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
    let who = Speaker {
        id: q.from.id.0,
        name: Speaker::name_of(&q.from),
        role: Role::Member,
        lang: pending.lang,
    };
    let Ok(mut req) = Request::new(spec.clone(), pending.args.clone(), who, target, None) else {
        // The catalogue changed under the confirmation (a restart with an
        // operator's new file): nothing to run.
        send::answer(&bot, &q.id.0, &tr.raw("confirm-used", &[])).await;
        return Ok(());
    };
    let tr = Tr::new(&ctx.locales, pending.lang);
    if !yes {
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
        Access::Allowed(role) if role >= req.required_role() => req.who.role = role,
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

/// Arguments as a button or a reply gives them (`name`, value): the words
/// the catalogue would have checked, for the typed parse and the record.
fn args_of(pairs: &[(&str, &str)]) -> Args {
    Args {
        sub: None,
        values: pairs
            .iter()
            .map(|(name, value)| ArgValue {
                name: (*name).into(),
                typed: (*value).into(),
                value: (*value).into(),
            })
            .collect(),
    }
}

/// The reply of a GitHub command when GitHub is off.
fn github_off(ctx: &Ctx, who: &Speaker) -> Reply {
    Reply::text(render::github::off(who.tr(&ctx.locales)))
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

#[cfg(test)]
mod handler_tests;
