//! The offline demo: the real bot and core, with no configuration.
//!
//! An in-process fake Telegram Bot API and fake Kimi upstream, the fake
//! stack from `tests/fakes/` on PATH, and the real `gasclaw run` as a child
//! process pointed at them, in a throw-away directory. The person at the
//! terminal chats as the owner: each line typed is a message, the bot's
//! replies print as they arrive, buttons as numbered choices. Meanwhile the
//! town works on a compressed clock (commits, handoffs, beads, an
//! escalation, a merge, a crash, a stuck witness) so its news shows within
//! a minute.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use gasclaw_fakes::bot_api::updates::{self, Chat, User};
use gasclaw_fakes::bot_api::{FakeBotApi, FakeOptions, parse_html};
use gasclaw_fakes::kimi::FakeKimi;

const OWNER: u64 = 1000;
const TOKEN: &str = "4242424242:AAHdemoTOKENdemoTOKENdemoTOKEN_demo";

/// Where the fake stack lives: the source tree this binary was built from,
/// or `GASCLAW_FAKES`.
fn fakes_dir() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("GASCLAW_FAKES") {
        return Ok(PathBuf::from(p));
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fakes/bin");
    if built.join("gt").exists() {
        return Ok(built);
    }
    bail!(
        "the demo needs the fake stack from the source tree (tests/fakes/bin); set GASCLAW_FAKES to its path"
    )
}

/// Four distinct free loopback ports (all held until all are chosen).
fn free_ports() -> anyhow::Result<[u16; 4]> {
    let held = [
        std::net::TcpListener::bind("127.0.0.1:0")?,
        std::net::TcpListener::bind("127.0.0.1:0")?,
        std::net::TcpListener::bind("127.0.0.1:0")?,
        std::net::TcpListener::bind("127.0.0.1:0")?,
    ];
    Ok([
        held[0].local_addr()?.port(),
        held[1].local_addr()?.port(),
        held[2].local_addr()?.port(),
        held[3].local_addr()?.port(),
    ])
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let ok = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "demo")
        .env("GIT_AUTHOR_EMAIL", "demo@localhost")
        .env("GIT_COMMITTER_NAME", "demo")
        .env("GIT_COMMITTER_EMAIL", "demo@localhost")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running git (the demo's project is a git repository)")?
        .success();
    if !ok {
        bail!("git {args:?} failed");
    }
    Ok(())
}

