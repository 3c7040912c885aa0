//! Operator-defined commands: a fixed program with validated arguments,
//! run through the core's runner (argv only, timeout, redaction).

use std::path::Path;

use crate::telegram::audit::Outcome;
use crate::telegram::catalogue::{ArgKind, ArgValue, CommandSpec};
use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub async fn handle(
    ctx: &Ctx,
    who: &Speaker,
    spec: &CommandSpec,
    args: &[ArgValue],
) -> anyhow::Result<Reply> {
    let tr = who.tr(&ctx.locales);
    let Some(program) = spec.program.as_deref() else {
        anyhow::bail!("/{} has no program", spec.name);
    };
    let cfg = ctx.core.config();
    let argv = argv_for(spec, args, &cfg.gt_root, &cfg.home);
    let shown = format!("{program} {}", argv.join(" "));
    Ok(
        match ctx
            .core
            .run_operator_command(program, &argv, spec.timeout())
            .await
        {
            Ok(out) if out.success() => Reply::text(render::exec_output(
                tr,
                &shown,
                &format!("{}{}", out.stdout, out.stderr),
            ))
            .audited(Outcome::Ok),
            Ok(out) => {
                let err = out.error_message();
                Reply::text(format!(
                    "{}\n{}",
                    tr.t("exec-failed", &[("command", &shown), ("error", &err)]),
                    render::exec_output(tr, "", &out.stdout)
                ))
                .audited_with(Outcome::Failed, out.status_text())
            }
            Err(e) => Reply::text(tr.t(
                "exec-failed",
                &[("command", &shown), ("error", &e.to_string())],
            ))
            .audited_with(Outcome::Failed, e.to_string()),
        },
    )
}

/// The program's arguments: `argv` with each `{placeholder}` filled in one
/// pass. `{gt_root}` and `{gasclaw_home}` come from the configuration; an
/// argument's value is taken as is, except a choice's mapped value (the
/// operator's own words), which may use those two. What a person typed is
/// never expanded, so `{gasclaw_home}/local-tokens.json` stays literal.
fn argv_for(spec: &CommandSpec, args: &[ArgValue], gt_root: &Path, home: &Path) -> Vec<String> {
    let config = |name: &str| match name {
        "gt_root" => Some(gt_root.display().to_string()),
        "gasclaw_home" => Some(home.display().to_string()),
        _ => None,
    };
    let arg = |name: &str| {
        let a = args.iter().find(|a| a.name == name)?;
        let chosen = spec
            .args
            .iter()
            .any(|s| s.name == name && s.kind == ArgKind::Choice);
        Some(if chosen {
            fill(&a.value, &|n| config(n))
        } else {
            a.value.clone()
        })
    };
    spec.argv
        .iter()
        .map(|w| fill(w, &|n| config(n).or_else(|| arg(n))))
        .collect()
}

/// `template` with every `{name}` that `lookup` knows replaced, in one pass
/// (a replacement is never scanned again); unknown ones become empty.
fn fill(template: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push_str(&lookup(&after[..close]).unwrap_or_default());
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telegram::catalogue::Catalogue;

    #[test]
    fn what_a_person_types_is_never_expanded() {
        let dir = tempfile::tempdir().expect("test value");
        std::fs::write(
            dir.path().join("grep.toml"),
            "name = \"find\"\nrole = \"operator\"\naction = \"exec\"\nprogram = \"grep\"\nargv = [\"-r\", \"--\", \"{what}\", \"{gasclaw_home}/logs\"]\n[description]\nen = \"x\"\n[[args]]\nname = \"what\"\nkind = \"text\"\n",
        )
        .expect("test value");
        let c = Catalogue::load(Some(dir.path())).expect("test value");
        let find = c.get("find").expect("test value");
        let args = find
            .parse_args("{gasclaw_home}/local-tokens.json {what}")
            .expect("test value");
        let argv = argv_for(&find, &args.values, Path::new("/town"), Path::new("/h"));
        assert_eq!(
            argv,
            [
                "-r",
                "--",
                "{gasclaw_home}/local-tokens.json {what}",
                "/h/logs"
            ]
        );
        // The operator's mapped values may use the configuration.
        let logs = c.get("logs").expect("test value");
        let args = logs.parse_args("gateway").expect("test value");
        assert_eq!(
            argv_for(&logs, &args.values, Path::new("/town"), Path::new("/h")),
            ["-n", "30", "--", "/h/logs/gateway.log"]
        );
    }
}
