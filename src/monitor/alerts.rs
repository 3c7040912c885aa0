//! Alert state per check: ok→down alerts once, still down reminds every
//! `ALERT_REPEAT`, down→ok says "recovered" with the downtime. The state is
//! sampled once per cycle, so a check flapping within a cycle is one
//! observation, not one message per flip.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::core::Service;
use crate::core::activity::human_duration;
use crate::keys::PoolKind;
use crate::telegram::render::Tr;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckId {
    Service(Service),
    Activity,
    Keys(PoolKind),
    Telegram,
    /// GitHub announcements (`/mute github 1h`).
    Github,
}

impl CheckId {
    /// The name people use in `/mute`.
    pub fn mute_name(self) -> &'static str {
        match self {
            CheckId::Service(s) => s.name(),
            CheckId::Activity => "activity",
            CheckId::Keys(_) => "keys",
            CheckId::Telegram => "telegram",
            CheckId::Github => "github",
        }
    }

    /// What leads the message.
    pub fn label(self) -> &'static str {
        match self {
            CheckId::Service(s) => s.name(),
            CheckId::Activity => "activity",
            CheckId::Keys(PoolKind::Agents) => "agent keys",
            CheckId::Keys(PoolKind::Overseer) => "overseer keys",
            CheckId::Telegram => "telegram",
            CheckId::Github => "github",
        }
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Clone, Default)]
pub struct AlertState {
    pub down_since: Option<DateTime<Utc>>,
    last_sent: Option<DateTime<Utc>>,
    pub detail: String,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Down,
    StillDown { for_: Duration },
    Recovered { after: Duration },
}

fn since(a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
    (b - a).to_std().unwrap_or_default()
}

impl AlertState {
    pub fn observe(
        &mut self,
        ok: bool,
        detail: &str,
        now: DateTime<Utc>,
        repeat: Duration,
    ) -> Option<Transition> {
        match (ok, self.down_since) {
            (true, None) => None,
            (true, Some(t)) => {
                self.down_since = None;
                self.last_sent = None;
                self.detail.clear();
                Some(Transition::Recovered {
                    after: since(t, now),
                })
            }
            (false, None) => {
                self.down_since = Some(now);
                self.last_sent = Some(now);
                self.detail = detail.to_string();
                Some(Transition::Down)
            }
            (false, Some(t)) => {
                self.detail = detail.to_string();
                if self.last_sent.is_none_or(|l| since(l, now) >= repeat) {
                    self.last_sent = Some(now);
                    Some(Transition::StillDown {
                        for_: since(t, now),
                    })
                } else {
                    None
                }
            }
        }
    }

    /// Marks the check up without a message (healing already said so).
    pub fn clear(&mut self) -> Option<Duration> {
        let t = self.down_since.take()?;
        self.last_sent = None;
        self.detail.clear();
        Some(since(t, Utc::now()))
    }
}

/// "no commit for N min (deadline M min)".
pub fn activity_detail(tr: Tr<'_>, age_secs: u64, deadline_secs: u64) -> String {
    tr.raw(
        "mon-activity-detail",
        &[
            ("age", &(age_secs / 60).to_string()),
            ("deadline", &(deadline_secs / 60).to_string()),
        ],
    )
}

/// A short message that leads with the check and its state.
pub fn render(tr: Tr<'_>, id: CheckId, t: &Transition, detail: &str, word: &str) -> String {
    let check = id.label();
    let state = tr.raw(&format!("mon-state-{word}"), &[]);
    let word = state.as_str();
    match (id, t) {
        (CheckId::Activity, Transition::Down) => format!(
            "⏰ <b>activity</b>: {}",
            tr.t("mon-activity-late", &[("detail", detail)])
        ),
        (CheckId::Activity, Transition::StillDown { for_ }) => {
            format!(
                "⏰ <b>activity</b>: {}",
                tr.t(
                    "mon-activity-still",
                    &[("for", &human_duration(for_.as_secs())), ("detail", detail)]
                )
            )
        }
        (CheckId::Activity, Transition::Recovered { after }) => {
            format!(
                "✅ <b>activity</b>: {}",
                tr.t(
                    "mon-activity-resumed",
                    &[("for", &human_duration(after.as_secs()))]
                )
            )
        }
        (CheckId::Keys(_), Transition::Down) => {
            format!(
                "🔑 <b>{check}</b>: {}",
                crate::telegram::render::esc(detail)
            )
        }
        (CheckId::Keys(_), Transition::StillDown { for_ }) => {
            format!(
                "🔑 <b>{check}</b>: {}",
                tr.t(
                    "mon-keys-still",
                    &[("for", &human_duration(for_.as_secs())), ("detail", detail)]
                )
            )
        }
        (CheckId::Keys(_), Transition::Recovered { after }) => {
            format!(
                "✅ <b>{check}</b>: {}",
                tr.t(
                    "mon-keys-recovered",
                    &[("for", &human_duration(after.as_secs()))]
                )
            )
        }
        (_, Transition::Down) => format!(
            "🔴 <b>{check}</b> {}",
            tr.t("mon-down", &[("state", word), ("detail", detail)])
        ),
        (_, Transition::StillDown { for_ }) => format!(
            "🔴 <b>{check}</b> {}",
            tr.t(
                "mon-still-down",
                &[
                    ("state", word),
                    ("for", &human_duration(for_.as_secs())),
                    ("detail", detail)
                ]
            )
        ),
        (_, Transition::Recovered { after }) => {
            format!(
                "✅ <b>{check}</b> {}",
                tr.t(
                    "mon-recovered",
                    &[("for", &human_duration(after.as_secs()))]
                )
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_once_with_reminders_and_recovery() {
        let mut s = AlertState::default();
        let t0 = Utc::now();
        let at = |secs: i64| t0 + chrono::Duration::seconds(secs);
        let repeat = Duration::from_secs(3600);
        assert_eq!(s.observe(true, "", at(0), repeat), None);
        assert_eq!(s.observe(false, "x", at(1), repeat), Some(Transition::Down));
        assert_eq!(s.observe(false, "x", at(300), repeat), None);
        assert_eq!(
            s.observe(false, "x", at(3601), repeat),
            Some(Transition::StillDown {
                for_: Duration::from_secs(3600)
            })
        );
        assert_eq!(s.observe(false, "x", at(4000), repeat), None);
        assert_eq!(
            s.observe(true, "", at(4201), repeat),
            Some(Transition::Recovered {
                after: Duration::from_secs(4200)
            })
        );
        assert_eq!(s.observe(true, "", at(4300), repeat), None);
    }
}
