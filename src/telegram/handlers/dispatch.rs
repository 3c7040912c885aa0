//! From a typed request to the chat: the one place a command meets its
//! handler, the lane it runs on, its "working…" message and progress, and
//! the delivery of its reply (sent or edited in place, audited, counted).

use std::sync::Arc;

use teloxide::types::MessageId;

use super::*;

/// Runs an authorized request. `status` is a message of ours to edit in
/// place (the confirmation prompt) rather than sending a new one.
pub(super) async fn execute(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
) -> anyhow::Result<()> {
    // Slow work leaves the chat's lane: the chat's next command is not held
    // up behind it.
    if req.command.runs_off_lane() {
        let (c, b) = (ctx.clone(), bot.clone());
        let (target, lang) = (req.target, req.who.lang);
        spawn_guarded(ctx, bot, target, lang, async move {
            run_action(&c, &b, req, status).await
        });
        return Ok(());
    }
    run_action(ctx, bot, req, status).await
}

/// The "working…" message of a command that shows one while it runs in
/// its own task, then becomes its result.
fn working(tr: Tr<'_>, command: &BotCommand) -> Option<String> {
    Some(match command {
        BotCommand::Restart(target) => restart::working(tr, target),
        BotCommand::Bootstrap => bootstrap::working(tr),
        BotCommand::Stop => stop::working(tr),
        BotCommand::Nudge { agent, .. } => nudge::working(tr, agent),
        BotCommand::Freeze { .. } => pause::WORKING.to_string(),
        _ => return None,
    })
}

async fn run_action(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
) -> anyhow::Result<()> {
    // Two commands answer in the chat themselves: the overseer's relay
    // (typing…, a long answer split) and the pinned card (kept and edited).
    let effect = match &req.command {
        BotCommand::Ask { question } => Some(ask::run(ctx, bot, &req, question).await),
        BotCommand::Pin => Some(pin::run(ctx, bot, &req).await),
        _ => None,
    };
    if let Some(result) = effect {
        return report(ctx, bot, &req, result).await;
    }
    let Some(text) = working(req.tr(ctx), &req.command) else {
        let result = match handle(ctx, &req.command, &req.who, &Progress::none()).await {
            Ok(reply) => deliver(ctx, bot, &req, status, reply).await,
            Err(e) => Err(e),
        };
        return report(ctx, bot, &req, result).await;
    };
    let id = status_message(bot, &req, status, &text).await?;
    let (ctx, bot) = (ctx.clone(), bot.clone());
    tokio::spawn(async move {
        // Progress edits the status message in order, before the result.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let (b, chat) = (bot.clone(), req.target.chat_id);
        let edits = tokio::spawn(async move {
            while let Some(text) = rx.recv().await {
                if let Err(e) = send::edit(&b, chat, id, &text, None).await {
                    tracing::warn!(error = %send::describe(&e), "could not show a command's progress");
                }
            }
        });
        let result = handle(&ctx, &req.command, &req.who, &Progress::to(tx)).await;
        // The sender went with `handle`'s progress: the edits end.
        if let Err(e) = edits.await {
            tracing::warn!(error = %e, "the progress edits' task failed");
        }
        let result = match result {
            Ok(reply) => deliver(&ctx, &bot, &req, Some(id), reply).await,
            Err(e) => Err(e),
        };
        if let Err(e) = report(&ctx, &bot, &req, result).await {
            tracing::warn!(error = %format!("{e:#}"), "could not report a command's result");
        }
    });
    Ok(())
}

