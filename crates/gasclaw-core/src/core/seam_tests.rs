//! The core over a scripted runner (the seam under it): restart settling,
//! bootstrap order and rollback, in milliseconds, with no child process.
//! The binary-level stories stay in `tests/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::config::Config;
use crate::core::bootstrap::Step;
use crate::stack::exec::{ExecError, Output};

/// The calls the script saw, as `prog arg…` lines.
type Calls = Arc<Mutex<Vec<String>>>;

fn config(dir: &Path, dolt_port: u16) -> Config {
    let env: BTreeMap<String, String> = [
        ("GASTOWN_KIMI_KEYS", "sk-kimi-aaaaaaaaaaaaaaaaaaaa1111"),
        ("OPENCLAW_KIMI_KEY", "sk-kimi-oooooooooooooooooooo9999"),
        ("TELEGRAM_BOT_TOKEN", "123456:AAbbCCddEEff_gg-hh"),
        ("TELEGRAM_OWNER_ID", "42"),
        ("HOME", dir.to_str().unwrap()),
        ("GASCLAW_HOME", dir.join("gasclaw").to_str().unwrap()),
        ("GT_ROOT", dir.join("gt").to_str().unwrap()),
        ("GT_RIG_URL", "https://example.invalid/project.git"),
        ("DOLT_PORT", &dolt_port.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Config::load(&env).unwrap()
}

fn scripted_core(
    dir: &Path,
    dolt_port: u16,
    answer: impl Fn(&str) -> Result<Output, ExecError> + Send + Sync + 'static,
) -> (Arc<Core>, Calls) {
    let calls: Calls = Arc::default();
    let seen = calls.clone();
    let script = move |argv: &[String]| {
        let line = argv.join(" ");
        seen.lock().unwrap().push(line.clone());
        answer(&line)
    };
    let core = Core::scripted(config(dir, dolt_port), dir.join("user"), Arc::new(script)).unwrap();
    (core, calls)
}

fn write_town(town: &Path) {
    std::fs::create_dir_all(town.join("mayor")).unwrap();
    std::fs::write(town.join("mayor/town.json"), r#"{"type":"town"}"#).unwrap();
    std::fs::create_dir_all(town.join(".beads")).unwrap();
    std::fs::write(town.join(".beads/metadata.json"), "{}").unwrap();
}

fn ok(out: &str) -> Result<Output, ExecError> {
    Ok(Output::scripted(0, out))
}

fn lines_starting(calls: &Calls, prefix: &str) -> Vec<String> {
    calls
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with(prefix))
        .cloned()
        .collect()
}

/// A restart stops before it starts, then polls the service's own check
/// until it passes (here the third answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_stops_then_starts_then_settles_on_the_check() {
    let dir = tempfile::tempdir().unwrap();
    write_town(&dir.path().join("gt"));
    let polls = Arc::new(Mutex::new(0));
    let p = polls.clone();
    let (core, calls) = scripted_core(dir.path(), 3307, move |line| match line {
        "gt mayor status --running" => {
            let mut n = p.lock().unwrap();
            *n += 1;
            ok(if *n >= 3 { "true" } else { "false" })
        }
        _ => ok(""),
    });
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        core.restart(Service::Mayor, &Actor::Cli),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(
        lines_starting(&calls, "gt mayor"),
        [
            "gt mayor stop",
            "gt mayor start",
            "gt mayor status --running",
            "gt mayor status --running",
            "gt mayor status --running",
        ]
    );
}

/// A start that fails is reported as such and never waited on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_is_an_error_and_is_not_settled() {
    let dir = tempfile::tempdir().unwrap();
    write_town(&dir.path().join("gt"));
    let (core, calls) = scripted_core(dir.path(), 3307, |line| match line {
        "gt mayor start" => Ok(Output::scripted(1, "tmux: no server")),
        _ => ok(""),
    });
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        core.restart(Service::Mayor, &Actor::Cli),
    )
    .await
    .unwrap();
    assert!(r.is_err(), "{r:?}");
    assert_eq!(
        lines_starting(&calls, "gt mayor"),
        ["gt mayor stop", "gt mayor start"]
    );
}

/// Serves a MySQL greeting on `listener` (what gasclaw's Dolt probe reads).
fn serve_greetings(listener: std::net::TcpListener) {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { return };
            use std::io::Write;
            let payload = b"\x0a8.0.33-dolt\x00";
            let mut packet = vec![payload.len() as u8, 0, 0, 0];
            packet.extend_from_slice(payload);
            let _ = c.write_all(&packet);
        }
    });
}

/// Bootstrap runs its steps in order; when one fails, what this run
/// started is undone newest first: the town step recorded "remove the new
/// town" before `gt install` started Dolt, so Dolt is stopped while the
/// town still exists, then the town is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_rolls_back_what_this_run_started_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let town: PathBuf = dir.path().join("gt");
    let dolt_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let town_at_dolt_stop = Arc::new(Mutex::new(None));
    let seen = town_at_dolt_stop.clone();
    let t = town.clone();
    let (core, calls) = scripted_core(dir.path(), dolt_port, move |line| {
        if line.starts_with("dolt config --global --get") {
            return ok("true");
        }
        if line.starts_with("gt install") {
            // gt creates the town and starts its Dolt server.
            write_town(&t);
            serve_greetings(std::net::TcpListener::bind(("127.0.0.1", dolt_port)).unwrap());
            return ok("");
        }
        if line.starts_with("gt rig add") {
            return Ok(Output::scripted(1, "fatal: repository not found"));
        }
        if line == "gt dolt stop" {
            *seen.lock().unwrap() = Some(t.join("mayor/town.json").exists());
        }
        ok("")
    });
    let report = tokio::time::timeout(Duration::from_secs(10), core.bootstrap(None))
        .await
        .unwrap()
        .unwrap();
    let ran: Vec<Step> = report.steps.iter().map(|r| r.step).collect();
    assert_eq!(ran, [Step::Keys, Step::Town, Step::Dolt, Step::Rig]);
    assert_eq!(report.failed.as_ref().map(|(s, _)| *s), Some(Step::Rig));
    assert_eq!(report.rolled_back.len(), 2, "{:?}", report.rolled_back);
    assert_eq!(report.rolled_back[0], "stopped Dolt");
    assert!(
        report.rolled_back[1].starts_with("removed the partial town"),
        "{:?}",
        report.rolled_back
    );
    assert_eq!(*town_at_dolt_stop.lock().unwrap(), Some(true));
    assert!(!town.exists());
    let all = calls.lock().unwrap().clone();
    let pos = |l: &str| all.iter().position(|c| c.starts_with(l));
    assert!(
        pos("gt install") < pos("gt rig add") && pos("gt rig add") < pos("gt dolt stop"),
        "{all:#?}"
    );
}
