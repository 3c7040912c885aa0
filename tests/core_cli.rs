//! The core through the real `gasclaw` binary against the fake stack:
//! bootstrap (fresh, idempotent, failures with rollback), status, restart,
//! stop, configuration errors, activity and secret hygiene.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

const T: Duration = Duration::from_secs(120);

async fn bootstrap_ok(env: &TestEnv) -> Out {
    let out = env.gasclaw(&["bootstrap"], T).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    out
}

fn status_json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {out:?}"))
}

fn check<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name} in {v}"))
}

#[test]
fn fresh_bootstrap_brings_everything_up() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        let out = bootstrap_ok(&env).await;
        // Progress is printed as it happens, one line per start and result.
        for step in [
            "keys",
            "town",
            "dolt",
            "rig",
            "agents",
            "openclaw-config",
            "skills",
            "doctor",
            "gateway",
            "daemon",
            "mayor",
            "report",
        ] {
            assert!(
                out.stdout.contains(&format!("{step:<15} …")),
                "no start line for {step}: {out:?}"
            );
        }
        assert!(out.stdout.contains("bootstrap: the stack is up"), "{out:?}");
        // gt install starts the town's Dolt, so the Dolt step only verifies it.
        let skipped: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.contains("skipped"))
            .collect();
        assert_eq!(skipped.len(), 1, "{out:?}");
        assert!(
            skipped[0].contains("dolt") && skipped[0].contains("serving on port"),
            "{out:?}"
        );

        // The town, the rig (installed from a file:// URL) and the agents.
        assert!(env.town.join("mayor/town.json").is_file());
        let rigs = env.json(env.town.join("mayor/rigs.json"));
        assert!(rigs["rigs"]["project"].is_object(), "{rigs}");
        let lines = env.call_lines();
        let rig_add = lines
            .iter()
            .find(|l| l.starts_with("gt rig add"))
            .expect("gt rig add was called");
        assert_eq!(
            rig_add,
            &format!("gt rig add project file://{}", env.project.display())
        );
        let settings = env.json(env.town.join("settings/config.json"));
        assert_eq!(settings["default_agent"], "kimi-claude");
        assert_eq!(settings["role_agents"]["mayor"], "kimi-claude");
        let agent = &settings["agents"]["kimi-claude"];
        assert_eq!(agent["command"], "claude");
        assert_eq!(
            agent["args"],
            serde_json::json!(["--dangerously-skip-permissions"])
        );
        assert_eq!(
            agent["env"]["IS_SANDBOX"], "1",
            "tests run as root: agents need IS_SANDBOX=1"
        );
        assert_eq!(
            settings["agents"].as_object().map(|o| o.len()),
            Some(3),
            "GT_AGENT_COUNT=3 agents"
        );
        // gt config was only ever run inside the town (trap T3).
        for c in env.calls() {
            if c["prog"] == "gt" && c["argv"][0] == "config" {
                assert_eq!(c["cwd"].as_str(), env.town.to_str(), "{c}");
            }
        }

        // Claude config pre-seeded, account files per agent, all private.
        let claude = env.json(env.home.join(".claude-kimigas/.claude.json"));
        assert_eq!(claude["hasCompletedOnboarding"], true);
        for n in 1..=3 {
            let p = env.home.join(format!(".kimi-accounts/{n}/config.toml"));
            assert_mode(&p, 0o600);
        }
        assert_mode(&env.town.join("settings/config.json"), 0o600);
        assert_mode(&env.home.join(".openclaw/openclaw.json"), 0o600);
        assert_mode(&env.gasclaw_home.join("gateway-token"), 0o600);

        // The overseer config: local gateway with token auth, Telegram off.
        let oc = env.json(env.home.join(".openclaw/openclaw.json"));
        assert_eq!(oc["gateway"]["mode"], "local");
        assert_eq!(oc["gateway"]["port"], env.ports.gateway);
        assert_eq!(oc["channels"]["telegram"]["enabled"], false);
        assert!(
            env.home
                .join(".openclaw/skills/gastown-health/SKILL.md")
                .is_file()
        );

        // Gateway via `gateway run` (never `gateway start`), the daemon and the
        // mayor really run; the mayor runs the kimi-claude agent (fake claude).
        assert!(
            lines.iter().any(|l| l.starts_with("openclaw gateway run")),
            "{lines:?}"
        );
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("openclaw gateway start"))
        );
        assert!(
            !env.processes_matching("claude").is_empty(),
            "no mayor agent process"
        );
        // The gateway never sees the bot token (one poller per token).
        for c in env.calls() {
            if c["prog"] == "openclaw" {
                assert_eq!(c["env"]["TELEGRAM_BOT_TOKEN_present"], false, "{c}");
            }
        }

        let st = env.gasclaw(&["status", "--json"], T).await;
        assert_eq!(st.code, Some(0), "{st:?}");
        let v = status_json(&st);
        for name in ["dolt", "daemon", "mayor", "gateway", "agents"] {
            assert_eq!(check(&v, name)["status"], "ok", "{name}: {v}");
            assert!(check(&v, name)["latency_ms"].is_u64());
        }
        assert_eq!(v["activity"]["compliant"], true, "{v}");
        assert!(v["activity"]["last_commit_age_secs"].is_u64());
        assert_eq!(v["activity"]["deadline_secs"], 3600);
    });
}

fn assert_mode(p: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let m = std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(m, mode, "{} has mode {m:o}", p.display());
}