/// The one place a typed command meets its handler.
async fn handle(
    ctx: &Arc<Ctx>,
    command: &BotCommand,
    who: &Speaker,
    progress: &Progress,
) -> anyhow::Result<Reply> {
    let ctx = ctx.as_ref();
    Ok(match command {
        BotCommand::Help => help::handle(ctx, who),
        BotCommand::Status => status::handle(ctx, who).await,
        BotCommand::Keys => keys::handle(ctx, who),
        BotCommand::ClearKey { key } => keys::clear(ctx, who, key),
        BotCommand::Agents => agents::handle(ctx, who).await,
        BotCommand::Activity => activity::handle(ctx, who).await,
        BotCommand::Restart(target) => restart::handle(ctx, who, target).await,
        BotCommand::Bootstrap => bootstrap::handle(ctx, who, progress).await,
        BotCommand::Stop => stop::handle(ctx, who).await,
        BotCommand::Mute { check, for_ } => mute::handle(ctx, who, check, *for_)?,
        BotCommand::Unmute { check } => unmute::handle(ctx, who, check),
        BotCommand::Alerts => alerts::handle(ctx, who),
        BotCommand::Tasks => tasks::handle(ctx, who).await,
        BotCommand::Task { id } => task::handle(ctx, who, id).await,
        BotCommand::NewTask { title } => newtask::handle(ctx, who, title).await,
        BotCommand::Done { id } => done::handle(ctx, who, id).await,
        BotCommand::Version => version::handle(ctx, who).await,
        BotCommand::Usage(period) => usage::handle(ctx, who, *period).await?,
        BotCommand::Prs => prs::handle(ctx, who).await,
        BotCommand::Pr { number } => pr::handle(ctx, who, *number).await,
        BotCommand::Merge { number } => merge::handle(ctx, who, *number).await,
        BotCommand::Issues => issues::handle(ctx, who).await,
        BotCommand::Take { number } => take::handle(ctx, who, *number).await,
        BotCommand::Peek { agent, lines } => peek::handle(ctx, who, agent, *lines).await,
        BotCommand::Nudge { agent, text } => nudge::handle(ctx, who, agent, text).await,
        BotCommand::Mail => mail::handle(ctx, who).await,
        BotCommand::Freeze { freeze, rig } => {
            pause::handle(ctx, who, *freeze, rig.as_deref()).await
        }
        BotCommand::Escalations => escalations::handle(ctx, who).await?,
        BotCommand::Exec { spec, args } => exec::handle(ctx, who, spec, args).await?,
        // Answered in the chat by their own modules (see `run_action`).
        BotCommand::Ask { .. } | BotCommand::Pin => Reply::default(),
    })
}

/// Sends a reply: its record to the audit log, its first message in place
/// of `status` (or as a reply to the person), the rest after it, then the
/// photo; each message's follow-up once it is delivered.
pub(super) async fn deliver(
    ctx: &Ctx,
    bot: &Tg,
    req: &Request,
    status: Option<MessageId>,
    reply: Reply,
) -> anyhow::Result<()> {
    if let Some(r) = &reply.record {
        req.audit(ctx, r.outcome, r.detail.as_deref());
    }
    let mut status = status;
    for m in reply.messages {
        match status.take() {
            Some(id) => send::edit(bot, req.target.chat_id, id, &m.text, m.buttons).await?,
            None => {
                send::message(bot, req.target, &m.text, m.buttons, req.reply_to).await?;
            }
        }
        match m.then {
            Some(After::MailRead(id)) => {
                if let Err(e) = ctx.core.read_mail(&id).await {
                    tracing::warn!(error = %e, "could not mark a mail read");
                }
            }
            None => {}
        }
    }
    if let Some(p) = reply.photo {
        send::photo(bot, req.target, p.png, &p.caption, req.reply_to).await?;
    }
    Ok(())
}

/// Counts the command's outcome; a failure gets a short reply to the
/// person, its cause in the log.
async fn report(
    ctx: &Ctx,
    bot: &Tg,
    req: &Request,
    result: anyhow::Result<()>,
) -> anyhow::Result<()> {
    let name = &req.spec.name;
    ctx.telemetry
        .command(name, if result.is_ok() { "ok" } else { "error" });
    if let Err(e) = result {
        tracing::error!(command = %name, error = %format!("{e:#}"), "command failed");
        let text = req
            .tr(ctx)
            .t("error-internal", &[("error", &short_error(&e))]);
        if let Err(e) = send::message(bot, req.target, &text, None, req.reply_to).await {
            tracing::warn!(error = %send::describe(&e), "could not report the error");
        }
    }
    Ok(())
}

/// Shows `text` in the message to edit in place (the confirmation prompt),
/// or in a new reply; returns its id for the later edits.
async fn status_message(
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

/// An error for a chat reply: Telegram errors described without internals.
fn short_error(e: &anyhow::Error) -> String {
    match e.downcast_ref::<teloxide::RequestError>() {
        Some(re) => send::describe(re),
        None => e.to_string(),
    }
}
