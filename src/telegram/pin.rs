//! The live status card (`/pin`): one message per chat (and topic), kept
//! current by editing it — only when its text changed, at most once per
//! `PIN_INTERVAL`, so it stays far inside Telegram's edit limits — and
//! pinned when the bot may pin. The cards are kept in
//! `GASCLAW_HOME/pins.json` (0600, replaced atomically), so a restarted
//! gasclaw goes on editing the same messages. A card someone deleted is
//! forgotten.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use teloxide::payloads::PinChatMessageSetters as _;
use teloxide::prelude::Requester as _;
use teloxide::types::MessageId;
use tokio_util::sync::CancellationToken;

use super::render::{Tr, work};
use super::{Ctx, Target, Tg, send};

/// One card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub chat_id: i64,
    #[serde(default)]
    pub thread_id: Option<i32>,
    pub message_id: i32,
    pub lang: String,
    /// The hash of the text it shows now.
    pub shown: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Disk {
    #[serde(default)]
    cards: Vec<Card>,
}

/// The cards, on disk and in memory.
#[derive(Debug)]
pub struct Pins {
    path: PathBuf,
    cards: Mutex<Vec<Card>>,
}

pub fn text_hash(text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl Pins {
    /// Reads `pins.json` (a missing or unreadable file is no cards, logged).
    pub fn load(home: &Path) -> Pins {
        let path = home.join("pins.json");
        let cards = match std::fs::read(&path) {
            Ok(b) => match serde_json::from_slice::<Disk>(&b) {
                Ok(d) => d.cards,
                Err(e) => {
                    tracing::warn!(error = %e, "pins.json is unreadable; no status cards");
                    vec![]
                }
            },
            Err(_) => vec![],
        };
        Pins {
            path,
            cards: Mutex::new(cards),
        }
    }

    fn save(&self, cards: &[Card]) {
        let disk = Disk {
            cards: cards.to_vec(),
        };
        let bytes = serde_json::to_vec_pretty(&disk).unwrap_or_default();
        if let Err(e) = crate::fsutil::atomic_write(&self.path, &bytes, 0o600) {
            tracing::error!(error = %e, "could not write pins.json");
        }
    }

    pub fn all(&self) -> Vec<Card> {
        self.cards.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The chat's (topic's) card becomes `card`.
    pub fn put(&self, card: Card) {
        let mut cards = self.cards.lock().unwrap_or_else(|e| e.into_inner());
        cards.retain(|c| !(c.chat_id == card.chat_id && c.thread_id == card.thread_id));
        cards.push(card);
        self.save(&cards);
    }

    fn shown(&self, chat_id: i64, message_id: i32, shown: u64) {
        let mut cards = self.cards.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cards
            .iter_mut()
            .find(|c| c.chat_id == chat_id && c.message_id == message_id)
        {
            c.shown = shown;
        }
        self.save(&cards);
    }

    fn forget(&self, chat_id: i64, message_id: i32) {
        let mut cards = self.cards.lock().unwrap_or_else(|e| e.into_inner());
        cards.retain(|c| !(c.chat_id == chat_id && c.message_id == message_id));
        self.save(&cards);
    }
}

/// The card's text now, in `lang`.
pub async fn card_text(ctx: &Ctx, lang: &str) -> String {
    let t = ctx.core.config().check_timeout;
    let (health, report, escalations) = tokio::join!(
        ctx.core.health(),
        ctx.core.agents_work(t, false),
        ctx.core.escalations()
    );
    // A card without its escalations beats no card (bd may be down).
    let escalations = escalations.unwrap_or_default();
    let pools = ctx.core.pools_status().ok();
    let lang = ctx.locales.pick(Some(lang), None);
    work::card(
        Tr::new(&ctx.locales, lang),
        &health,
        &report,
        &escalations,
        pools.as_ref(),
    )
}

/// Sends a new card to `target` and pins it; returns whether it is pinned.
pub async fn post(ctx: &Ctx, bot: &Tg, target: Target, lang: &str) -> anyhow::Result<bool> {
    let text = card_text(ctx, lang).await;
    let m = send::message(bot, target, &text, None, None).await?;
    ctx.pins.put(Card {
        chat_id: target.chat_id,
        thread_id: target.thread_id,
        message_id: m.id.0,
        lang: lang.to_string(),
        shown: text_hash(&text),
    });
    let pinned = bot
        .bot()
        .pin_chat_message(teloxide::types::ChatId(target.chat_id), m.id)
        .disable_notification(true)
        .await;
    if let Err(e) = &pinned {
        tracing::info!(chat = target.chat_id, error = %send::describe(e), "could not pin the status card");
    }
    Ok(pinned.is_ok())
}

/// Edits every card whose text changed.
pub async fn refresh(ctx: &Ctx, bot: &Tg) {
    let cards = ctx.pins.all();
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    for c in cards {
        let text = match texts.get(&c.lang) {
            Some(t) => t.clone(),
            None => {
                let t = card_text(ctx, &c.lang).await;
                texts.insert(c.lang.clone(), t.clone());
                t
            }
        };
        let h = text_hash(&text);
        if h == c.shown {
            continue;
        }
        match send::edit(bot, c.chat_id, MessageId(c.message_id), &text, None).await {
            Ok(()) => ctx.pins.shown(c.chat_id, c.message_id, h),
            Err(e) => {
                let why = send::describe(&e);
                if why.contains("message is not modified") {
                    ctx.pins.shown(c.chat_id, c.message_id, h);
                } else if why.contains("message to edit not found") {
                    tracing::info!(chat = c.chat_id, "a status card was deleted; forgetting it");
                    ctx.pins.forget(c.chat_id, c.message_id);
                } else {
                    tracing::warn!(chat = c.chat_id, error = %why, "could not edit a status card");
                }
            }
        }
    }
}

/// Refreshes the cards every `PIN_INTERVAL` until `shutdown`.
pub async fn run(ctx: Arc<Ctx>, bot: Tg, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(ctx.core.config().pin_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        if !ctx.pins.all().is_empty() {
            refresh(&ctx, &bot).await;
            ctx.telemetry.card_round();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_persist_one_per_chat_and_topic() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let pins = Pins::load(dir.path());
        let card = |chat, thread, id| Card {
            chat_id: chat,
            thread_id: thread,
            message_id: id,
            lang: "en".into(),
            shown: 1,
        };
        pins.put(card(1, None, 10));
        pins.put(card(1, Some(5), 11));
        pins.put(card(1, None, 12));
        pins.shown(1, 12, 7);
        let again = Pins::load(dir.path());
        let mut ids: Vec<(i32, u64)> = again
            .all()
            .iter()
            .map(|c| (c.message_id, c.shown))
            .collect();
        ids.sort();
        assert_eq!(ids, [(11, 1), (12, 7)]);
        again.forget(1, 11);
        assert_eq!(Pins::load(dir.path()).all().len(), 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("pins.json"))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
    }
}
