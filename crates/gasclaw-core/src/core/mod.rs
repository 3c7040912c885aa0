//! The orchestration core: one `Core` that the CLI, the Telegram bot and the
//! monitor all call. It knows nothing of Telegram or terminals; it returns
//! typed reports and errors, and publishes events on a broadcast stream.

pub mod accounts;
pub mod activity;
pub mod actor;
pub mod alerts;
pub mod bootstrap;
pub mod capabilities;
pub mod events;
pub mod github;
pub mod health;
pub mod listening;
pub mod services;
pub mod severity;
pub mod stopped;
pub mod versions;
pub mod work;

#[cfg(test)]
mod seam_tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::{Mutex, broadcast};

use crate::config::{self, Config};
use crate::stack::beads::Beads;
use crate::stack::dolt::Dolt;
use crate::stack::gastown::Gastown;
use crate::stack::git::Git;
use crate::stack::openclaw::Openclaw;
use crate::stack::{Runner, StackError};

/// Replaces every configured secret in text (faces use it on all they show).
pub use crate::stack::Redactor;
pub use actor::Actor;
pub use events::Event;

/// The OpenClaw skills shipped inside the binary (installed by bootstrap),
/// so a clean install never depends on a source checkout.
pub static SKILLS: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../../skills");

/// A service gasclaw can check, restart and stop.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Dolt,
    Daemon,
    Mayor,
    Gateway,
    Agents,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::Dolt,
        Service::Daemon,
        Service::Mayor,
        Service::Gateway,
        Service::Agents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::Dolt => "dolt",
            Service::Daemon => "daemon",
            Service::Mayor => "mayor",
            Service::Gateway => "gateway",
            Service::Agents => "agents",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown service name; the message lists the valid ones.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown service `{0}`: use one of dolt, daemon, mayor, gateway, agents")]
pub struct UnknownService(pub String);

impl std::str::FromStr for Service {
    type Err = UnknownService;
    fn from_str(s: &str) -> Result<Service, UnknownService> {
        Service::ALL
            .into_iter()
            .find(|x| x.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| UnknownService(s.to_string()))
    }
}

