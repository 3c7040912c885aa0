//! The command-line face: parse, load config, call the core, render.

mod render;
mod town;
mod work;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::core::{Actor, Core, Service};

/// Exit status for a bad configuration or bad arguments.
pub const EXIT_CONFIG: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "gasclaw",
    version,
    about = "Runs and guards an autonomous coding-agent workspace, operated from Telegram",
    after_help = "Configuration comes from environment variables (see `gasclaw config` and the README)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bootstrap the stack, then stay up and guard it (the container's entrypoint).
    Run,
    /// Bootstrap the stack once: idempotent, with rollback on failure.
    Bootstrap,
    /// Show the health of every service and the agents' activity (exit 1 unless all ok).
    Status {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Every agent: state, hooked bead, last progress, stuck marks.
    Agents {
        /// Print one JSON object instead of a list.
        #[arg(long)]
        json: bool,
    },
    /// An agent's last screen lines (secrets redacted).
    Peek {
        /// mayor, deacon, <rig>/witness, <rig>/refinery, <rig>/<polecat>, <rig>/crew/<name>.
        agent: String,
        /// How many lines (gt adds the visible screen), 1–200.
        #[arg(default_value_t = 30)]
        lines: u32,
    },
    /// Type a message into an agent's session at its next prompt.
    Nudge {
        agent: String,
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Freeze the town's agents (or one rig's) with their context kept (gt estop).
    Pause { rig: Option<String> },
    /// Thaw what a pause froze (gt thaw).
    Resume { rig: Option<String> },
    /// Restart one service.
    Restart {
        /// One of: dolt, daemon, mayor, gateway, agents.
        service: Service,
    },
    /// Stop the stack (Mayor, daemon, gateway, Dolt).
    Stop,
    /// Print the effective configuration with every secret redacted.
    Config,
    /// Show the key pools (agents and overseer), or clear a key's cooldown.
    Keys {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<KeysAction>,
    },
    /// Exit 0 when `gasclaw run` is healthy (its /healthz), 1 otherwise (for containers).
    Healthcheck,
    /// Compare installed versions of gt, dolt, bd, openclaw and claude with the pinned ones.
    Update {
        /// Report only (the only mode: gasclaw never upgrades blindly).
        #[arg(long, required = true)]
        check: bool,
        /// Print one JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Tokens the agents and the overseer used through the key proxy, each
    /// key's quota left and the forecast (from GASCLAW_HOME/usage.sqlite).
    Usage {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// From when: a span back (24h, 7d), a date (2026-12-01, UTC) or an
        /// RFC 3339 time. Default: today since 00:00 UTC.
        #[arg(long)]
        since: Option<String>,
        /// The breakdown.
        #[arg(long, value_enum, default_value = "slot")]
        by: UsageBy,
    },
    /// The town's tasks (beads): list open ones, show, create, close.
    Tasks {
        #[command(subcommand)]
        action: Option<TasksAction>,
        /// Print JSON instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
    /// GitHub: the watched repository, its open pull requests and issues.
    Github {
        #[command(subcommand)]
        action: Option<GithubAction>,
        /// Print JSON instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Silence a check's alerts for a while (as `/mute` in Telegram); a
    /// running `gasclaw run` sees it at its next check.
    Mute {
        /// One of: dolt, daemon, mayor, gateway, agents, activity, keys,
        /// telegram, github, all.
        check: String,
        /// How long: seconds or 30m, 2h, 1d (at most 30 days).
        duration: String,
    },
    /// End a mute (as `/unmute` in Telegram); `all` ends every mute.
    Unmute {
        /// A muted check, or all.
        check: String,
    },
    /// The active mutes (what is down now: /alerts in Telegram).
    Alerts {
        /// Print one JSON object instead of a list.
        #[arg(long)]
        json: bool,
    },
    /// Hand GitHub issue N to the town: a bead carrying its title, link and
    /// number, and a comment on the issue.
    Take {
        /// The issue number (`12` or `#12`).
        number: String,
    },
    /// The open escalations (as `/escalations`), or acknowledge/close one.
    Escalations {
        #[command(subcommand)]
        action: Option<town::EscalationsAction>,
        /// Print JSON instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
    /// The town's event log: the last events, and with --follow every new
    /// one as it is written (surviving the hourly rewrite).
    Events {
        /// Keep following until interrupted.
        #[arg(long, short = 'f')]
        follow: bool,
        /// One JSON object per line (the event and what gasclaw announces).
        #[arg(long)]
        json: bool,
        /// Only the events gasclaw announces.
        #[arg(long)]
        news: bool,
        /// How many past events to show first.
        #[arg(long, short = 'n', default_value_t = 20)]
        last: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum GithubAction {
    /// Whether GitHub is on, the repository, and whether the token works.
    Status,
    /// Open pull requests with their checks.
    Prs,
    /// Open issues, and which the town has.
    Issues,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// End a key's cooldown (or invalid mark) now.
    Clear {
        /// The key's hint (…abcd) or its hash (at least 4 hex digits).
        key: String,
        /// Which pool the key is in.
        #[arg(long, value_enum, default_value = "agents")]
        pool: PoolArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum TasksAction {
    /// Open tasks, newest first.
    List,
    /// One task.
    Show { id: String },
    /// Create a task.
    New { title: Vec<String> },
    /// Close a task.
    Done { id: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UsageBy {
    Slot,
    Key,
    Model,
    Hour,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PoolArg {
    Agents,
    Overseer,
}

impl From<PoolArg> for crate::keys::PoolKind {
    fn from(p: PoolArg) -> Self {
        match p {
            PoolArg::Agents => crate::keys::PoolKind::Agents,
            PoolArg::Overseer => crate::keys::PoolKind::Overseer,
        }
    }
}

/// Parses arguments and runs; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    make_non_dumpable();
    // Read as whoever starts gasclaw (root in the `full` image, so the
    // secret files may be root's alone), then become GASCLAW_USER while
    // still single-threaded.
    let config = match load_config() {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(e) = gasclaw_core::privilege::settle(&config) {
        eprintln!("gasclaw: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gasclaw: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(dispatch(cli, config))
}

/// Makes the process non-dumpable before anything else: its memory and
/// `/proc/<pid>/environ` (which holds the keys and the bot token when they
/// come from variables) become root's, so a process of the same uid — an
/// agent, the gateway, anything the stack runs — can neither read them nor
/// ptrace gasclaw. Also: no core dump full of secrets.
fn make_non_dumpable() {
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        eprintln!(
            "gasclaw: warning: cannot make the process non-dumpable ({e}); same-uid processes can read its environment"
        );
    }
}

fn load_config() -> Result<Config, ExitCode> {
    Config::from_process_env().map_err(|e| {
        eprintln!("{e}");
        eprintln!("gasclaw: fix the configuration above (see `gasclaw --help` and the README)");
        ExitCode::from(EXIT_CONFIG)
    })
}

fn core(config: Config) -> Result<Arc<Core>, ExitCode> {
    let core = Core::new(config).map_err(|e| {
        eprintln!("gasclaw: {e}");
        ExitCode::FAILURE
    })?;
    if let Some(gh) = core.github() {
        gh.set_wording(Arc::new(
            crate::telegram::render::github::LocaleWording::new(core.config().locale.as_deref()),
        ));
    }
    Ok(core)
}

async fn dispatch(cli: Cli, config: Config) -> ExitCode {
    let default_level = if matches!(cli.command, Command::Run) {
        "info"
    } else {
        "warn"
    };
    crate::logging::init(config.log_level.as_deref(), default_level);
    if let Command::Config = cli.command {
        print!("{}", render::config(&config));
        let harmful = crate::core::accounts::harmful_in_env(std::env::vars_os());
        if !harmful.is_empty() {
            eprintln!("{}", render::harmful_env_warning(&harmful));
        }
        return ExitCode::SUCCESS;
    }
    if let Command::Healthcheck = cli.command {
        // Asks the running gasclaw; never touches the state itself. Port 0
        // means the one it reported binding.
        let addr = if config.http_addr.port() == 0 {
            match crate::core::listening::Listening::load_live(&config.home) {
                Some(l) => l.http,
                None => {
                    println!(
                        "unhealthy: nothing listens: GASCLAW_HTTP_ADDR has port 0 and no running gasclaw reported its address (GASCLAW_HOME/addresses.json)"
                    );
                    return ExitCode::FAILURE;
                }
            }
        } else {
            config.http_addr
        };
        return match crate::http::healthcheck(addr).await {
            Ok(_) => {
                println!("healthy");
                ExitCode::SUCCESS
            }
            Err(e) => {
                println!("unhealthy: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let core = match core(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if !matches!(cli.command, Command::Run) {
        // Ports configured as 0 are the running gasclaw's (bootstrap from
        // the CLI tells the agents the proxy's real port).
        let cfg = core.config();
        if (cfg.proxy_port == 0 || cfg.http_addr.port() == 0)
            && let Some(l) = crate::core::listening::Listening::load_live(&cfg.home)
        {
            core.set_listening(l);
        }
    }
    match cli.command {
        Command::Run => run(core).await,
        Command::Bootstrap => bootstrap(&core).await,
        Command::Status { json } => status(&core, json).await,
        Command::Restart { service } => restart(&core, service).await,
        Command::Stop => stop(&core).await,
        Command::Keys { json, action } => keys(&core, json, action).await,
        Command::Update { json, .. } => update_check(&core, json).await,
        Command::Agents { json } => work::agents(&core, json).await,
        Command::Peek { agent, lines } => work::peek(&core, &agent, lines).await,
        Command::Nudge { agent, text } => work::nudge(&core, &agent, &text).await,
        Command::Pause { rig } => work::pause(&core, rig.as_deref(), false).await,
        Command::Resume { rig } => work::pause(&core, rig.as_deref(), true).await,
        Command::Tasks { action, json } => tasks(&core, action, json).await,
        Command::Usage { json, since, by } => usage(&core, json, since.as_deref(), by).await,
        Command::Github { action, json } => github(&core, action, json).await,
        Command::Take { number } => take(&core, &number).await,
        Command::Mute { check, duration } => mute(&core, &check, &duration),
        Command::Unmute { check } => unmute(&core, &check),
        Command::Alerts { json } => alerts(&core, json).await,
        Command::Escalations { action, json } => town::escalations(&core, json, action).await,
        Command::Events {
            follow,
            json,
            news,
            last,
        } => town::events(&core, follow, json, news, last).await,
        Command::Config | Command::Healthcheck => ExitCode::SUCCESS,
    }
}

/// `--since`: a span back, a date, or a time.
fn parse_since(s: &str, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let s = s.trim();
    if let Ok(d) = humantime::parse_duration(s) {
        let secs = i64::try_from(d.as_secs()).ok()?;
        return Some(now.timestamp().saturating_sub(secs));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp());
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp())
}

async fn usage(core: &Core, json: bool, since: Option<&str>, by: UsageBy) -> ExitCode {
    use crate::keys::usage::{Period, UsageReport, UsageStore};
    let now = chrono::Utc::now();
    let period = match since {
        None => Period::Today,
        Some(s) => match parse_since(s, now) {
            Some(t) => Period::Since(t),
            None => {
                eprintln!(
                    "gasclaw: --since: `{s}` is not a span (24h, 7d), a date (2026-12-01) or an RFC 3339 time"
                );
                return ExitCode::from(EXIT_CONFIG);
            }
        },
    };
    let path = UsageStore::path_in(&core.config().home);
    let report = match UsageStore::existing(&path) {
        None => UsageReport::build(&[], &[], period.start(now), now),
        Some(store) => {
            match tokio::task::spawn_blocking(move || UsageReport::load(&store, period, now)).await
            {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    eprintln!("gasclaw: {e}");
                    return ExitCode::FAILURE;
                }
                Err(e) => {
                    eprintln!("gasclaw: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let lines = match by {
        UsageBy::Slot => &report.by_slot,
        UsageBy::Key => &report.by_key,
        UsageBy::Model => &report.by_model,
        UsageBy::Hour => &report.by_hour,
    };
    if json {
        let by_name = match by {
            UsageBy::Slot => "slot",
            UsageBy::Key => "key",
            UsageBy::Model => "model",
            UsageBy::Hour => "hour",
        };
        let v = serde_json::json!({
            "since": report.since,
            "until": report.until,
            "by": by_name,
            "rows": lines,
            "total": report.total,
            "quotas": report.quotas,
            "forecasts": report.forecasts,
            "burn_per_hour": report.burn_per_hour,
        });
        println!("{v}");
    } else {
        print!("{}", render::usage(&report, lines));
    }
    ExitCode::SUCCESS
}

async fn bootstrap(core: &Core) -> ExitCode {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            println!("{}", render::bootstrap_event(&ev));
        }
    });
    let result = core.bootstrap(Some(tx)).await;
    let _ = printer.await;
    match result {
        Ok(report) => {
            println!("{}", render::bootstrap_summary(&report));
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("gasclaw: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn status(core: &Core, json: bool) -> ExitCode {
    let report = core.status().await;
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("gasclaw: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", render::status(&report));
    }
    if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn restart(core: &Core, service: Service) -> ExitCode {
    println!("restarting {service}…");
    match core.restart(service, &Actor::Cli).await {
        Ok(r) => {
            println!("{}", render::restart(&r));
            if r.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("gasclaw: restarting {service} failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn stop(core: &Core) -> ExitCode {
    let report = match core.stop(&Actor::Cli).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gasclaw: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", render::stop(&report));
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn keys(core: &Core, json: bool, action: Option<KeysAction>) -> ExitCode {
    if let Some(KeysAction::Clear { key, pool }) = action {
        // Clearing writes the state: only possible when no `gasclaw run`
        // owns it (otherwise use the bot's /keys clear).
        return match core.clear_key(&key, Some(pool.into())) {
            Ok(c) => {
                println!("cleared {} (was {})", c.hint, c.was);
                ExitCode::SUCCESS
            }
            Err(e @ crate::keys::PoolError::Locked { .. }) => {
                eprintln!("gasclaw: {e}; clear the key from Telegram with /keys clear {key}");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("gasclaw: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let status = match core.pools_status() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gasclaw: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string_pretty(&status) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("gasclaw: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", render::keys(&status));
    }
    ExitCode::SUCCESS
}

async fn update_check(core: &Core, json: bool) -> ExitCode {
    let v = core.versions().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        for p in &v {
            let installed = p
                .installed
                .clone()
                .or_else(|| p.problem.clone())
                .unwrap_or_default();
            let pinned = p.pinned.clone().unwrap_or_else(|| "-".into());
            let verdict = if p.differs() { "DIFFERS" } else { "ok" };
            println!(
                "{:<9} installed {:<22} pinned {:<10} {verdict}",
                p.program, installed, pinned
            );
        }
    }
    if v.iter().any(|p| p.differs()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn tasks(core: &Core, action: Option<TasksAction>, json: bool) -> ExitCode {
    use crate::core::capabilities::Bead;
    let print = |beads: Vec<Bead>| {
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&beads).unwrap_or_default()
            );
        } else if beads.is_empty() {
            println!("no open tasks");
        } else {
            for b in beads {
                println!(
                    "{:<12} P{} {:<12} {}",
                    b.id,
                    b.priority.unwrap_or(2),
                    b.status.unwrap_or_default(),
                    b.title
                );
            }
        }
    };
    let result = match action.unwrap_or(TasksAction::List) {
        TasksAction::List => core.tasks(50).await,
        TasksAction::Show { id } => core.task(&id).await.map(|b| vec![b]),
        TasksAction::New { title } => core
            .new_task(&title.join(" "), &Actor::Cli)
            .await
            .map(|b| vec![b]),
        TasksAction::Done { id } => core
            .close_task(&id, "closed with gasclaw tasks done")
            .await
            .map(|b| vec![b]),
    };
    match result {
        Ok(b) => {
            print(b);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gasclaw: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

async fn github(core: &Core, action: Option<GithubAction>, json: bool) -> ExitCode {
    let action = action.unwrap_or(GithubAction::Status);
    let Some(gh) = core.github() else {
        let off =
            "GitHub: off (set GITHUB_TOKEN and GITHUB_REPO to watch pull requests and issues)";
        return match action {
            GithubAction::Status => {
                if json {
                    print_json(&serde_json::json!({ "enabled": false }));
                } else {
                    println!("{off}");
                }
                ExitCode::SUCCESS
            }
            _ => {
                eprintln!("gasclaw: {off}");
                ExitCode::FAILURE
            }
        };
    };
    let now = chrono::Utc::now();
    match action {
        GithubAction::Status => {
            let cfg = &core.config().github;
            let check = gh.client.repository().await;
            let takes = gh.takes();
            let stats = gh.client.stats();
            if json {
                print_json(&serde_json::json!({
                    "enabled": true,
                    "repo": gh.repo(),
                    "api_url": cfg.api_url.as_str(),
                    "poll_secs": cfg.poll.as_secs(),
                    "reachable": check.is_ok(),
                    "error": check.as_ref().err().map(|e| e.to_string()),
                    "rate_limit_remaining": stats.remaining,
                    "last_activity": gh.last_activity(),
                    "taken_issues": takes,
                }));
            } else {
                println!(
                    "GitHub: watching {} every {}s",
                    gh.repo(),
                    cfg.poll.as_secs()
                );
                match &check {
                    Ok(r) => println!(
                        "token works: {} (default branch {}, merges by {})",
                        r.full_name,
                        r.default_branch,
                        r.merge_method().map(|m| m.name()).unwrap_or("none allowed")
                    ),
                    Err(e) => println!("token or repository problem: {e}"),
                }
                if let Some(r) = stats.remaining {
                    println!("rate limit remaining: {r}");
                }
                if let Some(t) = gh.last_activity() {
                    println!("last activity seen: {t}");
                }
                println!(
                    "issues with the town: {} ({} reported back)",
                    takes.len(),
                    takes.iter().filter(|t| t.reported).count()
                );
            }
            if check.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        GithubAction::Prs => match gh.prs().await {
            Ok(list) => {
                if json {
                    print_json(&list);
                } else if list.is_empty() {
                    println!("no open pull requests");
                } else {
                    for p in &list {
                        println!(
                            "#{:<5} {:<8} {:<7} {:<20} {} ago  {}",
                            p.number,
                            p.checks.name(),
                            if p.by_agent { "agent" } else { "person" },
                            p.author,
                            crate::core::activity::human_duration(
                                (now - p.created_at).num_seconds().max(0) as u64
                            ),
                            p.title
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gasclaw: {e}");
                ExitCode::FAILURE
            }
        },
        GithubAction::Issues => match gh.issues().await {
            Ok(list) => {
                if json {
                    print_json(&list);
                } else if list.is_empty() {
                    println!("no open issues");
                } else {
                    for i in &list {
                        println!(
                            "#{:<5} {:<20} {}{}",
                            i.number,
                            i.author,
                            i.title,
                            i.bead
                                .as_ref()
                                .map(|b| format!("  [with the town: {b}]"))
                                .unwrap_or_default()
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gasclaw: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn take(core: &Core, number: &str) -> ExitCode {
    let Ok(n) = number.trim_start_matches('#').parse::<u64>() else {
        eprintln!("gasclaw: `{number}` is not an issue number");
        return ExitCode::from(EXIT_CONFIG);
    };
    let Some(gh) = core.github() else {
        eprintln!("gasclaw: GitHub is off (set GITHUB_TOKEN and GITHUB_REPO)");
        return ExitCode::FAILURE;
    };
    match gh.take(n, &Actor::Cli).await {
        Ok(t) => {
            println!(
                "issue #{} handed to the town: bead {} ({})",
                t.issue, t.bead, t.title
            );
            if !t.commented {
                println!("warning: the comment on GitHub failed; see the log");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gasclaw: {e}");
            ExitCode::FAILURE
        }
    }
}

const UTC_MINUTE: &str = "%Y-%m-%d %H:%M UTC";

fn mute(core: &Core, check: &str, duration: &str) -> ExitCode {
    use crate::core::alerts::{parse_check, parse_mute_duration};
    let parsed = parse_check(check).and_then(|c| Ok((c, parse_mute_duration(duration)?)));
    let (check, for_) = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gasclaw: mute: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match core.alerts().mutes.mute(&check, for_) {
        Some(until) => {
            println!("{check} muted until {}", until.format(UTC_MINUTE));
            ExitCode::SUCCESS
        }
        // Only a clock near the end of time gets here (the length is checked).
        None => {
            eprintln!("gasclaw: mute: `{duration}` ends beyond what the clock can hold");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

fn unmute(core: &Core, check: &str) -> ExitCode {
    let check = match crate::core::alerts::parse_check(check) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gasclaw: unmute: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let removed = core.alerts().mutes.unmute(&check);
    if removed.is_empty() {
        println!("nothing to unmute: {check} was not muted");
    } else {
        println!("unmuted: {}", removed.join(", "));
    }
    ExitCode::SUCCESS
}

/// The checks the running gasclaw's last monitor cycle found not ok (name,
/// status, detail), from its `/healthz`; `None` when no `gasclaw run`
/// answers.
async fn last_cycle_down(addr: std::net::SocketAddr) -> Option<Vec<(String, String, String)>> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .no_proxy()
        .build()
        .ok()?;
    // An unhealthy gasclaw answers 503 with the same body.
    let v: serde_json::Value = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let checks = v["monitor"]["last_cycle"]["report"]["checks"].as_array()?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    Some(
        checks
            .iter()
            .filter(|c| c["status"] != "ok")
            .map(|c| (text(&c["name"]), text(&c["status"]), text(&c["detail"])))
            .collect(),
    )
}

async fn alerts(core: &Core, json: bool) -> ExitCode {
    let active = core.alerts().mutes.active();
    // What is down lives in the running gasclaw's memory; its last cycle is
    // the closest the CLI can see.
    let down = match core.http_addr() {
        Some(addr) => last_cycle_down(addr).await,
        None => None,
    };
    let live = "send /alerts to the bot in Telegram";
    // The incidents the running gasclaw alerted (`incidents.json`).
    let incidents = core.alerts().incidents.open_incidents();
    if json {
        let open: Vec<_> = incidents
            .iter()
            .map(|i| {
                serde_json::json!({
                    "incident": i.id(),
                    "subject": i.alert.subject.label(),
                    "severity": i.alert.severity.name(),
                    "since": i.opened,
                    "acked_by": i.acked_by,
                    "held": i.held,
                    "caused_by": i.caused_by,
                })
            })
            .collect();
        let mutes: Vec<_> = active
            .iter()
            .map(|(check, until)| serde_json::json!({"check": check, "until": until}))
            .collect();
        let down = down.map(|d| {
            d.iter()
                .map(
                    |(n, s, detail)| serde_json::json!({"check": n, "status": s, "detail": detail}),
                )
                .collect::<Vec<_>>()
        });
        print_json(&serde_json::json!({
            "mutes": mutes,
            "open_incidents": open,
            "last_cycle_not_ok": down,
            "down_now": live,
        }));
    } else {
        if active.is_empty() {
            println!("no active mutes");
        } else {
            println!("muted:");
            for (check, until) in &active {
                println!("  {check:<9} until {}", until.format(UTC_MINUTE));
            }
        }
        if !incidents.is_empty() {
            println!("open incidents:");
            for i in &incidents {
                let mut notes = vec![i.alert.severity.name().to_string()];
                if let Some(who) = &i.acked_by {
                    notes.push(format!("acknowledged by {who}"));
                }
                if i.held {
                    notes.push("held".into());
                }
                println!(
                    "  {:<9} since {} ({})",
                    i.alert.subject.label(),
                    i.opened.format(UTC_MINUTE),
                    notes.join(", ")
                );
            }
        }
        match &down {
            None => println!("no gasclaw run answers; what is down now: {live}"),
            Some(d) if d.is_empty() => println!("last monitor cycle: every service ok"),
            Some(d) => {
                println!("last monitor cycle, not ok:");
                for (name, status, detail) in d {
                    println!("  {name:<9} {status}: {detail}");
                }
            }
        }
        if down.is_some() {
            println!("alerts, reminders and the rest: {live}");
        }
    }
    ExitCode::SUCCESS
}

/// `gasclaw run`: see [`crate::run`].
async fn run(core: Arc<Core>) -> ExitCode {
    match crate::run::run(core).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gasclaw: {e:#}");
            ExitCode::FAILURE
        }
    }
}
