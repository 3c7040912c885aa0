//! OpenClaw (the overseer): `openclaw.json`, validation, doctor, skills, and
//! the gateway as a supervised foreground child.
//!
//! Traps (openclaw.md §8): `gateway start` is service management and starts
//! nothing in a container, so gasclaw runs `gateway run` itself; `/health`
//! can be an SPA page with status 200 on old builds, so the body is parsed;
//! the schema is strict and changes between releases, so gasclaw writes the
//! minimum and validates it with the real program; `doctor --repair` rewrites
//! the file (it was seen widening `tools.profile` to `full`), so gasclaw
//! re-asserts the keys it owns afterwards; the gateway picks up
//! `TELEGRAM_BOT_TOKEN` from its environment, so that is never passed on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use super::StackError;
use super::exec::{self, Invocation, Runner};

/// The model the overseer uses.
pub const PROVIDER_ID: &str = "kimi-code";
pub const MODEL_ID: &str = "kimi-for-coding";
/// `gateway.log` is rotated past this size (one older file is kept).
pub const GATEWAY_LOG_MAX: u64 = 10 * 1024 * 1024;

/// OpenClaw's Telegram channel, only when given its own bot token.
#[derive(Clone)]
pub struct TelegramChannel {
    pub bot_token: SecretString,
    pub owner_id: u64,
}

/// Everything `openclaw.json` is written from.
#[derive(Clone)]
pub struct OverseerSettings {
    pub gateway_port: u16,
    pub gateway_token: SecretString,
    /// Where the overseer's model requests go (gasclaw's proxy, or Kimi).
    pub provider_base_url: String,
    pub provider_api_key: SecretString,
    pub workspace: PathBuf,
    pub telegram: Option<TelegramChannel>,
    /// `OVERSEER_EXEC=full`: unrestricted shell. Off by default.
    pub exec_full: bool,
}

impl std::fmt::Debug for OverseerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverseerSettings")
            .field("gateway_port", &self.gateway_port)
            .field("provider_base_url", &self.provider_base_url)
            .field("workspace", &self.workspace)
            .field("telegram", &self.telegram.is_some())
            .field("exec_full", &self.exec_full)
            .finish_non_exhaustive()
    }
}