/// Runs a fake stack program (`gt`, `bd`) as an agent of the town would,
/// quietly; a failure only shows in the demo's own log.
fn town_tool(env: &BTreeMap<String, String>, town: &Path, role: &str, argv: &[&str]) {
    let _ = std::process::Command::new(argv[0])
        .args(&argv[1..])
        .env_clear()
        .envs(env)
        .env("GT_ROLE", role)
        .env("BEADS_DIR", town.join(".beads"))
        .current_dir(town)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The town at work, a minute for a day: polecats commit, hand off and
/// finish beads; one escalates, the refinery merges, a session crashes,
/// the witness gets stuck —
/// what gasclaw announces in the chat (and `gasclaw events` prints).
async fn town_life(env: BTreeMap<String, String>, town: PathBuf, project: PathBuf) {
    // Up when bootstrap has made the town's beads and gasclaw follows its
    // event log (its cursor is saved).
    let cursor = env
        .get("GASCLAW_HOME")
        .map(|h| Path::new(h).join("events-cursor.json"));
    while !town.join(".beads/metadata.json").exists()
        || cursor.as_ref().is_some_and(|c| !c.exists())
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let once: [(&str, &[&str]); 3] = [
        (
            "project/Toast",
            &[
                "gt",
                "escalate",
                "-s",
                "high",
                "--source",
                "tests",
                "Tests fail on main after the parser change; need a decision",
            ],
        ),
        (
            "project/refinery",
            &[
                "gt",
                "activity",
                "emit",
                "merged",
                "--rig",
                "project",
                "--target",
                "polecat/Toast",
            ],
        ),
        (
            "deacon",
            &[
                "gt",
                "activity",
                "emit",
                "session_death",
                "--rig",
                "project",
                "--polecat",
                "Nux",
                "--reason",
                "crashed with exit code 1",
            ],
        ),
    ];
    let mut step = 0u64;
    loop {
        let (env, town, project) = (env.clone(), town.clone(), project.clone());
        let n = step;
        let _ = tokio::task::spawn_blocking(move || {
            let polecat = ["Toast", "Nux", "Slit"][(n % 3) as usize];
            let role = format!("project/{polecat}");
            let _ = git(
                &project,
                &[
                    "commit",
                    "-q",
                    "--allow-empty",
                    "-m",
                    &format!("{polecat}: step {n}"),
                ],
            );
            town_tool(
                &env,
                &town,
                &role,
                &["gt", "activity", "emit", "handoff", "--actor", &role],
            );
            let title = format!("Demo task {n} ({polecat})");
            town_tool(&env, &town, &role, &["bd", "create", &title, "--silent"]);
            if let Some((who, argv)) = once.get(n as usize) {
                town_tool(&env, &town, who, argv);
            }
            // The witness gets stuck: work on its hook, its bead untouched
            // for 40 minutes (the fake's AGENT_HOOK knob), so the next
            // monitor cycle alerts it with Peek, Nudge and Restart.
            if n == 1
                && let Some(dir) = env.get("FAKE_STACK_DIR")
            {
                let faults = Path::new(dir).join("faults");
                let _ = std::fs::create_dir_all(&faults).and_then(|()| {
                    std::fs::write(
                        faults.join("AGENT_HOOK"),
                        "pr-project-witness=hq-demo1@2400",
                    )
                });
            }
        })
        .await;
        step += 1;
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
}

/// The `gasclaw` binary the demo runs: `GASCLAW_BIN`, or the one beside
/// this binary — built first when the demo runs under `cargo run`, so the
/// README's one command is enough on a fresh clone.
fn gasclaw_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("GASCLAW_BIN") {
        return Ok(PathBuf::from(p));
    }
    let beside = std::env::current_exe()?.with_file_name("gasclaw");
    if let Some(cargo) = std::env::var_os("CARGO") {
        let profile = if cfg!(debug_assertions) {
            None
        } else {
            Some("--release")
        };
        let ok = std::process::Command::new(cargo)
            .args([
                "build", "--quiet", "--locked", "-p", "gasclaw", "--bin", "gasclaw",
            ])
            .args(profile)
            .status()
            .context("building gasclaw for the demo")?
            .success();
        if !ok {
            bail!("building gasclaw for the demo failed");
        }
    }
    if !beside.exists() {
        bail!(
            "the demo runs the gasclaw binary beside it ({}); build it (cargo build) or set GASCLAW_BIN",
            beside.display()
        );
    }
    Ok(beside)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gasclaw demo: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let fakes = fakes_dir()?;
    let gasclaw = gasclaw_bin()?;
    let dir = tempfile::Builder::new().prefix("gasclaw-demo-").tempdir()?;
    let root = dir.path();
    let home = root.join("home");
    let project = root.join("project");
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(&project)?;
    git(&project, &["init", "-q"])?;
    git(
        &project,
        &["commit", "-q", "--allow-empty", "-m", "demo project"],
    )?;

    let tg = FakeBotApi::start(FakeOptions {
        token: TOKEN.into(),
        ..Default::default()
    })
    .await?;
    let kimi = FakeKimi::start().await?;
    let ports = free_ports()?;
    let mut env: BTreeMap<&str, String> = BTreeMap::new();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", fakes.display());
    for (k, v) in [
        ("HOME", home.display().to_string()),
        ("PATH", path),
        ("LANG", "C.UTF-8".into()),
        (
            "GASTOWN_KIMI_KEYS",
            "sk-kimi-demo-agent-key-000000000001:sk-kimi-demo-agent-key-000000000002".into(),
        ),
        (
            "OPENCLAW_KIMI_KEY",
            "sk-kimi-demo-overseer-key-0000000009".into(),
        ),
        ("TELEGRAM_BOT_TOKEN", TOKEN.into()),
        ("TELEGRAM_OWNER_ID", OWNER.to_string()),
        ("TELEGRAM_API_URL", tg.url()),
        ("KIMI_BASE_URL", kimi.base_url()),
        ("GT_ROOT", root.join("town").display().to_string()),
        ("GT_RIG_URL", project.display().to_string()),
        ("PROJECT_DIR", project.display().to_string()),
        ("GT_AGENT_COUNT", "3".into()),
        ("DOLT_PORT", ports[0].to_string()),
        ("GATEWAY_PORT", ports[1].to_string()),
        ("KIMI_PROXY_PORT", ports[2].to_string()),
        ("GASCLAW_HTTP_ADDR", format!("127.0.0.1:{}", ports[3])),
        ("GASCLAW_HOME", home.join(".gasclaw").display().to_string()),
        (
            "FAKE_STACK_DIR",
            root.join("fake-stack").display().to_string(),
        ),
        // A compressed clock: a check every 10 s, alerts grouped over 3 s.
        ("MONITOR_INTERVAL", "10".into()),
        ("ALERT_GROUP_WAIT", "3".into()),
        ("LOG_LEVEL", "info".into()),
    ] {
        env.insert(k, v);
    }
    let log = std::fs::File::create(root.join("gasclaw.log"))?;
    let mut child = tokio::process::Command::new(&gasclaw)
        .arg("run")
        .env_clear()
        .envs(&env)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("starting gasclaw run")?;

    // The town lives on a compressed clock once it is up.
    let life = tokio::spawn(town_life(
        env.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        root.join("town"),
        project.clone(),
    ));

    println!("gasclaw demo: the real bot and core on a fake stack, offline.");
    println!("You are the owner (Telegram id {OWNER}). Type /help, /status, /restart mayor …");
    println!("Buttons show as [1] [2]: type the number to press. Ctrl-D or /quit ends the demo.");
    println!(
        "(gasclaw's own log: {})\n",
        root.join("gasclaw.log").display()
    );

    let me = User::new(OWNER, "Owner");
    let chat = Chat::private(&me);
    let mut calls = tg.subscribe();
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    // The last message with buttons: (message JSON, [(label, data)]).
    let mut buttons: Option<(Value, Vec<(String, String)>)> = None;
    print!("> ");
    let _ = std::io::stdout().flush();
    loop {
        tokio::select! {
            call = calls.recv() => {
                let Ok(call) = call else { continue };
                if call.response_status != 200 || !matches!(call.method.as_str(), "sendmessage" | "editmessagetext") {
                    continue;
                }
                let edited = if call.method == "editmessagetext" { " (updated)" } else { "" };
                println!("\rgasclaw{edited}:\n{}\n", parse_html(call.text()).unwrap_or_else(|_| call.text().to_string()));
                if let Some(rows) = call.body["reply_markup"]["inline_keyboard"].as_array() {
                    let list: Vec<(String, String)> = rows
                        .iter()
                        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                        .map(|b| (b["text"].as_str().unwrap_or("").to_string(), b["callback_data"].as_str().unwrap_or("").to_string()))
                        .collect();
                    let shown: Vec<String> = list.iter().enumerate().map(|(i, (t, _))| format!("[{}] {t}", i + 1)).collect();
                    println!("{}\n", shown.join("  "));
                    let id = tg.sent_messages(chat.id()).last().map(|m| m.message_id).unwrap_or(0);
                    let msg = serde_json::json!({"message_id": id, "date": 1_767_300_000, "chat": chat.0, "text": call.text()});
                    buttons = Some((msg, list));
                }
                print!("> ");
                let _ = std::io::stdout().flush();
            }
            line = lines.next_line() => {
                let Ok(Some(line)) = line else { break };
                let line = line.trim().to_string();
                if line == "/quit" {
                    break;
                }
                if line.is_empty() {
                    print!("> ");
                    let _ = std::io::stdout().flush();
                    continue;
                }
                let pressed = line.parse::<usize>().ok().and_then(|n| buttons.as_ref().and_then(|(m, b)| b.get(n.wrapping_sub(1)).map(|(_, d)| (m.clone(), d.clone()))));
                match pressed {
                    Some((msg, data)) => {
                        tg.push_update(updates::callback(&me, &msg, &data));
                        buttons = None;
                    }
                    None => {
                        tg.push_update(updates::private_text(&me, &line));
                    }
                }
            }
            status = child.wait() => {
                println!("\ngasclaw run exited ({}); see {}", status.map(|s| s.to_string()).unwrap_or_default(), root.join("gasclaw.log").display());
                return Ok(());
            }
        }
    }
    life.abort();
    println!("\nstopping the demo…");
    if let Some(pid) = child.id() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    tg.stop();
    kimi.stop();
    Ok(())
}
