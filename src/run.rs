//! `gasclaw run`: the long-lived process, composing the core's faces.
//!
//! Order matters: the key proxy first (agents started by bootstrap reach the
//! model at once), the outbox and the bot next (operators can talk to gasclaw
//! while it bootstraps), then bootstrap, then the monitor (no false alerts
//! about a stack that is still coming up). SIGTERM or SIGINT: "stopping" is
//! said, the faces stop, what this process started is stopped in reverse
//! order, and the process exits 0.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::core::{Core, Event};
use crate::i18n::Locales;
use crate::keys::proxy::{Proxy, ProxyConfig};
use crate::keys::usage::{Accounting, Budgets, Recorder};
use crate::keys::{KeyPools, PoolKind, PoolSettings, SystemClock};
use crate::monitor::Monitor;
use crate::supervise::{Policy, Supervisor};
use crate::telegram::Tg;
use crate::telegram::outbox::Outbox;

/// Registers SIGTERM and SIGINT handlers now; the future resolves on
/// either (signals that arrive before it is polled are not lost).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut t), Ok(mut i)) => {
                tokio::select! {
                    _ = t.recv() => {}
                    _ = i.recv() => {}
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM/SIGINT; stopping only when killed");
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Opens the key pools (taking their single-owner lock) and starts the proxy.
/// The state flusher and the proxy restart when they die (the proxy binds
/// its port again: agents retry a refused connection).
pub async fn start_keys(
    core: &Arc<Core>,
    sup: &Arc<Supervisor>,
    shutdown: &CancellationToken,
    usage: Option<Recorder>,
) -> anyhow::Result<(
    Arc<KeyPools>,
    Proxy,
    std::net::SocketAddr,
    Vec<tokio::task::JoinHandle<()>>,
)> {
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
    core.own_pools(pools.clone());
    let (p, sd) = (pools.clone(), shutdown.clone());
    let mut tasks = vec![sup.spawn(
        "key-state flusher",
        Policy::Restart,
        shutdown.clone(),
        move || {
            let h = p.spawn_flusher(Duration::from_secs(1), sd.clone());
            async move { h.await.map_err(|e| anyhow::anyhow!("{e}")) }
        },
    )];
    let proxy = Proxy::new(
        pools.clone(),
        core.local_tokens().clone(),
        ProxyConfig {
            idle_timeout: cfg.proxy_idle_timeout,
            usage,
            ..ProxyConfig::new(cfg.kimi_base_url.clone())
        },
    )
    .context("building the proxy's HTTP client")?;
    let wanted = std::net::SocketAddr::from(([127, 0, 0, 1], cfg.proxy_port));
    let listener = tokio::net::TcpListener::bind(wanted)
        .await
        .with_context(|| {
            format!("KIMI_PROXY_PORT: cannot listen on {wanted} (is another gasclaw running?)")
        })?;
    // With port 0 the OS chose; a restarted proxy binds the same port again
    // (the agents were told it).
    let addr = listener
        .local_addr()
        .context("the key proxy's bound address")?;
    tracing::info!(%addr, "key proxy listening");
    let serving = proxy.clone();
    let sd = shutdown.clone();
    let mut first = Some(listener);
    tasks.push(
        sup.spawn("proxy", Policy::Restart, shutdown.clone(), move || {
            let (serving, sd, listener) = (serving.clone(), sd.clone(), first.take());
            async move {
                let listener = match listener {
                    Some(l) => l,
                    None => tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("listening on {addr} again"))?,
                };
                serving
                    .serve(listener, sd)
                    .await
                    .context("the key proxy stopped")
            }
        }),
    );
    Ok((pools, proxy, addr, tasks))
}

/// Opens the usage store and starts the quota poller. Accounting is
/// never worth failing the start for: without it the proxy just does not
/// count (and the log says why).
pub fn start_usage(
    core: &Arc<Core>,
    shutdown: &CancellationToken,
) -> Option<(Arc<Accounting>, tokio::task::JoinHandle<()>)> {
    let cfg = core.config();
    let keys = cfg
        .agent_keys
        .iter()
        .map(|k| (PoolKind::Agents, k.clone()))
        .chain(
            cfg.overseer_keys
                .iter()
                .map(|k| (PoolKind::Overseer, k.clone())),
        )
        .collect();
    let retention = Duration::from_secs(u64::from(cfg.usage_retention_days) * 86400);
    match Accounting::open(
        &cfg.home,
        retention,
        &cfg.kimi_base_url,
        keys,
        Arc::new(SystemClock),
    ) {
        Ok(a) => {
            let a = Arc::new(a);
            let poll = tokio::spawn(a.quota.clone().run(cfg.usage_quota_poll, shutdown.clone()));
            Some((a, poll))
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "token accounting is off: cannot open the usage database");
            None
        }
    }
}

