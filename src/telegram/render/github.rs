//! GitHub's pull requests, checks and issues as Telegram HTML: the
//! announcements the monitor queues and the replies to `/prs`, `/pr`,
//! `/merge`, `/issues`, `/take`.

use chrono::{DateTime, Utc};

use super::{Tr, esc, fit};
use crate::core::activity::human_duration;
use crate::core::github::{Check, CheckState};
use crate::core::github::{
    ChecksSummary, GhError, GithubEvent, GithubWatch, IssueInfo, MergeRefusal, Merged, PrInfo,
    PrRef, Taken,
};

fn link(url: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", esc(url), esc(text))
}

fn who(tr: Tr<'_>, by_agent: bool) -> String {
    tr.raw(if by_agent { "gh-agent" } else { "gh-person" }, &[])
}

fn checks_word(tr: Tr<'_>, s: ChecksSummary) -> String {
    tr.raw(
        match s {
            ChecksSummary::None => "gh-checks-none",
            ChecksSummary::Pending => "gh-checks-pending",
            ChecksSummary::Passing => "gh-checks-passing",
            ChecksSummary::Failing => "gh-checks-failing",
        },
        &[],
    )
}

fn age(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    human_duration((now - t).num_seconds().max(0) as u64)
}

fn num(n: u64) -> String {
    n.to_string()
}

fn head(tr: Tr<'_>, icon: &str, key: &str, pr: &PrRef) -> String {
    format!(
        "{icon} <b>{}</b>\n{}",
        tr.t(key, &[("number", &num(pr.number)), ("title", &pr.title)]),
        esc(&pr.url)
    )
}

