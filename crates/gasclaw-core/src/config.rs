//! Configuration: environment variables, optionally layered over a TOML file.
//!
//! Every setting has one name, the environment variable (`DOLT_PORT`); the
//! TOML file named by `GASCLAW_CONFIG` uses the same names in lower case
//! (`dolt_port = 3307`). The environment wins over the file, an empty variable
//! counts as unset, and unknown file keys are refused by serde with the key's
//! name. Validation collects *every* problem so an operator fixes them in one
//! go; a message names the variable and never echoes its value (a secret
//! pasted into the wrong variable must not end up in a log), at most a
//! secret's 4-character hint.
//!
//! Every secret may instead be given as a file, `<NAME>_FILE` (the Docker
//! and Kubernetes secrets convention): the file's content, without its
//! final newline, is the value. Setting both is an error naming both.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// One configuration problem, named by its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub var: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.var, self.message)
    }
}

/// All problems found while loading the configuration.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "config: {p}")?;
        }
        Ok(())
    }
}

/// Where a value came from, shown by `gasclaw config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Env,
    File,
    /// A `<NAME>_FILE` secret file.
    #[serde(rename = "secret-file")]
    SecretFile,
    Default,
}

/// A value from the TOML file: operators may write lists as arrays or as
/// colon-separated strings, numbers as numbers or strings. No `Debug`: it
/// may hold a key.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
enum FileValue {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<FileValue>),
}

impl FileValue {
    fn flatten(&self) -> String {
        match self {
            FileValue::Str(s) => s.clone(),
            FileValue::Int(i) => i.to_string(),
            FileValue::Bool(b) => b.to_string(),
            FileValue::List(items) => items
                .iter()
                .map(FileValue::flatten)
                .collect::<Vec<_>>()
                .join(":"),
        }
    }
}

/// Declares every setting once: the file struct (unknown keys refused) and the
/// list of names read from the environment come from the same table.
macro_rules! settings {
    ($($field:ident => $var:literal),* $(,)?) => {
        // No `Debug`: the file may hold keys and the bot token.
        #[derive(Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FileConfig {
            $( #[serde(default)] $field: Option<FileValue>, )*
        }

        impl FileConfig {
            fn entries(&self) -> Vec<(&'static str, Option<&FileValue>)> {
                vec![$( ($var, self.$field.as_ref()), )*]
            }
        }

        /// Every variable gasclaw reads, in documentation order.
        pub const VARIABLES: &[&str] = &[$($var),*];
    };
}

settings! {
    gastown_kimi_keys => "GASTOWN_KIMI_KEYS",
    openclaw_kimi_key => "OPENCLAW_KIMI_KEY",
    telegram_bot_token => "TELEGRAM_BOT_TOKEN",
    telegram_owner_id => "TELEGRAM_OWNER_ID",
    telegram_allow_ids => "TELEGRAM_ALLOW_IDS",
    telegram_group_ids => "TELEGRAM_GROUP_IDS",
    telegram_api_url => "TELEGRAM_API_URL",
    telegram_rate_limit => "TELEGRAM_RATE_LIMIT",
    telegram_member_rate => "TELEGRAM_MEMBER_RATE",
    telegram_operator_rate => "TELEGRAM_OPERATOR_RATE",
    openclaw_telegram_bot_token => "OPENCLAW_TELEGRAM_BOT_TOKEN",
    gt_root => "GT_ROOT",
    gt_rig_url => "GT_RIG_URL",
    gt_rig_name => "GT_RIG_NAME",
    project_dir => "PROJECT_DIR",
    gt_agent_count => "GT_AGENT_COUNT",
    monitor_interval => "MONITOR_INTERVAL",
    activity_deadline => "ACTIVITY_DEADLINE",
    check_timeout => "CHECK_TIMEOUT",
    dolt_port => "DOLT_PORT",
    gateway_port => "GATEWAY_PORT",
    kimi_base_url => "KIMI_BASE_URL",
    kimi_proxy_port => "KIMI_PROXY_PORT",
    key_cooldown => "KEY_COOLDOWN",
    key_quota_cooldown => "KEY_QUOTA_COOLDOWN",
    usage_retention_days => "USAGE_RETENTION_DAYS",
    usage_quota_poll => "USAGE_QUOTA_POLL",
    usage_budget_daily => "USAGE_BUDGET_DAILY",
    usage_budget_daily_per_slot => "USAGE_BUDGET_DAILY_PER_SLOT",
    gasclaw_home => "GASCLAW_HOME",
    gasclaw_locale => "GASCLAW_LOCALE",
    gasclaw_http_addr => "GASCLAW_HTTP_ADDR",
    proxy_idle_timeout => "PROXY_IDLE_TIMEOUT",
    alert_repeat => "ALERT_REPEAT",
    alert_chat_ids => "ALERT_CHAT_IDS",
    alert_group_wait => "ALERT_GROUP_WAIT",
    quiet_hours => "QUIET_HOURS",
    gasclaw_tz => "GASCLAW_TZ",
    auto_heal => "AUTO_HEAL",
    heal_backoff => "HEAL_BACKOFF",
    stuck_pane_after => "STUCK_PANE_AFTER",
    nudge_text => "NUDGE_TEXT",
    auto_pause => "AUTO_PAUSE",
    auto_pause_after => "AUTO_PAUSE_AFTER",
    pin_interval => "PIN_INTERVAL",
    overseer_timeout => "OVERSEER_TIMEOUT",
    confirm_timeout => "CONFIRM_TIMEOUT",
    telegram_conflict_quiet => "TELEGRAM_CONFLICT_QUIET",
    overseer_exec => "OVERSEER_EXEC",
    log_level => "LOG_LEVEL",
    gt_version => "GT_VERSION",
    dolt_version => "DOLT_VERSION",
    bd_version => "BD_VERSION",
    openclaw_version => "OPENCLAW_VERSION",
    claude_version => "CLAUDE_VERSION",
    github_token => "GITHUB_TOKEN",
    github_repo => "GITHUB_REPO",
    github_api_url => "GITHUB_API_URL",
    github_poll => "GITHUB_POLL",
    github_chat => "GITHUB_CHAT",
    activity_source => "ACTIVITY_SOURCE",
    rig_topics => "RIG_TOPICS",
    digest_at => "DIGEST_AT",
    gasclaw_user => "GASCLAW_USER",
    stack_user => "STACK_USER",
    stack_home => "STACK_HOME",
}

/// What the stuck alert's Nudge button sends by default (gt prefixes the
/// sender, `unknown` from the town root, so the text says who asks).
pub const DEFAULT_NUDGE_TEXT: &str = "gasclaw (for the humans): you look stuck. Check your hook and carry on, or escalate if you are blocked.";

/// The names of variables that hold secrets: they are removed from every
/// child process's environment and never printed.
pub const SECRET_VARIABLES: &[&str] = &[
    "GASTOWN_KIMI_KEYS",
    "OPENCLAW_KIMI_KEY",
    "TELEGRAM_BOT_TOKEN",
    "OPENCLAW_TELEGRAM_BOT_TOKEN",
    "GITHUB_TOKEN",
];

