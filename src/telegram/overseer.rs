//! The conversation with the OpenClaw overseer: an operator's plain text
//! (a DM, a mention or a reply to the bot in an allowed group, or `/ask`)
//! goes to the agent through the gateway's OpenAI-compatible endpoint, with
//! a stable `user` per chat and topic so each keeps its own conversation;
//! the answer comes back to the same chat and topic, split at Telegram's
//! limit, replying to the person's message. "typing…" shows while waiting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use teloxide::payloads::SendChatActionSetters;
use teloxide::prelude::*;
use teloxide::types::{ChatAction, MessageId, ThreadId};

use super::render::{self, Tr};
use super::speaker::Speaker;
use super::{Ctx, Target, Tg, send};
use crate::core::capabilities::OverseerError as ChatError;

/// The stable conversation id of a chat (and forum topic).
pub fn conversation(target: Target) -> String {
    match target.thread_id {
        Some(t) => format!("telegram:{}:{t}", target.chat_id),
        None => format!("telegram:{}", target.chat_id),
    }
}

pub async fn relay(
    ctx: &Arc<Ctx>,
    bot: &Tg,
    target: Target,
    reply_to: MessageId,
    who: &Speaker,
    text: &str,
) -> anyhow::Result<()> {
    let tr = Tr::new(&ctx.locales, who.lang);
    let started = Instant::now();
    let typing = tokio_util::sync::CancellationToken::new();
    let stop_typing = typing.clone();
    let b = bot.clone();
    // Telegram shows "typing…" for about 5 s: refresh it until the answer.
    // A quick answer needs none, so the first one waits a moment (and the
    // question goes to the gateway without competing with it).
    let typing_task = tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            _ = typing.cancelled() => return,
        }
        loop {
            let mut req = b.send_chat_action(ChatId(target.chat_id), ChatAction::Typing);
            if let Some(t) = target.thread_id {
                req = req.message_thread_id(ThreadId(MessageId(t)));
            }
            let _ = req.await;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(4)) => {}
                _ = typing.cancelled() => return,
            }
        }
    });
    let content = format!("[{} ({}) via Telegram]\n{text}", who.name, who.role.name());
    let result = ctx.core.ask_overseer(&conversation(target), &content).await;
    stop_typing.cancel();
    let _ = typing_task.await;
    let latency_ms = started.elapsed().as_millis() as u64;
    // Logged as sent to Telegram: a key pasted into a question or quoted in
    // an answer never reaches the log.
    tracing::debug!(text = %bot.redact(text), "overseer question");
    match result {
        Ok(answer) => {
            tracing::info!(
                chat = target.chat_id,
                user = who.id,
                in_len = text.len(),
                out_len = answer.len(),
                latency_ms,
                outcome = "answered",
                "overseer exchange"
            );
            // Redacted before it is logged and split, so no secret straddles
            // two parts (`send` redacts each part again).
            let answer = bot.redact(&answer);
            tracing::debug!(answer = %answer, "overseer answer");
            for (i, part) in render::split_text(&answer, render::MAX_TEXT)
                .iter()
                .enumerate()
            {
                send::message(bot, target, part, None, (i == 0).then_some(reply_to)).await?;
            }
        }
        Err(e) => {
            let outcome = match &e {
                ChatError::Timeout(_) => "timeout",
                ChatError::Down => "gateway down",
                _ => "error",
            };
            tracing::warn!(chat = target.chat_id, user = who.id, in_len = text.len(), latency_ms, outcome, error = %e, "overseer exchange failed");
            let reply = match e {
                ChatError::Timeout(d) => {
                    tr.t("overseer-timeout", &[("secs", &d.as_secs().to_string())])
                }
                other => tr.t("overseer-unavailable", &[("why", &other.to_string())]),
            };
            send::message(bot, target, &format!("⚠️ {reply}"), None, Some(reply_to)).await?;
        }
    }
    Ok(())
}