#[test]
fn second_bootstrap_changes_nothing_and_starts_no_duplicate() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        bootstrap_ok(&env).await;
        let before: Vec<u32> = env.processes().iter().map(|p| p.0).collect();
        let files_before = snapshot_mtimes(&env);
        env.clear_calls();
        let out = bootstrap_ok(&env).await;
        assert!(out.stdout.contains("nothing changed"), "{out:?}");
        for step in [
            "keys",
            "town",
            "dolt",
            "rig",
            "agents",
            "openclaw-config",
            "skills",
            "doctor",
            "gateway",
            "daemon",
            "mayor",
        ] {
            assert!(
                out.stdout
                    .lines()
                    .any(|l| l.contains(&format!("{step:<15} – skipped"))),
                "{step} was not skipped: {out:?}"
            );
        }
        let lines = env.call_lines();
        for forbidden in [
            "gt install",
            "gt rig add",
            "gt daemon start",
            "gt mayor start",
            "gt dolt start",
            "openclaw gateway run",
            "openclaw doctor",
        ] {
            assert!(
                !lines.iter().any(|l| l.starts_with(forbidden)),
                "second run ran `{forbidden}`: {lines:?}"
            );
        }
        let mut after: Vec<u32> = env.processes().iter().map(|p| p.0).collect();
        let mut before = before;
        before.sort();
        after.sort();
        assert_eq!(before, after, "the second run started or stopped processes");
        assert_eq!(
            files_before,
            snapshot_mtimes(&env),
            "the second run rewrote files"
        );
    });
}

fn snapshot_mtimes(env: &TestEnv) -> Vec<(String, std::time::SystemTime)> {
    let mut v = Vec::new();
    for p in [
        env.town.join("settings/config.json"),
        env.home.join(".openclaw/openclaw.json"),
        env.home.join(".claude-kimigas/.claude.json"),
        env.home.join(".claude-kimigas/settings.json"),
        env.home.join(".kimi-accounts/1/config.toml"),
        env.home.join(".openclaw/skills/gastown-health/SKILL.md"),
    ] {
        let m = std::fs::metadata(&p)
            .and_then(|m| m.modified())
            .expect("mtime");
        v.push((p.display().to_string(), m));
    }
    v
}

fn dolt_serving(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut b = [0u8; 5];
    s.read_exact(&mut b).is_ok() && b[4] == 0x0a
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn failure_at_rig_add_rolls_back_the_new_town_and_its_dolt() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        env.fault("GT_FAIL", "rig add");
        let out = env.gasclaw(&["bootstrap"], T).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stdout.contains("rig             ✗ failed: `gt rig add"),
            "{out:?}"
        );
        // The program's own error is in the report.
        assert!(
            out.stdout.contains("Error:")
                || out.stdout.contains("invalid git URL")
                || out.stdout.contains("failed (exit 1)"),
            "{out:?}"
        );
        assert!(
            out.stdout.contains("bootstrap failed at step 4 (rig)"),
            "{out:?}"
        );
        assert!(
            out.stdout.contains("↩ rolled back: stopped Dolt"),
            "{out:?}"
        );
        assert!(
            out.stdout
                .contains("↩ rolled back: removed the partial town"),
            "{out:?}"
        );
        assert!(
            !env.town.exists(),
            "the town this run created must be removed"
        );
        assert!(
            !port_open(env.ports.dolt),
            "Dolt started by this run must be stopped"
        );
        assert!(env.processes_matching("sql-server").is_empty());
    });
}

#[test]
fn failure_at_dolt_leaves_what_was_running_before_alone() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        bootstrap_ok(&env).await;
        let gateway_pid = env.read(env.gasclaw_home.join("gateway.pid"));
        let out = env.gt(&["dolt", "stop"]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(!dolt_serving(env.ports.dolt));
        env.fault("GT_FAIL", "dolt start");
        let out = env.gasclaw(&["bootstrap"], T).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stdout
                .contains("dolt            ✗ failed: `gt dolt start"),
            "{out:?}"
        );
        assert!(
            !out.stdout.contains("rolled back"),
            "nothing was started by this run: {out:?}"
        );
        // Daemon, mayor and gateway were running before: still running.
        assert!(env.town.join("mayor/town.json").is_file());
        assert_eq!(
            env.gt(&["mayor", "status", "--running"]).stdout.trim(),
            "true"
        );
        assert!(
            env.gt(&["daemon", "status"])
                .stdout
                .contains("Daemon is running")
        );
        assert_eq!(env.read(env.gasclaw_home.join("gateway.pid")), gateway_pid);
        assert!(port_open(env.ports.gateway));
    });
}

#[test]
fn failure_at_gateway_reports_its_error_and_rolls_back() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        env.fault("OPENCLAW_FAIL_START", "boom: plugin sidecar crashed");
        let out = env.gasclaw(&["bootstrap"], T).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stdout.contains(
                "gateway         ✗ failed: `openclaw gateway run` exited during start-up"
            ),
            "{out:?}"
        );
        assert!(
            out.stdout.contains("boom: plugin sidecar crashed"),
            "the gateway's own error: {out:?}"
        );
        assert!(
            out.stdout.contains("↩ rolled back: stopped the gateway"),
            "{out:?}"
        );
        assert!(
            out.stdout.contains("↩ rolled back: stopped Dolt"),
            "{out:?}"
        );
        assert!(!env.town.exists());
        assert!(
            env.processes().is_empty(),
            "left behind: {:?}",
            env.processes()
        );
    });
}