/// Removed from every child's environment besides the secrets: the path to
/// a file holding every secret, and the paths to the secret files.
pub fn child_scrub_variables() -> Vec<String> {
    let mut v: Vec<String> = SECRET_VARIABLES.iter().map(|s| s.to_string()).collect();
    v.push("GASCLAW_CONFIG".into());
    v.extend(secret_file_variables());
    v
}

/// The Telegram side of the configuration.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    pub bot_token: SecretString,
    pub owner_id: u64,
    pub allow_ids: Vec<u64>,
    pub group_ids: Vec<i64>,
    pub api_url: Url,
    /// Outgoing rate limiting below Telegram's limits (on by default; the
    /// throughput benchmark switches it off).
    pub rate_limit: bool,
    /// Commands a minute a group member may send; over it, one "slow down"
    /// and then silence.
    pub member_rate: u32,
    /// The same for the owner and operators.
    pub operator_rate: u32,
}

/// An alert destination: a chat, optionally a forum topic in it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ChatTarget {
    pub chat_id: i64,
    pub thread_id: Option<i32>,
}

/// The versions the image pins (what `gasclaw update --check` compares with).
#[derive(Debug, Clone)]
pub struct Pins {
    pub gt: String,
    pub dolt: String,
    pub bd: String,
    pub openclaw: String,
    pub claude: String,
}

/// The GitHub side: on only with a token (and a repository to watch).
#[derive(Debug, Clone)]
pub struct GithubConfig {
    pub token: Option<SecretString>,
    /// `owner/name`.
    pub repo: Option<String>,
    pub api_url: Url,
    pub poll: Duration,
    /// Where announcements go instead of the owner and `ALERT_CHAT_IDS`.
    pub chat: Option<ChatTarget>,
}

impl GithubConfig {
    /// The token and the repository, when the feature is on.
    pub fn enabled(&self) -> Option<(&SecretString, &str)> {
        Some((self.token.as_ref()?, self.repo.as_deref()?))
    }
}

/// What the activity check counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivitySource {
    /// Commits in the clones gasclaw can see (the default).
    Local,
    /// Pushes to the default branch and pull-request updates on GitHub.
    Github,
    /// Whichever is newer.
    Both,
}

/// Which alert severities a chat receives (`ALERT_CHAT_IDS` entries such as
/// `-100123/7:critical,warning`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeverityFilter {
    pub critical: bool,
    pub warning: bool,
    pub info: bool,
}

impl SeverityFilter {
    pub const ALL: SeverityFilter = SeverityFilter {
        critical: true,
        warning: true,
        info: true,
    };
    const NONE: SeverityFilter = SeverityFilter {
        critical: false,
        warning: false,
        info: false,
    };

    /// Adds a severity by name; false if it is not one.
    fn add(&mut self, name: &str) -> bool {
        match name.to_ascii_lowercase().as_str() {
            "critical" => self.critical = true,
            "warning" => self.warning = true,
            "info" => self.info = true,
            _ => return false,
        }
        true
    }

    fn names(self) -> String {
        let mut v = Vec::new();
        for (on, n) in [
            (self.critical, "critical"),
            (self.warning, "warning"),
            (self.info, "info"),
        ] {
            if on {
                v.push(n);
            }
        }
        v.join(",")
    }
}

/// `QUIET_HOURS`: `HH:MM-HH:MM` (over midnight when the end is earlier);
/// equal ends are refused (all day or never?).
/// Errors quote the value only when it is short (a secret pasted in the
/// wrong place is never echoed).
pub fn parse_quiet_hours(raw: &str) -> Result<(chrono::NaiveTime, chrono::NaiveTime), String> {
    let quote = |s: &str| {
        if s.chars().count() <= 12 {
            format!("`{s}`")
        } else {
            "the value".to_string()
        }
    };
    let (a, b) = raw
        .split_once('-')
        .ok_or_else(|| format!("{} is not a range like 22:00-07:00", quote(raw)))?;
    let t = |s: &str| {
        chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .map_err(|_| format!("{} is not a time like 22:00", quote(s.trim())))
    };
    let (start, end) = (t(a)?, t(b)?);
    if start == end {
        return Err(format!("{} starts and ends at the same time", quote(raw)));
    }
    Ok((start, end))
}

/// Whether the overseer agent may run arbitrary shell commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverseerExec {
    /// Only the gasclaw CLI through its skills (the default).
    Skills,
    /// Unrestricted shell, set deliberately with `OVERSEER_EXEC=full`.
    Full,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub agent_keys: Vec<SecretString>,
    pub overseer_keys: Vec<SecretString>,
    pub telegram: TelegramConfig,
    pub openclaw_telegram_token: Option<SecretString>,
    pub gt_root: PathBuf,
    pub rig_url: String,
    pub rig_name: String,
    pub project_dir: PathBuf,
    pub agent_count: usize,
    pub monitor_interval: Duration,
    pub activity_deadline: Duration,
    pub check_timeout: Duration,
    pub dolt_port: u16,
    pub gateway_port: u16,
    pub kimi_base_url: Url,
    pub proxy_port: u16,
    pub key_cooldown: Duration,
    pub key_quota_cooldown: Duration,
    /// `PROXY_IDLE_TIMEOUT`: the longest silence from the model API.
    pub proxy_idle_timeout: Duration,
    /// Days of hourly token usage kept in `usage.sqlite`.
    pub usage_retention_days: u32,
    /// How often each key's quota is asked from Kimi's `/usages`.
    pub usage_quota_poll: Duration,
    /// Daily token budget of the agents together, if any.
    pub usage_budget_daily: Option<u64>,
    /// Daily token budget of each agent slot, if any.
    pub usage_budget_daily_per_slot: Option<u64>,
    pub home: PathBuf,
    pub locale: Option<String>,
    pub http_addr: SocketAddr,
    pub alert_repeat: Duration,
    pub alert_chats: Vec<ChatTarget>,
    /// Which severities each `ALERT_CHAT_IDS` entry (and the owner, if
    /// listed there) receives; a chat not listed receives every severity.
    pub alert_filters: Vec<(ChatTarget, SeverityFilter)>,
    /// `ALERT_GROUP_WAIT`: alerts raised within this window go as one
    /// message.
    pub alert_group_wait: Duration,
    /// `QUIET_HOURS` (start, end) in `tz`: warnings and info are held and
    /// delivered as one summary at the end; critical alerts break through.
    pub quiet_hours: Option<(chrono::NaiveTime, chrono::NaiveTime)>,
    /// `GASCLAW_TZ`: the time zone of `QUIET_HOURS` (and of other local
    /// times: the digest), an IANA name; UTC by default.
    pub tz: chrono_tz::Tz,
    pub auto_heal: bool,
    /// First wait between the monitor's restarts of one service (doubles up
    /// to 30×: 30 s → 15 min by default).
    pub heal_backoff: Duration,
    /// `STUCK_PANE_AFTER`: an agent with hooked work whose pane has not
    /// changed for this long (across monitor cycles) counts as stuck.
    pub stuck_pane_after: Duration,
    /// `NUDGE_TEXT`: what the stuck alert's Nudge button sends.
    pub nudge_text: String,
    /// `AUTO_PAUSE`: freeze the town while every agent key cools.
    pub auto_pause: bool,
    /// `AUTO_PAUSE_AFTER`: how long every agent key must have cooled first.
    pub auto_pause_after: Duration,
    /// `PIN_INTERVAL`: how often `/pin` cards are refreshed (edited only
    /// when their text changed).
    pub pin_interval: Duration,
    pub overseer_timeout: Duration,
    /// `CONFIRM_TIMEOUT`: how long a confirmation button works.
    pub confirm_timeout: Duration,
    /// `TELEGRAM_CONFLICT_QUIET`: how long without a 409 before the bot
    /// counts itself the only poller again (above teloxide's longest
    /// polling backoff, 30 s, plus its 10 s long poll).
    pub telegram_conflict_quiet: Duration,
    pub overseer_exec: OverseerExec,
    pub log_level: Option<String>,
    pub pins: Pins,
    pub github: GithubConfig,
    pub activity_source: ActivitySource,
    /// `RIG_TOPICS`: a rig's work news goes to this chat (forum topic).
    pub rig_topics: BTreeMap<String, ChatTarget>,
    /// `DIGEST_AT`: when the daily digest goes out (HH:MM in `tz`); none
    /// when unset.
    pub digest_at: Option<chrono::NaiveTime>,
    /// `GASCLAW_USER`: the uid gasclaw drops to when started as root.
    pub gasclaw_user: Option<users::Identity>,
    /// `STACK_USER` (and `STACK_HOME`): the uid every child runs under.
    pub stack: Option<users::StackUser>,
    /// Source of each variable, for `gasclaw config`.
    pub sources: BTreeMap<&'static str, Source>,
}

