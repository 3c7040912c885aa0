//! `/bootstrap`: one message edited as each step starts, finishes, is
//! skipped or fails, ending with the outcome. Edits are debounced (at most
//! one a second, and the rate limiter may space them further in a group);
//! the final state is always shown.

use std::time::{Duration, Instant};

use crate::core::CoreError;
use crate::core::bootstrap::Step;
use crate::core::events::StepProgress;
use crate::telegram::Ctx;
use crate::telegram::audit::Outcome;
use crate::telegram::render::{self, Tr};
use crate::telegram::speaker::{Progress, Reply, Speaker};

const EDIT_EVERY: Duration = Duration::from_secs(1);

/// The status message before the first step.
pub fn working(tr: Tr<'_>) -> String {
    render::bootstrap_progress(tr, &[], &[], None)
}

pub async fn handle(ctx: &Ctx, who: &Speaker, progress: &Progress) -> Reply {
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
            progress.show(render::bootstrap_progress(
                who.tr(&ctx.locales),
                &steps,
                &rolled,
                None,
            ));
            last_edit = Instant::now();
            dirty = false;
        }
    }
    let tr = who.tr(&ctx.locales);
    match work.await {
        Ok(Ok(report)) => {
            let text = render::bootstrap_progress(tr, &steps, &rolled, Some(&report));
            let reply = Reply::text(text);
            match &report.failed {
                Some((_, e)) => reply.audited_with(Outcome::of(report.ok()), e.clone()),
                None => reply.audited(Outcome::of(report.ok())),
            }
        }
        Ok(Err(CoreError::BootstrapRunning)) => {
            Reply::text(format!("⏳ {}", tr.t("bootstrap-busy", &[])))
                .audited_with(Outcome::Failed, "bootstrap already running")
        }
        Ok(Err(e)) => Reply::text(tr.t("error-internal", &[("error", &e.to_string())]))
            .audited_with(Outcome::Failed, e.to_string()),
        Err(e) => Reply::text(tr.t("error-internal", &[("error", &e.to_string())])),
    }
}
