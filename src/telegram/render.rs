//! Chat rendering: the core's typed reports as Telegram HTML, every string
//! from the locale files, every value escaped, and output cut at Telegram's
//! limit with a note rather than rejected.

pub mod alert;
pub mod github;
pub mod town;
pub mod work;

use fluent_bundle::FluentValue;

use super::catalogue::{CommandSpec, MAX_DURATION, Problem, UsageError};
use crate::core::activity::{ActivityReport, human_duration};
use crate::core::bootstrap::{BootstrapReport, Step};
use crate::core::events::StepProgress;
use crate::core::health::{CheckStatus, HealthReport, StatusReport};
use crate::core::services::{RestartReport, StopReport};
use crate::i18n::Locales;
use crate::keys::PoolsStatus;

/// Telegram's limit on a message's text.
pub const MAX_TEXT: usize = 4096;

/// Escapes text for HTML parse mode.
pub fn esc(s: &str) -> String {
    teloxide::utils::html::escape(s)
}

/// Telegram HTML to plain text (the terminal demo; a reply Telegram
/// could not parse).
pub fn plain(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// A translator bound to one language; every result is escaped.
#[derive(Clone, Copy)]
pub struct Tr<'a> {
    pub locales: &'a Locales,
    pub lang: &'a str,
}