/// Where the raw values come from; injectable so tests never touch the
/// process environment.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl Config {
    /// Loads from the process environment (and `GASCLAW_CONFIG`).
    pub fn from_process_env() -> Result<Config, ConfigError> {
        Config::load(&ProcessEnv)
    }

    /// Loads from any environment: `GASCLAW_CONFIG` names the optional file.
    pub fn load(env: &dyn Env) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let file = match non_empty(env.var("GASCLAW_CONFIG")) {
            Some(path) => match read_file_config(Path::new(&path)) {
                Ok(f) => f,
                Err(p) => {
                    problems.push(p);
                    FileConfig::default()
                }
            },
            None => FileConfig::default(),
        };
        let mut raw = BTreeMap::new();
        for (var, file_value) in file.entries() {
            let secret_file = SECRET_VARIABLES
                .contains(&var)
                .then(|| non_empty(env.var(&format!("{var}_FILE"))))
                .flatten();
            let direct = non_empty(env.var(var));
            if let Some(path) = secret_file {
                if direct.is_some() {
                    problems.push(Problem {
                        var: format!("{var}_FILE"),
                        message: format!("{var} and {var}_FILE are both set; set only one"),
                    });
                    // Validated as usual, so this is the only problem said.
                    if let Some(v) = direct {
                        raw.insert(var, (v, Source::Env));
                    }
                    continue;
                }
                match read_secret_file(Path::new(&path)) {
                    Ok(v) => {
                        raw.insert(var, (v, Source::SecretFile));
                    }
                    Err(message) => problems.push(Problem {
                        var: format!("{var}_FILE"),
                        message,
                    }),
                }
            } else if let Some(v) = direct {
                raw.insert(var, (v, Source::Env));
            } else if let Some(v) = file_value {
                raw.insert(var, (v.flatten(), Source::File));
            }
        }
        let home_dir = non_empty(env.var("HOME")).map(PathBuf::from);
        let mut p = Parser {
            raw,
            problems,
            home_dir,
        };
        let config = p.build();
        if p.problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError {
                problems: p.problems,
            })
        }
    }

    /// Every secret value, for redaction of child-process output.
    pub fn secrets(&self) -> Vec<SecretString> {
        let mut out: Vec<SecretString> = self.agent_keys.to_vec();
        out.extend(self.overseer_keys.iter().cloned());
        out.push(self.telegram.bot_token.clone());
        if let Some(t) = &self.openclaw_telegram_token {
            out.push(t.clone());
        }
        if let Some(t) = &self.github.token {
            out.push(t.clone());
        }
        out
    }

    /// The rig URL as gt wants it: local paths become `file://` URLs.
    pub fn rig_git_url(&self) -> String {
        if self.rig_url.starts_with('/') {
            format!("file://{}", self.rig_url)
        } else {
            self.rig_url.clone()
        }
    }

    /// The `(name, value, source)` rows of `gasclaw config`, secrets redacted.
    pub fn redacted_rows(&self) -> Vec<(&'static str, String, Source)> {
        let src = |v: &'static str| self.sources.get(v).copied().unwrap_or(Source::Default);
        let keys = |ks: &[SecretString]| {
            let hints: Vec<String> = ks.iter().map(|k| hint(k.expose_secret())).collect();
            format!(
                "[redacted] {} key{} ({})",
                ks.len(),
                if ks.len() == 1 { "" } else { "s" },
                hints.join(", ")
            )
        };
        let ids = |v: &[u64]| join_ids(v.iter().map(|i| i.to_string()));
        let mut rows = vec![
            ("GASTOWN_KIMI_KEYS", keys(&self.agent_keys)),
            ("OPENCLAW_KIMI_KEY", keys(&self.overseer_keys)),
            (
                "TELEGRAM_BOT_TOKEN",
                redacted_token(&self.telegram.bot_token),
            ),
            ("TELEGRAM_OWNER_ID", self.telegram.owner_id.to_string()),
            ("TELEGRAM_ALLOW_IDS", ids(&self.telegram.allow_ids)),
            (
                "TELEGRAM_GROUP_IDS",
                join_ids(self.telegram.group_ids.iter().map(|i| i.to_string())),
            ),
            ("TELEGRAM_API_URL", self.telegram.api_url.to_string()),
            (
                "TELEGRAM_RATE_LIMIT",
                on_off(self.telegram.rate_limit).to_string(),
            ),
            (
                "TELEGRAM_MEMBER_RATE",
                format!("{} a minute", self.telegram.member_rate),
            ),
            (
                "TELEGRAM_OPERATOR_RATE",
                format!("{} a minute", self.telegram.operator_rate),
            ),
            (
                "OPENCLAW_TELEGRAM_BOT_TOKEN",
                self.openclaw_telegram_token
                    .as_ref()
                    .map(redacted_token)
                    .unwrap_or_else(|| "(unset: OpenClaw's Telegram channel is off)".into()),
            ),
            ("GT_ROOT", self.gt_root.display().to_string()),
            ("GT_RIG_URL", self.rig_url.clone()),
            ("GT_RIG_NAME", self.rig_name.clone()),
            ("PROJECT_DIR", self.project_dir.display().to_string()),
            ("GT_AGENT_COUNT", self.agent_count.to_string()),
            ("MONITOR_INTERVAL", secs(self.monitor_interval)),
            ("ACTIVITY_DEADLINE", secs(self.activity_deadline)),
            ("CHECK_TIMEOUT", secs(self.check_timeout)),
            ("DOLT_PORT", self.dolt_port.to_string()),
            ("GATEWAY_PORT", self.gateway_port.to_string()),
            ("KIMI_BASE_URL", self.kimi_base_url.to_string()),
            ("KIMI_PROXY_PORT", self.proxy_port.to_string()),
            ("KEY_COOLDOWN", secs(self.key_cooldown)),
            ("KEY_QUOTA_COOLDOWN", secs(self.key_quota_cooldown)),
            ("PROXY_IDLE_TIMEOUT", secs(self.proxy_idle_timeout)),
            (
                "USAGE_RETENTION_DAYS",
                self.usage_retention_days.to_string(),
            ),
            ("USAGE_QUOTA_POLL", secs(self.usage_quota_poll)),
            ("USAGE_BUDGET_DAILY", budget(self.usage_budget_daily)),
            (
                "USAGE_BUDGET_DAILY_PER_SLOT",
                budget(self.usage_budget_daily_per_slot),
            ),
            ("GASCLAW_HOME", self.home.display().to_string()),
            (
                "GASCLAW_LOCALE",
                self.locale
                    .clone()
                    .unwrap_or_else(|| "(from Telegram)".into()),
            ),
            ("GASCLAW_HTTP_ADDR", self.http_addr.to_string()),
            ("ALERT_REPEAT", secs(self.alert_repeat)),
            (
                "ALERT_CHAT_IDS",
                join_ids(self.alert_filters.iter().map(|(t, f)| {
                    let chat = match t.thread_id {
                        Some(th) => format!("{}/{}", t.chat_id, th),
                        None => t.chat_id.to_string(),
                    };
                    if *f == SeverityFilter::ALL {
                        chat
                    } else {
                        format!("{chat}:{}", f.names())
                    }
                })),
            ),
            ("ALERT_GROUP_WAIT", secs(self.alert_group_wait)),
            (
                "QUIET_HOURS",
                self.quiet_hours
                    .map(|(a, b)| format!("{}-{}", a.format("%H:%M"), b.format("%H:%M")))
                    .unwrap_or_else(|| "(none)".into()),
            ),
            ("GASCLAW_TZ", self.tz.name().to_string()),
            ("AUTO_HEAL", on_off(self.auto_heal).to_string()),
            ("HEAL_BACKOFF", secs(self.heal_backoff)),
            ("STUCK_PANE_AFTER", secs(self.stuck_pane_after)),
            ("NUDGE_TEXT", self.nudge_text.clone()),
            ("AUTO_PAUSE", on_off(self.auto_pause).to_string()),
            ("AUTO_PAUSE_AFTER", secs(self.auto_pause_after)),
            ("PIN_INTERVAL", secs(self.pin_interval)),
            ("OVERSEER_TIMEOUT", secs(self.overseer_timeout)),
            ("CONFIRM_TIMEOUT", secs(self.confirm_timeout)),
            (
                "TELEGRAM_CONFLICT_QUIET",
                secs(self.telegram_conflict_quiet),
            ),
            (
                "OVERSEER_EXEC",
                match self.overseer_exec {
                    OverseerExec::Skills => "skills".into(),
                    OverseerExec::Full => "full".into(),
                },
            ),
            (
                "LOG_LEVEL",
                self.log_level.clone().unwrap_or_else(|| "info".into()),
            ),
            ("GT_VERSION", self.pins.gt.clone()),
            ("DOLT_VERSION", self.pins.dolt.clone()),
            ("BD_VERSION", self.pins.bd.clone()),
            ("OPENCLAW_VERSION", self.pins.openclaw.clone()),
            ("CLAUDE_VERSION", self.pins.claude.clone()),
            (
                "GITHUB_TOKEN",
                match &self.github.token {
                    Some(t) => format!("[redacted] ({})", hint(t.expose_secret())),
                    None => "(unset: the GitHub features are off)".into(),
                },
            ),
            (
                "GITHUB_REPO",
                self.github
                    .repo
                    .clone()
                    .unwrap_or_else(|| "(unset: GT_RIG_URL is not on github.com)".into()),
            ),
            ("GITHUB_API_URL", self.github.api_url.to_string()),
            ("GITHUB_POLL", secs(self.github.poll)),
            (
                "GITHUB_CHAT",
                self.github
                    .chat
                    .map(|t| match t.thread_id {
                        Some(th) => format!("{}/{}", t.chat_id, th),
                        None => t.chat_id.to_string(),
                    })
                    .unwrap_or_else(|| "(the owner and ALERT_CHAT_IDS)".into()),
            ),
            (
                "DIGEST_AT",
                self.digest_at
                    .map(|t| format!("{} {}", t.format("%H:%M"), self.tz.name()))
                    .unwrap_or_else(|| "(unset: no daily digest)".into()),
            ),
            (
                "RIG_TOPICS",
                join_ids(self.rig_topics.iter().map(|(r, t)| match t.thread_id {
                    Some(th) => format!("{r}:{}/{th}", t.chat_id),
                    None => format!("{r}:{}", t.chat_id),
                })),
            ),
            (
                "ACTIVITY_SOURCE",
                match self.activity_source {
                    ActivitySource::Local => "local",
                    ActivitySource::Github => "github",
                    ActivitySource::Both => "both",
                }
                .into(),
            ),
            (
                "GASCLAW_USER",
                self.gasclaw_user
                    .as_ref()
                    .map(users::Identity::describe)
                    .unwrap_or_else(|| "(unset: gasclaw keeps the uid it starts with)".into()),
            ),
            (
                "STACK_USER",
                self.stack
                    .as_ref()
                    .map(|s| s.id.describe())
                    .unwrap_or_else(|| "(unset: the stack runs as gasclaw's uid)".into()),
            ),
            (
                "STACK_HOME",
                self.stack
                    .as_ref()
                    .map(|s| s.home.display().to_string())
                    .unwrap_or_else(|| "(unset)".into()),
            ),
        ];
        rows.sort_by_key(|(v, _)| VARIABLES.iter().position(|x| x == v));
        rows.into_iter().map(|(v, val)| (v, val, src(v))).collect()
    }
}