/// The core's errors.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("bootstrap already running")]
    BootstrapRunning,
    #[error("{service} is busy: {holder} is already working on it")]
    ServiceBusy { service: Service, holder: String },
    #[error("{0}")]
    Stack(#[from] StackError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// Paths in the user's home that the stack's programs read.
#[derive(Debug, Clone)]
pub struct HomePaths {
    /// `~/.kimi-accounts`
    pub accounts: PathBuf,
    /// `~/.claude-kimigas` (the agents' `CLAUDE_CONFIG_DIR`)
    pub claude: PathBuf,
    /// `~/.openclaw`
    pub openclaw: PathBuf,
}

/// The orchestration core. Cheap to share (`Arc<Core>`).
pub struct Core {
    config: Arc<Config>,
    runner: Runner,
    home: HomePaths,
    // The adapters are the core's own: faces ask the core (see
    // `capabilities`), never a program.
    gastown: Gastown,
    dolt: Dolt,
    openclaw: Openclaw,
    git: Git,
    beads: Beads,
    /// Every check's alert state and the mutes, read by every face.
    alerts: alerts::AlertBoard,
    /// The key pools, when this process owns them (`gasclaw run`).
    pools: std::sync::OnceLock<Arc<crate::keys::KeyPools>>,
    /// The GitHub side, when `GITHUB_TOKEN` (and a repository) is set.
    github: Option<Arc<github::GithubWatch>>,
    events: broadcast::Sender<Event>,
    service_locks: [Mutex<()>; 5],
    gateway_token: SecretString,
    overseer_api_token: SecretString,
    tokens: Arc<crate::keys::LocalTokens>,
    /// Services this process started (bootstrap, restart): what `gasclaw
    /// run` stops when it is told to stop.
    started_here: std::sync::Mutex<std::collections::BTreeSet<Service>>,
    /// What the work checks remember between monitor cycles (panes).
    work: work::WorkState,
    /// Where `gasclaw run` bound its listeners (see `listening`).
    listening: std::sync::OnceLock<listening::Listening>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("town", &self.config.gt_root)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Builds the core: creates `GASCLAW_HOME` (0700) and the gateway token.
    pub fn new(config: Config) -> Result<Arc<Core>, CoreError> {
        let user_home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| config.home.clone());
        Core::build(config, user_home, |r| r)
    }

    /// A core whose stack programs are played by `script` (unit tests).
    #[cfg(test)]
    pub(crate) fn scripted(
        config: Config,
        user_home: PathBuf,
        script: Arc<dyn crate::stack::exec::Script>,
    ) -> Result<Arc<Core>, CoreError> {
        Core::build(config, user_home, move |r| r.scripted(script))
    }

    fn build(
        config: Config,
        user_home: PathBuf,
        runner_for: impl FnOnce(Runner) -> Runner,
    ) -> Result<Arc<Core>, CoreError> {
        let config = Arc::new(config);
        crate::fsutil::ensure_private_dir(&config.home).map_err(|e| CoreError::Io {
            what: "GASCLAW_HOME".into(),
            source: e,
        })?;
        let gateway_token = accounts::load_or_create_secret(&config.home.join("gateway-token"))
            .map_err(|e| CoreError::Io {
                what: "creating the gateway token".into(),
                source: e,
            })?;
        // The overseer's own token for gasclaw's local endpoint (its skills).
        let overseer_api_token = accounts::load_or_create_secret(
            &config.home.join("overseer-api-token"),
        )
        .map_err(|e| CoreError::Io {
            what: "creating the overseer's API token".into(),
            source: e,
        })?;
        let tokens = Arc::new(
            crate::keys::LocalTokens::load_or_create(&config.home, config.agent_count).map_err(
                |e| CoreError::Io {
                    what: "creating the agents' local tokens".into(),
                    source: e,
                },
            )?,
        );
        let mut secrets = config.secrets();
        secrets.push(gateway_token.clone());
        secrets.push(overseer_api_token.clone());
        secrets.extend(tokens.all());
        let scrub = config::child_scrub_variables();
        let scrub: Vec<&str> = scrub.iter().map(String::as_str).collect();
        let mut runner = Runner::new(Redactor::new(secrets), &scrub);
        for (program, vars) in accounts::stack_scrubs() {
            runner = runner.scrub_for(program, &vars);
        }
        // With STACK_USER the stack's files live in its own home, which
        // must be its own: created 0700 and handed over when missing.
        let user_home = match &config.stack {
            Some(stack) => {
                runner = runner.run_as(stack.clone());
                if !stack.home.exists() {
                    crate::fsutil::ensure_dir(&stack.home, 0o700)
                        .and_then(|()| runner.hand_over(&stack.home))
                        .map_err(|e| CoreError::Io {
                            what: format!("creating STACK_HOME {}", stack.home.display()),
                            source: e,
                        })?;
                }
                stack.home.clone()
            }
            None => user_home,
        };
        let runner = runner_for(runner);
        let home = HomePaths {
            accounts: user_home.join(".kimi-accounts"),
            claude: user_home.join(".claude-kimigas"),
            openclaw: user_home.join(".openclaw"),
        };
        let (events, _) = broadcast::channel(1024);
        let beads = Beads::new(
            runner.clone(),
            config.gt_root.join(".beads"),
            config.dolt_port,
        );
        let github = match config.github.enabled() {
            Some((token, repo)) => {
                let client = crate::stack::github::Github::new(
                    config.github.api_url.clone(),
                    repo,
                    token.clone(),
                    crate::stack::github::Timing::default(),
                )
                .map_err(|e| CoreError::Io {
                    what: "building the GitHub client".into(),
                    source: std::io::Error::other(e.to_string()),
                })?;
                Some(Arc::new(github::GithubWatch::new(
                    client,
                    &config.home,
                    beads.clone(),
                )))
            }
            None => None,
        };
        Ok(Arc::new(Core {
            gastown: Gastown::new(runner.clone(), config.gt_root.clone(), config.dolt_port),
            dolt: Dolt::new(runner.clone()),
            openclaw: Openclaw::new(
                runner.clone(),
                home.openclaw.clone(),
                config.home.clone(),
                config.gateway_port,
                api_url(config.http_addr),
                overseer_api_token.clone(),
            ),
            git: Git::new(runner.clone()),
            beads,
            github,
            runner,
            home,
            pools: Default::default(),
            alerts: alerts::AlertBoard::new(&config.home),
            events,
            service_locks: Default::default(),
            gateway_token,
            overseer_api_token,
            tokens,
            started_here: Default::default(),
            work: Default::default(),
            listening: Default::default(),
            config,
        }))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The GitHub side, when `GITHUB_TOKEN` (and a repository) is set.
    pub fn github(&self) -> Option<&Arc<github::GithubWatch>> {
        self.github.as_ref()
    }

    /// Every check's alert state and the mutes (`/alerts`, `/mute`).
    pub fn alerts(&self) -> &alerts::AlertBoard {
        &self.alerts
    }

    /// Knows every secret gasclaw holds (keys, tokens): what the faces pass
    /// their output through.
    pub fn redactor(&self) -> &Redactor {
        self.runner.redactor()
    }

    /// Paths in the user's home that the stack's programs read.
    pub fn home(&self) -> &HomePaths {
        &self.home
    }

    /// The stopped-on-purpose marks (read afresh: the CLI may change them).
    pub fn stopped_file(&self) -> stopped::StoppedFile {
        stopped::StoppedFile::new(&self.config.home)
    }

    pub fn gateway_token(&self) -> &SecretString {
        &self.gateway_token
    }

    /// The overseer's token for gasclaw's local endpoint.
    pub fn overseer_api_token(&self) -> &SecretString {
        &self.overseer_api_token
    }

    /// The local tokens agents and the overseer present to the proxy.
    pub fn local_tokens(&self) -> &Arc<crate::keys::LocalTokens> {
        &self.tokens
    }

    /// The proxy's address as agents see it.
    pub fn proxy_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.proxy_port().unwrap_or(0))
    }

    /// A sender for the event stream (the key pools publish through it).
    pub fn event_sender(&self) -> broadcast::Sender<Event> {
        self.events.clone()
    }

    /// Subscribes to the event stream (bootstrap progress, key pool events …).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Publishes an event; nobody listening is fine.
    pub fn publish(&self, event: impl Into<Event>) {
        let _ = self.events.send(event.into());
    }

    /// Remembers that this process started `s`.
    pub fn mark_started(&self, s: Service) {
        self.started_here
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(s);
    }

    /// The services this process started.
    pub fn started_here(&self) -> Vec<Service> {
        self.started_here
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect()
    }

    /// Takes the lock that keeps healing, `/restart` and `/bootstrap` from
    /// working on the same service at once; `None` if it is held.
    pub(crate) fn try_lock_service(&self, s: Service) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.service_locks[s.index()].try_lock().ok()
    }

    /// Waits (bounded) for a service lock.
    pub async fn lock_service(
        &self,
        s: Service,
        wait: Duration,
    ) -> Result<tokio::sync::MutexGuard<'_, ()>, CoreError> {
        tokio::time::timeout(wait, self.service_locks[s.index()].lock())
            .await
            .map_err(|_| CoreError::ServiceBusy {
                service: s,
                holder: "another action".into(),
            })
    }
}

/// gasclaw's endpoint as a local client reaches it (an unspecified listen
/// address is reached on loopback).
pub(crate) fn api_url(addr: std::net::SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    format!("http://{}", std::net::SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_round_trip_and_unknown_lists_valid_ones() {
        for s in Service::ALL {
            assert_eq!(s.name().parse::<Service>().unwrap(), s);
        }
        assert_eq!("MAYOR".parse::<Service>().unwrap(), Service::Mayor);
        let e = "deacon".parse::<Service>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown service `deacon`: use one of dolt, daemon, mayor, gateway, agents"
        );
    }
}