impl<'a> Tr<'a> {
    pub fn new(locales: &'a Locales, lang: &'a str) -> Tr<'a> {
        Tr { locales, lang }
    }

    /// The escaped message `key` with string arguments.
    pub fn t(&self, key: &str, args: &[(&str, &str)]) -> String {
        let a: Vec<(&str, FluentValue<'_>)> = args
            .iter()
            .map(|(k, v)| (*k, FluentValue::from(*v)))
            .collect();
        esc(&self.locales.t(self.lang, key, &a))
    }

    pub fn raw(&self, key: &str, args: &[(&str, &str)]) -> String {
        let a: Vec<(&str, FluentValue<'_>)> = args
            .iter()
            .map(|(k, v)| (*k, FluentValue::from(*v)))
            .collect();
        self.locales.t(self.lang, key, &a)
    }
}

/// Cuts HTML at Telegram's limit on a line boundary, closing open tags and
/// saying how much was cut.
pub fn fit(html: &str, tr: Tr<'_>) -> String {
    if html.chars().count() <= MAX_TEXT {
        return html.to_string();
    }
    let budget = MAX_TEXT - 200;
    let mut cut = 0;
    for (count, (i, c)) in html.char_indices().enumerate() {
        if count >= budget {
            break;
        }
        if c == '\n' {
            cut = i;
        }
    }
    if cut == 0 {
        cut = html
            .char_indices()
            .nth(budget)
            .map(|(i, _)| i)
            .unwrap_or(html.len());
        // Never split an entity or a tag.
        if let Some(amp) = html[..cut].rfind('&')
            && !html[amp..cut].contains(';')
        {
            cut = amp;
        }
        if let Some(lt) = html[..cut].rfind('<')
            && !html[lt..cut].contains('>')
        {
            cut = lt;
        }
    }
    let head = &html[..cut];
    let mut open: Vec<String> = Vec::new();
    let mut rest = head;
    while let Some(i) = rest.find('<') {
        let Some(j) = rest[i..].find('>') else { break };
        let tag = &rest[i + 1..i + j];
        if let Some(name) = tag.strip_prefix('/') {
            if open.last().map(String::as_str) == Some(name) {
                open.pop();
            }
        } else if let Some(name) = tag.split_whitespace().next() {
            open.push(name.to_string());
        }
        rest = &rest[i + j + 1..];
    }
    let mut out = head.to_string();
    for t in open.iter().rev() {
        out.push_str(&format!("</{t}>"));
    }
    let remaining = html.chars().count() - head.chars().count();
    out.push_str("\n<i>");
    out.push_str(&tr.t("output-cut", &[("n", &remaining.to_string())]));
    out.push_str("</i>");
    out
}

fn status_word(tr: Tr<'_>, s: CheckStatus) -> String {
    match s {
        CheckStatus::Ok => format!("✅ {}", tr.t("status-ok", &[])),
        CheckStatus::Down => format!("🔴 <b>{}</b>", tr.t("status-down", &[])),
        CheckStatus::Unknown => format!("⚪ {}", tr.t("status-unknown", &[])),
    }
}

pub fn role_name(tr: Tr<'_>, role: super::auth::Role) -> String {
    tr.raw(&format!("role-{}", role.name()), &[])
}

/// A command's one-line description in this language.
pub fn describe(tr: Tr<'_>, spec: &CommandSpec) -> String {
    match (&spec.help, spec.description_in(tr.lang)) {
        (_, Some(d)) => d,
        (Some(k), None) => tr.raw(k, &[]),
        (None, None) => spec.name.clone(),
    }
}

pub fn help(
    tr: Tr<'_>,
    role: super::auth::Role,
    commands: &[std::sync::Arc<CommandSpec>],
) -> String {
    let mut s = format!(
        "{}\n\n<b>{}</b>\n",
        tr.t("bot-intro", &[]),
        tr.t("help-title", &[("role", &role_name(tr, role))])
    );
    for c in commands {
        s.push_str(&format!(
            "{} — {}\n",
            esc(&c.usage()),
            esc(&describe(tr, c))
        ));
        // A sub-command shows only to those who may run it.
        for sub in c.sub.iter().filter(|sub| role >= sub.role) {
            s.push_str(&format!(
                "{} — {}\n",
                esc(&c.usage_of(Some(&sub.name))),
                esc(&tr.raw(&sub.help, &[]))
            ));
        }
    }
    s.push('\n');
    s.push_str(&tr.t("help-overseer", &[]));
    s
}

pub fn usage_error(tr: Tr<'_>, spec: &CommandSpec, e: &UsageError) -> String {
    let mut s = String::new();
    if let Some(got) = &e.got {
        s.push_str(&tr.t("usage-got", &[("got", got)]));
        s.push('\n');
    }
    match e.problem {
        Some(Problem::TooLong) => {
            s.push_str(&tr.t(
                "usage-too-long",
                &[("days", &(MAX_DURATION.as_secs() / 86_400).to_string())],
            ));
            s.push('\n');
        }
        Some(Problem::Dash) => {
            s.push_str(&tr.t("usage-dash", &[]));
            s.push('\n');
        }
        None => {}
    }
    s.push_str(&tr.t("usage", &[("usage", &spec.usage())]));
    if !e.valid.is_empty() {
        s.push('\n');
        s.push_str(&tr.t("usage-valid", &[("values", &e.valid.join(", "))]));
    }
    s
}

fn activity_line(tr: Tr<'_>, a: &ActivityReport) -> String {
    let deadline = human_duration(a.deadline_secs);
    match a.last_commit_age_secs {
        None => format!("⚪ {}", tr.t("activity-unknown", &[("detail", &a.detail)])),
        Some(age) if a.compliant => format!(
            "✅ {}",
            tr.t(
                "activity-ok",
                &[("age", &human_duration(age)), ("deadline", &deadline)]
            )
        ),
        Some(age) => format!(
            "🔴 {}",
            tr.t(
                "activity-late",
                &[("age", &human_duration(age)), ("deadline", &deadline)]
            )
        ),
    }
}

fn checks(tr: Tr<'_>, checks: &[crate::core::health::Check]) -> String {
    let mut s = String::new();
    for c in checks {
        s.push_str(&format!(
            "<b>{}</b>: {} — {} <i>({} ms)</i>\n",
            c.name,
            status_word(tr, c.status),
            esc(&c.detail),
            c.latency_ms
        ));
        if let Some(m) = &c.stopped {
            s.push_str(&format!(
                "  ⏹ <i>{}</i>\n",
                tr.t(
                    "status-stopped-by",
                    &[
                        ("by", m.by.as_str()),
                        ("at", &m.at.format("%Y-%m-%d %H:%M UTC").to_string())
                    ]
                )
            ));
        }
    }
    let bad = checks
        .iter()
        .filter(|c| c.status != CheckStatus::Ok)
        .count();
    if bad == 0 {
        s.push_str(&tr.t("status-all-ok", &[("n", &checks.len().to_string())]));
    } else {
        s.push_str(&tr.t(
            "status-some-down",
            &[
                ("n", &bad.to_string()),
                ("total", &checks.len().to_string()),
            ],
        ));
    }
    s
}

/// "Agents: 2 of 3 available, 1 cooling, 0 invalid".
fn pool_line(tr: Tr<'_>, name_key: &str, pool: &crate::keys::PoolStatus) -> String {
    tr.t(
        "keys-pool",
        &[
            ("pool", &tr.raw(name_key, &[])),
            ("available", &pool.available.to_string()),
            ("total", &pool.total.to_string()),
            ("cooling", &pool.cooling.to_string()),
            ("invalid", &pool.invalid.to_string()),
        ],
    )
}

fn pools_summary(tr: Tr<'_>, p: &PoolsStatus) -> String {
    let mut s = String::new();
    for (key, pool) in [("pool-agents", &p.agents), ("pool-overseer", &p.overseer)] {
        s.push_str(&pool_line(tr, key, pool));
        s.push('\n');
    }
    s
}

pub fn status(tr: Tr<'_>, r: &StatusReport, pools: Option<&PoolsStatus>) -> String {
    let mut s = format!("<b>{}</b>\n", tr.t("status-title", &[]));
    s.push_str(&checks(tr, &r.checks));
    s.push('\n');
    s.push_str(&activity_line(tr, &r.activity));
    if let Some(p) = pools {
        s.push_str("\n\n");
        s.push_str(&pools_summary(tr, p));
    }
    fit(s.trim_end(), tr)
}

pub fn health(tr: Tr<'_>, r: &HealthReport) -> String {
    fit(&checks(tr, &r.checks), tr)
}

pub fn activity(tr: Tr<'_>, a: &ActivityReport) -> String {
    format!("{}\n<i>{}</i>", activity_line(tr, a), esc(&a.detail))
}

pub fn keys(tr: Tr<'_>, p: &PoolsStatus) -> String {
    let mut s = format!("<b>{}</b>\n", tr.t("keys-title", &[]));
    for (key, pool) in [("pool-agents", &p.agents), ("pool-overseer", &p.overseer)] {
        s.push_str(&pool_line(tr, key, pool));
        s.push('\n');
        for k in &pool.keys {
            let uses = k.uses.to_string();
            let state = match k.state {
                "cooling" => tr.t(
                    "keys-cooling",
                    &[
                        ("left", &human_duration(k.cooldown_secs_left.unwrap_or(0))),
                        ("reason", k.cooldown_reason.map(|r| r.name()).unwrap_or("?")),
                        ("uses", &uses),
                    ],
                ),
                "invalid" => tr.t("keys-invalid", &[("uses", &uses)]),
                _ => tr.t("keys-available", &[("uses", &uses)]),
            };
            s.push_str(&format!("  <code>{}</code> {}", esc(&k.hint), state));
            if let Some(t) = k.last_429 {
                s.push_str(&format!(
                    ", {}",
                    tr.t(
                        "keys-last429",
                        &[("when", &t.format("%Y-%m-%d %H:%M UTC").to_string())]
                    )
                ));
            }
            s.push('\n');
        }
    }
    fit(s.trim_end(), tr)
}

pub fn confirm_prompt(tr: Tr<'_>, what: &str) -> String {
    format!("❓ {}", tr.t("confirm-ask", &[("what", what)]))
}

pub fn restart_done(tr: Tr<'_>, r: &RestartReport) -> String {
    let icon = if r.ok() { "✅" } else { "⚠️" };
    format!(
        "{icon} {}\n{}",
        tr.t(
            "restart-done",
            &[("service", r.service.name()), ("action", &r.action)]
        ),
        tr.t(
            "restart-check",
            &[
                ("status", r.check.status.as_str()),
                ("detail", &r.check.detail)
            ]
        )
    )
}

/// One line per step, as the bootstrap progresses.
pub fn bootstrap_progress(
    tr: Tr<'_>,
    steps: &[(Step, StepProgress)],
    rolled_back: &[String],
    done: Option<&BootstrapReport>,
) -> String {
    let mut s = format!("<b>{}</b>\n", tr.t("bootstrap-title", &[]));
    for (step, p) in steps {
        let (icon, detail) = match p {
            StepProgress::Started => ("⏳", tr.t("bootstrap-running", &[])),
            StepProgress::Done(d) => ("✅", esc(d)),
            StepProgress::Skipped(d) => ("➖", esc(d)),
            StepProgress::Failed(e) => ("❌", esc(e)),
            StepProgress::RolledBack(d) => ("↩️", esc(d)),
        };
        s.push_str(&format!("{icon} <b>{}</b> {detail}\n", step.name()));
    }
    for r in rolled_back {
        s.push_str(&format!(
            "↩️ {}\n",
            tr.t("bootstrap-rolledback", &[("what", r)])
        ));
    }
    if let Some(r) = done {
        s.push('\n');
        let secs = format!("{:.1}", r.elapsed_ms as f64 / 1000.0);
        s.push_str(&match &r.failed {
            None if r.changed_nothing() => {
                format!("✅ {}", tr.t("bootstrap-nothing", &[("secs", &secs)]))
            }
            None => format!("✅ {}", tr.t("bootstrap-ok", &[("secs", &secs)])),
            Some((step, e)) => format!(
                "❌ {}",
                tr.t("bootstrap-failed", &[("step", step.name()), ("error", e)])
            ),
        });
    }
    fit(s.trim_end(), tr)
}

pub fn stop(tr: Tr<'_>, r: &StopReport) -> String {
    let mut s = format!("<b>{}</b>\n", tr.t("stop-title", &[]));
    for (svc, res) in &r.stopped {
        s.push_str(&match res {
            Ok(d) => format!(
                "✅ {}\n",
                tr.t("stop-line-ok", &[("service", svc.name()), ("detail", d)])
            ),
            Err(e) => format!(
                "❌ {}\n",
                tr.t("stop-line-failed", &[("service", svc.name()), ("error", e)])
            ),
        });
    }
    fit(s.trim_end(), tr)
}

/// `/alerts`: (check, since, detail) down, (check, until) muted.
pub fn alerts(tr: Tr<'_>, down: &[(String, String, String)], muted: &[(String, String)]) -> String {
    let mut s = format!("<b>{}</b>\n", tr.t("alerts-title", &[]));
    if down.is_empty() {
        s.push_str(&format!("✅ {}\n", tr.t("alerts-none-down", &[])));
    } else {
        s.push_str(&format!("{}\n", tr.t("alerts-down", &[])));
        for (c, since, d) in down {
            s.push_str(&format!(
                "🔴 {}\n",
                tr.t(
                    "alerts-down-line",
                    &[("check", c), ("since", since), ("detail", d)]
                )
            ));
        }
    }
    if muted.is_empty() {
        s.push_str(&tr.t("alerts-none-muted", &[]));
    } else {
        s.push_str(&tr.t("alerts-muted", &[]));
        for (c, until) in muted {
            s.push_str(&format!(
                "\n🔕 {}",
                tr.t("alerts-muted-line", &[("check", c), ("until", until)])
            ));
        }
    }
    fit(s.trim_end(), tr)
}

/// Splits plain text into escaped parts of at most `limit` characters each,
/// at a line break or a space when possible: never inside a word (unless
/// the word alone is longer than a message) and never inside an HTML entity
/// (escaping happens after the split).
pub fn split_text(text: &str, limit: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    // Words with the whitespace that follows them.
    let mut rest = text.trim();
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).map(|i| {
            rest[i..]
                .find(|c: char| !c.is_whitespace())
                .map(|j| i + j)
                .unwrap_or(rest.len())
        });
        let (word, tail) = rest.split_at(end.unwrap_or(rest.len()));
        rest = tail;
        let escaped = esc(word);
        let n = escaped.chars().count();
        if current_len + n > limit && !current.is_empty() {
            parts.push(current.trim_end().to_string());
            current.clear();
            current_len = 0;
        }
        if n > limit {
            // One enormous word: cut it on character boundaries, before
            // escaping, so no entity is split.
            let mut chunk = String::new();
            for c in word.chars() {
                let e = esc(&c.to_string());
                if chunk.chars().count() + e.chars().count() > limit {
                    parts.push(std::mem::take(&mut chunk));
                }
                chunk.push_str(&e);
            }
            current_len = chunk.chars().count();
            current = chunk;
            continue;
        }
        current.push_str(&escaped);
        current_len += n;
    }
    if !current.trim().is_empty() {
        parts.push(current.trim_end().to_string());
    }
    parts
}