fn budget(b: Option<u64>) -> String {
    b.map(|n| format!("{n} tokens"))
        .unwrap_or_else(|| "(none)".into())
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

fn join_ids(it: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = it.collect();
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(":")
    }
}

fn redacted_token(t: &SecretString) -> String {
    // The part before the colon is the bot's public user id; it helps an
    // operator tell two bots apart and is not a credential.
    match t.expose_secret().split_once(':') {
        Some((id, _)) => format!("[redacted] (bot {id})"),
        None => "[redacted]".into(),
    }
}

/// The only part of a secret ever shown: `…` and its last 4 characters.
pub fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        // Too short to show any of it without giving most of it away.
        return "…".into();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("…{tail}")
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A `<NAME>_FILE` secret: the content without its final newline (what
/// `echo "$KEY" > file` and Compose's secrets leave). The message names the
/// path, never the content.
fn read_secret_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the secret file {}: {e}", path.display()))?;
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if text.trim().is_empty() {
        return Err(format!("the secret file {} is empty", path.display()));
    }
    Ok(text.to_string())
}

/// The variables whose secret may come from a file, as `<NAME>_FILE`.
pub fn secret_file_variables() -> Vec<String> {
    SECRET_VARIABLES
        .iter()
        .map(|v| format!("{v}_FILE"))
        .collect()
}