/// Starts the Telegram bot. A token Telegram refuses is fatal (returned
/// here, within a few seconds); an unreachable Telegram is not: the bot
/// keeps trying in the background while the rest of gasclaw works.
pub async fn start_bot(
    core: Arc<Core>,
    locales: Arc<Locales>,
    telemetry: Arc<crate::telegram::Telemetry>,
    bot: Tg,
    sup: Arc<Supervisor>,
    shutdown: CancellationToken,
    outbox: Arc<Outbox>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
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
        let ctx = match crate::telegram::context(core, locales, telemetry, username.clone(), outbox)
        {
            Ok(c) => c,
            Err(e) => {
                let _ = ready_tx.send(Err(e.into()));
                return;
            }
        };
        let _ = ready_tx.send(Ok(()));
        tracing::info!(bot = %username, "Telegram bot connected");
        crate::telegram::register_menus(&ctx, &bot).await;
        // The dispatcher restarts when it dies: the context (and its
        // confirmations, lanes, rates) lives on, and Telegram hands the
        // unconfirmed updates over again.
        let sd = shutdown.clone();
        sup.watch("telegram", Policy::Restart, shutdown, move || {
            let (ctx, bot, sd) = (ctx.clone(), bot.clone(), sd.clone());
            async move {
                crate::telegram::run(ctx, bot, sd).await;
                Ok(())
            }
        })
        .await;
    });
    match tokio::time::timeout(Duration::from_secs(5), ready_rx).await {
        Ok(Ok(Err(e))) => Err(e),
        Ok(Ok(Ok(()))) => Ok(task),
        // Still trying to reach Telegram: carry on.
        Ok(Err(_)) | Err(_) => Ok(task),
    }
}