pub fn versions(tr: Tr<'_>, v: &[crate::core::versions::ProgramVersion]) -> String {
    let mut s = format!("<b>{}</b>\n", tr.t("versions-title", &[]));
    for p in v {
        let installed = match (&p.installed, &p.problem) {
            (Some(i), _) => esc(i),
            (None, Some(why)) if why == "not installed" => tr.t("version-missing", &[]),
            (None, Some(why)) => tr.t("version-unknown", &[("why", why)]),
            (None, None) => tr.t("version-missing", &[]),
        };
        let pin = match (&p.pinned, p.differs()) {
            (Some(pin), true) => format!(" ⚠️ {}", tr.t("version-pinned", &[("version", pin)])),
            _ => String::new(),
        };
        s.push_str(&format!("<code>{}</code> {installed}{pin}\n", p.program));
    }
    fit(s.trim_end(), tr)
}

pub fn tasks(tr: Tr<'_>, list: &[crate::core::capabilities::Bead]) -> String {
    if list.is_empty() {
        return tr.t("tasks-none", &[]);
    }
    let mut s = format!(
        "<b>{}</b>\n",
        tr.t("tasks-title", &[("n", &list.len().to_string())])
    );
    for b in list {
        s.push_str(&format!(
            "<code>{}</code> P{} {} <i>{}</i>\n",
            esc(&b.id),
            b.priority.unwrap_or(2),
            esc(&b.title),
            esc(b.status.as_deref().unwrap_or("open"))
        ));
    }
    fit(s.trim_end(), tr)
}

