//! Operator-defined commands: a fixed program with validated arguments,
//! run through the core's runner (argv only, timeout, redaction).

use std::sync::Arc;

use super::{Request, send};
use crate::telegram::{Ctx, Tg, render};

pub async fn run(ctx: &Arc<Ctx>, bot: &Tg, req: &Request) -> anyhow::Result<()> {
    let tr = req.tr(ctx);
    let spec = &req.spec;
    let Some(program) = spec.program.as_deref() else {
        anyhow::bail!("/{} has no program", spec.name);
    };
    let cfg = ctx.core.config();
    let subst = |word: &str| -> String {
        let mut w = word
            .replace("{gt_root}", &cfg.gt_root.display().to_string())
            .replace("{gasclaw_home}", &cfg.home.display().to_string());
        for a in &req.args {
            w = w.replace(&format!("{{{}}}", a.name), &a.value);
        }
        // Values may themselves use the config placeholders.
        w.replace("{gt_root}", &cfg.gt_root.display().to_string())
            .replace("{gasclaw_home}", &cfg.home.display().to_string())
    };
    let argv: Vec<String> = spec.argv.iter().map(|w| subst(w)).collect();
    let shown = format!("{program} {}", argv.join(" "));
    let text = match ctx
        .core
        .run_operator_command(program, &argv, spec.timeout())
        .await
    {
        Ok(out) if out.success() => {
            req.audit(ctx, "ok", None);
            render::exec_output(tr, &shown, &format!("{}{}", out.stdout, out.stderr))
        }
        Ok(out) => {
            req.audit(ctx, "failed", Some(&out.status_text()));
            let err = out.error_message();
            format!(
                "{}\n{}",
                tr.t("exec-failed", &[("command", &shown), ("error", &err)]),
                render::exec_output(tr, "", &out.stdout)
            )
        }
        Err(e) => {
            req.audit(ctx, "failed", Some(&e.to_string()));
            tr.t(
                "exec-failed",
                &[("command", &shown), ("error", &e.to_string())],
            )
        }
    };
    send::message(bot, req.target, &text, None, req.reply_to).await?;
    Ok(())
}