#[test]
fn failure_at_mayor_stops_daemon_gateway_and_dolt_newest_first() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        env.fault("GT_FAIL", "mayor start");
        let out = env.gasclaw(&["bootstrap"], T).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stdout
                .contains("mayor           ✗ failed: `gt mayor start` failed (exit 1): Error:"),
            "{out:?}"
        );
        let rolled: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with('[') && l.contains("rolled back"))
            .collect();
        let order: Vec<&str> = [
            "the Mayor",
            "the daemon",
            "the gateway",
            "Dolt",
            "removed the partial town",
        ]
        .into_iter()
        .collect();
        assert_eq!(rolled.len(), order.len(), "{rolled:?}");
        for (line, what) in rolled.iter().zip(order) {
            assert!(line.contains(what), "rollback order: {rolled:?}");
        }
        assert!(!port_open(env.ports.gateway));
        assert!(!port_open(env.ports.dolt));
        assert!(
            env.processes().is_empty(),
            "left behind: {:?}",
            env.processes()
        );
    });
}

#[test]
fn concurrent_bootstrap_is_refused() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        env.fault("GT_SLOW", "install=3");
        let first = env.command(&["bootstrap"]).spawn().expect("spawn");
        // Let the first one take the lock.
        env.wait_until(
            "the first bootstrap to reach gt install",
            Duration::from_secs(20),
            || env.call_lines().iter().any(|l| l.starts_with("gt install")),
        )
        .await;
        let second = env.gasclaw(&["bootstrap"], T).await;
        assert_eq!(second.code, Some(1), "{second:?}");
        assert!(
            second.stderr.contains("bootstrap already running"),
            "{second:?}"
        );
        let first = first.wait_with_output().await.expect("first");
        assert!(
            first.status.success(),
            "{}",
            String::from_utf8_lossy(&first.stdout)
        );
    });
}

#[test]
fn status_sees_each_service_down_in_turn() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        bootstrap_ok(&env).await;
        let down = |v: &Value, name: &str| check(v, name)["status"] == "down";

        // Mayor stopped: `gt mayor status` still exits 0 (trap T1).
        assert_eq!(env.gt(&["mayor", "stop"]).code, Some(0));
        let out = env.gasclaw(&["status", "--json"], T).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        let v = status_json(&out);
        assert!(down(&v, "mayor"), "{v}");
        assert_eq!(check(&v, "daemon")["status"], "ok");
        assert_eq!(check(&v, "dolt")["status"], "ok");

        // Daemon stopped too: deacon and rig agents stop with it, so no agent runs.
        assert_eq!(env.gt(&["daemon", "stop"]).code, Some(0));
        let v = status_json(&env.gasclaw(&["status", "--json"], T).await);
        assert!(down(&v, "daemon"), "{v}");
        assert!(down(&v, "agents"), "{v}");

        // Gateway killed.
        let out = env.gasclaw(&["stop"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        let v = status_json(&env.gasclaw(&["status", "--json"], T).await);
        for name in ["dolt", "daemon", "mayor", "gateway", "agents"] {
            assert!(down(&v, name), "{name} should be down after stop: {v}");
        }
        assert!(
            check(&v, "dolt")["detail"]
                .as_str()
                .unwrap_or("")
                .contains("nothing answers"),
            "{v}"
        );

        // The plain form says the same things.
        let plain = env.gasclaw(&["status"], T).await;
        assert_eq!(plain.code, Some(1));
        assert!(
            plain.stdout.contains("SERVICE") && plain.stdout.contains("gateway  down"),
            "{plain:?}"
        );
    });
}

/// gt's daemon probe takes the daemon's flock for a moment, so a probe that
/// meets another one (the monitor's, a skill's, `gt status`) sees a stopped
/// daemon as "running (PID 0)". Here another process holds the lock until
/// gasclaw has asked twice: a single probe would call the stopped daemon ok.
#[test]
fn a_probe_that_meets_another_probe_is_asked_again() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        bootstrap_ok(&env).await;
        assert_eq!(env.gt(&["daemon", "stop"]).code, Some(0));
        let holder = r#"
import fcntl, json, os, sys, time
lock, calls = sys.argv[1], sys.argv[2]
def probes():
    n = 0
    for line in open(calls):
        try:
            if json.loads(line)["argv"][:2] == ["daemon", "status"]:
                n += 1
        except Exception:
            pass
    return n
fd = os.open(lock, os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
seen = probes()
print("held", flush=True)
deadline = time.time() + 30
while probes() < seen + 2 and time.time() < deadline:
    time.sleep(0.005)
"#;
        let mut held = tokio::process::Command::new("python3")
            .arg("-c")
            .arg(holder)
            .arg(env.town.join("daemon/daemon.lock"))
            .arg(env.fake_dir.join("calls.jsonl"))
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the lock holder");
        let mut line = String::new();
        tokio::io::AsyncBufReadExt::read_line(
            &mut tokio::io::BufReader::new(held.stdout.take().expect("stdout")),
            &mut line,
        )
        .await
        .expect("read the holder");
        assert_eq!(line.trim(), "held");

        let v = status_json(&env.gasclaw(&["status", "--json"], T).await);
        assert_eq!(check(&v, "daemon")["status"], "down", "{v}");
        assert_eq!(check(&v, "daemon")["detail"], "not running", "{v}");
        let _ = held.wait().await;
    });
}

#[test]
fn a_wedged_dolt_and_an_spa_gateway_are_down() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        bootstrap_ok(&env).await;
        env.fault("DOLT_GREETING", "silent");
        env.fault("OPENCLAW_SPA_HTML", "1");
        let v = status_json(&env.gasclaw(&["status", "--json"], T).await);
        assert_eq!(check(&v, "dolt")["status"], "down", "{v}");
        assert!(
            check(&v, "dolt")["detail"]
                .as_str()
                .unwrap_or("")
                .contains("does not greet"),
            "{v}"
        );
        assert_eq!(check(&v, "gateway")["status"], "down", "{v}");
        assert!(
            check(&v, "gateway")["detail"]
                .as_str()
                .unwrap_or("")
                .contains("text/html"),
            "{v}"
        );
        // A full Dolt closes without a packet (it never answers ERR 1040).
        env.fault("DOLT_GREETING", "close");
        let v = status_json(&env.gasclaw(&["status", "--json"], T).await);
        assert_eq!(check(&v, "dolt")["status"], "down", "{v}");
        assert!(
            check(&v, "dolt")["detail"]
                .as_str()
                .unwrap_or("")
                .contains("closed before greeting"),
            "{v}"
        );
    });
}

