//! `/pause [rig]` and `/resume [rig]` (owner, confirmed, audited): gt's
//! estop and thaw, read back from the ESTOP files, reported in the
//! confirmation's message. One handler: the two differ only in the verb.

use std::sync::Arc;

use teloxide::types::MessageId;

use super::{Outcome, Request, send};
use crate::core::work::pause::PauseOutcome;
use crate::telegram::{Ctx, Tg};

/// Which way the town goes.
#[derive(Debug, Clone, Copy)]
pub enum Freeze {
    Pause,
    Resume,
}

impl Freeze {
    /// The prefix of its texts in the locales (`pause-done`, `resume-done` …).
    fn key(self) -> &'static str {
        match self {
            Freeze::Pause => "pause",
            Freeze::Resume => "resume",
        }
    }

    fn icon(self) -> &'static str {
        match self {
            Freeze::Pause => "⏸",
            Freeze::Resume => "▶️",
        }
    }
}

pub async fn run(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
    freeze: Freeze,
) -> anyhow::Result<()> {
    let rig = req.arg("rig").map(str::to_string);
    let id = super::status_message(bot, &req, status, "⏳").await?;
    let (ctx, bot) = (ctx.clone(), bot.clone());
    tokio::spawn(async move {
        let tr = req.tr(&ctx);
        let key = |what: &str| format!("{}-{what}", freeze.key());
        let done = match freeze {
            Freeze::Pause => ctx.core.pause(rig.as_deref(), &req.actor()).await,
            Freeze::Resume => ctx.core.resume(rig.as_deref(), &req.actor()).await,
        };
        let (text, outcome) = match done {
            Ok(PauseOutcome::Done(line)) => (
                format!(
                    "{} {}",
                    freeze.icon(),
                    match &rig {
                        None => tr.t(&key("done"), &[("line", &line)]),
                        Some(r) => tr.t(&key("rig-done"), &[("rig", r), ("line", &line)]),
                    }
                ),
                Outcome::Ok,
            ),
            Ok(PauseOutcome::Unchanged) => (tr.t(&key("unchanged"), &[]), Outcome::Ok),
            Err(e) => (
                format!("❌ {}", tr.t(&key("failed"), &[("error", &e.to_string())])),
                Outcome::Failed,
            ),
        };
        req.audit(&ctx, outcome, None);
        if let Err(e) = send::edit(&bot, req.target.chat_id, id, &text, None).await {
            tracing::warn!(error = %send::describe(&e), verb = freeze.key(), "could not report the outcome");
        }
    });
    Ok(())
}