/// The whole of `gasclaw run`.
pub async fn run(core: Arc<Core>) -> anyhow::Result<()> {
    crate::supervise::install_panic_hook();
    let harmful = crate::core::accounts::harmful_in_env(std::env::vars_os());
    if !harmful.is_empty() {
        tracing::warn!(variables = %harmful.join(","), "set in gasclaw's environment; removed from what gt and bd see (see `gasclaw config`)");
    }
    // The signal is watched from the first moment: SIGTERM while bootstrap
    // runs interrupts it (the step's children killed, what it started
    // rolled back) rather than waiting for it to end.
    let signal = shutdown_signal();
    let terminated = CancellationToken::new();
    let signalled_at: Arc<std::sync::OnceLock<tokio::time::Instant>> = Arc::default();
    {
        let t = terminated.clone();
        let at = signalled_at.clone();
        tokio::spawn(async move {
            signal.await;
            let _ = at.set(tokio::time::Instant::now());
            t.cancel();
        });
    }
    let stop = CancellationToken::new();
    let sup = Supervisor::new();
    let usage = start_usage(&core, &stop);
    let (pools, proxy, proxy_addr, mut tasks) = start_keys(
        &core,
        &sup,
        &stop,
        usage.as_ref().map(|(a, _)| a.recorder.clone()),
    )
    .await?;
    let usage = usage.map(|(a, poll)| {
        tasks.push(poll);
        a
    });
    let bot = crate::telegram::build_bot(&core)?;
    let locales = Arc::new(Locales::embedded());
    // Alerts are rendered when they are sent, in the configured language.
    let lang = locales.pick(core.config().locale.as_deref(), None);
    let outbox = Arc::new(
        Outbox::open_with(
            &core.config().home.join("outbox"),
            crate::telegram::outbox::Renderer::new(locales.clone(), lang),
        )
        .context("opening the outbox")?,
    );
    let (o, b, s) = (outbox.clone(), bot.clone(), stop.clone());
    tasks.push(sup.spawn("outbox", Policy::Restart, stop.clone(), move || {
        let (o, b, s) = (o.clone(), b.clone(), s.clone());
        async move {
            o.run(b, s).await;
            Ok(())
        }
    }));
    let monitor = Monitor::new(core.clone(), outbox.clone(), locales.clone());
    if let Some(a) = &usage {
        let cfg = core.config();
        monitor.set_usage(
            a.store.clone(),
            Budgets {
                daily: cfg.usage_budget_daily,
                per_slot: cfg.usage_budget_daily_per_slot,
            },
        );
    }
    let telemetry = Arc::new(crate::telegram::Telemetry::default());
    let wanted = core.config().http_addr;
    let listener = tokio::net::TcpListener::bind(wanted)
        .await
        .with_context(|| format!("GASCLAW_HTTP_ADDR: cannot listen on {wanted}"))?;
    let http_addr = listener
        .local_addr()
        .context("the health endpoint's bound address")?;
    // Known before bootstrap writes them into the stack's configuration,
    // and reported for the CLI and for people (ports may be 0: any free).
    let listening = crate::core::listening::Listening {
        proxy: proxy_addr,
        http: http_addr,
        pid: std::process::id(),
    };
    core.set_listening(listening);
    listening
        .save(&core.config().home)
        .context("writing GASCLAW_HOME/addresses.json")?;
    tracing::info!(proxy = %proxy_addr, http = %http_addr, "listening (reported in addresses.json)");
    let state = Arc::new(crate::http::HttpState {
        overseer: Arc::new(crate::overseer_api::OverseerApi {
            core: core.clone(),
            pools: pools.clone(),
            token: core.overseer_api_token().clone(),
            audit: Arc::new(crate::telegram::audit::Audit::new(
                core.config().home.join("audit.log"),
            )),
        }),
        monitor: monitor.clone(),
        pools: pools.clone(),
        proxy: proxy.metrics(),
        outbox: outbox.clone(),
        telemetry: telemetry.clone(),
        interval: core.config().monitor_interval,
        supervisor: sup.clone(),
        usage: usage.clone(),
    });
    // A dead health endpoint is fatal: nobody could see gasclaw's state, and
    // the container's own health check would restart it anyway, later.
    let sd = stop.clone();
    let mut first = Some(listener);
    tasks.push(sup.spawn("http", Policy::Exit, stop.clone(), move || {
        let (listener, state, sd) = (first.take(), state.clone(), sd.clone());
        async move {
            let Some(listener) = listener else {
                anyhow::bail!("the health endpoint cannot be started again");
            };
            crate::http::serve(listener, state, sd)
                .await
                .context("the health endpoint stopped")
        }
    }));
    tracing::info!(addr = %http_addr, "health and metrics endpoint listening");
    let bot_task = match start_bot(
        core.clone(),
        locales,
        telemetry,
        bot.clone(),
        sup.clone(),
        stop.clone(),
        outbox.clone(),
    )
    .await
    {
        Ok(t) => t,
        Err(e) => {
            stop.cancel();
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                futures_util::future::join_all(tasks),
            )
            .await;
            return Err(e);
        }
    };
    tasks.push(bot_task);

    let stopped = core.stopped_file().load();
    let report = if let Some((s, m)) = stopped.iter().next() {
        // A stack stopped on purpose stays stopped across restarts of
        // gasclaw, until /bootstrap or /restart.
        tracing::warn!(service = %s, by = %m.by, at = %m.at, "the stack was stopped on purpose; not bootstrapping (use /bootstrap or /restart)");
        None
    } else {
        match core.bootstrap_until(None, &terminated).await {
            Ok(r) => {
                match &r.failed {
                    None => tracing::info!(
                        elapsed_ms = r.elapsed_ms,
                        "bootstrap finished; the stack is up"
                    ),
                    Some((step, e)) => {
                        tracing::error!(step = %step, error = %e, "bootstrap failed; staying up so an operator can fix and retry")
                    }
                }
                Some(r)
            }
            Err(e) => {
                tracing::error!(error = %e, "bootstrap could not run");
                None
            }
        }
    };
    let interrupted_bootstrap = terminated.is_cancelled();
    if !interrupted_bootstrap {
        monitor.announce_start(report.as_deref()).await;
        let (m, s) = (monitor.clone(), stop.clone());
        tasks.push(
            sup.spawn("monitor", Policy::Restart, stop.clone(), move || {
                let (m, s) = (m.clone(), s.clone());
                async move {
                    m.run(s).await;
                    Ok(())
                }
            }),
        );
    }

    tokio::select! {
        _ = terminated.cancelled() => tracing::info!("shutting down"),
        _ = sup.fatal() => tracing::error!("shutting down after a task died for good"),
    }
    // Interrupted while bootstrapping (the rollback already took its
    // share): gone within 10 s of the signal, whatever is left undelivered
    // (the outbox keeps it for the next start).
    let deadline = signalled_at
        .get()
        .copied()
        .filter(|_| interrupted_bootstrap)
        .map(|at| at + Duration::from_secs(9));
    let budget = |normal: Duration| match deadline {
        Some(d) => normal.min(d.saturating_duration_since(tokio::time::Instant::now())),
        None => normal,
    };
    monitor.announce_stopping();
    stop.cancel();
    if tokio::time::timeout(
        budget(Duration::from_secs(20)),
        futures_util::future::join_all(tasks),
    )
    .await
    .is_err()
    {
        tracing::warn!("some tasks did not stop in time");
    }
    // "Stopping" (and anything still queued) gets a bounded last chance;
    // what remains is delivered at the next start.
    // After an interrupted bootstrap the whole drain is bounded too (an
    // in-flight send may then be repeated at the next start: the price of
    // leaving within Compose's grace).
    let drain = budget(Duration::from_secs(5));
    match deadline {
        Some(_) => {
            let _ = tokio::time::timeout(drain, outbox.drain(bot, drain)).await;
        }
        None => outbox.drain(bot, drain).await,
    }
    if let Err(e) = pools.flush() {
        tracing::warn!(error = %e, "could not write the key state");
    }
    if let Some(a) = &usage {
        // The last batch of token counts, written before exiting.
        let rec = a.recorder.clone();
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::task::spawn_blocking(move || rec.flush()),
        )
        .await;
    }
    // What this process started is stopped in reverse order; a stack that
    // was already running when gasclaw started is left alone.
    for (s, r) in core.stop_started().await.stopped {
        match r {
            Ok(d) => tracing::info!(service = %s, "{d}"),
            Err(e) => tracing::warn!(service = %s, error = %e, "could not stop"),
        }
    }
    match sup.fatal_reason() {
        // Non-zero, so the container is restarted.
        Some(why) => anyhow::bail!("{why}"),
        None => Ok(()),
    }
}