fn read_file_config(path: &Path) -> Result<FileConfig, Problem> {
    let text = std::fs::read_to_string(path).map_err(|e| Problem {
        var: "GASCLAW_CONFIG".into(),
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    toml::from_str(&text).map_err(|e| Problem {
        var: "GASCLAW_CONFIG".into(),
        // toml's message names the unknown key and the line; it never
        // contains values of other keys.
        message: format!("{}: {}", path.display(), e.message().trim()),
    })
}

struct Parser {
    raw: BTreeMap<&'static str, (String, Source)>,
    problems: Vec<Problem>,
    home_dir: Option<PathBuf>,
}

impl Parser {
    fn problem(&mut self, var: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            var: var.into(),
            message: message.into(),
        });
    }

    fn get(&self, var: &str) -> Option<&str> {
        self.raw.get(var).map(|(v, _)| v.as_str())
    }

    fn required(&mut self, var: &'static str) -> Option<String> {
        match self.get(var) {
            Some(v) => Some(v.to_string()),
            None => {
                self.problem(var, "is required but not set");
                None
            }
        }
    }

    fn build(&mut self) -> Config {
        let agent_keys = self.keys("GASTOWN_KIMI_KEYS");
        let overseer_keys = self.keys("OPENCLAW_KIMI_KEY");
        for (i, k) in overseer_keys.iter().enumerate() {
            if agent_keys
                .iter()
                .any(|a| a.expose_secret() == k.expose_secret())
            {
                self.problem(
                    "OPENCLAW_KIMI_KEY",
                    format!(
                        "key {} ({}) is also in GASTOWN_KIMI_KEYS; the overseer needs its own key so the agents' rate limits never stall it",
                        i + 1,
                        hint(k.expose_secret())
                    ),
                );
            }
        }
        let bot_token = self.token("TELEGRAM_BOT_TOKEN", true);
        let openclaw_telegram_token = self.token("OPENCLAW_TELEGRAM_BOT_TOKEN", false);
        if let (Some(a), Some(b)) = (&bot_token, &openclaw_telegram_token)
            && a.expose_secret() == b.expose_secret()
        {
            self.problem(
                "OPENCLAW_TELEGRAM_BOT_TOKEN",
                "is the same token as TELEGRAM_BOT_TOKEN; only one process may poll a bot token, so OpenClaw needs a different bot",
            );
        }
        let owner_id = self
            .required("TELEGRAM_OWNER_ID")
            .and_then(|v| self.parse_user_id("TELEGRAM_OWNER_ID", &v));
        let allow_ids = self.list("TELEGRAM_ALLOW_IDS", |p, var, item| {
            p.parse_user_id(var, item)
        });
        let group_ids = self.list("TELEGRAM_GROUP_IDS", |p, var, item| {
            match item.parse::<i64>() {
                Ok(0) | Err(_) => {
                    p.problem(
                        var,
                        "holds an item that is not a numeric chat id (group ids look like -1001234567890)",
                    );
                    None
                }
                Ok(id) => Some(id),
            }
        });
        let api_url = self.url("TELEGRAM_API_URL", "https://api.telegram.org/");
        let rate_limit = self.on_off("TELEGRAM_RATE_LIMIT", true);
        let member_rate = self.count("TELEGRAM_MEMBER_RATE", 5, 1000) as u32;
        let operator_rate = self.count("TELEGRAM_OPERATOR_RATE", 60, 1000) as u32;

        let gt_root = self.abs_path("GT_ROOT", "/workspace/gt");
        let rig_url = self.get("GT_RIG_URL").unwrap_or("/project").to_string();
        self.check_rig_url(&rig_url);
        let rig_name = self.get("GT_RIG_NAME").unwrap_or("project").to_string();
        self.check_rig_name(&rig_name);
        let project_dir = self.abs_path("PROJECT_DIR", "/project");
        let agent_count = self.count("GT_AGENT_COUNT", 6, 64);
        let monitor_interval = self.duration("MONITOR_INTERVAL", 300);
        let activity_deadline = self.duration("ACTIVITY_DEADLINE", 3600);
        let check_timeout = self.duration("CHECK_TIMEOUT", 10);
        let dolt_port = self.port("DOLT_PORT", 3307);
        let gateway_port = self.port("GATEWAY_PORT", 18789);
        // 0: any free port, chosen when `gasclaw run` binds (reported).
        let proxy_port = self.port_or_any("KIMI_PROXY_PORT", 18790);
        let kimi_base_url = self.url("KIMI_BASE_URL", "https://api.kimi.com/coding/");
        let max = crate::keys::pool::MAX_COOLDOWN;
        let key_cooldown = self.duration_at_most("KEY_COOLDOWN", 300, max);
        let key_quota_cooldown = self.duration_at_most("KEY_QUOTA_COOLDOWN", 3600, max);
        let proxy_idle_timeout = self.duration_at_most("PROXY_IDLE_TIMEOUT", 300, max);
        let usage_retention_days = self.count("USAGE_RETENTION_DAYS", 90, 3650) as u32;
        let usage_quota_poll = self.duration("USAGE_QUOTA_POLL", 900);
        if usage_quota_poll < Duration::from_secs(300) {
            self.problem(
                "USAGE_QUOTA_POLL",
                "must be at least 5m: the quota endpoint is advisory and must not be asked often",
            );
        }
        let usage_budget_daily = self.tokens("USAGE_BUDGET_DAILY");
        let usage_budget_daily_per_slot = self.tokens("USAGE_BUDGET_DAILY_PER_SLOT");
        let home = match self.get("GASCLAW_HOME").map(str::to_string) {
            Some(v) => self.expand_abs("GASCLAW_HOME", &v),
            None => match &self.home_dir {
                Some(h) => h.join(".gasclaw"),
                None => {
                    self.problem("GASCLAW_HOME", "is not set and HOME is unknown");
                    PathBuf::from("/nonexistent")
                }
            },
        };
        let locale = self.get("GASCLAW_LOCALE").map(str::to_string);
        let http_addr = match self
            .get("GASCLAW_HTTP_ADDR")
            .unwrap_or("127.0.0.1:18791")
            .parse::<SocketAddr>()
        {
            Ok(a) => a,
            Err(_) => {
                self.problem(
                    "GASCLAW_HTTP_ADDR",
                    "must be an address:port such as 127.0.0.1:18791",
                );
                SocketAddr::from(([127, 0, 0, 1], 18791))
            }
        };
        let alert_repeat = self.duration("ALERT_REPEAT", 3600);
        // Chats, each optionally followed by the severities it receives
        // (`-100123/7:critical,warning`): a severity name belongs to the
        // chat before it.
        let mut routes: Vec<(ChatTarget, Option<SeverityFilter>)> = Vec::new();
        let mut n = 0;
        let alert_chats = self.list("ALERT_CHAT_IDS", |p, var, item| {
            n += 1;
            // Named by position, and quoted only when short: a secret
            // pasted here by mistake is never echoed.
            let entry = if item.chars().count() <= 16 {
                format!("entry {n} (`{item}`)")
            } else {
                format!("entry {n}")
            };
            if item.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                let Some((_, f)) = routes.last_mut() else {
                    p.problem(var, format!("{entry} names a severity before any chat"));
                    return None;
                };
                if !f.get_or_insert(SeverityFilter::NONE).add(item) {
                    p.problem(
                        var,
                        format!(
                            "{entry} is neither a chat id nor a severity (critical, warning, info)"
                        ),
                    );
                }
                return None;
            }
            let t = parse_chat_target(item)
                .map_err(|m| p.problem(var, format!("{entry} {m}")))
                .ok()?;
            routes.push((t, None));
            Some(t)
        });
        let alert_filters: Vec<(ChatTarget, SeverityFilter)> = routes
            .into_iter()
            .map(|(t, f)| (t, f.unwrap_or(SeverityFilter::ALL)))
            .collect();
        let alert_group_wait = self.duration("ALERT_GROUP_WAIT", 30);
        let quiet_hours = match self.get("QUIET_HOURS").map(str::to_string) {
            None => None,
            Some(raw) => match parse_quiet_hours(&raw) {
                Ok(q) => Some(q),
                Err(m) => {
                    self.problem("QUIET_HOURS", m);
                    None
                }
            },
        };
        let tz = match self.get("GASCLAW_TZ").map(str::to_string) {
            None => chrono_tz::UTC,
            Some(raw) => raw.trim().parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
                // Not echoed: it could be a secret pasted in the wrong place.
                self.problem(
                    "GASCLAW_TZ",
                    "is not an IANA time zone name (like Europe/Berlin, Asia/Shanghai, UTC)",
                );
                chrono_tz::UTC
            }),
        };
        let auto_heal = self.on_off("AUTO_HEAL", true);
        let heal_backoff = self.duration("HEAL_BACKOFF", 30);
        let stuck_pane_after = self.duration("STUCK_PANE_AFTER", 900);
        let nudge_text = self
            .get("NUDGE_TEXT")
            .unwrap_or(DEFAULT_NUDGE_TEXT)
            .trim()
            .to_string();
        if nudge_text.chars().count() > 500 {
            self.problem("NUDGE_TEXT", "must be at most 500 characters");
        }
        let auto_pause = self.on_off("AUTO_PAUSE", false);
        let auto_pause_after = self.duration("AUTO_PAUSE_AFTER", 600);
        let pin_interval = self.duration("PIN_INTERVAL", 60);
        let overseer_timeout = self.duration("OVERSEER_TIMEOUT", 120);
        let confirm_timeout =
            self.duration_at_most("CONFIRM_TIMEOUT", 60, Duration::from_secs(3600));
        let telegram_conflict_quiet =
            self.duration_at_most("TELEGRAM_CONFLICT_QUIET", 60, Duration::from_secs(3600));
        let overseer_exec = match self
            .get("OVERSEER_EXEC")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("skills") => OverseerExec::Skills,
            Some("full") => OverseerExec::Full,
            Some(_) => {
                self.problem("OVERSEER_EXEC", "must be one of: skills, full");
                OverseerExec::Skills
            }
        };
        let log_level = self.get("LOG_LEVEL").map(str::to_ascii_lowercase);
        if let Some(l) = &log_level
            && !matches!(
                l.as_str(),
                "trace" | "debug" | "info" | "warn" | "warning" | "error" | "critical"
            )
        {
            self.problem(
                "LOG_LEVEL",
                "must be one of: trace, debug, info, warn, error",
            );
        }

        let pins = Pins {
            gt: self.version_pin("GT_VERSION", "1.2.1"),
            dolt: self.version_pin("DOLT_VERSION", "2.3.1"),
            bd: self.version_pin("BD_VERSION", "1.0.5"),
            openclaw: self.version_pin("OPENCLAW_VERSION", "2026.9.6"),
            claude: self.version_pin("CLAUDE_VERSION", "2.1.332"),
        };
        let ports = [
            ("DOLT_PORT", dolt_port),
            ("GATEWAY_PORT", gateway_port),
            ("KIMI_PROXY_PORT", proxy_port),
            ("GASCLAW_HTTP_ADDR", http_addr.port()),
        ];
        for (i, (a, pa)) in ports.iter().enumerate() {
            for (b, pb) in &ports[i + 1..] {
                if pa == pb && *pa != 0 {
                    self.problem(
                        a,
                        format!("port {pa} is also used by {b}; every service needs its own port"),
                    );
                }
            }
        }

        let github = self.github(&rig_url);
        let activity_source = match self
            .get("ACTIVITY_SOURCE")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("local") => ActivitySource::Local,
            Some("github") => ActivitySource::Github,
            Some("both") => ActivitySource::Both,
            Some(_) => {
                self.problem("ACTIVITY_SOURCE", "is not one of: local, github, both");
                ActivitySource::Local
            }
        };
        if activity_source != ActivitySource::Local && github.enabled().is_none() {
            self.problem(
                "ACTIVITY_SOURCE",
                "counts GitHub activity, but the GitHub features are off (set GITHUB_TOKEN and GITHUB_REPO)",
            );
        }

        let rig_topics = self.rig_topics();
        let digest_at = self.get("DIGEST_AT").map(str::to_string).and_then(|t| {
            chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map_err(|_| {
                    self.problem("DIGEST_AT", "is not a time of day as HH:MM (like 09:00)")
                })
                .ok()
        });
        let (gasclaw_user, stack) = self.users();

        let sources = self.raw.iter().map(|(k, (_, s))| (*k, *s)).collect();
        Config {
            agent_keys,
            overseer_keys,
            telegram: TelegramConfig {
                bot_token: bot_token.unwrap_or_else(|| SecretString::from("")),
                owner_id: owner_id.unwrap_or(0),
                allow_ids,
                group_ids,
                api_url,
                rate_limit,
                member_rate,
                operator_rate,
            },
            openclaw_telegram_token,
            gt_root,
            rig_url,
            rig_name,
            project_dir,
            agent_count,
            monitor_interval,
            activity_deadline,
            check_timeout,
            dolt_port,
            gateway_port,
            kimi_base_url,
            proxy_port,
            key_cooldown,
            key_quota_cooldown,
            proxy_idle_timeout,
            usage_retention_days,
            usage_quota_poll,
            usage_budget_daily,
            usage_budget_daily_per_slot,
            home,
            locale,
            http_addr,
            alert_repeat,
            alert_chats,
            alert_filters,
            alert_group_wait,
            quiet_hours,
            tz,
            auto_heal,
            heal_backoff,
            stuck_pane_after,
            nudge_text,
            auto_pause,
            auto_pause_after,
            pin_interval,
            overseer_timeout,
            confirm_timeout,
            telegram_conflict_quiet,
            overseer_exec,
            log_level,
            pins,
            github,
            activity_source,
            rig_topics,
            digest_at,
            gasclaw_user,
            stack,
            sources,
        }
    }

    /// `RIG_TOPICS=project:-100123/45,web:-100456`: each entry is a rig and
    /// a chat (optionally a forum topic); a bad entry is named.
    fn rig_topics(&mut self) -> BTreeMap<String, ChatTarget> {
        let mut out = BTreeMap::new();
        let Some(raw) = self.get("RIG_TOPICS").map(str::to_string) else {
            return out;
        };
        // Entries are named by their number (and rig): the value itself is
        // never echoed (a key pasted here must not reach a log).
        let entries = raw.split(',').map(str::trim).filter(|e| !e.is_empty());
        for (i, entry) in entries.enumerate() {
            let n = i + 1;
            let Some((rig, target)) = entry.split_once(':') else {
                self.problem(
                    "RIG_TOPICS",
                    format!("entry {n} is not rig:chat_id/thread_id"),
                );
                continue;
            };
            let rig = rig.trim();
            if rig.is_empty() || !rig.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                self.problem(
                    "RIG_TOPICS",
                    format!("entry {n}: the rig is not a rig name (letters, digits and _)"),
                );
                continue;
            }
            match parse_chat_target(target.trim()) {
                Ok(t) => {
                    if out.insert(rig.to_string(), t).is_some() {
                        self.problem(
                            "RIG_TOPICS",
                            format!("entry {n}: rig `{rig}` is given twice"),
                        );
                    }
                }
                Err(m) => self.problem("RIG_TOPICS", format!("entry {n} (rig `{rig}`) {m}")),
            }
        }
        out
    }

    /// `GASCLAW_USER`, `STACK_USER`, `STACK_HOME`: the stack runs under
    /// another uid only when gasclaw itself does not keep root.
    fn users(&mut self) -> (Option<users::Identity>, Option<users::StackUser>) {
        let resolve = |p: &mut Parser, var: &'static str| {
            let spec = p.get(var)?.to_string();
            users::resolve(&spec)
                .map_err(|m| p.problem(var, format!("{m} (a user name, a uid, or uid:gid)")))
                .ok()
        };
        let gasclaw = resolve(self, "GASCLAW_USER");
        let stack = resolve(self, "STACK_USER");
        let home = self
            .get("STACK_HOME")
            .map(str::to_string)
            .map(|h| self.expand_abs("STACK_HOME", &h));
        if self.get("STACK_USER").is_none() {
            if home.is_some() {
                self.problem(
                    "STACK_HOME",
                    "is only used with STACK_USER, which is not set",
                );
            }
            return (gasclaw, None);
        }
        let Some(stack) = stack else {
            return (gasclaw, None);
        };
        if self.get("GASCLAW_USER").is_none() {
            self.problem(
                "STACK_USER",
                "needs GASCLAW_USER: gasclaw starts as root to run the stack under another uid, and drops to GASCLAW_USER itself",
            );
        }
        if let Some(g) = &gasclaw
            && (g.uid == stack.uid || g.gid == stack.gid)
        {
            self.problem(
                "STACK_USER",
                "must differ from GASCLAW_USER in both uid and gid: the stack must not read gasclaw's files",
            );
        }
        let home = match home.or_else(|| stack.home.clone()) {
            Some(h) => h,
            None => {
                self.problem(
                    "STACK_HOME",
                    "is required: STACK_USER has no home directory in /etc/passwd",
                );
                return (gasclaw, None);
            }
        };
        (gasclaw, Some(users::StackUser { id: stack, home }))
    }

    fn github(&mut self, rig_url: &str) -> GithubConfig {
        // GITHUB_TOKEN_FILE is read like every `<NAME>_FILE` secret.
        let raw = self.get("GITHUB_TOKEN").map(|t| t.trim().to_string());
        let var = match self.raw.get("GITHUB_TOKEN") {
            Some((_, Source::SecretFile)) => "GITHUB_TOKEN_FILE",
            _ => "GITHUB_TOKEN",
        };
        let token = match raw {
            Some(t) if t.is_empty() => {
                self.problem(var, "the token is empty");
                None
            }
            Some(t) if t.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                self.problem(var, format!("the token ({}) contains whitespace", hint(&t)));
                None
            }
            Some(t) => Some(SecretString::from(t)),
            None => None,
        };
        let repo = match self.get("GITHUB_REPO").map(str::to_string) {
            Some(r) => {
                let r = r.trim_end_matches(".git").to_string();
                if valid_repo(&r) {
                    Some(r)
                } else {
                    self.problem("GITHUB_REPO", "is not owner/name");
                    None
                }
            }
            None => github_repo_from_remote(rig_url),
        };
        if token.is_some() && repo.is_none() && self.problems.iter().all(|p| p.var != "GITHUB_REPO")
        {
            self.problem(
                "GITHUB_REPO",
                "is not set and GT_RIG_URL is not a github.com remote: name the repository to watch as owner/name",
            );
        }
        let api_url = self.url("GITHUB_API_URL", "https://api.github.com/");
        let poll = self.duration("GITHUB_POLL", 60);
        let chat = self.get("GITHUB_CHAT").map(str::to_string).and_then(|c| {
            parse_chat_target(&c)
                .map_err(|m| self.problem("GITHUB_CHAT", m))
                .ok()
        });
        GithubConfig {
            token,
            repo,
            api_url,
            poll,
            chat,
        }
    }

    fn version_pin(&mut self, var: &'static str, default: &str) -> String {
        let v = self
            .get(var)
            .unwrap_or(default)
            .trim_start_matches('v')
            .to_string();
        if v.is_empty()
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            self.problem(var, "is not a version like 1.2.3");
        }
        v
    }

    fn keys(&mut self, var: &'static str) -> Vec<SecretString> {
        let Some(raw) = self.required(var) else {
            return Vec::new();
        };
        let mut keys: Vec<String> = Vec::new();
        for (i, item) in raw.split(':').enumerate() {
            let k = item.trim();
            if k.is_empty() {
                self.problem(
                    var,
                    format!(
                        "key {} is empty (check for a doubled or trailing `:`)",
                        i + 1
                    ),
                );
                continue;
            }
            if k.chars().any(|c| c.is_whitespace() || c.is_control()) {
                self.problem(
                    var,
                    format!("key {} ({}) contains whitespace", i + 1, hint(k)),
                );
                continue;
            }
            if let Some(j) = keys.iter().position(|e| e == k) {
                self.problem(
                    var,
                    format!(
                        "key {} ({}) is a duplicate of key {}",
                        i + 1,
                        hint(k),
                        j + 1
                    ),
                );
                continue;
            }
            keys.push(k.to_string());
        }
        if keys.is_empty() && self.problems.iter().all(|p| p.var != var) {
            self.problem(var, "needs at least one key");
        }
        keys.into_iter().map(SecretString::from).collect()
    }

    fn token(&mut self, var: &'static str, required: bool) -> Option<SecretString> {
        let raw = if required {
            self.required(var)?
        } else {
            self.get(var)?.to_string()
        };
        let ok = match raw.split_once(':') {
            Some((id, rest)) => {
                !id.is_empty()
                    && id.chars().all(|c| c.is_ascii_digit())
                    && !rest.is_empty()
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            }
            None => false,
        };
        if !ok {
            self.problem(var, format!("does not look like a bot token (expected digits:characters as BotFather gives it; got {})", hint(&raw)));
            return None;
        }
        Some(SecretString::from(raw))
    }

    fn parse_user_id(&mut self, var: &str, v: &str) -> Option<u64> {
        match v.parse::<u64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                self.problem(var, "is not a numeric Telegram user id");
                None
            }
        }
    }

    fn list<T>(
        &mut self,
        var: &'static str,
        mut f: impl FnMut(&mut Parser, &str, &str) -> Option<T>,
    ) -> Vec<T> {
        let Some(raw) = self.get(var).map(str::to_string) else {
            return Vec::new();
        };
        raw.split([':', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .filter_map(|item| f(self, var, item))
            .collect()
    }

    fn url(&mut self, var: &'static str, default: &str) -> Url {
        let raw = self.get(var).unwrap_or(default).to_string();
        match Url::parse(&raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                // A base URL without a trailing slash would drop its last
                // path segment when joined.
                if u.path().ends_with('/') {
                    u
                } else {
                    let mut u = u;
                    let p = format!("{}/", u.path());
                    u.set_path(&p);
                    u
                }
            }
            _ => {
                self.problem(var, "is not an http(s) URL");
                // The default always parses.
                #[expect(clippy::expect_used, reason = "a literal URL")]
                Url::parse(default)
                    .unwrap_or_else(|_| Url::parse("http://127.0.0.1/").expect("static URL"))
            }
        }
    }

    fn on_off(&mut self, var: &'static str, default: bool) -> bool {
        match self.get(var).map(str::to_ascii_lowercase).as_deref() {
            None => default,
            Some("on" | "true" | "1" | "yes") => true,
            Some("off" | "false" | "0" | "no") => false,
            Some(_) => {
                self.problem(var, "must be on or off");
                default
            }
        }
    }

    fn port(&mut self, var: &'static str, default: u16) -> u16 {
        let Some(raw) = self.get(var).map(str::to_string) else {
            return default;
        };
        match raw.parse::<u32>() {
            Ok(p) if (1..=65535).contains(&p) => p as u16,
            _ => {
                self.problem(var, "is not a port between 1 and 65535");
                default
            }
        }
    }

    fn port_or_any(&mut self, var: &'static str, default: u16) -> u16 {
        if self.get(var).map(str::trim) == Some("0") {
            return 0;
        }
        self.port(var, default)
    }

    fn duration(&mut self, var: &'static str, default_secs: u64) -> Duration {
        let Some(raw) = self.get(var).map(str::to_string) else {
            return Duration::from_secs(default_secs);
        };
        match parse_duration(&raw) {
            Some(d) if !d.is_zero() => d,
            _ => {
                self.problem(var, "is not a positive duration (seconds, or like 5m, 1h)");
                Duration::from_secs(default_secs)
            }
        }
    }

    /// A positive duration no longer than `max`.
    fn duration_at_most(
        &mut self,
        var: &'static str,
        default_secs: u64,
        max: Duration,
    ) -> Duration {
        let d = self.duration(var, default_secs);
        if d > max {
            self.problem(
                var,
                format!("is longer than the limit of {}s", max.as_secs()),
            );
            return Duration::from_secs(default_secs).min(max);
        }
        d
    }

    /// An optional token count: `5000000`, `5M`, `500k`.
    fn tokens(&mut self, var: &'static str) -> Option<u64> {
        let raw = self.get(var)?.to_string();
        let t = raw.trim();
        let (num, mult) = match t.char_indices().last() {
            Some((i, 'k' | 'K')) => (&t[..i], 1_000u64),
            Some((i, 'm' | 'M')) => (&t[..i], 1_000_000),
            Some((i, 'g' | 'G')) => (&t[..i], 1_000_000_000),
            _ => (t, 1),
        };
        match num
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(mult))
        {
            Some(n) if n > 0 => Some(n),
            _ => {
                self.problem(
                    var,
                    "is not a positive token count (like 5000000, 5M or 500k)",
                );
                None
            }
        }
    }

    fn count(&mut self, var: &'static str, default: usize, max: usize) -> usize {
        let Some(raw) = self.get(var).map(str::to_string) else {
            return default;
        };
        match raw.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                self.problem(var, format!("is not a whole number between 1 and {max}"));
                default
            }
        }
    }

    fn expand_abs(&mut self, var: &'static str, raw: &str) -> PathBuf {
        let expanded = match (raw.strip_prefix("~/"), &self.home_dir) {
            (Some(rest), Some(h)) => h.join(rest),
            _ => PathBuf::from(raw),
        };
        if !expanded.is_absolute() {
            self.problem(var, "must be an absolute path");
        }
        expanded
    }

    fn abs_path(&mut self, var: &'static str, default: &str) -> PathBuf {
        let raw = self.get(var).unwrap_or(default).to_string();
        self.expand_abs(var, &raw)
    }

    fn check_rig_url(&mut self, url: &str) {
        let remote = ["https://", "http://", "ssh://", "git@", "s3://", "file:///"];
        if url.starts_with('/') || remote.iter().any(|p| url.starts_with(p)) {
            return;
        }
        self.problem(
            "GT_RIG_URL",
            "must be an absolute path or a remote git URL (https://, ssh://, git@host:, file:///abs)",
        );
    }

    fn check_rig_name(&mut self, name: &str) {
        // gt's own rule: no `-`, `.`, spaces or slashes; `hq` is the town's.
        if name.is_empty()
            || name == "hq"
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.problem(
                "GT_RIG_NAME",
                "is not a valid rig name (letters, digits and _ only; `hq` is reserved)",
            );
        }
    }
}

