//! The Telegram face: a teloxide dispatcher over the core. Each command is a
//! thin handler (authorize, call the same core function the CLI calls,
//! render); the catalogue in `commands/` drives dispatch, help, roles and the
//! menus. No handler may panic: every error becomes a short reply and a log
//! line.

pub mod audit;
pub mod auth;
pub mod catalogue;
pub mod chart;
pub mod command;
pub mod confirm;
pub mod grammar;
mod handlers;
pub mod lanes;
pub mod limit;
pub mod outbox;
pub mod overseer;
pub mod pin;
pub mod press;
pub mod rate;
pub mod render;
pub mod send;
pub mod speaker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use secrecy::ExposeSecret;
use teloxide::dispatching::{Dispatcher, UpdateFilterExt};
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, BotCommand, BotCommandScope, Me, Recipient};
use teloxide::update_listeners::Polling;
use teloxide::{ApiError, RequestError};
use tokio_util::sync::CancellationToken;

use crate::core::Core;
use crate::i18n::Locales;
use auth::{Access, Role};
use catalogue::Catalogue;

/// The bot every handler takes: teloxide's `Bot` plus the limiter that keeps
/// outgoing messages below Telegram's limits (`send::message` waits on it;
/// `TELEGRAM_RATE_LIMIT=off` disables it) and the redactor every outgoing
/// text passes (`send` is the one choke point). Never `Debug`: the bot holds
/// the token.
#[derive(Clone)]
pub struct Tg {
    bot: Bot,
    limiter: Arc<limit::Limiter>,
    redactor: crate::core::Redactor,
}

impl Tg {
    pub fn new(bot: Bot, rate_limit: bool) -> Tg {
        Tg {
            bot,
            limiter: Arc::new(limit::Limiter::new(rate_limit)),
            redactor: crate::core::Redactor::default(),
        }
    }

    /// The same bot, replacing these secrets by their hints in everything
    /// it sends.
    pub fn with_redactor(mut self, redactor: crate::core::Redactor) -> Tg {
        self.redactor = redactor;
        self
    }

    /// `text` as it may go to Telegram: every configured secret replaced by
    /// its `…abcd` hint.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.hint(text)
    }

    pub fn bot(&self) -> &Bot {
        &self.bot
    }

    pub fn limiter(&self) -> &limit::Limiter {
        &self.limiter
    }
}

impl std::ops::Deref for Tg {
    type Target = Bot;
    fn deref(&self) -> &Bot {
        &self.bot
    }
}

/// Where a reply goes: the chat, and the forum topic when the message came
/// from one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub chat_id: i64,
    pub thread_id: Option<i32>,
}

/// What the bot reports to `/healthz` and `/metrics`.
#[derive(Default)]
pub struct Telemetry {
    commands: Mutex<std::collections::BTreeMap<(String, String), u64>>,
    polling: std::sync::atomic::AtomicBool,
    last_error: Mutex<Option<(Instant, String)>>,
    /// Rounds of the status cards' refresh (`/pin`): shows the loop is
    /// alive even when no card changed (and lets a test wait for rounds).
    card_rounds: std::sync::atomic::AtomicU64,
}

/// The bot's health as `/healthz` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BotHealth {
    pub polling: bool,
    pub last_error: Option<String>,
    pub last_error_secs_ago: Option<u64>,
}

impl Telemetry {
    pub fn command(&self, name: &str, outcome: &str) {
        let mut m = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((name.to_string(), outcome.to_string()))
            .or_default() += 1;
    }

