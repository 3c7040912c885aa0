//! Sending and editing with Telegram's errors handled: 429 waits for
//! `retry_after`, 5xx and
//! network errors retry with backoff, "not modified" is success, anything
//! else is reported to the caller.

use std::time::Duration;

use teloxide::payloads::{EditMessageTextSetters, SendMessageSetters};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, MessageId, ParseMode, ReplyParameters, ThreadId};
use teloxide::{ApiError, RequestError};

use super::{Target, Tg};

const ATTEMPTS: usize = 4;

/// An error for logs: never the token (teloxide's network errors can carry
/// the URL, which holds it).
pub fn describe(e: &RequestError) -> String {
    let s = match e {
        RequestError::Api(api) => format!("Telegram refused: {api}"),
        RequestError::RetryAfter(d) => format!("rate limited for {}s", d.seconds()),
        RequestError::MigrateToChatId(c) => format!("the group moved to {c}"),
        RequestError::Network(n) => {
            let mut s = String::from("network error");
            if n.is_timeout() {
                s.push_str(" (timeout)");
            } else if n.is_connect() {
                s.push_str(" (cannot connect)");
            }
            s
        }
        RequestError::InvalidJson { .. } => "Telegram answered something unexpected".into(),
        RequestError::Io(e) => format!("I/O error: {e}"),
    };
    // Belt and braces: strip anything that looks like `bot<token>`.
    match s.find("/bot") {
        Some(i) => format!("{}/bot[redacted]", &s[..i]),
        None => s,
    }
}

/// Telegram could not parse our HTML: a bug on our side, but the person
/// should still get the words, so the text goes again as plain text.
fn unparsable(e: &RequestError) -> bool {
    matches!(e, RequestError::Api(ApiError::CantParseEntities(_)))
}

/// Whether retrying may help.
fn transient(e: &RequestError) -> Option<Duration> {
    match e {
        RequestError::RetryAfter(d) => Some(d.duration()),
        RequestError::Network(_) | RequestError::Io(_) => Some(Duration::from_secs(1)),
        // teloxide turns a 5xx body into an unknown API error.
        RequestError::Api(ApiError::Unknown(t))
            if t.contains("Internal Server Error")
                || t.contains("Service Unavailable")
                || t.contains("Gateway") =>
        {
            Some(Duration::from_secs(1))
        }
        _ => None,
    }
}

/// The forum topic is gone (deleted or closed for good): the message goes
/// to the chat itself rather than nowhere.
fn topic_gone(e: &RequestError) -> bool {
    matches!(e, RequestError::Api(ApiError::Unknown(t)) if t.contains("message thread not found"))
}

pub async fn message(
    bot: &Tg,
    to: Target,
    html: &str,
    markup: Option<InlineKeyboardMarkup>,
    reply_to: Option<MessageId>,
) -> Result<Message, RequestError> {
    message_with(bot, to, html, markup, reply_to, false).await
}

/// [`message`], optionally without a notification sound
/// (`disable_notification`: info alerts, recoveries).
pub async fn message_with(
    bot: &Tg,
    mut to: Target,
    html: &str,
    markup: Option<InlineKeyboardMarkup>,
    reply_to: Option<MessageId>,
    silent: bool,
) -> Result<Message, RequestError> {
    let mut last = None;
    // The one choke point: no secret leaves in a message.
    let html = &bot.redact(html);
    let mut text = html.to_string();
    let mut as_html = true;
    for attempt in 0..ATTEMPTS {
        // Every attempt is a send Telegram counts.
        bot.limiter().acquire(to.chat_id).await;
        let mut req = bot.send_message(ChatId(to.chat_id), text.clone());
        if as_html {
            req = req.parse_mode(ParseMode::Html);
        }
        if let Some(t) = to.thread_id {
            req = req.message_thread_id(ThreadId(MessageId(t)));
        }
        if let Some(m) = &markup {
            req = req.reply_markup(m.clone());
        }
        if let Some(r) = reply_to {
            req = req.reply_parameters(ReplyParameters::new(r).allow_sending_without_reply());
        }
        if silent {
            req = req.disable_notification(true);
        }
        match req.await {
            Ok(m) => return Ok(m),
            Err(e) if as_html && unparsable(&e) => {
                tracing::error!(error = %describe(&e), chat = to.chat_id, "Telegram could not parse a reply; sending it as plain text");
                as_html = false;
                text = super::render::plain(html);
            }
            Err(e) if to.thread_id.is_some() && topic_gone(&e) => {
                tracing::warn!(
                    chat = to.chat_id,
                    topic = to.thread_id,
                    "the forum topic is gone; sending to the chat itself"
                );
                to.thread_id = None;
            }
            Err(RequestError::MigrateToChatId(new)) if new.0 != to.chat_id => {
                tracing::warn!(
                    chat = to.chat_id,
                    now = new.0,
                    "the group became a supergroup; sending there (update TELEGRAM_GROUP_IDS / ALERT_CHAT_IDS)"
                );
                to.chat_id = new.0;
            }
            Err(e) => match transient(&e) {
                Some(wait) if attempt + 1 < ATTEMPTS => {
                    tracing::warn!(error = %describe(&e), chat = to.chat_id, "sending failed; retrying");
                    tokio::time::sleep(wait * (attempt as u32 + 1)).await;
                    last = Some(e);
                }
                _ => return Err(e),
            },
        }
    }
    Err(last.unwrap_or(RequestError::Api(ApiError::Unknown("giving up".into()))))
}

