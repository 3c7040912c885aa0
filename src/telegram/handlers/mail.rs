//! `/mail`: the town's latest mail to the humans, one message each (so a
//! reply names the one it answers), each marked read once delivered.

use crate::telegram::speaker::{After, Message, Reply, Speaker};
use crate::telegram::{Ctx, render};

/// At most this many messages per `/mail`.
const SHOWN: usize = 5;

pub async fn handle(ctx: &Ctx, who: &Speaker) -> Reply {
    let tr = who.tr(&ctx.locales);
    let mail = match ctx.core.mail(SHOWN).await {
        Ok(m) => m,
        Err(e) => {
            return Reply::text(format!(
                "❌ {}",
                tr.t("mail-failed", &[("error", &e.to_string())])
            ));
        }
    };
    if mail.is_empty() {
        return Reply::text(tr.t("mail-empty", &[]));
    }
    Reply {
        // Oldest first, so the newest is at the bottom of the chat.
        messages: mail
            .iter()
            .rev()
            .map(|m| Message {
                text: render::work::mail(tr, m),
                buttons: None,
                then: (!m.read).then(|| After::MailRead(m.id.clone())),
            })
            .collect(),
        ..Reply::default()
    }
}