pub fn task(tr: Tr<'_>, b: &crate::core::capabilities::Bead) -> String {
    let mut s = format!("<b>{}</b> <code>{}</code>\n", esc(&b.title), esc(&b.id));
    s.push_str(
        &tr.t(
            "task-meta",
            &[
                ("status", b.status.as_deref().unwrap_or("open")),
                ("priority", &format!("P{}", b.priority.unwrap_or(2))),
                ("by", b.created_by.as_deref().unwrap_or("?")),
                (
                    "at",
                    b.created_at
                        .as_deref()
                        .map(|t| t.get(..16).unwrap_or(t))
                        .unwrap_or("?"),
                ),
            ],
        ),
    );
    if let Some(d) = b.description.as_deref().filter(|d| !d.is_empty()) {
        s.push_str(&format!("\n\n{}", esc(d)));
    }
    fit(&s, tr)
}

pub fn beads_error(tr: Tr<'_>, e: &crate::core::capabilities::TaskError) -> String {
    use crate::core::capabilities::TaskError as BeadsError;
    let text = match e {
        BeadsError::NoDatabase => tr.t("tasks-no-db", &[]),
        BeadsError::NotFound(id) => tr.t("task-not-found", &[("id", id)]),
        other => tr.t("error-internal", &[("error", &other.to_string())]),
    };
    format!("⚠️ {text}")
}