pub async fn edit(
    bot: &Tg,
    chat_id: i64,
    id: MessageId,
    html: &str,
    markup: Option<InlineKeyboardMarkup>,
) -> Result<(), RequestError> {
    let html = &bot.redact(html);
    let mut text = html.to_string();
    let mut as_html = true;
    for attempt in 0..ATTEMPTS {
        // Telegram counts edits against the same limits as sends.
        bot.limiter().acquire(chat_id).await;
        let mut req = bot.edit_message_text(ChatId(chat_id), id, text.clone());
        if as_html {
            req = req.parse_mode(ParseMode::Html);
        }
        if let Some(m) = &markup {
            req = req.reply_markup(m.clone());
        }
        match req.await {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => return Ok(()),
            Err(e) if as_html && unparsable(&e) => {
                tracing::error!(error = %describe(&e), chat = chat_id, "Telegram could not parse an edit; sending it as plain text");
                as_html = false;
                text = super::render::plain(html);
            }
            Err(e) => match transient(&e) {
                Some(wait) if attempt + 1 < ATTEMPTS => {
                    tokio::time::sleep(wait * (attempt as u32 + 1)).await
                }
                _ => return Err(e),
            },
        }
    }
    Ok(())
}

/// Takes the buttons off a message of ours ("not modified" is success).
pub async fn remove_buttons(bot: &Tg, chat_id: i64, id: MessageId) -> Result<(), RequestError> {
    for attempt in 0..ATTEMPTS {
        bot.limiter().acquire(chat_id).await;
        match bot.edit_message_reply_markup(ChatId(chat_id), id).await {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => return Ok(()),
            Err(e) => match transient(&e) {
                Some(wait) if attempt + 1 < ATTEMPTS => {
                    tokio::time::sleep(wait * (attempt as u32 + 1)).await
                }
                _ => return Err(e),
            },
        }
    }
    Ok(())
}

/// Answers a button press (best effort: a late answer only loses the toast).
pub async fn answer(bot: &Tg, id: &str, text: &str) {
    if let Err(e) = bot
        .answer_callback_query(teloxide::types::CallbackQueryId(id.to_string()))
        .text(bot.redact(text))
        .await
    {
        tracing::debug!(error = %describe(&e), "could not answer a callback");
    }
}

/// Sends a PNG (multipart `sendPhoto`) with an HTML caption, retrying what
/// may pass later.
pub async fn photo(
    bot: &Tg,
    to: Target,
    png: Vec<u8>,
    caption_html: &str,
    reply_to: Option<MessageId>,
) -> Result<Message, RequestError> {
    use teloxide::payloads::SendPhotoSetters;
    use teloxide::types::InputFile;
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        bot.limiter().acquire(to.chat_id).await;
        let mut req = bot
            .send_photo(
                ChatId(to.chat_id),
                InputFile::memory(png.clone()).file_name("usage.png"),
            )
            .caption(caption_html.to_string())
            .parse_mode(ParseMode::Html);
        if let Some(t) = to.thread_id {
            req = req.message_thread_id(ThreadId(MessageId(t)));
        }
        if let Some(r) = reply_to {
            req = req.reply_parameters(ReplyParameters::new(r).allow_sending_without_reply());
        }
        match req.await {
            Ok(m) => return Ok(m),
            Err(e) => match transient(&e) {
                Some(wait) if attempt + 1 < ATTEMPTS => {
                    tracing::warn!(error = %describe(&e), chat = to.chat_id, "sending a photo failed; retrying");
                    tokio::time::sleep(wait * (attempt as u32 + 1)).await;
                    last = Some(e);
                }
                _ => return Err(e),
            },
        }
    }
    Err(last.unwrap_or(RequestError::Io(std::sync::Arc::new(
        std::io::Error::other("no attempt made"),
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(text: &str) -> RequestError {
        RequestError::Api(ApiError::Unknown(text.to_string()))
    }

    #[test]
    fn server_errors_and_the_network_are_retried_the_rest_is_not() {
        for t in [
            "Internal Server Error",
            "Bad Gateway",
            "Service Unavailable",
            "Gateway Timeout",
        ] {
            assert!(transient(&api(t)).is_some(), "{t}");
        }
        assert_eq!(
            transient(&RequestError::RetryAfter(
                teloxide::types::Seconds::from_seconds(7)
            )),
            Some(Duration::from_secs(7))
        );
        assert!(transient(&api("Bad Request: message thread not found")).is_none());
        assert!(transient(&RequestError::Api(ApiError::BotBlocked)).is_none());
        assert!(unparsable(&RequestError::Api(ApiError::CantParseEntities(
            "Bad Request: can't parse entities: Unsupported start tag".into()
        ))));
        assert!(!unparsable(&RequestError::Api(ApiError::MessageIsTooLong)));
    }

    #[test]
    fn describe_never_shows_the_token() {
        let e = RequestError::Io(std::sync::Arc::new(std::io::Error::other(
            "GET https://api.telegram.org/bot123456:AAHsecretTOKEN/getMe failed",
        )));
        let d = describe(&e);
        assert!(!d.contains("AAHsecretTOKEN"), "{d}");
        assert!(d.contains("[redacted]"), "{d}");
    }
}