    pub fn commands(&self) -> Vec<((String, String), u64)> {
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// One refresh round of the status cards done.
    pub fn card_round(&self) {
        self.card_rounds
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn card_rounds(&self) -> u64 {
        self.card_rounds.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn started_polling(&self) {
        self.polling
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn stopped_polling(&self) {
        self.polling
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    fn polling_failed(&self, why: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), why));
    }

    /// Polling, and no polling error in the last minute.
    pub fn bot(&self) -> BotHealth {
        let err = self
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let ago = err.as_ref().map(|(t, _)| t.elapsed().as_secs());
        BotHealth {
            polling: self.polling.load(std::sync::atomic::Ordering::Relaxed)
                && ago.is_none_or(|a| a > 60),
            last_error: err.map(|(_, e)| e),
            last_error_secs_ago: ago,
        }
    }
}

/// Everything handlers share. Never `Debug`: it holds the bot token.
pub struct Ctx {
    pub core: Arc<Core>,
    pub locales: Arc<Locales>,
    pub catalogue: Arc<Catalogue>,
    pub confirms: confirm::Confirmations,
    pub telemetry: Arc<Telemetry>,
    pub audit: audit::Audit,
    pub username: String,
    strangers: Mutex<HashMap<u64, Instant>>,
    /// Each person's command rate.
    pub rate: rate::PersonRate,
    /// Each chat's queue of updates, off the dispatcher.
    pub lanes: Arc<lanes::Lanes>,
    /// The durable outbox (an alert's edits after a press go through it).
    pub outbox: Arc<crate::telegram::outbox::Outbox>,
    /// The live status cards (`/pin`).
    pub pins: pin::Pins,
}

/// A stranger hears the refusal at most this often.
const STRANGER_REPLY_EVERY: Duration = Duration::from_secs(600);

impl Ctx {
    /// The language for a person: `GASCLAW_LOCALE`, else theirs, else English.
    pub fn lang(&self, telegram_lang: Option<&str>) -> &'static str {
        self.locales
            .pick(self.core.config().locale.as_deref(), telegram_lang)
    }

    /// Whether a stranger should get the refusal now (once per period).
    fn should_refuse(&self, user: u64) -> bool {
        let mut m = self.strangers.lock().unwrap_or_else(|e| e.into_inner());
        match m.get(&user) {
            Some(t) if t.elapsed() < STRANGER_REPLY_EVERY => false,
            _ => {
                m.insert(user, Instant::now());
                true
            }
        }
    }

    pub fn access(&self, user_id: u64, chat_id: i64, private: bool) -> Access {
        auth::access(&self.core.config().telegram, user_id, chat_id, private)
    }
}

/// Builds the bot: token and API URL from the configuration, its own HTTP
/// client (timeouts above the long-poll timeout), and the rate limiter.
pub fn build_bot(core: &Core) -> anyhow::Result<Tg> {
    let cfg = &core.config().telegram;
    let client = teloxide::net::default_reqwest_settings()
        .timeout(Duration::from_secs(25))
        .build()
        .context("building the Telegram HTTP client")?;
    let bot =
        Bot::with_client(cfg.bot_token.expose_secret(), client).set_api_url(cfg.api_url.clone());
    // Keys, the bot token, the gateway token and the local tokens: the
    // runner's redactor already knows every one of them.
    Ok(Tg::new(bot, cfg.rate_limit).with_redactor(core.redactor().clone()))
}

/// Asks Telegram who we are. A bad token is fatal (clear message); network
/// trouble is retried with backoff until `shutdown`.
pub async fn identify(bot: &Tg, shutdown: &CancellationToken) -> anyhow::Result<Me> {
    let mut wait = Duration::from_secs(1);
    loop {
        match bot.get_me().await {
            Ok(me) => return Ok(me),
            Err(RequestError::Api(ApiError::InvalidToken)) => {
                anyhow::bail!(
                    "TELEGRAM_BOT_TOKEN was refused by Telegram (Unauthorized): check the token BotFather gave you"
                )
            }
            Err(e) => {
                tracing::warn!(error = %send::describe(&e), retry_in_s = wait.as_secs(), "cannot reach Telegram yet");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.cancelled() => anyhow::bail!("stopped before Telegram answered"),
                }
                wait = (wait * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// Registers the command menus: for everyone the member commands, for the
/// owner and each operator their own, in every locale.
pub async fn register_menus(ctx: &Ctx, bot: &Tg) {
    let cfg = &ctx.core.config().telegram;
    let mut scopes: Vec<(BotCommandScope, Role)> = vec![(BotCommandScope::Default, Role::Member)];
    scopes.push((
        BotCommandScope::Chat {
            chat_id: Recipient::Id(ChatId(cfg.owner_id as i64)),
        },
        Role::Owner,
    ));
    for id in &cfg.allow_ids {
        scopes.push((
            BotCommandScope::Chat {
                chat_id: Recipient::Id(ChatId(*id as i64)),
            },
            Role::Operator,
        ));
    }
    for lang in ctx.locales.languages() {
        let tr = render::Tr::new(&ctx.locales, lang);
        for (scope, role) in &scopes {
            let commands: Vec<BotCommand> = ctx
                .catalogue
                .for_role(*role)
                .iter()
                .map(|c| BotCommand::new(c.name.clone(), truncate(&render::describe(tr, c), 256)))
                .collect();
            let mut req = bot.set_my_commands(commands).scope(scope.clone());
            if lang != crate::i18n::DEFAULT {
                req = req.language_code(lang.split('-').next().unwrap_or(lang).to_string());
            }
            if let Err(e) = req.await {
                tracing::warn!(error = %send::describe(&e), lang, "could not register the command menu");
            }
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Logs update-listener errors; a 409 means another process polls this token.
struct ListenerErrors {
    core: Arc<Core>,
    telemetry: Arc<Telemetry>,
}

impl ErrorHandler<RequestError> for ListenerErrors {
    fn handle_error(
        self: Arc<Self>,
        error: RequestError,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            self.telemetry.polling_failed(send::describe(&error));
            match &error {
                RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => {
                    tracing::error!(
                        "Telegram says another process is polling this bot token (409 Conflict): only one poller per token works; \
                         stop the other one (an old container, a second gasclaw, OpenClaw's Telegram channel on the same token)"
                    );
                    self.core.publish(crate::core::Event::TelegramConflict);
                }
                e => {
                    tracing::warn!(error = %send::describe(e), "polling Telegram failed; retrying")
                }
            }
        })
    }
}

/// Runs the bot until `shutdown`, then lets in-flight handlers finish
/// (bounded).
pub async fn run(ctx: Arc<Ctx>, bot: Tg, shutdown: CancellationToken) {
    tokio::spawn(pin::run(ctx.clone(), bot.clone(), shutdown.clone()));
    let handler = dptree::entry()
        .branch(Update::filter_message().endpoint(handlers::on_message))
        .branch(Update::filter_callback_query().endpoint(handlers::on_callback));
    let mut dispatcher = Dispatcher::builder(bot.bot().clone(), handler)
        .dependencies(dptree::deps![ctx.clone(), bot.clone()])
        // Edited messages, channel posts and the rest are ignored quietly.
        .default_handler(|_| async {})
        .error_handler(Arc::new(|e: anyhow::Error| async move {
            tracing::error!(error = %format!("{e:#}"), "a handler failed");
        }))
        .build();
    let listener = Polling::builder(bot.bot().clone())
        .timeout(Duration::from_secs(10))
        .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
        .backoff_strategy(|n| {
            Duration::from_millis(500 * 2u64.pow(n.min(6))).min(Duration::from_secs(30))
        })
        .delete_webhook()
        .await
        .build();
    let token = dispatcher.shutdown_token();
    let stopper = tokio::spawn(async move {
        shutdown.cancelled().await;
        // Retry until the dispatcher is running (shutdown before start is
        // refused).
        for _ in 0..100 {
            match token.shutdown() {
                Ok(f) => {
                    if tokio::time::timeout(Duration::from_secs(15), f)
                        .await
                        .is_err()
                    {
                        tracing::warn!("handlers did not finish within 15 s");
                    }
                    return;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    let errors = Arc::new(ListenerErrors {
        core: ctx.core.clone(),
        telemetry: ctx.telemetry.clone(),
    });
    ctx.telemetry.started_polling();
    if let Err(e) = dispatcher
        .try_dispatch_with_listener(listener, errors)
        .await
    {
        tracing::error!(error = %send::describe(&e), "the Telegram dispatcher could not start");
    }
    // Not polling any more, whatever the reason: `/healthz` must say so.
    ctx.telemetry.stopped_polling();
    stopper.abort();
}

/// Builds the shared context.
pub fn context(
    core: Arc<Core>,
    locales: Arc<Locales>,
    telemetry: Arc<Telemetry>,
    username: String,
    outbox: Arc<crate::telegram::outbox::Outbox>,
) -> Result<Arc<Ctx>, catalogue::CatalogueError> {
    let home = core.config().home.clone();
    let catalogue = Catalogue::load(Some(&home.join("commands")))?;
    let confirms = confirm::Confirmations::new(core.config().confirm_timeout);
    Ok(Arc::new(Ctx {
        core,
        locales,
        catalogue: Arc::new(catalogue),
        confirms,
        telemetry,
        audit: audit::Audit::new(home.join("audit.log")),
        username,
        strangers: Mutex::default(),
        rate: rate::PersonRate::default(),
        lanes: Arc::default(),
        outbox,
        pins: pin::Pins::load(&home),
    }))
}
