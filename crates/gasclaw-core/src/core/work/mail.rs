//! The Mayor's mail to the humans (gastown-work.md §4.4): gasclaw reads the
//! town's mail as the `overseer` (its identity from the town root) and
//! sends a person's reply back to the message's sender as mail, which gt
//! delivers by waking the recipient. Text shown passes the redactor.

use super::{Mail, WorkError};
use crate::core::{Actor, Core};

/// A mail id as gt prints them (`hq-abc12`): checked before it reaches a
/// command line.
fn check_id(id: &str) -> Result<&str, WorkError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(id)
    } else {
        Err(WorkError::Gt(format!(
            "`{}` is not a mail id",
            id.chars().take(40).collect::<String>()
        )))
    }
}

impl Core {
    fn redact_mail(&self, mut m: Mail) -> Mail {
        let r = self.redactor();
        m.subject = r.redact(&m.subject);
        m.body = r.redact(&m.body);
        m.from = r.redact(&m.from);
        m
    }

    /// The humans' mailbox, newest first (at most `limit`), redacted.
    pub async fn mail(&self, limit: usize) -> Result<Vec<Mail>, WorkError> {
        if !self.gastown.town_exists() {
            return Err(WorkError::NoTown);
        }
        let mut all = self.gastown.mail_inbox("overseer").await?;
        all.sort_by_key(|m| std::cmp::Reverse(m.timestamp));
        all.truncate(limit);
        Ok(all.into_iter().map(|m| self.redact_mail(m)).collect())
    }

    /// Reads one message (gt marks it read), redacted.
    pub async fn read_mail(&self, id: &str) -> Result<Mail, WorkError> {
        let m = self.gastown.mail_read(check_id(id)?).await?;
        Ok(self.redact_mail(m))
    }

    /// Sends a person's reply to message `id` back to its sender as mail
    /// (`Re: <subject>`, linked with `--reply-to`), attributed to them.
    /// Returns the recipient.
    pub async fn reply_mail(&self, id: &str, text: &str, by: &Actor) -> Result<String, WorkError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(WorkError::EmptyText);
        }
        let id = check_id(id)?;
        let inbox = self.gastown.mail_inbox("overseer").await?;
        let original = inbox
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| WorkError::Gt(format!("no message `{id}` in the humans' mailbox")))?;
        let to = if original.from.is_empty() {
            "mayor/".to_string()
        } else {
            original.from.clone()
        };
        let subject = if original.subject.starts_with("Re:") {
            original.subject.clone()
        } else {
            format!("Re: {}", original.subject)
        };
        let body = format!("{text}\n\n— {} (via gasclaw)", by.attribution());
        tracing::info!(to = %to, by = %by, "replying to the town's mail");
        self.gastown
            .mail_send(&to, &subject, &body, Some(id))
            .await?;
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mail_ids_are_checked() {
        assert!(super::check_id("hq-abc12").is_ok());
        assert!(super::check_id("--all").is_err());
        assert!(super::check_id("a b").is_err());
        assert!(super::check_id("").is_err());
    }
}
