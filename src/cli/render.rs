//! Plain-text rendering of the core's reports for a terminal.

use std::fmt::Write;

use crate::config::Config;
use crate::core::bootstrap::{BootstrapReport, Step};
use crate::core::events::{BootstrapEvent, StepProgress};
use crate::core::health::StatusReport;
use crate::core::services::{RestartReport, StopReport};

pub fn config(c: &Config) -> String {
    let rows = c.redacted_rows();
    let width = rows.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v, src) in rows {
        let src = match src {
            crate::config::Source::Env => "env",
            crate::config::Source::File => "file",
            crate::config::Source::SecretFile => "secret file",
            crate::config::Source::Default => "default",
        };
        let _ = writeln!(out, "{k:<width$}  {v}  ({src})");
    }
    out
}

/// Names only, never values (they may be keys).
pub fn harmful_env_warning(names: &[String]) -> String {
    format!(
        "warning: set in gasclaw's environment: {}. gt hands such variables to every agent (a \
         custom API key stops Claude Code at a dialog; model, provider and proxy settings bypass \
         the key pool) and BD_JSON_ENVELOPE changes bd's JSON answers; gasclaw removes them from \
         what gt and bd see. Unset them to silence this warning.",
        names.join(", ")
    )
}

fn step_label(step: Step) -> String {
    format!(
        "[{:>2}/{}] {:<15}",
        step.number(),
        Step::ALL.len(),
        step.name()
    )
}

pub fn bootstrap_event(ev: &BootstrapEvent) -> String {
    let label = step_label(ev.step);
    match &ev.progress {
        StepProgress::Started => format!("{label} …"),
        StepProgress::Done(d) => format!("{label} ✓ done: {d}"),
        StepProgress::Skipped(d) => format!("{label} – skipped: {d}"),
        StepProgress::Failed(e) => format!("{label} ✗ failed: {e}"),
        StepProgress::RolledBack(d) => format!("{label} ↩ rolled back: {d}"),
    }
}

pub fn bootstrap_summary(r: &BootstrapReport) -> String {
    let secs = r.elapsed_ms as f64 / 1000.0;
    match &r.failed {
        None if r.changed_nothing() => {
            format!("bootstrap: the stack was already up; nothing changed ({secs:.1}s)")
        }
        None => format!("bootstrap: the stack is up ({secs:.1}s)"),
        Some((step, e)) => {
            let mut s = format!("bootstrap failed at step {} ({step}): {e}", step.number());
            if !r.rolled_back.is_empty() {
                let _ = write!(s, "\nrolled back: {}", r.rolled_back.join("; "));
            }
            s
        }
    }
}

pub fn status(r: &StatusReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:<8} {:>8}  DETAIL",
        "SERVICE", "STATUS", "LATENCY"
    );
    for c in &r.checks {
        let stopped = c
            .stopped
            .as_ref()
            .map(|m| {
                format!(
                    " (stopped by {} at {})",
                    m.by,
                    m.at.format("%Y-%m-%d %H:%M:%S UTC")
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<8} {:<8} {:>5} ms  {}{stopped}",
            c.name.name(),
            c.status.as_str(),
            c.latency_ms,
            c.detail
        );
    }
    let a = &r.activity;
    let verdict = match (a.last_commit_age_secs, a.compliant) {
        (None, _) => "unknown",
        (Some(_), true) => "within deadline",
        (Some(_), false) => "DEADLINE MISSED",
    };
    let _ = writeln!(out, "\nactivity: {verdict}: {}", a.detail);
    out
}

pub fn restart(r: &RestartReport) -> String {
    format!(
        "{}: {}; check now {}: {}",
        r.service,
        r.action,
        r.check.status.as_str(),
        r.check.detail
    )
}

pub fn stop(r: &StopReport) -> String {
    let mut out = String::new();
    for (s, res) in &r.stopped {
        let _ = match res {
            Ok(d) => writeln!(out, "{:<8} {d}", s.name()),
            Err(e) => writeln!(out, "{:<8} FAILED: {e}", s.name()),
        };
    }
    out
}

pub fn keys(s: &crate::keys::PoolsStatus) -> String {
    let mut out = String::new();
    for (name, p) in [("agents", &s.agents), ("overseer", &s.overseer)] {
        let _ = writeln!(
            out,
            "{name}: {} key{}, {} available, {} cooling, {} invalid",
            p.total,
            if p.total == 1 { "" } else { "s" },
            p.available,
            p.cooling,
            p.invalid
        );
        for k in &p.keys {
            let state = match (k.state, k.cooldown_secs_left, k.cooldown_reason) {
                ("cooling", Some(left), Some(r)) => {
                    format!(
                        "cooling {} ({})",
                        crate::core::activity::human_duration(left),
                        r.name()
                    )
                }
                (st, _, _) => st.to_string(),
            };
            let last = k
                .last_429
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|| "never".into());
            let _ = writeln!(
                out,
                "  {:<8} {:<24} uses {:<6} last 429 {last}",
                k.hint, state, k.uses
            );
        }
    }
    out
}

/// `gasclaw usage`: one line per row of the breakdown, the total, each
/// key's quota and the forecast.
pub fn usage(
    r: &crate::keys::usage::UsageReport,
    rows: &[crate::keys::usage::report::Line],
) -> String {
    let when = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "token usage since {} (until {})",
        when(r.since),
        when(r.until)
    );
    let width = rows
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let _ = writeln!(
        out,
        "{:<width$}  {:>8}  {:>6}  {:>9}  {:>12}  {:>12}  {:>12}  {:>12}  {:>13}",
        "",
        "requests",
        "failed",
        "cancelled",
        "input",
        "output",
        "cache-write",
        "cache-read",
        "total"
    );
    for l in rows.iter().chain(std::iter::once(&r.total)) {
        let _ = writeln!(
            out,
            "{:<width$}  {:>8}  {:>6}  {:>9}  {:>12}  {:>12}  {:>12}  {:>12}  {:>13}",
            l.name,
            l.requests,
            l.failed,
            l.cancelled,
            l.tokens.input,
            l.tokens.output,
            l.tokens.cache_creation,
            l.tokens.cache_read,
            l.total
        );
    }
    if r.quotas.is_empty() {
        let _ = writeln!(out, "quota: unknown (Kimi's /usages has not answered)");
    }
    for q in &r.quotas {
        let _ = writeln!(
            out,
            "quota {} {}: {:.0} % left ({} of {} used){}",
            q.pool,
            q.key,
            q.left_pct(),
            q.used,
            q.limit,
            q.reset
                .map(|t| format!(", resets {}", when(t)))
                .unwrap_or_default()
        );
    }
    for f in &r.forecasts {
        let tail = match f.dry_in_secs {
            Some(_) if f.resets_first => "lasts until the reset".to_string(),
            Some(s) => format!(
                "dry in ~{} at the current rate",
                crate::core::activity::human_duration(s)
            ),
            None => "no burn rate measured yet".to_string(),
        };
        let _ = writeln!(out, "{} pool: {:.0} % left, {tail}", f.pool, f.left_pct);
    }
    let _ = writeln!(
        out,
        "burn rate: ~{} tokens/h over the last 6 h",
        r.burn_per_hour
    );
    out
}