#[test]
fn a_missing_program_is_named_not_an_os_error() {
    run_test(T, async {
        // Every fake but `gt` on PATH.
        let without_gt = |env: &mut TestEnv| {
            let fakes = repo_root().join("tests/fakes/bin");
            for prog in ["dolt", "bd", "openclaw", "claude"] {
                std::os::unix::fs::symlink(fakes.join(prog), env.bin.join(prog)).expect("symlink");
            }
            let path = format!("{}:/usr/bin:/bin", env.bin.display());
            env.set("PATH", &path);
        };
        // A running town whose `gt` went missing.
        let mut env = TestEnv::new_cli();
        bootstrap_ok(&env).await;
        without_gt(&mut env);
        let out = env.gasclaw(&["status", "--json"], T).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        let v = status_json(&out);
        for name in ["daemon", "mayor", "agents"] {
            let c = check(&v, name);
            assert_ne!(c["status"], "ok", "{v}");
            assert!(
                c["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("`gt` not found on PATH"),
                "{name}: {v}"
            );
        }
        let _ = env.gasclaw(&["stop"], T).await;
        // A fresh bootstrap without `gt`.
        let mut env = TestEnv::new_cli();
        without_gt(&mut env);
        let out = env.gasclaw(&["bootstrap"], T).await;
        assert_ne!(out.code, Some(0), "{out:?}");
        assert!(out.all().contains("`gt` not found on PATH"), "{out:?}");
        assert!(!out.all().contains("No such file or directory"), "{out:?}");
    });
}

#[test]
fn a_hanging_program_hits_its_timeout_and_is_killed() {
    run_test(T, async {
        let mut env = TestEnv::new_cli();
        bootstrap_ok(&env).await;
        env.set("CHECK_TIMEOUT", "2");
        env.fault("GT_HANG", "mayor status");
        let out = env.gasclaw(&["status", "--json"], T).await;
        assert!(
            out.elapsed < Duration::from_secs(8),
            "status took {:?}",
            out.elapsed
        );
        let v = status_json(&out);
        assert_eq!(check(&v, "mayor")["status"], "down", "{v}");
        assert!(
            check(&v, "mayor")["detail"]
                .as_str()
                .unwrap_or("")
                .contains("within 2s"),
            "{v}"
        );
        // The hung `gt mayor status` was killed with its process group.
        env.clear_fault("GT_HANG");
        env.wait_until("the hung gt to be killed", Duration::from_secs(5), || {
            env.processes_matching("mayor status").is_empty()
        })
        .await;
    });
}

#[test]
fn restart_each_service_and_refuse_unknown_ones() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        bootstrap_ok(&env).await;
        for s in ["mayor", "daemon", "dolt", "gateway", "agents"] {
            let out = env.gasclaw(&["restart", s], T).await;
            assert_eq!(out.code, Some(0), "restart {s}: {out:?}");
            assert!(
                out.stdout.contains(&format!("{s}: ")) && out.stdout.contains("check now ok"),
                "{out:?}"
            );
        }
        // A failed `gt up --json` is reported with gt's own detail per
        // service (it prints only JSON), not with its last line `}`.
        assert_eq!(env.gt(&["daemon", "stop"]).code, Some(0));
        env.fault("GT_DAEMON_START_RACE", "5");
        let out = env.gasclaw(&["restart", "agents"], T).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.all().contains(
                "failed (exit 1): not all services started: Daemon: daemon failed to start: daemon already running (lock held by another process)"
            ),
            "{out:?}"
        );
        env.clear_fault("GT_DAEMON_START_RACE");
        assert_eq!(env.gt(&["daemon", "start"]).code, Some(0));
        let out = env.gasclaw(&["restart", "deacon"], T).await;
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(
            out.stderr
                .contains("use one of dolt, daemon, mayor, gateway, agents"),
            "{out:?}"
        );
        let v = status_json(&env.gasclaw(&["status", "--json"], T).await);
        assert!(
            v["checks"]
                .as_array()
                .map(|a| a.iter().all(|c| c["status"] == "ok"))
                .unwrap_or(false),
            "{v}"
        );
    });
}

#[test]
fn stop_goes_in_reverse_start_order() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        bootstrap_ok(&env).await;
        env.clear_calls();
        let out = env.gasclaw(&["stop"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        let order: Vec<&str> = out
            .stdout
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(order, ["mayor", "daemon", "gateway", "dolt"], "{out:?}");
        let stops: Vec<String> = env
            .call_lines()
            .into_iter()
            .filter(|l| l.contains(" stop"))
            .collect();
        assert_eq!(
            stops,
            ["gt mayor stop", "gt daemon stop", "gt dolt stop"],
            "{stops:?}"
        );
        assert!(
            env.processes().is_empty(),
            "left behind: {:?}",
            env.processes()
        );
    });
}

