//! `/restart <service|agent>`: "restarting…", then the result, in one
//! message (the dispatcher runs it in its own task so the chat stays
//! responsive).

use crate::core::CoreError;
use crate::telegram::Ctx;
use crate::telegram::audit::Outcome;
use crate::telegram::command::RestartTarget;
use crate::telegram::render::{self, Tr};
use crate::telegram::speaker::{Reply, Speaker};

/// The status message while it restarts.
pub fn working(tr: Tr<'_>, target: &RestartTarget) -> String {
    format!("🔄 {}", tr.t("restarting", &[("service", target.name())]))
}

pub async fn handle(ctx: &Ctx, who: &Speaker, target: &RestartTarget) -> Reply {
    let tr = who.tr(&ctx.locales);
    let service = match target {
        RestartTarget::Service(s) => *s,
        // One agent, with its role's own restart command.
        RestartTarget::Agent(agent) => return restart_agent(ctx, who, agent).await,
    };
    match ctx.core.restart(service, &who.actor()).await {
        Ok(r) => Reply::text(render::restart_done(tr, &r)).audited(Outcome::of(r.ok())),
        Err(CoreError::ServiceBusy { .. }) => {
            Reply::text(tr.t("busy", &[("service", service.name())])).audited(Outcome::Failed)
        }
        Err(e) => Reply::text(format!(
            "❌ {}",
            tr.t(
                "restart-failed",
                &[("service", service.name()), ("error", &e.to_string())]
            )
        ))
        .audited(Outcome::Failed),
    }
}

/// `/restart <agent>` (and the stuck alert's Restart button, once confirmed).
async fn restart_agent(ctx: &Ctx, who: &Speaker, agent: &str) -> Reply {
    let tr = who.tr(&ctx.locales);
    match ctx.core.restart_agent(agent, &who.actor()).await {
        Ok(line) => Reply::text(format!(
            "✅ {}",
            tr.t("agent-restarted", &[("agent", agent), ("line", &line)])
        ))
        .audited(Outcome::Ok),
        Err(e) => Reply::text(format!(
            "❌ {}",
            tr.t(
                "agent-restart-failed",
                &[("agent", agent), ("error", &e.to_string())]
            )
        ))
        .audited(Outcome::Failed),
    }
}
