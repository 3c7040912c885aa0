//! The key pool through the real binary: `gasclaw run` serves the proxy the
//! agents are pointed at, real keys never reach an agent, `gasclaw keys`
//! reports the pools, and one process owns the key state.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::time::Duration;

use common::*;
use gasclaw_fakes::kimi::{FakeKimi, Reply};
use serde_json::Value;

const T: Duration = Duration::from_secs(120);

async fn start_run(env: &TestEnv) -> tokio::process::Child {
    let child = env.spawn(&["run"]);
    let settings = env.town.join("settings/config.json");
    // Up when the mayor (started last) runs.
    env.wait_until("gasclaw run to bootstrap", Duration::from_secs(60), || {
        settings.exists() && env.gt(&["mayor", "status", "--running"]).stdout.trim() == "true"
    })
    .await;
    child
}

async fn sigterm(mut child: tokio::process::Child) -> Option<i32> {
    let pid = child.id().expect("pid") as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("kill");
    tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("run exits after SIGTERM")
        .expect("wait")
        .code()
}

#[test]
fn agents_reach_the_model_only_through_the_proxy_and_rotate_on_429() {
    run_test(T, async {
        let kimi = FakeKimi::start().await.expect("fake kimi");
        kimi.script(
            AGENT_KEYS[0],
            "A",
            vec![Reply::RateLimited { retry_after: None }],
        );
        kimi.label(AGENT_KEYS[1], "B");
        kimi.label(OVERSEER_KEY, "O");
        let mut env = TestEnv::new();
        env.set("KIMI_BASE_URL", &kimi.base_url());
        let run = start_run(&env).await;

        // The agent definitions point at the proxy with local tokens.
        let settings = env.json(env.town.join("settings/config.json"));
        let agent_env = &settings["agents"]["kimi-claude"]["env"];
        assert_eq!(agent_env["ANTHROPIC_BASE_URL"], env.proxy_url());
        let token = agent_env["ANTHROPIC_AUTH_TOKEN"]
            .as_str()
            .expect("local token")
            .to_string();
        assert!(token.starts_with("gclt-"), "{token}");
        assert!(
            agent_env.get("ANTHROPIC_API_KEY").is_none(),
            "no key approval dialog: Bearer token only"
        );
        // The overseer's provider too.
        let oc = env.json(env.home.join(".openclaw/openclaw.json"));
        let provider = &oc["models"]["providers"]["kimi-code"];
        assert_eq!(provider["baseUrl"], env.proxy_url());
        assert!(
            provider["apiKey"]
                .as_str()
                .unwrap_or("")
                .starts_with("gclt-")
        );

        // The mayor (fake claude) runs with that environment and no real key.
        let runs_file = env.fake_dir.join("claude-runs.jsonl");
        env.wait_until(
            "the mayor's agent to start",
            Duration::from_secs(10),
            || runs_file.exists(),
        )
        .await;
        let runs = std::fs::read_to_string(&runs_file).expect("claude ran");
        let mayor: Value = serde_json::from_str(runs.lines().last().expect("a run")).expect("json");
        assert_eq!(mayor["env"]["ANTHROPIC_AUTH_TOKEN"], token.as_str());
        assert_eq!(mayor["env"]["IS_SANDBOX"], "1");
        for k in secrets() {
            assert!(
                !runs.contains(k),
                "a real secret reached an agent's environment"
            );
        }
        // Real keys are in no file at all.
        for k in AGENT_KEYS.iter().chain([&OVERSEER_KEY]) {
            assert!(
                env.files_containing(k).is_empty(),
                "{k} on disk: {:?}",
                env.files_containing(k)
            );
        }

        // An agent's request through the proxy: key A answers 429, B serves.
        let out = tokio::process::Command::new(repo_root().join("tests/fakes/bin/claude"))
            .args(["-p", "ping"])
            .env_clear()
            .envs(&env.vars)
            .env(
                "ANTHROPIC_BASE_URL",
                agent_env["ANTHROPIC_BASE_URL"].as_str().expect("url"),
            )
            .env("ANTHROPIC_AUTH_TOKEN", &token)
            .output()
            .await
            .expect("claude -p");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "FAKE-PONG");
        assert_eq!(kimi.keys_used(), ["A", "B"]);

        // `gasclaw keys --json` (read-only while run owns the state) shows it
        // once the coalesced write lands.
        let mut keys = Value::Null;
        for _ in 0..30 {
            let out = env.gasclaw(&["keys", "--json"], T).await;
            assert_eq!(out.code, Some(0), "{out:?}");
            keys = serde_json::from_str(&out.stdout).expect("keys json");
            if keys["agents"]["cooling"] == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(keys["agents"]["total"], 2, "{keys}");
        assert_eq!(keys["agents"]["available"], 1, "{keys}");
        assert_eq!(keys["agents"]["cooling"], 1, "{keys}");
        assert_eq!(keys["agents"]["invalid"], 0);
        assert_eq!(keys["overseer"]["total"], 1);
        let a = keys["agents"]["keys"]
            .as_array()
            .and_then(|k| k.iter().find(|k| k["hint"] == "…0001"))
            .cloned()
            .expect("key A");
        assert_eq!(a["state"], "cooling");
        assert_eq!(a["cooldown_reason"], "rate_limited");
        assert!(a["last_429"].is_string());
        let plain = env.gasclaw(&["keys"], T).await;
        assert!(
            plain
                .stdout
                .contains("agents: 2 keys, 1 available, 1 cooling"),
            "{plain:?}"
        );
        assert!(
            plain.stdout.contains("…0001") && plain.stdout.contains("(rate_limited)"),
            "{plain:?}"
        );
        for k in secrets() {
            assert!(!plain.all().contains(k));
        }
        let state = env.read(env.gasclaw_home.join("key-rotation.json"));
        for k in secrets() {
            assert!(!state.contains(k));
        }

        // One owner: a second run refuses clearly, and so does `keys clear`.
        let second = env.gasclaw(&["run"], T).await;
        assert_eq!(second.code, Some(1), "{second:?}");
        assert!(
            second.stderr.contains("owned by another gasclaw process"),
            "{second:?}"
        );
        let clear = env.gasclaw(&["keys", "clear", "…0001"], T).await;
        assert_eq!(clear.code, Some(1));
        assert!(clear.stderr.contains("/keys clear"), "{clear:?}");

        assert_eq!(sigterm(run).await, Some(0), "run exits 0 on SIGTERM");
        // After run stopped, the CLI may clear the cooldown itself; it survives restarts.
        let clear = env.gasclaw(&["keys", "clear", "…0001"], T).await;
        assert_eq!(clear.code, Some(0), "{clear:?}");
        assert!(
            clear.stdout.contains("cleared …0001 (was cooling)"),
            "{clear:?}"
        );
        let keys: Value =
            serde_json::from_str(&env.gasclaw(&["keys", "--json"], T).await.stdout).expect("json");
        assert_eq!(keys["agents"]["available"], 2);
        kimi.stop();
    });
}