#[test]
fn bad_configuration_lists_every_problem_and_exits_2() {
    run_test(T, async {
        let mut env = TestEnv::new_cli();
        let proxy_port = env.vars["KIMI_PROXY_PORT"].clone();
        env.unset("OPENCLAW_KIMI_KEY")
            .set("TELEGRAM_BOT_TOKEN", "not-a-token")
            .set("TELEGRAM_OWNER_ID", "alice")
            .set("TELEGRAM_GROUP_IDS", "-100:xyz")
            .set("DOLT_PORT", "99999")
            .set("GATEWAY_PORT", &proxy_port)
            .set("MONITOR_INTERVAL", "0")
            .set(
                "GASTOWN_KIMI_KEYS",
                &format!("{}:{}", AGENT_KEYS[0], AGENT_KEYS[0]),
            );
        for cmd in [vec!["status"], vec!["bootstrap"], vec!["run"]] {
            let out = env.gasclaw(&cmd, T).await;
            assert_eq!(out.code, Some(2), "{cmd:?}: {out:?}");
            let lines: Vec<&str> = out
                .stderr
                .lines()
                .filter(|l| l.starts_with("config: "))
                .collect();
            for var in [
                "GASTOWN_KIMI_KEYS: key 2 (…0001) is a duplicate of key 1",
                "OPENCLAW_KIMI_KEY: is required",
                "TELEGRAM_BOT_TOKEN: does not look like a bot token",
                "TELEGRAM_OWNER_ID: is not a numeric",
                "TELEGRAM_GROUP_IDS: holds an item that is not a numeric chat id",
                "DOLT_PORT: is not a port",
                "MONITOR_INTERVAL: is not a positive duration",
                "port ",
            ] {
                assert!(
                    lines.iter().any(|l| l.contains(var)),
                    "missing `{var}` in {lines:#?}"
                );
            }
            for s in secrets() {
                assert!(!out.all().contains(s), "secret in the error output");
            }
            assert!(
                !env.town.exists(),
                "nothing may happen with a bad configuration"
            );
        }
        // Unknown keys in the TOML file are refused by name.
        let mut env = TestEnv::new_cli();
        let f = env.dir.path().join("gasclaw.toml");
        std::fs::write(&f, "gt_agent_count = 2\nmonitor_intervall = 5\n").expect("write");
        env.set("GASCLAW_CONFIG", f.to_str().expect("utf8"));
        let out = env.gasclaw(&["status"], T).await;
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(out.stderr.contains("monitor_intervall"), "{out:?}");
    });
}

