//! `/restart <service|agent>`: "restarting…", then the result, in one message.
//! The work runs in its own task so the chat stays responsive.

use std::sync::Arc;

use teloxide::types::MessageId;

use super::{Outcome, Request, send};
use crate::core::{CoreError, Service};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
) -> anyhow::Result<()> {
    let Ok(service) = req.arg("service").unwrap_or("").parse::<Service>() else {
        // Not a service: one agent, with its role's own restart command.
        return restart_agent(ctx, bot, req, status).await;
    };
    let tr = req.tr(ctx);
    let text = format!("🔄 {}", tr.t("restarting", &[("service", service.name())]));
    let id = super::status_message(bot, &req, status, &text).await?;
    let (ctx, bot) = (ctx.clone(), bot.clone());
    tokio::spawn(async move {
        let tr = req.tr(&ctx);
        let (text, outcome) = match ctx.core.restart(service, &req.actor()).await {
            Ok(r) => (render::restart_done(tr, &r), Outcome::of(r.ok())),
            Err(CoreError::ServiceBusy { .. }) => (
                tr.t("busy", &[("service", service.name())]),
                Outcome::Failed,
            ),
            Err(e) => (
                format!(
                    "❌ {}",
                    tr.t(
                        "restart-failed",
                        &[("service", service.name()), ("error", &e.to_string())]
                    )
                ),
                Outcome::Failed,
            ),
        };
        req.audit(&ctx, outcome, None);
        if let Err(e) = send::edit(&bot, req.target.chat_id, id, &text, None).await {
            tracing::warn!(error = %send::describe(&e), "could not report the restart");
        }
    });
    Ok(())
}

/// `/restart <agent>` (and the stuck alert's Restart button, once confirmed).
async fn restart_agent(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
) -> anyhow::Result<()> {
    let agent = req.arg("service").unwrap_or("").to_string();
    let tr = req.tr(ctx);
    let text = format!("🔄 {}", tr.t("restarting", &[("service", &agent)]));
    let id = super::status_message(bot, &req, status, &text).await?;
    let (ctx, bot) = (ctx.clone(), bot.clone());
    tokio::spawn(async move {
        let tr = req.tr(&ctx);
        let (text, outcome) = match ctx.core.restart_agent(&agent, &req.actor()).await {
            Ok(line) => (
                format!(
                    "✅ {}",
                    tr.t("agent-restarted", &[("agent", &agent), ("line", &line)])
                ),
                Outcome::Ok,
            ),
            Err(e) => (
                format!(
                    "❌ {}",
                    tr.t(
                        "agent-restart-failed",
                        &[("agent", &agent), ("error", &e.to_string())]
                    )
                ),
                Outcome::Failed,
            ),
        };
        req.audit(&ctx, outcome, None);
        if let Err(e) = send::edit(&bot, req.target.chat_id, id, &text, None).await {
            tracing::warn!(error = %send::describe(&e), "could not report the restart");
        }
    });
    Ok(())
}
