//! The command-line face: parse, load config, call the core, render.

mod render;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::core::{Core, Service};

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
    /// Try gasclaw offline with no configuration: the real bot and core on the
    /// fake stack and a fake Telegram; you chat from the terminal as the owner.
    Demo,
    /// Bootstrap the stack once: idempotent, with rollback on failure.
    Bootstrap,
    /// Show the health of every service and the agents' activity (exit 1 unless all ok).
    Status {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The agents and whether each runs.
    Agents {
        /// Print one JSON object instead of a list.
        #[arg(long)]
        json: bool,
    },
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
    /// The town's tasks (beads): list open ones, show, create, close.
    Tasks {
        #[command(subcommand)]
        action: Option<TasksAction>,
        /// Print JSON instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
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
    runtime.block_on(dispatch(cli))
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
    Core::new(config).map_err(|e| {
        eprintln!("gasclaw: {e}");
        ExitCode::FAILURE
    })
}

async fn dispatch(cli: Cli) -> ExitCode {
    if let Command::Demo = cli.command {
        crate::logging::init(None, "error");
        return match crate::demo::run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gasclaw demo: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match load_config() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let default_level = if matches!(cli.command, Command::Run) {
        "info"
    } else {
        "warn"
    };
    crate::logging::init(config.log_level.as_deref(), default_level);
    if let Command::Config = cli.command {
        print!("{}", render::config(&config));
        return ExitCode::SUCCESS;
    }
    if let Command::Healthcheck = cli.command {
        // Asks the running gasclaw; never touches the state itself.
        return match crate::http::healthcheck(config.http_addr).await {
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
    match cli.command {
        Command::Run => run(core).await,
        Command::Bootstrap => bootstrap(&core).await,
        Command::Status { json } => status(&core, json).await,
        Command::Restart { service } => restart(&core, service).await,
        Command::Stop => stop(&core).await,
        Command::Keys { json, action } => keys(&core, json, action).await,
        Command::Update { json, .. } => update_check(&core, json).await,
        Command::Agents { json } => agents(&core, json).await,
        Command::Tasks { action, json } => tasks(&core, action, json).await,
        Command::Config | Command::Demo | Command::Healthcheck => ExitCode::SUCCESS,
    }
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
    match core.restart(service, "cli").await {
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
    let report = match core.stop("cli").await {
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
    let cfg = core.config();
    if let Some(KeysAction::Clear { key, pool }) = action {
        // Clearing writes the state: only possible when no `gasclaw run`
        // owns it (otherwise use the bot's /keys clear).
        let pools = match crate::keys::KeyPools::open(
            &cfg.home,
            &cfg.agent_keys,
            &cfg.overseer_keys,
            Default::default(),
            Arc::new(crate::keys::SystemClock),
            Arc::new(|_| {}),
        ) {
            Ok(p) => p,
            Err(e @ crate::keys::PoolError::Locked { .. }) => {
                eprintln!("gasclaw: {e}; clear the key from Telegram with /keys clear {key}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("gasclaw: {e}");
                return ExitCode::FAILURE;
            }
        };
        return match pools.pool(pool.into()).clear(&key) {
            Ok(c) => {
                if let Err(e) = pools.flush() {
                    eprintln!("gasclaw: {e}");
                    return ExitCode::FAILURE;
                }
                println!("cleared {} (was {})", c.hint, c.was);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gasclaw: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let status = match crate::keys::KeyPools::read_status(
        &cfg.home,
        &cfg.agent_keys,
        &cfg.overseer_keys,
        Arc::new(crate::keys::SystemClock),
    ) {
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

async fn agents(core: &Core, json: bool) -> ExitCode {
    let r = core.agents(core.config().check_timeout).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else if let Some(e) = &r.error {
        println!("cannot list the agents: {e}");
    } else {
        for a in &r.agents {
            println!(
                "{:<24} {}",
                a.name,
                if a.running { "running" } else { "stopped" }
            );
        }
    }
    if r.error.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
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
    use crate::stack::beads::Bead;
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
        TasksAction::List => core.beads.open(50).await,
        TasksAction::Show { id } => core.beads.show(&id).await.map(|b| vec![b]),
        TasksAction::New { title } => core
            .beads
            .create(&title.join(" "), "gasclaw-cli")
            .await
            .map(|b| vec![b]),
        TasksAction::Done { id } => core
            .beads
            .close(&id, "closed with gasclaw tasks done")
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