#[test]
fn config_shows_effective_values_with_secrets_redacted() {
    run_test(T, async {
        let mut env = TestEnv::new_cli();
        let f = env.dir.path().join("gasclaw.toml");
        std::fs::write(&f, "gt_agent_count = 4\nactivity_deadline = \"2h\"\n").expect("write");
        env.set("GASCLAW_CONFIG", f.to_str().expect("utf8"))
            .unset("GT_AGENT_COUNT");
        let out = env.gasclaw(&["config"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stdout.contains("GT_AGENT_COUNT") && out.stdout.contains("4  (file)"),
            "{out:?}"
        );
        assert!(out.stdout.contains("7200s  (file)"), "{out:?}");
        assert!(
            out.stdout.contains(&format!("{}  (env)", env.ports.dolt)),
            "{out:?}"
        );
        assert!(out.stdout.contains("[redacted]"));
        for s in secrets() {
            assert!(!out.all().contains(s), "secret printed by `gasclaw config`");
        }
        assert!(!out.stderr.contains("warning"), "{out:?}");

        // Variables gt would hand to every agent are named, never shown.
        env.set(
            "ANTHROPIC_API_KEY",
            "sk-ant-api03-configtest-0123456789abcdef",
        )
        .set("CLAUDE_CODE_USE_VERTEX", "1")
        .set("BD_JSON_ENVELOPE", "1");
        let out = env.gasclaw(&["config"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stderr.contains(
                "warning: set in gasclaw's environment: ANTHROPIC_API_KEY, BD_JSON_ENVELOPE, CLAUDE_CODE_USE_VERTEX."
            ),
            "{out:?}"
        );
        assert!(!out.all().contains("configtest"), "{out:?}");
    });
}

#[test]
fn activity_fresh_stale_missing_and_not_a_repository() {
    run_test(T, async {
        let mut env = TestEnv::new_cli();
        let activity = |out: &Out| status_json(out)["activity"].clone();
        // Fresh: the project has a commit from just now.
        let a = activity(&env.gasclaw(&["status", "--json"], T).await);
        assert_eq!(a["compliant"], true, "{a}");
        assert!(
            a["last_commit_age_secs"].as_u64().unwrap_or(9999) < 600,
            "{a}"
        );

        // Stale: a repository whose newest commit is two hours old.
        let stale = env.dir.path().join("stale");
        std::fs::create_dir_all(&stale).expect("mkdir");
        git(&stale, &["init", "-q"], None);
        let two_hours_ago = chrono::Utc::now().timestamp() - 7200;
        git(
            &stale,
            &["commit", "-q", "--allow-empty", "-m", "old"],
            Some(&format!("@{two_hours_ago} +0000")),
        );
        env.set("PROJECT_DIR", stale.to_str().expect("utf8"));
        let a = activity(&env.gasclaw(&["status", "--json"], T).await);
        assert_eq!(a["compliant"], false, "{a}");
        let age = a["last_commit_age_secs"].as_u64().expect("age");
        assert!((7190..7400).contains(&age), "{a}");
        assert!(
            a["detail"].as_str().unwrap_or("").contains("2h 0m ago"),
            "{a}"
        );

        // A commit on another branch counts (agents commit on branches).
        git(&stale, &["checkout", "-q", "-b", "agent-work"], None);
        git(
            &stale,
            &["commit", "-q", "--allow-empty", "-m", "new"],
            None,
        );
        git(&stale, &["checkout", "-q", "-"], None);
        let a = activity(&env.gasclaw(&["status", "--json"], T).await);
        assert_eq!(a["compliant"], true, "{a}");

        // A polecat's fresh commit in its worktree `polecats/<name>/<rig>`
        // counts while the project checkout is stale.
        let old = env.dir.path().join("old");
        std::fs::create_dir_all(&old).expect("mkdir");
        git(&old, &["init", "-q"], None);
        git(
            &old,
            &["commit", "-q", "--allow-empty", "-m", "old"],
            Some(&format!("@{two_hours_ago} +0000")),
        );
        env.set("PROJECT_DIR", old.to_str().expect("utf8"));
        let worktree = env.town.join("project/polecats/nux/project");
        std::fs::create_dir_all(&worktree).expect("mkdir");
        git(&worktree, &["init", "-q"], None);
        git(
            &worktree,
            &["commit", "-q", "--allow-empty", "-m", "polecat"],
            None,
        );
        let a = activity(&env.gasclaw(&["status", "--json"], T).await);
        assert_eq!(a["compliant"], true, "{a}");
        assert!(
            a["detail"]
                .as_str()
                .unwrap_or("")
                .contains("polecats/nux/project"),
            "{a}"
        );
        std::fs::remove_dir_all(env.town.join("project")).expect("rm");

        // Missing directory and a directory that is not a repository.
        env.set(
            "PROJECT_DIR",
            env.dir.path().join("nope").to_str().expect("utf8"),
        );
        let a = activity(&env.gasclaw(&["status", "--json"], T).await);
        assert_eq!(a["last_commit_age_secs"], Value::Null, "{a}");
        assert_eq!(a["compliant"], false);
        assert!(
            a["detail"]
                .as_str()
                .unwrap_or("")
                .contains("does not exist"),
            "{a}"
        );
        let plain = env.dir.path().join("plain");
        std::fs::create_dir_all(&plain).expect("mkdir");
        env.set("PROJECT_DIR", plain.to_str().expect("utf8"));
        let out = env.gasclaw(&["status"], T).await;
        assert!(out.stdout.contains("is not a git repository"), "{out:?}");
        assert!(!out.stdout.contains("None"), "never print None: {out:?}");
    });
}

#[test]
fn no_secret_leaks_into_outputs_logs_arguments_or_stray_files() {
    run_test(T, async {
        let mut env = TestEnv::new_cli();
        env.set("LOG_LEVEL", "debug");
        let mut outputs = vec![bootstrap_ok(&env).await];
        outputs.push(env.gasclaw(&["status", "--json"], T).await);
        outputs.push(env.gasclaw(&["status"], T).await);
        outputs.push(env.gasclaw(&["config"], T).await);
        outputs.push(env.gasclaw(&["restart", "gateway"], T).await);
        for out in &outputs {
            for s in secrets() {
                assert!(!out.all().contains(s), "secret in gasclaw output: {out:?}");
            }
        }
        // No secret in any program's arguments.
        for line in env.call_lines() {
            for s in secrets() {
                assert!(!line.contains(s), "secret in argv: {line}");
            }
        }
        // Files: real keys in none of them (agents and the overseer hold
        // local proxy tokens), the bot token nowhere.
        for k in AGENT_KEYS.iter().chain([&OVERSEER_KEY]) {
            assert!(
                env.files_containing(k).is_empty(),
                "{k} on disk: {:?}",
                env.files_containing(k)
            );
        }
        for f in env.files_containing("gclt-") {
            assert_mode(&f, 0o600);
        }
        assert!(
            env.files_containing(BOT_TOKEN).is_empty(),
            "bot token written to disk"
        );
        let log = env.gasclaw_home.join("logs/gateway.log");
        for s in secrets() {
            assert!(!env.read(&log).contains(s), "secret in the gateway log");
        }
    });
}

/// `BD_JSON_ENVELOPE=1` in gasclaw's environment would wrap every bd answer
/// in `{"schema_version":1,"data":…}`; gasclaw keeps it away from bd (and
/// gt), so tasks still work.
#[test]
fn tasks_work_with_bd_json_envelope_in_the_environment() {
    run_test(T, async {
        let mut env = TestEnv::new_cli();
        bootstrap_ok(&env).await;
        env.set("BD_JSON_ENVELOPE", "1");
        let created = env
            .gasclaw(&["tasks", "new", "Envelope", "check", "--json"], T)
            .await;
        assert_eq!(created.code, Some(0), "{created:?}");
        let bead: Value = serde_json::from_str(&created.stdout).expect("json");
        let id = bead[0]["id"].as_str().expect("an id").to_string();
        assert_eq!(bead[0]["title"], "Envelope check");
        let list = env.gasclaw(&["tasks"], T).await;
        assert_eq!(list.code, Some(0), "{list:?}");
        assert!(list.stdout.contains(&id), "{list:?}");
        let show = env.gasclaw(&["tasks", "show", &id], T).await;
        assert_eq!(show.code, Some(0), "{show:?}");
        let done = env.gasclaw(&["tasks", "done", &id], T).await;
        assert_eq!(done.code, Some(0), "{done:?}");
        assert!(done.stdout.contains("closed"), "{done:?}");
    });
}

fn daemon_starts(env: &TestEnv) -> usize {
    env.call_lines()
        .iter()
        .filter(|l| l.as_str() == "gt daemon start")
        .count()
}

/// gt's daemon tries its lock once; a probe holding it at that moment makes
/// `gt daemon start` fail with "daemon already running (lock held by another
/// process)". That is a failed start, not a running daemon: bootstrap tries
/// again, and fails clearly when the race keeps being lost.
#[test]
fn the_daemon_start_race_is_a_failed_start() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        env.fault("GT_DAEMON_START_RACE", "1");
        let out = bootstrap_ok(&env).await;
        assert!(
            out.stdout
                .contains("daemon          ✓ done: started the Gastown daemon"),
            "{out:?}"
        );
        assert_eq!(daemon_starts(&env), 2, "{:?}", env.call_lines());
        assert!(
            env.gt(&["daemon", "status"])
                .stdout
                .contains("Daemon is running (PID")
        );
        // `gasclaw restart daemon` (and healing) retries the race too.
        env.fault("GT_DAEMON_START_RACE", "2");
        let out = env.gasclaw(&["restart", "daemon"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("check now ok"), "{out:?}");
        assert_eq!(daemon_starts(&env), 4, "{:?}", env.call_lines());

        // Losing every race fails the step with gt's own error.
        let env = TestEnv::new_cli();
        env.fault("GT_DAEMON_START_RACE", "10");
        let out = env.gasclaw(&["bootstrap"], T).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stdout.contains(
                "daemon          ✗ failed: the daemon lost its start race 3 times (something kept probing its lock): "
            ),
            "{out:?}"
        );
        assert_eq!(daemon_starts(&env), 3);
        assert!(
            out.stdout.contains("bootstrap failed at step 10 (daemon)"),
            "{out:?}"
        );
    });
}