/// `chat_id` or `chat_id/thread_id` (a forum topic).
fn parse_chat_target(item: &str) -> Result<ChatTarget, String> {
    let (chat, thread) = match item.split_once('/') {
        Some((c, t)) => (c, Some(t)),
        None => (item, None),
    };
    let chat_id = match chat.parse::<i64>() {
        Ok(id) if id != 0 => id,
        _ => return Err("holds an item that is not a chat id or chat_id/thread_id".into()),
    };
    let thread_id = match thread.map(|t| t.parse::<i32>()) {
        None => None,
        Some(Ok(t)) if t > 1 => Some(t),
        Some(_) => {
            return Err("holds a thread id that is not a forum topic id greater than 1 (the General topic takes no thread id)".into());
        }
    };
    Ok(ChatTarget { chat_id, thread_id })
}

/// `owner/name` from a GitHub remote (`https://github.com/o/n(.git)`,
/// `git@github.com:o/n.git`, `ssh://git@github.com/o/n.git`); `None` for
/// anything not on github.com.
pub fn github_repo_from_remote(url: &str) -> Option<String> {
    let rest = [
        "https://github.com/",
        "http://github.com/",
        "ssh://git@github.com/",
        "git@github.com:",
    ]
    .iter()
    .find_map(|p| url.strip_prefix(p))?;
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    valid_repo(rest).then(|| rest.to_string())
}

/// `owner/name` with GitHub's characters.
fn valid_repo(s: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(s.split_once('/'), Some((o, n)) if ok(o) && ok(n) && !n.contains('/'))
}

/// Parses `300`, `300s`, `5m`, `1h30m` …
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    humantime::parse_duration(raw).ok()
}

#[cfg(test)]
mod tests;

pub mod users;
