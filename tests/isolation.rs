//! Secrets out of the agents' reach, through the real binary: `gasclaw run`
//! under an unprivileged uid, with its secrets in files and a config file,
//! against a process of that same uid (what an agent is today).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::os::unix::process::CommandExt;
use std::time::Duration;

use common::*;

const UID: u32 = 4242;

/// `cat <path>` as `UID`: (success, stdout, stderr).
fn read_as_agent(path: &str) -> (bool, String, String) {
    let out = std::process::Command::new("cat")
        .arg(path)
        .uid(UID)
        .gid(UID)
        .output()
        .expect("cat");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_same_uid_process_cannot_read_gasclaws_environment_and_children_get_no_secret_paths() {
    if !nix::unistd::geteuid().is_root() {
        println!("SKIPPED: this test needs root to run gasclaw under an unprivileged uid");
        return;
    }
    run_test(Duration::from_secs(120), async {
        let mut env = TestEnv::new();
        let secrets_dir = env.home.join("secrets");
        std::fs::create_dir(&secrets_dir).expect("mkdir");
        let keys = secrets_dir.join("kimi-keys");
        std::fs::write(&keys, format!("{}\n", AGENT_KEYS.join(":"))).expect("keys");
        let token = secrets_dir.join("bot-token");
        std::fs::write(&token, format!("{BOT_TOKEN}\n")).expect("token");
        let config = secrets_dir.join("gasclaw.toml");
        std::fs::write(&config, format!("openclaw_kimi_key = \"{OVERSEER_KEY}\"\n"))
            .expect("config");
        env.unset("GASTOWN_KIMI_KEYS")
            .set("GASTOWN_KIMI_KEYS_FILE", &keys.display().to_string())
            .unset("TELEGRAM_BOT_TOKEN")
            .set("TELEGRAM_BOT_TOKEN_FILE", &token.display().to_string())
            .unset("OPENCLAW_KIMI_KEY")
            .set("GASCLAW_CONFIG", &config.display().to_string());
        let chown = std::process::Command::new("chown")
            .args(["-R", &format!("{UID}:{UID}")])
            .arg(env.dir.path())
            .status()
            .expect("chown");
        assert!(chown.success());

        let mut cmd = env.command(&["run"]);
        cmd.uid(UID).gid(UID);
        let mut run = cmd.spawn().expect("spawn run");
        let pid = run.id().expect("pid");
        env.wait_until(
            "the gateway and the Mayor to run",
            Duration::from_secs(90),
            || {
                !env.processes_matching("gateway").is_empty()
                    && !env.processes_matching("claude").is_empty()
            },
        )
        .await;

        // gasclaw's own environment: refused to a process of its uid.
        let (ok, out, err) = read_as_agent(&format!("/proc/{pid}/environ"));
        assert!(
            !ok,
            "a same-uid process read gasclaw's environment: {} bytes",
            out.len()
        );
        assert!(err.contains("Permission denied"), "{err}");
        let (ok, _, _) = read_as_agent(&format!("/proc/{pid}/mem"));
        assert!(!ok);

        // The children's environments are readable by that uid (they are
        // its own processes) and hold no secret, no config path, no
        // secret-file path.
        for needle in ["gateway", "claude"] {
            let (child, cmdline) = env.processes_matching(needle)[0].clone();
            let (ok, environ, err) = read_as_agent(&format!("/proc/{child}/environ"));
            assert!(ok, "{cmdline}: {err}");
            for var in environ.split('\0') {
                let name = var.split('=').next().unwrap_or("");
                assert!(
                    name != "GASCLAW_CONFIG" && !name.ends_with("_FILE"),
                    "{cmdline} inherited {name}"
                );
                for s in secrets() {
                    assert!(!var.contains(s), "{cmdline} holds a secret in {name}");
                }
            }
        }

        let started = std::time::Instant::now();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("kill");
        let status = tokio::time::timeout(Duration::from_secs(30), run.wait())
            .await
            .expect("exits")
            .expect("wait");
        assert_eq!(status.code(), Some(0), "after {:?}", started.elapsed());
    });
}