/// A program's output in a preformatted block.
pub fn exec_output(tr: Tr<'_>, command: &str, output: &str) -> String {
    let body = if output.trim().is_empty() {
        tr.t("exec-empty", &[])
    } else {
        esc(output.trim_end())
    };
    fit(&format!("<b>{}</b>\n<pre>{body}</pre>", esc(command)), tr)
}

#[cfg(test)]
pub(crate) mod tests;

/// The reply to a person whose command hit a bug (a caught panic).
pub fn internal_error(tr: Tr<'_>) -> String {
    format!("⚠️ {}", tr.t("error-bug", &[]))
}

/// The one reply to a person over the command rate.
pub fn slow_down(tr: Tr<'_>, per_minute: u32) -> String {
    format!(
        "🐢 {}",
        tr.t("slow-down", &[("n", &per_minute.to_string())])
    )
}

/// `/usage`: totals, top slots, each key's quota left, the forecast.
pub fn usage(tr: Tr<'_>, r: &crate::keys::usage::UsageReport, period: &str) -> String {
    use crate::keys::PoolKind;
    use crate::keys::usage::report::tokens_short;
    let when = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    };
    let pool = |p: PoolKind| {
        tr.raw(
            match p {
                PoolKind::Agents => "pool-agents",
                PoolKind::Overseer => "pool-overseer",
            },
            &[],
        )
    };
    let t = &r.total;
    let mut s = format!("<b>{}</b>\n", tr.t("usage-title", &[("period", period)]));
    s.push_str(&tr.t(
        "usage-total",
        &[
            ("total", &tokens_short(t.total)),
            ("requests", &t.requests.to_string()),
            ("input", &tokens_short(t.tokens.input)),
            ("output", &tokens_short(t.tokens.output)),
            ("cw", &tokens_short(t.tokens.cache_creation)),
            ("cr", &tokens_short(t.tokens.cache_read)),
        ],
    ));
    if t.failed > 0 || t.cancelled > 0 {
        s.push_str(&format!(
            "; {}",
            tr.t(
                "usage-failed",
                &[
                    ("failed", &t.failed.to_string()),
                    ("cancelled", &t.cancelled.to_string())
                ]
            )
        ));
    }
    s.push('\n');
    if !r.by_slot.is_empty() {
        s.push_str(&format!("\n<b>{}</b>\n", tr.t("usage-top", &[])));
        for l in r.by_slot.iter().take(5) {
            s.push_str(&format!(
                "  {}\n",
                tr.t(
                    "usage-slot",
                    &[
                        ("slot", &l.name),
                        ("total", &tokens_short(l.total)),
                        ("requests", &l.requests.to_string())
                    ]
                )
            ));
        }
    }
    if r.quotas.is_empty() {
        s.push_str(&format!("\n{}\n", tr.t("usage-no-quota", &[])));
    } else {
        s.push_str(&format!("\n<b>{}</b>\n", tr.t("usage-keys", &[])));
        for q in &r.quotas {
            s.push_str(&format!(
                "  {}",
                tr.t(
                    "usage-key",
                    &[
                        ("pool", &pool(q.pool)),
                        ("key", &q.key),
                        ("left", &format!("{:.0}", q.left_pct())),
                        ("used", &q.used.to_string()),
                        ("limit", &q.limit.to_string()),
                    ]
                )
            ));
            if let Some(reset) = q.reset {
                s.push_str(&format!(
                    ", {}",
                    tr.t("usage-key-reset", &[("when", &when(reset))])
                ));
            }
            s.push('\n');
        }
        s.push_str(&format!("\n<b>{}</b>\n", tr.t("usage-forecast", &[])));
        for f in &r.forecasts {
            let left = format!("{:.0}", f.left_pct);
            let p = pool(f.pool);
            let line = match (f.dry_in_secs, f.reset) {
                (Some(_), Some(reset)) if f.resets_first => tr.t(
                    "usage-forecast-reset",
                    &[("pool", &p), ("left", &left), ("when", &when(reset))],
                ),
                (Some(secs), _) => tr.t(
                    "usage-forecast-dry",
                    &[("pool", &p), ("left", &left), ("in", &human_duration(secs))],
                ),
                (None, _) => tr.t("usage-forecast-norate", &[("pool", &p), ("left", &left)]),
            };
            s.push_str(&format!("  {line}\n"));
        }
    }
    s.push_str(&format!(
        "\n{}",
        tr.t("usage-burn", &[("rate", &tokens_short(r.burn_per_hour))])
    ));
    fit(s.trim_end(), tr)
}
