//! `gasclaw run`: the long-lived process. It owns the key state and serves
//! the proxy (so agents started by bootstrap can reach the model at once),
//! bootstraps, then guards the stack until SIGTERM or SIGINT, when it stops
//! its own services in order and exits 0.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::core::{Core, Event};
use crate::keys::proxy::{Proxy, ProxyConfig};
use crate::keys::{KeyPools, PoolSettings, SystemClock};

/// Everything `run` keeps alive; dropped at shutdown.
pub struct Services {
    pub core: Arc<Core>,
    pub pools: Arc<KeyPools>,
    pub proxy: Proxy,
    pub shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Opens the key pools (taking their single-owner lock) and starts the proxy.
pub async fn start_keys(
    core: &Arc<Core>,
    shutdown: &CancellationToken,
) -> anyhow::Result<(Arc<KeyPools>, Proxy, Vec<tokio::task::JoinHandle<()>>)> {
    let cfg = core.config();
    let events = core.event_sender();
    let pools = KeyPools::open(
        &cfg.home,
        &cfg.agent_keys,
        &cfg.overseer_keys,
        PoolSettings {
            cooldown: cfg.key_cooldown,
            quota_cooldown: cfg.key_quota_cooldown,
            flush_every: Duration::from_secs(1),
        },
        Arc::new(SystemClock),
        Arc::new(move |e| {
            tracing::info!(event = ?e, "key pool");
            let _ = events.send(Event::Key(e));
        }),
    )
    .context("opening the key pools")?;
    let mut tasks = vec![pools.spawn_flusher(Duration::from_secs(1), shutdown.clone())];
    let proxy = Proxy::new(
        pools.clone(),
        core.local_tokens().clone(),
        ProxyConfig::new(cfg.kimi_base_url.clone()),
    )
    .context("building the proxy's HTTP client")?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], cfg.proxy_port));
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("KIMI_PROXY_PORT: cannot listen on {addr} (is another gasclaw running?)")
    })?;
    tracing::info!(%addr, "key proxy listening");
    let serving = proxy.clone();
    let sd = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = serving.serve(listener, sd).await {
            tracing::error!(error = %e, "the key proxy stopped");
        }
    }));
    Ok((pools, proxy, tasks))
}

impl Services {
    pub async fn start(core: Arc<Core>) -> anyhow::Result<Services> {
        let shutdown = CancellationToken::new();
        let (pools, proxy, tasks) = start_keys(&core, &shutdown).await?;
        Ok(Services {
            core,
            pools,
            proxy,
            shutdown,
            tasks,
        })
    }

    /// Adds a task that runs until shutdown.
    pub fn spawn(&mut self, task: tokio::task::JoinHandle<()>) {
        self.tasks.push(task);
    }

    /// Cancels every task and waits for them (bounded), flushing state.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let all = futures_util::future::join_all(self.tasks);
        if tokio::time::timeout(Duration::from_secs(10), all)
            .await
            .is_err()
        {
            tracing::warn!("some tasks did not stop within 10 s");
        }
        if let Err(e) = self.pools.flush() {
            tracing::warn!(error = %e, "could not write the key state");
        }
    }
}

/// Starts the Telegram bot. A token Telegram refuses is fatal (returned
/// here, within a few seconds); an unreachable Telegram is not: the bot
/// keeps trying in the background while the rest of gasclaw works.
pub async fn start_bot(
    core: Arc<Core>,
    pools: Option<Arc<KeyPools>>,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let bot = crate::telegram::build_bot(&core)?;
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<anyhow::Result<()>>();
    let task = tokio::spawn(async move {
        let me = match crate::telegram::identify(&bot, &shutdown).await {
            Ok(me) => me,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        let username = me.user.username.clone().unwrap_or_default();
        let ctx = match crate::telegram::context(core, pools, username.clone()) {
            Ok(c) => c,
            Err(e) => {
                let _ = ready_tx.send(Err(e.into()));
                return;
            }
        };
        let _ = ready_tx.send(Ok(()));
        tracing::info!(bot = %username, "Telegram bot connected");
        crate::telegram::register_menus(&ctx, &bot).await;
        crate::telegram::run(ctx, bot, shutdown).await;
    });
    match tokio::time::timeout(Duration::from_secs(5), ready_rx).await {
        Ok(Ok(Err(e))) => Err(e),
        Ok(Ok(Ok(()))) => Ok(task),
        // Still trying to reach Telegram: carry on.
        Ok(Err(_)) | Err(_) => Ok(task),
    }
}