#[test]
fn cooldowns_survive_a_restart_of_run() {
    run_test(T, async {
        let kimi = FakeKimi::start().await.expect("fake kimi");
        kimi.set_default(Reply::RateLimited { retry_after: None });
        let mut env = TestEnv::new();
        env.set("KIMI_BASE_URL", &kimi.base_url());
        let run = start_run(&env).await;
        let r = env.ask_model_as_agent().await;
        assert_eq!(r.status(), 429, "every key answered 429");
        assert!(r.headers().contains_key("retry-after"));
        assert_eq!(sigterm(run).await, Some(0));
        let keys: Value =
            serde_json::from_str(&env.gasclaw(&["keys", "--json"], T).await.stdout).expect("json");
        assert_eq!(keys["agents"]["cooling"], 2, "{keys}");
        let left = keys["agents"]["keys"][0]["cooldown_secs_left"]
            .as_u64()
            .expect("left");
        assert!((250..=300).contains(&left), "{keys}");
        kimi.stop();
    });
}

#[test]
fn a_retry_after_of_ages_neither_kills_the_flusher_nor_the_shutdown() {
    run_test(T, async {
        let kimi = FakeKimi::start().await.expect("fake kimi");
        kimi.set_default(Reply::RateLimited {
            retry_after: Some(9_000_000_000_000),
        });
        let mut env = TestEnv::new();
        env.set("KIMI_BASE_URL", &kimi.base_url());
        let run = start_run(&env).await;
        let r = env.ask_model_as_agent().await;
        assert_eq!(r.status(), 429, "every key answered 429");
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!(wait <= 86_400, "retry-after {wait}");
        // The flusher writes the state within a second; it must survive it.
        let state = env.gasclaw_home.join("key-rotation.json");
        env.wait_until(
            "the key state to be written",
            Duration::from_secs(10),
            || std::fs::read_to_string(&state).is_ok_and(|t| t.contains("cooldown_until")),
        )
        .await;
        assert_eq!(sigterm(run).await, Some(0), "run exits 0 on SIGTERM");
        let keys: Value =
            serde_json::from_str(&env.gasclaw(&["keys", "--json"], T).await.stdout).expect("json");
        let left = keys["agents"]["keys"][0]["cooldown_secs_left"]
            .as_u64()
            .expect("left");
        assert!((86_000..=86_400).contains(&left), "{keys}");
        kimi.stop();
    });
}