/// `dolt version` asks GitHub for the newest release with no timeout unless
/// `versioncheck.disabled` is set; bootstrap's identity step sets it, so
/// `gasclaw update --check` (and gt) never wait on it.
#[test]
fn bootstrap_turns_off_dolts_version_check() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        bootstrap_ok(&env).await;
        let got = env.tool(
            "dolt",
            &["config", "--global", "--get", "versioncheck.disabled"],
            env.dir.path(),
        );
        assert_eq!(got.stdout.trim(), "true", "{got:?}");
        env.fault("DOLT_VERSION_CHECK_DELAY", "60");
        let out = env.gasclaw(&["update", "--check", "--json"], T).await;
        let v: Value = serde_json::from_str(&out.stdout).expect("json");
        let dolt = v
            .as_array()
            .and_then(|a| a.iter().find(|p| p["program"] == "dolt"))
            .cloned()
            .expect("dolt row");
        assert_eq!(dolt["installed"], "2.3.1", "{dolt}");
        assert!(out.elapsed < Duration::from_secs(20), "{:?}", out.elapsed);
    });
}

#[test]
fn sigterm_during_bootstrap_kills_the_step_rolls_back_and_exits_within_10_s() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        // The daemon step hangs: Dolt and the gateway are already started
        // by this run when the signal comes.
        env.fault("GT_HANG", "daemon start");
        let mut run = env.spawn(&["run"]);
        env.wait_until("`gt daemon start` to hang", Duration::from_secs(90), || {
            !env.processes_matching("daemon start").is_empty()
        })
        .await;
        assert!(
            !env.processes_matching("sql-server").is_empty(),
            "Dolt runs"
        );
        assert!(
            !env.processes_matching("gateway").is_empty(),
            "the gateway runs"
        );
        let started = std::time::Instant::now();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(run.id().expect("pid") as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("kill");
        let status = tokio::time::timeout(Duration::from_secs(30), run.wait())
            .await
            .expect("run exits after SIGTERM")
            .expect("wait");
        let took = started.elapsed();
        println!("SIGTERM during bootstrap: exited after {took:?}");
        if took >= Duration::from_secs(10) {
            println!("{}", env.run_log());
        }
        assert_eq!(status.code(), Some(0));
        assert!(took < Duration::from_secs(10), "exit took {took:?}");
        // The running step's child is gone, and what this run started is
        // stopped, newest first (gateway before Dolt).
        env.wait_until("every child to be gone", Duration::from_secs(5), || {
            env.processes_matching("daemon start").is_empty()
                && env.processes_matching("gateway").is_empty()
                && env.processes_matching("sql-server").is_empty()
        })
        .await;
        let calls = env.call_lines();
        let pos = |needle: &str| calls.iter().rposition(|l| l.contains(needle));
        let dolt_stop = pos("gt dolt stop").expect("Dolt stopped");
        assert!(
            env.processes_matching("gateway").is_empty()
                && dolt_stop > pos("gt daemon start").unwrap_or(0),
            "{calls:#?}"
        );
    });
}

#[test]
fn gasclaw_home_is_created_private_and_a_shared_one_is_refused_untouched() {
    run_test(T, async {
        use std::os::unix::fs::PermissionsExt;
        let mut env = TestEnv::new_cli();
        let out = env.gasclaw(&["status"], T).await;
        assert!(out.code.is_some(), "{out:?}");
        let mode = std::fs::metadata(&env.gasclaw_home)
            .expect("created")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);

        let shared = env.home.join("shared");
        std::fs::create_dir(&shared).expect("mkdir");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        env.set("GASCLAW_HOME", &shared.display().to_string());
        let out = env.gasclaw(&["status"], T).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stderr.contains("GASCLAW_HOME")
                && out.stderr.contains("writable by other users (mode 1777)"),
            "{out:?}"
        );
        let mode = std::fs::metadata(&shared)
            .expect("still there")
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o1777, "never chmod-ed");
        assert_eq!(
            std::fs::read_dir(&shared).expect("dir").count(),
            0,
            "nothing written in it"
        );
    });
}

#[test]
fn gateway_log_is_capped_and_rotated() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        let log = env.gasclaw_home.join("logs/gateway.log");
        std::fs::create_dir_all(log.parent().expect("dir")).expect("mkdir");
        std::fs::write(&log, vec![b'x'; 11 * 1024 * 1024]).expect("a big old log");
        bootstrap_ok(&env).await;
        let old = env.gasclaw_home.join("logs/gateway.log.1");
        assert_eq!(
            std::fs::metadata(&old).expect("rotated").len(),
            11 * 1024 * 1024
        );
        assert!(std::fs::metadata(&log).expect("log").len() < 1024 * 1024);
        let out = env.gasclaw(&["stop"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
    });
}

