//! `/bootstrap`: one message edited as each step starts, finishes, is
//! skipped or fails, ending with the outcome. Edits are debounced (at most
//! one a second, and the rate limiter may space them further in a group);
//! the final state is always shown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use teloxide::types::MessageId;

use super::{Outcome, Request, send};
use crate::core::CoreError;
use crate::core::bootstrap::Step;
use crate::core::events::StepProgress;
use crate::telegram::{Ctx, Tg, render};

const EDIT_EVERY: Duration = Duration::from_secs(1);

pub async fn run(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    req: Request,
    status: Option<MessageId>,
) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let first = render::bootstrap_progress(tr, &[], &[], None);
    let id = super::status_message(bot, &req, status, &first).await?;
    let (ctx, bot) = (ctx.clone(), bot.clone());
    tokio::spawn(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let core = ctx.core.clone();
        let work = tokio::spawn(async move { core.bootstrap(Some(tx)).await });
        let mut steps: Vec<(Step, StepProgress)> = Vec::new();
        let mut rolled: Vec<String> = Vec::new();
        let mut last_edit = Instant::now() - EDIT_EVERY;
        let mut dirty = false;
        loop {
            let next = tokio::time::timeout(EDIT_EVERY, rx.recv()).await;
            match next {
                Ok(Some(ev)) => {
                    match ev.progress {
                        StepProgress::RolledBack(w) => rolled.push(w),
                        p => match steps.iter_mut().find(|(s, _)| *s == ev.step) {
                            Some(entry) => entry.1 = p,
                            None => steps.push((ev.step, p)),
                        },
                    }
                    dirty = true;
                }
                Ok(None) => break,
                Err(_) => {}
            }
            if dirty && last_edit.elapsed() >= EDIT_EVERY {
                let text = render::bootstrap_progress(req.tr(&ctx), &steps, &rolled, None);
                if let Err(e) = send::edit(&bot, req.target.chat_id, id, &text, None).await {
                    tracing::warn!(error = %send::describe(&e), "could not update the bootstrap progress");
                }
                last_edit = Instant::now();
                dirty = false;
            }
        }
        let tr = req.tr(&ctx);
        let text = match work.await {
            Ok(Ok(report)) => {
                req.audit(
                    &ctx,
                    Outcome::of(report.ok()),
                    report.failed.as_ref().map(|(_, e)| e.as_str()),
                );
                render::bootstrap_progress(tr, &steps, &rolled, Some(&report))
            }
            Ok(Err(CoreError::BootstrapRunning)) => {
                req.audit(&ctx, Outcome::Failed, Some("bootstrap already running"));
                format!("⏳ {}", tr.t("bootstrap-busy", &[]))
            }
            Ok(Err(e)) => {
                req.audit(&ctx, Outcome::Failed, Some(&e.to_string()));
                tr.t("error-internal", &[("error", &e.to_string())])
            }
            Err(e) => tr.t("error-internal", &[("error", &e.to_string())]),
        };
        if let Err(e) = send::edit(&bot, req.target.chat_id, id, &text, None).await {
            tracing::warn!(error = %send::describe(&e), "could not report the bootstrap result");
        }
    });
    Ok(())
}