fn jsonl(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn proc_environ(pid: u32) -> Vec<(String, String)> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// Patrol agents hand off routinely (and crew on every compaction): the
/// respawned agent must keep the proxy URL, its local token, the config dir
/// and IS_SANDBOX (gt 1.2.1 merges agents.<alias>.env; 1.0.1 dropped it).
/// An `ANTHROPIC_API_KEY` in gasclaw's own environment never reaches an
/// agent, and the agents meet no dialog (custom API key, auto-mode nudge).
#[test]
fn a_handed_off_agent_still_reaches_the_model_through_the_proxy() {
    run_test(T, async {
        let kimi = FakeKimi::start().await.expect("fake kimi");
        kimi.label(AGENT_KEYS[0], "A");
        kimi.label(AGENT_KEYS[1], "B");
        kimi.set_default(Reply::Ok("FAKE-PONG".into()));
        let mut env = TestEnv::new();
        env.set("KIMI_BASE_URL", &kimi.base_url()).set(
            "ANTHROPIC_API_KEY",
            "sk-ant-api03-handoff-test-0123456789abcdefghij",
        );
        // The fake agents serve gt's beacon as their first turn.
        env.fault("CLAUDE_SERVE_PROMPT", "1");
        let run = start_run(&env).await;
        env.wait_bootstrapped().await;
        let settings = env.json(env.town.join("settings/config.json"));
        let token = settings["agents"]["kimi-claude"]["env"]["ANTHROPIC_AUTH_TOKEN"]
            .as_str()
            .expect("local token")
            .to_string();
        let turns_file = env.fake_dir.join("claude-turns.jsonl");
        let ok_turns = |f: &std::path::Path| -> Vec<Value> {
            jsonl(f)
                .into_iter()
                .filter(|t| t["ok"] == true && t["text"] == "FAKE-PONG")
                .collect()
        };
        env.wait_until("the mayor's first answer", Duration::from_secs(20), || {
            !ok_turns(&turns_file).is_empty()
        })
        .await;
        let first_pid = ok_turns(&turns_file)[0]["pid"].as_u64().expect("pid") as u32;

        // The mayor runs `gt handoff` in its own session, with its own env.
        let agent_env = proc_environ(first_pid);
        assert!(
            agent_env.iter().all(|(k, _)| k != "ANTHROPIC_API_KEY"),
            "gasclaw's ANTHROPIC_API_KEY reached the agent"
        );
        let gt = repo_root().join("tests/fakes/bin/gt");
        let out = tokio::process::Command::new(&gt)
            .args(["handoff", "--cycle", "--reason", "compaction"])
            .env_clear()
            .envs(agent_env.iter().cloned())
            .current_dir(env.town.join("mayor"))
            .output()
            .await
            .expect("gt handoff");
        assert!(out.status.success(), "{out:?}");
        env.wait_until(
            "the handed-off mayor's answer",
            Duration::from_secs(20),
            || {
                ok_turns(&turns_file)
                    .iter()
                    .any(|t| t["pid"].as_u64() != Some(first_pid as u64))
            },
        )
        .await;
        let runs = jsonl(&env.fake_dir.join("claude-runs.jsonl"));
        let respawned = runs.last().expect("the respawned agent");
        assert_ne!(respawned["pid"].as_u64(), Some(first_pid as u64));
        assert_eq!(respawned["env"]["ANTHROPIC_AUTH_TOKEN"], token.as_str());
        assert_eq!(respawned["env"]["ANTHROPIC_BASE_URL"], env.proxy_url());
        assert_eq!(respawned["env"]["IS_SANDBOX"], "1");
        assert!(respawned["env"]["ANTHROPIC_API_KEY"].is_null());
        assert_eq!(
            respawned["env"]["CLAUDE_CONFIG_DIR"],
            env.home.join(".claude-kimigas").display().to_string()
        );
        assert!(kimi.keys_used().len() >= 2, "{:?}", kimi.keys_used());
        let dialogs = jsonl(&env.fake_dir.join("claude-dialogs.jsonl"));
        assert!(dialogs.is_empty(), "an agent met a dialog: {dialogs:?}");
        // gt 1.0.1's rules would have respawned it without them.
        env.fault("GT_HANDOFF_RULES", "1.0.1");
        let second_pid = respawned["pid"].as_u64().expect("pid") as u32;
        let out = tokio::process::Command::new(&gt)
            .args(["handoff"])
            .env_clear()
            .envs(proc_environ(second_pid))
            .current_dir(env.town.join("mayor"))
            .output()
            .await
            .expect("gt handoff");
        assert!(out.status.success(), "{out:?}");
        let runs_file = env.fake_dir.join("claude-runs.jsonl");
        env.wait_until("the 1.0.1-style respawn", Duration::from_secs(10), || {
            jsonl(&runs_file).len() > runs.len()
        })
        .await;
        let old_style = jsonl(&runs_file).pop().expect("a run");
        assert!(
            old_style["env"]["ANTHROPIC_BASE_URL"].is_null(),
            "{old_style}"
        );
        assert_eq!(sigterm(run).await, Some(0));
        kimi.stop();
    });
}

/// What a pane must never show: Claude Code 2.1.332's dialogs (onboarding
/// offline, trust, custom API key, bypass warning, auto-mode nudge).
const DIALOG_TEXT: [&str; 7] = [
    "Unable to connect to Anthropic services",
    "trust this folder",
    "Detected a custom API key",
    "Do you want to use this API key",
    "Bypass Permissions mode",
    "Make auto mode your default",
    "set auto mode as my default",
];

/// A tmux server on its own socket, killed when dropped.
struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (scripts/install-tools installs it)")
    }

    fn pane(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "agent"]).stdout)
            .into_owned()
    }

    /// Polls the pane until `f` holds; panics with the pane after `timeout`.
    async fn wait(&self, what: &str, timeout: Duration, f: impl Fn(&str) -> bool) -> String {
        let start = std::time::Instant::now();
        loop {
            let pane = self.pane();
            for d in DIALOG_TEXT {
                assert!(!pane.contains(d), "a dialog waits for a key ({d}):\n{pane}");
            }
            if f(&pane) {
                return pane;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {what}; the pane:\n{pane}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// The real Claude Code, started in a real tmux pane with exactly the
/// environment gasclaw's stack gives the mayor (recorded by the fake gt's
/// agent launch) and the config dir bootstrap seeded, talking to a fake Kimi
/// through `gasclaw run`'s proxy: two turns answered, never a dialog, still
/// in bypass mode, and nothing for the next bootstrap to rewrite.
async fn real_claude_answers_two_turns(gasclaw_api_key: Option<&str>) {
    let claude = tools_dir().join("npm/node_modules/.bin/claude");
    assert!(
        claude.exists(),
        "Claude Code is not installed at {} (scripts/install-tools)",
        claude.display()
    );
    let kimi = FakeKimi::start().await.expect("fake kimi");
    kimi.label(AGENT_KEYS[0], "A");
    kimi.label(AGENT_KEYS[1], "B");
    kimi.set_default(Reply::Ok("KIMI-ANSWERS".into()));
    let mut env = TestEnv::new();
    env.set("KIMI_BASE_URL", &kimi.base_url());
    if let Some(k) = gasclaw_api_key {
        env.set("ANTHROPIC_API_KEY", k);
    }
    let run = start_run(&env).await;
    env.wait_bootstrapped().await;
    // The mayor's environment, as gt launched it.
    let runs = std::fs::read_to_string(env.fake_dir.join("claude-runs.jsonl")).expect("runs");
    let mayor: Value = serde_json::from_str(runs.lines().last().expect("a run")).expect("json");
    let agent_env = mayor["env"].as_object().expect("env").clone();
    let config_dir = env.home.join(".claude-kimigas");
    assert_eq!(agent_env["CLAUDE_CONFIG_DIR"].as_str(), config_dir.to_str());
    // A launcher script (0700) rather than `env K=V` arguments: the local
    // token must not appear in a process's arguments.
    let script = env.dir.path().join("agent.sh");
    let mut text = String::from("#!/bin/sh\nexec env -i");
    for (k, v) in &agent_env {
        let v = v.as_str().unwrap_or_default().replace('\'', "'\\''");
        text.push_str(&format!(" '{k}={v}'"));
    }
    text.push_str(&format!(
        " 'TERM=tmux-256color' '{}' --dangerously-skip-permissions 'Reply to the first question.'\n",
        claude.display()
    ));
    std::fs::write(&script, text).expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("chmod");
    let tmux = Tmux {
        socket: env.dir.path().join("tmux.sock"),
    };
    let workdir = env.town.join("mayor");
    let out = tmux.cmd(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "agent",
        "-x",
        "200",
        "-y",
        "50",
        "-c",
        workdir.to_str().expect("utf8"),
        script.to_str().expect("utf8"),
    ]);
    assert!(out.status.success(), "{out:?}");
    let answered = |n: usize| move |p: &str| p.matches("KIMI-ANSWERS").count() >= n;
    tmux.wait("the first answer", Duration::from_secs(90), answered(1))
        .await;
    // Give a nudge that follows an answer its moment to appear.
    tokio::time::sleep(Duration::from_secs(2)).await;
    tmux.wait(
        "the prompt after the first answer",
        Duration::from_secs(10),
        |p| p.contains("bypass permissions on"),
    )
    .await;
    assert!(
        tmux.cmd(&["send-keys", "-t", "agent", "-l", "And the second one?"])
            .status
            .success()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        tmux.cmd(&["send-keys", "-t", "agent", "Enter"])
            .status
            .success()
    );
    tmux.wait("the second answer", Duration::from_secs(60), answered(2))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pane = tmux
        .wait("the footer", Duration::from_secs(10), |p| {
            p.contains("⏵⏵ bypass permissions on")
        })
        .await;
    let asked: Vec<_> = kimi
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/v1/messages"))
        .collect();
    assert!(asked.len() >= 2, "{asked:?}\n{pane}");
    // The permission mode never changed, and nothing Claude wrote or
    // migrated is rewritten by the next seed.
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(config_dir.join("settings.json")).expect("settings"),
    )
    .expect("json");
    assert_eq!(settings["permissions"]["defaultMode"], "bypassPermissions");
    let again = gasclaw_core::core::accounts::seed_claude_config(
        &config_dir,
        &gasclaw_core::core::accounts::ClaudeSeed {
            trusted_dirs: vec![env.town.join("mayor")],
            approved_key_fingerprints: vec![],
        },
    )
    .expect("seed");
    assert!(again.is_empty(), "the seed rewrote {again:?}");
    assert!(
        agent_env.get("ANTHROPIC_API_KEY").is_none(),
        "{:?}",
        agent_env.keys()
    );
    drop(tmux);
    assert_eq!(sigterm(run).await, Some(0));
    kimi.stop();
}

#[test]
fn real_claude_code_in_tmux_answers_two_turns_without_a_dialog() {
    run_test(
        Duration::from_secs(240),
        real_claude_answers_two_turns(None),
    );
}

#[test]
fn real_claude_code_ignores_an_anthropic_api_key_in_gasclaws_environment() {
    run_test(
        Duration::from_secs(240),
        real_claude_answers_two_turns(Some(
            "sk-ant-api03-gasclawenv-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
        )),
    );
}