#[test]
fn mute_alerts_and_unmute_from_the_command_line() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        let out = env.gasclaw(&["alerts"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("no active mutes"), "{out:?}");
        assert!(
            out.stdout
                .contains("no gasclaw run answers; what is down now: send /alerts"),
            "says where the live list is: {out:?}"
        );

        let out = env.gasclaw(&["mute", "Mayor", "1h"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.starts_with("mayor muted until 20"), "{out:?}");
        assert!(out.stdout.trim_end().ends_with("UTC"), "{out:?}");
        let out = env.gasclaw(&["mute", "github", "30d"], T).await;
        assert_eq!(out.code, Some(0), "the longest mute is allowed: {out:?}");

        let out = env.gasclaw(&["alerts", "--json"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        let v: Value = serde_json::from_str(&out.stdout).expect("alerts --json");
        let checks: Vec<&str> = v["mutes"]
            .as_array()
            .expect("mutes")
            .iter()
            .map(|m| m["check"].as_str().expect("check"))
            .collect();
        assert_eq!(checks, ["github", "mayor"], "{v}");
        assert!(v["last_cycle_not_ok"].is_null(), "no gasclaw run: {v}");
        let until: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(v["mutes"][1]["until"].clone()).expect("until");
        let left = until - chrono::Utc::now();
        assert!(
            left > chrono::Duration::minutes(58) && left <= chrono::Duration::hours(1),
            "{left}"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(env.gasclaw_home.join("mutes.json"))
                .expect("mutes.json")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);

        let out = env.gasclaw(&["unmute", "mayor"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_eq!(out.stdout.trim(), "unmuted: mayor", "{out:?}");
        let out = env.gasclaw(&["unmute", "mayor"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("mayor was not muted"), "{out:?}");
        let out = env.gasclaw(&["alerts"], T).await;
        assert!(
            out.stdout.contains("github") && !out.stdout.contains("mayor"),
            "{out:?}"
        );
        let out = env.gasclaw(&["unmute", "all"], T).await;
        assert_eq!(out.stdout.trim(), "unmuted: github", "{out:?}");
        let out = env.gasclaw(&["alerts"], T).await;
        assert!(out.stdout.contains("no active mutes"), "{out:?}");
    });
}

#[test]
fn a_bad_mute_exits_2_naming_the_problem() {
    run_test(T, async {
        let env = TestEnv::new_cli();
        for (args, problem) in [
            (
                &["mute", "mayor", "31d"][..],
                "`31d` is too long: a mute lasts at most 30 days",
            ),
            (
                &["mute", "mayor", "99999999999999999999999d"][..],
                "is not a duration",
            ),
            (
                &["mute", "mayr", "1h"][..],
                "`mayr` is not a check; one of: dolt",
            ),
            (&["mute", "mayor", "soon"][..], "`soon` is not a duration"),
            (&["mute", "mayor", "0"][..], "`0` is not a duration"),
            (&["unmute", "everything"][..], "`everything` is not a check"),
        ] {
            let out = env.gasclaw(args, T).await;
            assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
            assert!(out.stderr.contains(problem), "{args:?}: {out:?}");
            assert!(!out.stderr.contains("panicked"), "{out:?}");
        }
        assert!(
            !env.gasclaw_home.join("mutes.json").exists(),
            "nothing was muted"
        );
    });
}

/// With port 0, `gasclaw run` binds before bootstrap and reports what it
/// got: in `addresses.json` (0644, its pid) and its log; bootstrap tells the
/// agents the bound proxy port. A CLI bootstrap with port 0 and no running
/// gasclaw refuses, naming the reason, rather than writing port 0.
#[test]
fn run_binds_port_0_reports_its_addresses_and_bootstrap_uses_them() {
    run_test(T, async {
        let env = TestEnv::new();
        assert_eq!(env.vars["KIMI_PROXY_PORT"], "0");
        let out = env.gasclaw(&["bootstrap"], T).await;
        assert_ne!(out.code, Some(0), "{out:?}");
        assert!(
            out.all()
                .contains("KIMI_PROXY_PORT=0: the proxy's port is chosen by `gasclaw run`"),
            "{out:?}"
        );
        let run = env.spawn(&["run"]);
        let path = env.gasclaw_home.join("addresses.json");
        env.wait_until("addresses.json", Duration::from_secs(30), || path.exists())
            .await;
        env.wait_bootstrapped().await;
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        let l = env.listening();
        assert_eq!(l.pid, run.id().expect("pid"));
        assert_ne!(l.proxy.port(), 0);
        assert_ne!(l.http.port(), 0);
        let settings = env.json(env.town.join("settings/config.json"));
        assert_eq!(
            settings["agents"]["kimi-claude"]["env"]["ANTHROPIC_BASE_URL"],
            format!("http://127.0.0.1:{}", l.proxy.port()),
            "{settings}"
        );
        // The proxy answers there, and the health endpoint too.
        let r = env.ask_model_as_agent().await;
        assert_ne!(r.status(), 401, "the agent's token was refused");
        let h = reqwest::get(format!("{}/healthz", env.http_url()))
            .await
            .expect("healthz");
        assert!(h.status() == 200 || h.status() == 503, "{}", h.status());
        let log = env.run_log();
        let line = log
            .lines()
            .find(|l| l.contains("listening (reported in addresses.json)"))
            .unwrap_or_else(|| panic!("no log line: {log}"));
        assert!(
            line.contains(&l.proxy.to_string()) && line.contains(&l.http.to_string()),
            "{line}"
        );
        assert_eq!(sigterm(run).await, Some(0));
    });
}
