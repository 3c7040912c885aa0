//! Who is speaking to the bot, and what a command handler answers.
//!
//! A handler is a function from (the bot's context over the core, a typed
//! command, the speaker) to a [`Reply`]: the messages to send and what goes
//! on the audit record. Sending, editing the confirmation in place and
//! writing the audit line are the dispatcher's, so a handler can be tested
//! by calling it and looking at its reply.

use teloxide::types::InlineKeyboardMarkup;

use super::audit::Outcome;
use super::auth::Role;
use super::render::Tr;
use crate::core::Actor;
use crate::i18n::Locales;

/// The person a command or a question comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speaker {
    pub id: u64,
    /// Their @username, else their first name.
    pub name: String,
    pub role: Role,
    pub lang: &'static str,
}

impl Speaker {
    pub fn actor(&self) -> Actor {
        Actor::Person {
            id: self.id,
            name: self.name.clone(),
        }
    }

    pub fn tr<'a>(&self, locales: &'a Locales) -> Tr<'a> {
        Tr::new(locales, self.lang)
    }

    /// The name Telegram shows for `user`.
    pub fn name_of(user: &teloxide::types::User) -> String {
        user.username
            .clone()
            .unwrap_or_else(|| user.first_name.clone())
    }
}

/// What a handler answers.
#[derive(Debug, Default)]
pub struct Reply {
    /// Sent in order; the first one replaces the command's status message
    /// (its confirmation or "working…" message) when there is one.
    pub messages: Vec<Message>,
    /// A photo after the messages (`/usage`'s chart).
    pub photo: Option<Photo>,
    /// What the audit log records for this command, when it is audited.
    pub record: Option<Record>,
}

/// One message of a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub buttons: Option<InlineKeyboardMarkup>,
    /// Done once the message is delivered (never before: a mail marked
    /// read that nobody saw would be lost).
    pub then: Option<After>,
}

/// An effect that waits for its message's delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// Marks the town's mail read (`/mail`).
    MailRead(String),
}

#[derive(Debug)]
pub struct Photo {
    pub png: Vec<u8>,
    pub caption: String,
}

/// An audit line's outcome and detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub outcome: Outcome,
    pub detail: Option<String>,
}

impl Reply {
    /// One message.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply {
            messages: vec![Message {
                text: text.into(),
                buttons: None,
                then: None,
            }],
            ..Reply::default()
        }
    }

    /// One message with buttons.
    pub fn with_buttons(text: impl Into<String>, buttons: Option<InlineKeyboardMarkup>) -> Reply {
        Reply {
            messages: vec![Message {
                text: text.into(),
                buttons,
                then: None,
            }],
            ..Reply::default()
        }
    }

    /// Audited with `outcome` and no detail.
    pub fn audited(self, outcome: Outcome) -> Reply {
        Reply {
            record: Some(Record {
                outcome,
                detail: None,
            }),
            ..self
        }
    }

    /// Audited with `outcome` and `detail`.
    pub fn audited_with(self, outcome: Outcome, detail: impl Into<String>) -> Reply {
        Reply {
            record: Some(Record {
                outcome,
                detail: Some(detail.into()),
            }),
            ..self
        }
    }

    /// The texts, in order (tests and snapshots).
    pub fn texts(&self) -> Vec<&str> {
        self.messages.iter().map(|m| m.text.as_str()).collect()
    }
}

/// Where a long command shows how far it got (`/bootstrap`'s steps): the
/// dispatcher edits the command's status message with each text, in order.
#[derive(Debug, Clone, Default)]
pub struct Progress(Option<tokio::sync::mpsc::UnboundedSender<String>>);

impl Progress {
    /// Nowhere (a command without a status message).
    pub fn none() -> Progress {
        Progress(None)
    }

    /// Each text shown is sent to `tx`.
    pub fn to(tx: tokio::sync::mpsc::UnboundedSender<String>) -> Progress {
        Progress(Some(tx))
    }

    pub fn show(&self, text: String) {
        if let Some(tx) = &self.0 {
            // The receiver is gone only once the command is over.
            let _ = tx.send(text);
        }
    }
}
