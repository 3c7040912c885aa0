//! Merges and convoys never reach the event log (gastown-work.md §1.3):
//! the refinery mails its rig's witness `MERGED <polecat>` /
//! `MERGE_FAILED <polecat>`, and a landed convoy mails `mayor/`
//! `🚚 Convoy landed: <title>`. gasclaw reads those inboxes with
//! `gt mail inbox <address> --json`, which since gt 1.1.0 marks nothing
//! (only `gt mail read` does), and remembers which messages it has seen in
//! `GASCLAW_HOME/mail-seen.json`; what is there the first time is a
//! baseline, not news.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::WorkError;
use super::announce::{Announcement, Kind, Severity, rig_of};
use crate::core::Core;
use crate::stack::gastown::work::Mail;

const CONVOY: &str = "🚚 Convoy landed:";

/// The announcement a message makes, if it is a merge or a landed convoy.
pub fn classify_mail(m: &Mail) -> Option<Announcement> {
    let subject = m.subject.trim();
    let at = m.timestamp.unwrap_or_else(Utc::now);
    let first_line = m.body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let (kind, severity, rest, detail) = if let Some(p) = subject.strip_prefix("MERGE_FAILED ") {
        (Kind::MergeFailed, Severity::Warning, p, first_line)
    } else if let Some(p) = subject.strip_prefix("MERGED ") {
        (Kind::Merged, Severity::Info, p, "")
    } else if let Some(t) = subject.strip_prefix(CONVOY) {
        (Kind::ConvoyLanded, Severity::Info, t, "")
    } else {
        return None;
    };
    let rest = rest.trim().to_string();
    let rig = rig_of(&m.from).or_else(|| rig_of(&m.to));
    Some(Announcement {
        kind,
        severity,
        at,
        agent: (kind != Kind::ConvoyLanded).then(|| match &rig {
            Some(r) if !rest.contains('/') => format!("{r}/{rest}"),
            _ => rest.clone(),
        }),
        subject: Some(rest),
        rig,
        detail: detail.trim().to_string(),
        extra: Vec::new(),
    })
}

/// The message ids already seen, durably (at most the newest 5,000).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct MailSeen {
    /// Whether the inboxes were read once (the baseline).
    #[serde(default)]
    pub primed: bool,
    #[serde(default)]
    pub ids: Vec<String>,
    #[serde(skip)]
    path: PathBuf,
}

const MAX_SEEN: usize = 5000;

impl MailSeen {
    pub fn load(home: &Path) -> MailSeen {
        let path = home.join("mail-seen.json");
        let mut s: MailSeen = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        s.path = path;
        s
    }

    fn save(&self) {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        if let Err(e) = crate::fsutil::atomic_write(&self.path, &bytes, crate::fsutil::PUBLIC_MODE)
        {
            tracing::warn!(error = %e, "could not save the mail already seen");
        }
    }
}

impl Core {
    /// The inboxes merges and convoys arrive in: `mayor/` and each rig's
    /// witness (the configured rig and every rig with a topic).
    fn news_inboxes(&self) -> Vec<String> {
        let mut rigs: BTreeSet<String> = self.config.rig_topics.keys().cloned().collect();
        rigs.insert(self.config.rig_name.clone());
        let mut v = vec!["mayor/".to_string()];
        v.extend(rigs.into_iter().map(|r| format!("{r}/witness")));
        v
    }

    /// New merges and landed convoys since the last look (the first look
    /// only remembers what is there). An inbox gt cannot read is skipped.
    pub async fn mail_news(&self, seen: &mut MailSeen) -> Result<Vec<Announcement>, WorkError> {
        let mut known: BTreeSet<String> = seen.ids.iter().cloned().collect();
        let mut news = Vec::new();
        let mut new_ids = Vec::new();
        let mut any = false;
        for addr in self.news_inboxes() {
            let inbox = match self.gastown.mail_inbox(&addr).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(error = %e, inbox = %addr, "could not read an inbox");
                    continue;
                }
            };
            any = true;
            for m in inbox {
                if !known.insert(m.id.clone()) {
                    continue;
                }
                new_ids.push(m.id.clone());
                if seen.primed
                    && let Some(a) = classify_mail(&m)
                {
                    news.push(a);
                }
            }
        }
        if !any {
            return Ok(news);
        }
        let changed = !new_ids.is_empty() || !seen.primed;
        seen.primed = true;
        seen.ids.extend(new_ids);
        let excess = seen.ids.len().saturating_sub(MAX_SEEN);
        seen.ids.drain(..excess);
        if changed {
            seen.save();
        }
        news.sort_by_key(|a| a.at);
        Ok(news)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(from: &str, to: &str, subject: &str, body: &str) -> Mail {
        serde_json::from_value(serde_json::json!({
            "id": "hq-m1", "from": from, "to": to, "subject": subject, "body": body,
            "timestamp": "2026-06-01T09:14:03Z", "read": false, "priority": "normal", "type": "notification"
        }))
        .unwrap()
    }

    #[test]
    fn merges_failures_and_convoys_from_their_subjects() {
        let a = classify_mail(&mail(
            "project/refinery",
            "project/witness",
            "MERGED Toast",
            "",
        ))
        .unwrap();
        assert_eq!((a.kind, a.severity), (Kind::Merged, Severity::Info));
        assert_eq!(a.rig.as_deref(), Some("project"));
        assert_eq!(a.agent.as_deref(), Some("project/Toast"));
        let a = classify_mail(&mail(
            "project/refinery",
            "project/witness",
            "MERGE_FAILED Nux",
            "\nrebase conflict in src/lib.rs\nmore",
        ))
        .unwrap();
        assert_eq!((a.kind, a.severity), (Kind::MergeFailed, Severity::Warning));
        assert_eq!(a.detail, "rebase conflict in src/lib.rs");
        let a = classify_mail(&mail(
            "mayor/",
            "mayor/",
            "🚚 Convoy landed: Auth rework",
            "",
        ))
        .unwrap();
        assert_eq!(a.kind, Kind::ConvoyLanded);
        assert_eq!(a.subject.as_deref(), Some("Auth rework"));
        assert_eq!(a.rig, None);
        for other in [
            "GUPP_VIOLATION: x stuck",
            "Re: MERGED Toast",
            "[HIGH] Build broken",
            "",
        ] {
            assert_eq!(
                classify_mail(&mail("a/b", "mayor/", other, "")),
                None,
                "{other}"
            );
        }
    }
}