fn failed_lines(tr: Tr<'_>, failed: &[Check]) -> String {
    failed
        .iter()
        .map(|c| match &c.url {
            Some(u) => format!("• {} — {}", esc(&c.name), link(u, &tr.raw("gh-run", &[]))),
            None => format!("• {}", esc(&c.name)),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn size(tr: Tr<'_>, pr: &PrInfo) -> Option<String> {
    Some(tr.t(
        "gh-pr-size",
        &[
            ("additions", &num(pr.additions?)),
            ("deletions", &num(pr.deletions?)),
            ("files", &num(pr.changed_files?)),
        ],
    ))
}

/// One announcement.
pub fn event(tr: Tr<'_>, e: &GithubEvent) -> String {
    let html = match e {
        GithubEvent::PrOpened { pr } => {
            let mut s = format!(
                "🔀 <b>{}</b>\n{}",
                tr.t(
                    "gh-pr-opened",
                    &[("number", &num(pr.number)), ("title", &pr.title)]
                ),
                tr.t(
                    "gh-pr-by",
                    &[
                        ("author", &pr.author),
                        ("who", &who(tr, pr.by_agent)),
                        ("branch", &pr.branch)
                    ]
                )
            );
            if let Some(sz) = size(tr, pr) {
                s.push_str(&format!("\n{sz}"));
            }
            s.push_str(&format!("\n{}", esc(&pr.url)));
            s
        }
        GithubEvent::ChecksFailing { pr, failed } => format!(
            "{}\n{}",
            head(tr, "🔴", "gh-checks-failed", pr),
            failed_lines(tr, failed)
        ),
        GithubEvent::ChecksPassing { pr } => head(tr, "🟢", "gh-checks-passed", pr),
        GithubEvent::ReviewRequested { pr, reviewers } => format!(
            "👀 <b>{}</b>\n{}",
            tr.t(
                "gh-review-requested",
                &[
                    ("number", &num(pr.number)),
                    ("title", &pr.title),
                    ("reviewers", &reviewers.join(", "))
                ]
            ),
            esc(&pr.url)
        ),
        GithubEvent::Merged { pr } => head(tr, "✅", "gh-merged", pr),
        GithubEvent::Closed { pr } => head(tr, "⛔", "gh-closed", pr),
        GithubEvent::IssueOpened { issue } => format!(
            "🐞 <b>{}</b>\n{}",
            tr.t(
                "gh-issue-opened",
                &[
                    ("number", &num(issue.number)),
                    ("title", &issue.title),
                    ("author", &issue.author)
                ]
            ),
            esc(&issue.url)
        ),
        GithubEvent::TakeDone { issue, bead, pr } => format!(
            "🏁 {}",
            match pr {
                Some(p) => tr.t(
                    "gh-take-done-pr",
                    &[("issue", &num(*issue)), ("bead", bead), ("pr", &num(*p))]
                ),
                None => tr.t("gh-take-done", &[("issue", &num(*issue)), ("bead", bead)]),
            }
        ),
    };
    fit(&html, tr)
}

/// `/prs`.
pub fn prs(tr: Tr<'_>, list: &[PrInfo], now: DateTime<Utc>) -> String {
    if list.is_empty() {
        return tr.t("gh-prs-none", &[]);
    }
    let mut s = format!(
        "<b>{}</b>",
        tr.t("gh-prs-title", &[("n", &list.len().to_string())])
    );
    for p in list {
        let icon = match p.checks {
            ChecksSummary::Failing => "🔴",
            ChecksSummary::Pending => "🟡",
            ChecksSummary::Passing => "🟢",
            ChecksSummary::None => "⚪",
        };
        s.push_str(&format!(
            "\n{icon} {} {}",
            link(&p.url, &format!("#{}", p.number)),
            tr.t(
                "gh-prs-line",
                &[
                    ("title", &p.title),
                    ("author", &p.author),
                    ("who", &who(tr, p.by_agent)),
                    ("age", &age(now, p.created_at)),
                    ("checks", &checks_word(tr, p.checks)),
                ]
            )
        ));
    }
    fit(&s, tr)
}

fn check_state(tr: Tr<'_>, s: CheckState) -> String {
    tr.raw(
        match s {
            CheckState::Passed => "gh-check-passed",
            CheckState::Failed => "gh-check-failed",
            CheckState::Pending => "gh-check-pending",
        },
        &[],
    )
}

/// `/pr <n>`.
pub fn pr(tr: Tr<'_>, p: &PrInfo, checks: &[Check]) -> String {
    let mut s = format!(
        "<b>{} {}</b>\n{}",
        link(&p.url, &format!("#{}", p.number)),
        esc(&p.title),
        tr.t(
            "gh-pr-by",
            &[
                ("author", &p.author),
                ("who", &who(tr, p.by_agent)),
                ("branch", &p.branch)
            ]
        )
    );
    if let Some(sz) = size(tr, p) {
        s.push_str(&format!("\n{sz}"));
    }
    if p.draft {
        s.push_str(&format!("\n{}", tr.t("gh-pr-draft", &[])));
    }
    // GitHub's own word: clean is the only state a merge goes through.
    let state = match (p.mergeable, p.mergeable_state.as_deref()) {
        (Some(true), Some("clean")) => "✅ clean".to_string(),
        (_, None | Some("unknown")) => "… unknown".to_string(),
        (_, Some(st)) => format!("⚠️ {st}"),
    };
    s.push_str(&format!(
        "\n{}",
        tr.t("gh-pr-mergeable", &[("state", &state)])
    ));
    if !checks.is_empty() {
        s.push_str(&format!("\n<b>{}</b>", tr.t("gh-checks-title", &[])));
        for c in checks {
            let line = tr.t(
                "gh-check-line",
                &[("name", &c.name), ("state", &check_state(tr, c.state))],
            );
            match &c.url {
                Some(u) => s.push_str(&format!("\n• {line} ({})", link(u, &tr.raw("gh-run", &[])))),
                None => s.push_str(&format!("\n• {line}")),
            }
        }
    } else {
        s.push_str(&format!("\n{}", checks_word(tr, ChecksSummary::None)));
    }
    fit(&s, tr)
}

/// `/issues`.
pub fn issues(tr: Tr<'_>, list: &[IssueInfo], now: DateTime<Utc>) -> String {
    if list.is_empty() {
        return tr.t("gh-issues-none", &[]);
    }
    let mut s = format!(
        "<b>{}</b>",
        tr.t("gh-issues-title", &[("n", &list.len().to_string())])
    );
    for i in list {
        s.push_str(&format!(
            "\n{} {}",
            link(&i.url, &format!("#{}", i.number)),
            tr.t(
                "gh-issues-line",
                &[
                    ("title", &i.title),
                    ("author", &i.author),
                    ("age", &age(now, i.created_at))
                ]
            )
        ));
        if let Some(b) = &i.bead {
            s.push_str(&format!(
                " · 🏭 {}",
                tr.t("gh-issues-taken", &[("bead", b)])
            ));
        }
    }
    fit(&s, tr)
}

pub fn merged(tr: Tr<'_>, m: &Merged) -> String {
    format!(
        "✅ {}\n{}",
        tr.t(
            "gh-merge-done",
            &[
                ("number", &num(m.number)),
                ("method", m.method),
                ("title", &m.title)
            ]
        ),
        esc(&m.url)
    )
}

pub fn taken(tr: Tr<'_>, t: &Taken) -> String {
    let mut s = format!(
        "🏭 {}\n{}",
        tr.t(
            "gh-taken",
            &[
                ("issue", &num(t.issue)),
                ("bead", &t.bead),
                ("title", &t.title)
            ]
        ),
        esc(&t.url)
    );
    if !t.commented {
        s.push_str(&format!("\n⚠️ {}", tr.t("gh-taken-no-comment", &[])));
    }
    s
}

/// Any failure of a GitHub command, in the person's language where
/// gasclaw knows the reason.
pub fn error(tr: Tr<'_>, number: u64, e: &GhError) -> String {
    match e {
        GhError::Refused(r) => {
            let why = match r {
                MergeRefusal::ChecksFailing(c) => {
                    tr.raw("gh-refuse-failing", &[("checks", &c.join(", "))])
                }
                MergeRefusal::ChecksPending(c) => {
                    tr.raw("gh-refuse-pending", &[("checks", &c.join(", "))])
                }
                MergeRefusal::NotOpen(_) => tr.raw("gh-refuse-not-open", &[]),
                MergeRefusal::Draft(_) => tr.raw("gh-refuse-draft", &[]),
                MergeRefusal::NotMergeable(s) => tr.raw("gh-refuse-not-mergeable", &[("state", s)]),
                MergeRefusal::NoMethod => tr.raw("gh-refuse-no-method", &[]),
            };
            format!(
                "🚫 {}",
                tr.t("gh-refuse", &[("number", &num(number)), ("why", &why)])
            )
        }
        GhError::AlreadyTaken { issue, bead } => format!(
            "ℹ️ {}",
            tr.t(
                "gh-already-taken",
                &[("issue", &num(*issue)), ("bead", bead)]
            )
        ),
        GhError::IsPullRequest(n) => tr.t("gh-not-issue", &[("number", &num(*n))]),
        GhError::IssueClosed(n) => tr.t("gh-issue-closed", &[("number", &num(*n))]),
        other => format!("❌ {}", tr.t("gh-error", &[("error", &other.to_string())])),
    }
}

/// The line `/status` shows about GitHub.
pub fn status_line(tr: Tr<'_>, gh: Option<&GithubWatch>, now: DateTime<Utc>) -> String {
    let Some(g) = gh else {
        return format!("⚪ {}", tr.t("gh-off", &[]));
    };
    let poll = match g.last_poll() {
        None => tr.raw("gh-status-never", &[]),
        Some(p) => tr.raw(
            "gh-status-poll",
            &[
                ("ago", &age(now, p.at)),
                ("state", &p.error.unwrap_or_else(|| "ok".to_string())),
            ],
        ),
    };
    format!(
        "🐙 {} ({})",
        tr.t("gh-status", &[("repo", g.repo())]),
        esc(&poll)
    )
}

/// The comments on GitHub in the configured language (`GASCLAW_LOCALE`,
/// else English: no one person's Telegram language fits a repository).
pub struct LocaleWording {
    locales: crate::i18n::Locales,
    lang: &'static str,
}

impl LocaleWording {
    pub fn new(locale: Option<&str>) -> LocaleWording {
        let locales = crate::i18n::Locales::embedded();
        let lang = locales.pick(locale, None);
        LocaleWording { locales, lang }
    }

    fn raw(&self, key: &str, args: &[(&str, &str)]) -> String {
        Tr::new(&self.locales, self.lang).raw(key, args)
    }
}

impl crate::core::github::Wording for LocaleWording {
    fn taken(&self, bead: &str) -> String {
        self.raw("gh-comment-taken", &[("bead", bead)])
    }

    fn done(&self, bead: &str, reason: &str, pr: Option<(&str, &str)>) -> String {
        match pr {
            Some((n, url)) => self.raw(
                "gh-comment-done-pr",
                &[("bead", bead), ("reason", reason), ("pr", n), ("url", url)],
            ),
            None => self.raw("gh-comment-done", &[("bead", bead), ("reason", reason)]),
        }
    }
}

/// "GitHub is off" for the commands that need it.
pub fn off(tr: Tr<'_>) -> String {
    format!("⚪ {}", tr.t("gh-off", &[]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::github::{IssueInfo, PrRef};
    use crate::i18n::Locales;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn check(name: &str, state: CheckState) -> Check {
        Check {
            name: name.into(),
            state,
            url: Some(format!(
                "https://github.com/acme/widgets/actions/runs/{name}"
            )),
        }
    }

    fn pr() -> PrInfo {
        PrInfo {
            number: 42,
            title: "Parse <tags> & quotes".into(),
            author: "nux".into(),
            by_agent: true,
            branch: "polecat/nux/gc-ab12".into(),
            url: "https://github.com/acme/widgets/pull/42".into(),
            additions: Some(120),
            deletions: Some(7),
            changed_files: Some(4),
            draft: false,
            created_at: at("2026-12-06T10:00:00Z"),
            checks: ChecksSummary::Failing,
            failed: vec![check("ci", CheckState::Failed)],
            mergeable: Some(true),
            mergeable_state: Some("blocked".into()),
        }
    }

    fn issue(bead: Option<&str>) -> IssueInfo {
        IssueInfo {
            number: 7,
            title: "Crash on start".into(),
            author: "dave".into(),
            url: "https://github.com/acme/widgets/issues/7".into(),
            created_at: at("2026-12-05T12:00:00Z"),
            bead: bead.map(String::from),
        }
    }

    /// Every GitHub rendering, in every locale.
    #[test]
    fn snapshots_in_every_locale() {
        let locales = Locales::embedded();
        let now = at("2026-12-06T12:30:00Z");
        let r = PrRef {
            number: 42,
            title: "Parse <tags> & quotes".into(),
            url: "https://github.com/acme/widgets/pull/42".into(),
        };
        let events = vec![
            GithubEvent::PrOpened { pr: pr() },
            GithubEvent::ChecksFailing {
                pr: r.clone(),
                failed: vec![
                    check("ci", CheckState::Failed),
                    check("lint", CheckState::Failed),
                ],
            },
            GithubEvent::ChecksPassing { pr: r.clone() },
            GithubEvent::ReviewRequested {
                pr: r.clone(),
                reviewers: vec!["carol".into(), "erin".into()],
            },
            GithubEvent::Merged { pr: r.clone() },
            GithubEvent::Closed { pr: r.clone() },
            GithubEvent::IssueOpened { issue: issue(None) },
            GithubEvent::TakeDone {
                issue: 7,
                bead: "gc-ab12".into(),
                pr: Some(42),
            },
        ];
        for lang in locales.languages() {
            let tr = Tr::new(&locales, lang);
            let mut out = Vec::new();
            for e in &events {
                out.push(event(tr, e));
            }
            let mut passing = pr();
            passing.checks = ChecksSummary::Passing;
            passing.by_agent = false;
            out.push(prs(tr, &[pr(), passing], now));
            out.push(prs(tr, &[], now));
            out.push(super::pr(
                tr,
                &pr(),
                &[
                    check("ci", CheckState::Failed),
                    check("lint", CheckState::Pending),
                ],
            ));
            out.push(issues(tr, &[issue(Some("gc-ab12")), issue(None)], now));
            out.push(issues(tr, &[], now));
            for refusal in [
                MergeRefusal::ChecksFailing(vec!["ci".into()]),
                MergeRefusal::ChecksPending(vec!["lint".into()]),
                MergeRefusal::NotOpen(42),
                MergeRefusal::Draft(42),
                MergeRefusal::NotMergeable("dirty".into()),
                MergeRefusal::NoMethod,
            ] {
                out.push(error(tr, 42, &GhError::Refused(refusal)));
            }
            out.push(error(
                tr,
                7,
                &GhError::AlreadyTaken {
                    issue: 7,
                    bead: "gc-ab12".into(),
                },
            ));
            out.push(error(tr, 42, &GhError::IsPullRequest(42)));
            out.push(error(tr, 7, &GhError::IssueClosed(7)));
            out.push(error(
                tr,
                7,
                &GhError::Api(crate::core::github::GithubError::Unauthorized),
            ));
            out.push(merged(
                tr,
                &Merged {
                    number: 42,
                    title: "Parse".into(),
                    method: "squash",
                    sha: "f00".into(),
                    url: "https://github.com/acme/widgets/pull/42".into(),
                },
            ));
            for commented in [true, false] {
                out.push(taken(
                    tr,
                    &Taken {
                        issue: 7,
                        title: "Crash on start".into(),
                        url: "https://github.com/acme/widgets/issues/7".into(),
                        bead: "gc-ab12".into(),
                        commented,
                    },
                ));
            }
            out.push(status_line(tr, None, now));
            out.push(off(tr));
            use crate::core::github::{English, Wording};
            let w = LocaleWording::new(Some(lang));
            let comments = [
                w.taken("gc-ab12"),
                w.done("gc-ab12", "done", None),
                w.done(
                    "gc-ab12",
                    "done",
                    Some(("#42", "https://github.com/acme/widgets/pull/42")),
                ),
            ];
            if lang == "en" {
                // The core's English default says what en.ftl says.
                assert_eq!(
                    comments,
                    [
                        English.taken("gc-ab12"),
                        English.done("gc-ab12", "done", None),
                        English.done(
                            "gc-ab12",
                            "done",
                            Some(("#42", "https://github.com/acme/widgets/pull/42"))
                        ),
                    ]
                );
            }
            out.extend(comments);
            for html in &out {
                gasclaw_fakes::bot_api::parse_html(html)
                    .unwrap_or_else(|e| panic!("Telegram would refuse {html:?}: {e}"));
            }
            insta::assert_snapshot!(format!("github-{lang}"), out.join("\n\n----\n\n"));
        }
    }
}