/// The keys gasclaw owns, as JSON.
pub fn owned_config(s: &OverseerSettings) -> Map<String, Value> {
    let telegram = match &s.telegram {
        // Owner-only: DMs from the owner, groups closed.
        Some(t) => json!({
            "enabled": true,
            "botToken": t.bot_token.expose_secret(),
            "dmPolicy": "allowlist",
            "allowFrom": [t.owner_id.to_string()],
            "groupPolicy": "disabled",
        }),
        // Off: gasclaw's bot owns the operators' token (one poller per token).
        None => json!({ "enabled": false }),
    };
    let exec = if s.exec_full {
        json!({ "mode": "full" })
    } else {
        // Only allowlisted commands run; nothing is asked (no human is
        // watching the gateway's prompts).
        json!({ "mode": "allowlist" })
    };
    let base_url = s.provider_base_url.trim_end_matches('/').to_string();
    let v = json!({
        "gateway": {
            "mode": "local",
            "port": s.gateway_port,
            "bind": "loopback",
            "auth": { "mode": "token", "token": s.gateway_token.expose_secret() },
            "controlUi": { "enabled": false },
            "http": { "endpoints": { "chatCompletions": { "enabled": true } } },
        },
        "models": {
            "mode": "merge",
            "providers": {
                PROVIDER_ID: {
                    "baseUrl": base_url,
                    "apiKey": s.provider_api_key.expose_secret(),
                    "api": "anthropic-messages",
                    "models": [{
                        "id": MODEL_ID,
                        "name": "Kimi For Coding",
                        "reasoning": true,
                        "input": ["text"],
                        "cost": { "input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0 },
                        "contextWindow": 262144,
                        "maxTokens": 32768,
                    }],
                },
            },
        },
        "agents": {
            "defaults": {
                "model": { "primary": format!("{PROVIDER_ID}/{MODEL_ID}") },
                "workspace": s.workspace.display().to_string(),
            },
            "entries": { "main": { "identity": { "name": "Gasclaw Overseer", "emoji": "🏭" } } },
        },
        "channels": { "telegram": telegram },
        "tools": { "profile": if s.exec_full { "full" } else { "minimal" }, "exec": exec },
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The result of `openclaw config validate --json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    pub valid: bool,
    /// `path: message` for each issue.
    pub issues: Vec<String>,
    pub warnings: Vec<String>,
}

/// What `openclaw doctor` reported; never fatal.
#[derive(Debug, Clone)]
pub struct DoctorReport {
    pub exit_code: Option<i32>,
    /// The findings, boxes and ANSI stripped, bounded.
    pub findings: Vec<String>,
}

/// Why the overseer did not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChatError {
    #[error("the gateway is not running")]
    Down,
    #[error("no answer within {}s", .0.as_secs())]
    Timeout(Duration),
    #[error("the gateway answered {0}: {1}")]
    Status(u16, String),
    #[error("{0}")]
    Failed(String),
}

/// What `/readyz` says before a question is relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readiness {
    Ready,
    Starting,
    Down,
    Unknown,
}

/// The gateway's liveness as `/health` tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayHealth {
    Live,
    /// Something answered, but not the gateway's JSON.
    Wrong(String),
    Down(String),
}

/// The overseer side of the stack.
#[derive(Debug, Clone)]
pub struct Openclaw {
    runner: Runner,
    /// `~/.openclaw` (OpenClaw's state dir).
    state_dir: PathBuf,
    /// Where the gateway's pid file and log live (gasclaw's home).
    run_dir: PathBuf,
    port: u16,
    http: reqwest::Client,
    /// gasclaw's overseer endpoint and the overseer's own token, given to
    /// the gateway's environment: its skills' scripts read them there.
    api: (String, SecretString),
    /// The endpoint's address once bound (a configured port 0 is known
    /// only then); wins over the URL given to `new`.
    api_url: std::sync::OnceLock<String>,
}

impl Openclaw {
    /// `api_url` and `api_token`: where the skills reach gasclaw
    /// (`GASCLAW_API_URL`) and with which token (`GASCLAW_API_TOKEN`).
    pub fn new(
        runner: Runner,
        state_dir: PathBuf,
        run_dir: PathBuf,
        port: u16,
        api_url: String,
        api_token: SecretString,
    ) -> Openclaw {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .no_proxy()
            .build()
            .unwrap_or_default();
        Openclaw {
            runner,
            state_dir,
            run_dir,
            port,
            http,
            api: (api_url, api_token),
            api_url: std::sync::OnceLock::new(),
        }
    }

    /// The endpoint's bound URL (before the gateway is started).
    pub fn set_api_url(&self, url: String) {
        let _ = self.api_url.set(url);
    }

    pub fn config_path(&self) -> PathBuf {
        self.state_dir.join("openclaw.json")
    }

    pub fn skills_dir(&self) -> PathBuf {
        self.state_dir.join("skills")
    }

    fn openclaw(&self, timeout: Duration) -> Invocation {
        // Before the first bootstrap the state directory does not exist yet,
        // and a missing cwd would fail every call (even `--version`).
        if !self.state_dir.exists()
            && let Err(e) = crate::fsutil::ensure_dir(&self.state_dir, 0o700)
                .and_then(|()| self.runner.hand_over(&self.state_dir))
        {
            tracing::warn!(dir = %self.state_dir.display(), error = %e, "cannot create OpenClaw's state directory");
        }
        Invocation::new("openclaw", timeout)
            // A controlled cwd: OpenClaw reads `./.env` from its cwd.
            .cwd(&self.state_dir)
            .env("OPENCLAW_STATE_DIR", &self.state_dir)
            .env("OPENCLAW_CONFIG_PATH", self.config_path())
            // Never let it pick up gasclaw's bot token (one poller per token).
            .env_remove("TELEGRAM_BOT_TOKEN")
            .env("NO_COLOR", "1")
    }

    /// Writes the owned keys, keeping every other key already in the file.
    /// Returns whether the file changed.
    pub fn write_config(&self, s: &OverseerSettings) -> Result<bool, StackError> {
        let path = self.config_path();
        let mut root = match std::fs::read_to_string(&path) {
            // The file is JSON5 in general; gasclaw writes plain JSON, and a
            // file it cannot parse is replaced with its own.
            Ok(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            },
            Err(_) => Map::new(),
        };
        for (k, v) in owned_config(s) {
            root.insert(k, v);
        }
        crate::fsutil::ensure_dir(&self.state_dir, 0o700)
            .and_then(|()| self.runner.hand_over(&self.state_dir))
            .map_err(|e| StackError::io(format!("creating {}", self.state_dir.display()), e))?;
        // The gateway and doctor (the stack's uid) read and rewrite it.
        crate::fsutil::write_json_if_changed(
            &path,
            &Value::Object(root),
            crate::fsutil::SECRET_MODE,
        )
        .and_then(|changed| self.runner.hand_over(&path).map(|()| changed))
        .map_err(|e| StackError::io(format!("writing {}", path.display()), e))
    }

    /// Which owned keys differ from what `s` would write (drift detection).
    pub fn drift(&self, s: &OverseerSettings) -> Vec<String> {
        let current: Map<String, Value> = std::fs::read_to_string(self.config_path())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let mut out = Vec::new();
        for (k, v) in owned_config(s) {
            diff_paths(&k, current.get(&k), Some(&v), &mut out);
        }
        out
    }

    /// `openclaw config validate --json`.
    pub async fn validate(&self) -> Result<Validation, StackError> {
        let out = self
            .runner
            .run(
                &self
                    .openclaw(Duration::from_secs(60))
                    .args(["config", "validate", "--json"]),
            )
            .await?;
        parse_validation(&out.stdout).ok_or_else(|| StackError::Unexpected {
            program: "openclaw",
            detail: format!("config validate --json: {}", out.error_message()),
        })
    }

    /// `openclaw doctor --repair --non-interactive`: a report, never fatal.
    pub async fn doctor(&self) -> Result<DoctorReport, StackError> {
        let out = self
            .runner
            .run(&self.openclaw(Duration::from_secs(90)).args([
                "doctor",
                "--repair",
                "--non-interactive",
            ]))
            .await?;
        let mut findings: Vec<String> = out
            .stdout
            .lines()
            .chain(out.stderr.lines())
            .map(clean_line)
            .filter(|l| !l.is_empty())
            .collect();
        findings.truncate(60);
        Ok(DoctorReport {
            exit_code: out.code,
            findings,
        })
    }

    /// Copies the embedded skills into `~/.openclaw/skills`, writing only
    /// files that changed; scripts get their run bits. Returns the changed
    /// paths (relative).
    pub fn install_skills(&self, skills: &include_dir::Dir<'_>) -> Result<Vec<String>, StackError> {
        let root = self.skills_dir();
        let mut changed = Vec::new();
        install_dir(skills, &root, &mut changed)?;
        self.runner
            .hand_over_tree(&root)
            .map_err(|e| StackError::io(format!("handing {} to STACK_USER", root.display()), e))?;
        Ok(changed)
    }

    fn pid_file(&self) -> PathBuf {
        self.run_dir.join("gateway.pid")
    }

    pub fn log_file(&self) -> PathBuf {
        self.run_dir.join("logs/gateway.log")
    }

    /// Caps `gateway.log` at [`GATEWAY_LOG_MAX`] (one older file kept as
    /// `gateway.log.1`): at each start of the gateway and each monitor
    /// cycle.
    pub fn rotate_log(&self) -> std::io::Result<bool> {
        let rotated = crate::fsutil::rotate_log(&self.log_file(), GATEWAY_LOG_MAX)?;
        if rotated {
            tracing::info!(
                max_bytes = GATEWAY_LOG_MAX,
                "gateway.log rotated to gateway.log.1"
            );
        }
        Ok(rotated)
    }

    /// The pid of the gateway gasclaw started, if it still runs.
    pub fn gateway_pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        // The pid must still be ours: alive, and an OpenClaw process (the
        // gateway renames itself `openclaw-gateway`).
        if exec::pid_alive(pid) && exec::pid_cmdline(pid).is_some_and(|c| c.contains("openclaw")) {
            Some(pid)
        } else {
            None
        }
    }

    /// Starts `openclaw gateway run` detached in its own process group.
    pub fn spawn_gateway(&self) -> Result<u32, StackError> {
        let inv = self.openclaw(Duration::ZERO).args([
            "gateway",
            "run",
            "--port",
            &self.port.to_string(),
            "--bind",
            "loopback",
        ]);
        // The overseer's skills reach gasclaw over its local endpoint with
        // their own token, never by running the gasclaw binary.
        let (url, token) = &self.api;
        let inv = inv
            .env("GASCLAW_API_URL", self.api_url.get().unwrap_or(url))
            .env("GASCLAW_API_TOKEN", token.expose_secret());
        if let Err(e) = self.rotate_log() {
            tracing::warn!(error = %e, "could not rotate the gateway log");
        }
        let pid = self.runner.spawn_detached(&inv, &self.log_file())?;
        crate::fsutil::atomic_write(&self.pid_file(), format!("{pid}\n").as_bytes(), 0o644)
            .map_err(|e| StackError::io("writing the gateway pid file", e))?;
        Ok(pid)
    }

    /// Stops the gateway gasclaw started: SIGTERM to its group, then SIGKILL
    /// after `grace`. Returns whether one was running.
    pub async fn stop_gateway(&self, grace: Duration) -> bool {
        let Some(pid) = self.gateway_pid() else {
            let _ = std::fs::remove_file(self.pid_file());
            return false;
        };
        exec::signal_group(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = tokio::time::Instant::now() + grace;
        while exec::pid_alive(pid) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Its workers share the group: take them down too.
        exec::signal_group(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = std::fs::remove_file(self.pid_file());
        true
    }

    /// `GET /health` must answer `{"ok":true,…}` as JSON.
    pub async fn health(&self) -> GatewayHealth {
        let url = format!("http://127.0.0.1:{}/health", self.port);
        let resp = match self.http.get(&url).send().await {
            Ok(r) => r,
            Err(e) => return GatewayHealth::Down(describe_reqwest(&e)),
        };
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp.text().await.unwrap_or_default();
        match serde_json::from_str::<Value>(&body) {
            Ok(v) if status.is_success() && v.get("ok") == Some(&Value::Bool(true)) => {
                GatewayHealth::Live
            }
            _ => GatewayHealth::Wrong(format!(
                "/health answered {status} {} instead of {{\"ok\":true}}",
                if ctype.is_empty() {
                    "(no content type)".into()
                } else {
                    ctype
                }
            )),
        }
    }

    /// `GET /readyz`: `Some(true)` when ready, `Some(false)` while starting.
    pub async fn ready(&self) -> Option<bool> {
        let url = format!("http://127.0.0.1:{}/readyz", self.port);
        let body = self.http.get(&url).send().await.ok()?.text().await.ok()?;
        serde_json::from_str::<Value>(&body)
            .ok()?
            .get("ready")?
            .as_bool()
    }

    /// `GET /readyz`, telling a gateway that is not running from one that
    /// is still starting.
    async fn ready_or_down(&self) -> Readiness {
        let url = format!("http://127.0.0.1:{}/readyz", self.port);
        let resp = match self.http.get(&url).send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Readiness::Down,
            Err(_) => return Readiness::Unknown,
        };
        let body = resp.text().await.unwrap_or_default();
        match serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("ready")?.as_bool())
        {
            Some(true) => Readiness::Ready,
            Some(false) => Readiness::Starting,
            None => Readiness::Unknown,
        }
    }

    /// Adds `pattern` to the main agent's exec allowlist (the least tool
    /// permission that lets the overseer run the gasclaw CLI). Returns
    /// whether it was new.
    pub async fn allowlist(&self, pattern: &str) -> Result<bool, StackError> {
        let out = self
            .runner
            .run_ok(&self.openclaw(Duration::from_secs(60)).args([
                "approvals",
                "allowlist",
                "add",
                pattern,
                "--agent",
                "main",
            ]))
            .await?;
        Ok(!out.stdout.contains("Already allowlisted"))
    }

    /// Removes `pattern` from every agent's exec allowlist.
    pub async fn allowlist_remove(&self, pattern: &str) -> Result<(), StackError> {
        self.runner
            .run_ok(&self.openclaw(Duration::from_secs(60)).args([
                "approvals",
                "allowlist",
                "remove",
                pattern,
            ]))
            .await?;
        Ok(())
    }

    /// One exchange with the overseer through the gateway's
    /// OpenAI-compatible endpoint; `user` keeps a conversation per chat.
    pub async fn chat(
        &self,
        token: &SecretString,
        user: &str,
        text: &str,
        timeout: Duration,
    ) -> Result<String, ChatError> {
        let started = tokio::time::Instant::now();
        // Never before `/readyz` says ready: a gateway still starting its
        // sidecars replaces the auth it admitted a request under, and a
        // request spanning that change is refused 401 with the right token
        // (OpenClaw 2026.9.6 `gateway/http-auth-utils`: `revalidate` after
        // the body is read). The wait counts against the question's budget.
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            let Ok(readiness) = tokio::time::timeout(left, self.ready_or_down()).await else {
                return Err(ChatError::Timeout(timeout));
            };
            match readiness {
                Readiness::Down => return Err(ChatError::Down),
                Readiness::Starting if started.elapsed() < timeout => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Readiness::Starting => return Err(ChatError::Timeout(timeout)),
                // An unreadable answer is left to the question itself.
                Readiness::Ready | Readiness::Unknown => break,
            }
        }
        let left = timeout.saturating_sub(started.elapsed());
        let url = format!("http://127.0.0.1:{}/v1/chat/completions", self.port);
        let body = json!({"model": "openclaw", "messages": [{"role": "user", "content": text}], "user": user});
        // One shared client (building one per call costs milliseconds).
        let send = self
            .http
            .post(&url)
            .timeout(left)
            .bearer_auth(token.expose_secret())
            .json(&body)
            .send();
        let resp = match tokio::time::timeout(left, send).await {
            Err(_) => return Err(ChatError::Timeout(timeout)),
            Ok(Err(e)) if e.is_connect() => return Err(ChatError::Down),
            Ok(Err(e)) if e.is_timeout() => return Err(ChatError::Timeout(timeout)),
            Ok(Err(e)) => return Err(ChatError::Failed(describe_reqwest(&e))),
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        let text = match tokio::time::timeout(left, resp.text()).await {
            Err(_) => return Err(ChatError::Timeout(timeout)),
            Ok(Err(e)) if e.is_timeout() => return Err(ChatError::Timeout(timeout)),
            Ok(Err(e)) => return Err(ChatError::Failed(describe_reqwest(&e))),
            Ok(Ok(t)) => t,
        };
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let msg = v["error"]["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| text.chars().take(200).collect());
            return Err(ChatError::Status(status.as_u16(), msg));
        }
        v["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ChatError::Failed("the answer had no message content".into()))
    }

    pub async fn version(&self, timeout: Duration) -> Result<String, StackError> {
        let out = self
            .runner
            .run_ok(&self.openclaw(timeout).arg("--version"))
            .await?;
        super::parse_semver(&out.stdout).ok_or_else(|| StackError::Unexpected {
            program: "openclaw",
            detail: format!("--version printed {:?}", out.stdout.trim()),
        })
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused".into()
    } else if e.is_timeout() {
        "no answer within 3s".into()
    } else {
        e.to_string()
    }
}

fn install_dir(
    dir: &include_dir::Dir<'_>,
    root: &Path,
    changed: &mut Vec<String>,
) -> Result<(), StackError> {
    for f in dir.files() {
        let rel = f.path();
        let dest = root.join(rel);
        // Scripts keep their run bits (the embedded copy has no modes).
        let executable =
            rel.components().any(|c| c.as_os_str() == "scripts") || f.contents().starts_with(b"#!");
        let mode = if executable { 0o755 } else { 0o644 };
        if crate::fsutil::write_if_changed(&dest, f.contents(), mode)
            .map_err(|e| StackError::io(format!("installing {}", dest.display()), e))?
        {
            changed.push(rel.display().to_string());
        }
    }
    for d in dir.dirs() {
        install_dir(d, root, changed)?;
    }
    Ok(())
}

/// Parses `config validate --json` (valid: `{"valid":true,…,"warnings":[…]}`;
/// invalid: `{"valid":false,…,"issues":[{"path","message"}]}`).
pub fn parse_validation(stdout: &str) -> Option<Validation> {
    let v: Value = serde_json::from_str(stdout.trim()).ok()?;
    let valid = v.get("valid")?.as_bool()?;
    let list = |key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|i| {
                        match (
                            i.get("path").and_then(Value::as_str),
                            i.get("message").and_then(Value::as_str),
                        ) {
                            (Some(p), Some(m)) => format!("{p}: {m}"),
                            _ => i.to_string(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut issues = list("issues");
    issues.extend(list("errors"));
    Some(Validation {
        valid,
        issues,
        warnings: list("warnings"),
    })
}

/// Strips ANSI codes and box-drawing decoration from a doctor line.
fn clean_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip a CSI sequence.
            if chars.peek() == Some(&'[') {
                chars.next();
                for c2 in chars.by_ref() {
                    if c2.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out.trim_matches(|c: char| c.is_whitespace() || "│├╮╯╰╭─◇└┌".contains(c))
        .to_string()
}

fn diff_paths(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                diff_paths(&format!("{path}.{k}"), x.get(k), y.get(k), out);
            }
        }
        (x, y) if x != y => out.push(path.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OverseerSettings {
        OverseerSettings {
            gateway_port: 18789,
            gateway_token: SecretString::from("gw-token-0123456789"),
            provider_base_url: "http://127.0.0.1:18790/".into(),
            provider_api_key: SecretString::from("local-token-abc"),
            workspace: PathBuf::from("/x/overseer"),
            telegram: None,
            exec_full: false,
        }
    }

    #[test]
    fn telegram_channel_is_off_without_its_own_token() {
        let c = owned_config(&settings());
        assert_eq!(c["channels"]["telegram"], json!({"enabled": false}));
        assert_eq!(c["gateway"]["bind"], "loopback");
        assert_eq!(c["gateway"]["mode"], "local");
        assert_eq!(c["tools"]["exec"]["mode"], "allowlist");
        assert_eq!(
            c["models"]["providers"]["kimi-code"]["baseUrl"],
            "http://127.0.0.1:18790"
        );
        // The seed's invalid `streaming: "off"` is never written.
        assert!(c["channels"]["telegram"].get("streaming").is_none());
    }

    #[test]
    fn owner_only_channel_with_a_separate_token() {
        let mut s = settings();
        s.telegram = Some(TelegramChannel {
            bot_token: SecretString::from("999:other"),
            owner_id: 42,
        });
        let c = owned_config(&s);
        assert_eq!(c["channels"]["telegram"]["dmPolicy"], "allowlist");
        assert_eq!(c["channels"]["telegram"]["allowFrom"], json!(["42"]));
        assert_eq!(c["channels"]["telegram"]["groupPolicy"], "disabled");
    }

    #[test]
    fn write_keeps_foreign_keys_and_detects_drift() {
        let dir = tempfile::tempdir().unwrap();
        let oc = Openclaw::new(
            Runner::new(Default::default(), &[]),
            dir.path().join(".openclaw"),
            dir.path().join("home"),
            18789,
            "http://127.0.0.1:18790".into(),
            SecretString::from("overseer-api-token"),
        );
        assert!(oc.write_config(&settings()).unwrap());
        assert!(!oc.write_config(&settings()).unwrap());
        assert!(oc.drift(&settings()).is_empty());
        // Simulate doctor: widen the tool profile and add its own keys.
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(oc.config_path()).unwrap()).unwrap();
        v["tools"]["profile"] = json!("full");
        v["meta"] = json!({"lastTouchedVersion": "2026.9.6"});
        std::fs::write(oc.config_path(), v.to_string()).unwrap();
        assert_eq!(oc.drift(&settings()), ["tools.profile"]);
        assert!(oc.write_config(&settings()).unwrap());
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(oc.config_path()).unwrap()).unwrap();
        assert_eq!(v["tools"]["profile"], "minimal");
        assert_eq!(v["meta"]["lastTouchedVersion"], "2026.9.6");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(oc.config_path())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }

    #[test]
    fn validation_shapes() {
        let ok = parse_validation(r#"{"valid":true,"path":"/x","warnings":[]}"#).unwrap();
        assert!(ok.valid && ok.issues.is_empty());
        let bad = parse_validation(
            r#"{"ok":false,"valid":false,"path":"/x","issues":[{"path":"<root>","message":"Unrecognized key: \"bogus\""}]}"#,
        )
        .unwrap();
        assert!(!bad.valid);
        assert_eq!(bad.issues, [r#"<root>: Unrecognized key: "bogus""#]);
    }

    #[test]
    fn doctor_lines_are_cleaned() {
        assert_eq!(
            clean_line("│  Create heartbeat monitor.  │"),
            "Create heartbeat monitor."
        );
        assert_eq!(clean_line("\u{1b}[36m◇  Gateway ───╮"), "Gateway");
    }
}
