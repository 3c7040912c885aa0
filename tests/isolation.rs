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

/// gasclaw's uid in the uid-split test (no passwd entry needed).
const GASCLAW_UID: u32 = 4251;
/// The stack's uid in the uid-split test.
const STACK_UID: u32 = 4252;

/// `(uids, gids, groups, CapEff, CapPrm, NoNewPrivs)` of a process, from
/// `/proc/<pid>/status`.
fn proc_ids(pid: u32) -> Option<(String, String, String, String, String, String)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> String {
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    Some((
        field("Uid"),
        field("Gid"),
        field("Groups"),
        field("CapEff"),
        field("CapPrm"),
        field("NoNewPrivs"),
    ))
}

fn chown(path: &std::path::Path, uid: u32, recursive: bool) {
    let mut c = std::process::Command::new("chown");
    if recursive {
        c.arg("-R");
    }
    let ok = c
        .arg(format!("{uid}:{uid}"))
        .arg(path)
        .status()
        .expect("chown");
    assert!(ok.success(), "chown {}", path.display());
}

fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `(uid, mode)` of a path.
fn owner_mode(path: &std::path::Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.uid(), m.mode() & 0o7777)
}

/// The `full` image's split, through the real binary: gasclaw started as
/// root with `GASCLAW_USER` and `STACK_USER` (plain numbers, no passwd
/// entries) becomes one uid, every child of the stack runs as the other,
/// and an agent started the way gt starts agents (the fake gt's `mayor
/// start`, run by gasclaw's runner) tries to read gasclaw's environment,
/// the config file, the secret files and `GASCLAW_HOME`'s tokens: every
/// read is refused, while bootstrap completes and the agent's model
/// request is answered through the key proxy with its local token.
#[test]
fn the_stack_runs_under_its_own_uid_and_cannot_read_gasclaws_secrets() {
    // This machine and CI run the tests as root; anywhere else this proof
    // cannot be made, and a skipped proof must not look like a passed one.
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test proves the uid split and needs root (it starts gasclaw as root, which drops to uid {GASCLAW_UID}, with the stack as uid {STACK_UID}): run it as root"
    );
    run_test(Duration::from_secs(240), async {
        use gasclaw_fakes::kimi::{FakeKimi, Reply};
        let kimi = FakeKimi::start().await.expect("fake kimi");
        kimi.set_default(Reply::Ok("FAKE-PONG".into()));
        kimi.label(AGENT_KEYS[0], "agent-1");
        kimi.label(AGENT_KEYS[1], "agent-2");
        let mut env = TestEnv::new();
        let root = env.dir.path().to_path_buf();

        // As in the image: gasclaw's home, config and secret files are its
        // own uid's, 0700/0600; the town, the project and the fakes' state
        // are the stack's; the stack's HOME does not exist yet.
        let secrets_dir = root.join("secrets");
        std::fs::create_dir(&secrets_dir).expect("mkdir");
        let keys = secrets_dir.join("kimi-keys");
        std::fs::write(&keys, format!("{}\n", AGENT_KEYS.join(":"))).expect("keys");
        let token = secrets_dir.join("bot-token");
        std::fs::write(&token, format!("{BOT_TOKEN}\n")).expect("token");
        let config = secrets_dir.join("gasclaw.toml");
        std::fs::write(&config, format!("openclaw_kimi_key = \"{OVERSEER_KEY}\"\n"))
            .expect("config");
        for f in [&keys, &token, &config] {
            chmod(f, 0o600);
        }
        chmod(&secrets_dir, 0o700);
        chown(&secrets_dir, GASCLAW_UID, true);
        chmod(&env.home, 0o700);
        chown(&env.home, GASCLAW_UID, true);
        std::fs::create_dir(&env.town).expect("mkdir town");
        for d in [&env.town, &env.project, &env.fake_dir] {
            chown(d, STACK_UID, true);
        }
        chmod(&root, 0o711);
        let stack_home = root.join("stack-home");
        env.unset("GASTOWN_KIMI_KEYS")
            .set("GASTOWN_KIMI_KEYS_FILE", &keys.display().to_string())
            .unset("TELEGRAM_BOT_TOKEN")
            .set("TELEGRAM_BOT_TOKEN_FILE", &token.display().to_string())
            .unset("OPENCLAW_KIMI_KEY")
            .set("GASCLAW_CONFIG", &config.display().to_string())
            .set("GASCLAW_USER", &GASCLAW_UID.to_string())
            .set("STACK_USER", &STACK_UID.to_string())
            .set("STACK_HOME", &stack_home.display().to_string())
            .set("KIMI_BASE_URL", &kimi.base_url());
        // The agents serve gt's beacon as their first turn (a model request
        // through the proxy).
        env.fault("CLAUDE_SERVE_PROMPT", "1");

        let log_path = root.join("gasclaw.log");
        let log = std::fs::File::create(&log_path).expect("log");
        let mut cmd = env.command(&["run"]);
        cmd.stdout(log.try_clone().expect("log")).stderr(log);
        let mut run = cmd.spawn().expect("spawn run");
        let pid = run.id().expect("pid");

        // What a prompt-injected agent would try first.
        let gh = &env.gasclaw_home;
        let forbidden: Vec<String> = vec![
            format!("/proc/{pid}/environ"),
            config.display().to_string(),
            keys.display().to_string(),
            token.display().to_string(),
            gh.display().to_string(),
            gh.join("gateway-token").display().to_string(),
            gh.join("overseer-api-token").display().to_string(),
            gh.join("local-tokens.json").display().to_string(),
        ];
        // Its own files it must read (the probe works), and the gateway's
        // config, which holds the gateway token and the overseer's local
        // token: the same uid as the gateway, so readable (the README says so).
        let own = stack_home.join(".claude-kimigas/.claude.json");
        let gateway_config = stack_home.join(".openclaw/openclaw.json");
        let mut probe = forbidden.clone();
        probe.push(own.display().to_string());
        probe.push(gateway_config.display().to_string());
        env.fault("CLAUDE_PROBE_READ", &probe.join("\n"));

        env.wait_until("bootstrap to end", Duration::from_secs(150), || {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            log.contains("bootstrap finished") || log.contains("bootstrap failed")
        })
        .await;
        let log = std::fs::read_to_string(&log_path).expect("log");
        assert!(
            log.contains("bootstrap finished; the stack is up"),
            "bootstrap did not complete:\n{log}"
        );

        // gasclaw: its own uid, only the capabilities it needs, no_new_privs.
        let (uids, gids, groups, eff, prm, nnp) = proc_ids(pid).expect("gasclaw runs");
        let a = GASCLAW_UID;
        assert_eq!(uids, format!("{a} {a} {a} {a}"));
        assert_eq!(gids, format!("{a} {a} {a} {a}"));
        assert_eq!(groups, a.to_string());
        // CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, KILL 5, SETGID 6, SETUID 7.
        assert_eq!(
            (eff.as_str(), prm.as_str()),
            ("00000000000000eb", "00000000000000eb")
        );
        assert_eq!(nnp, "1");

        // Every process of the stack: the stack's uid, no group of
        // gasclaw's, no capability.
        let b = STACK_UID;
        // A child caught between fork and exec still shows gasclaw's
        // command line (and is non-dumpable, like gasclaw): not the stack's
        // yet.
        let own_cmdline = env
            .processes()
            .into_iter()
            .find(|(p, _)| *p == pid)
            .map(|(_, c)| c)
            .expect("gasclaw among the processes");
        let stack: Vec<(u32, String)> = env
            .processes()
            .into_iter()
            .filter(|(p, c)| *p != pid && *c != own_cmdline)
            .collect();
        for needle in ["claude", "gateway", "daemon run", "sql-server"] {
            assert!(
                stack.iter().any(|(_, c)| c.contains(needle)),
                "no `{needle}` among the stack's processes: {stack:?}"
            );
        }
        for (p, cmdline) in &stack {
            // A short-lived child may be gone already.
            let Some((uids, gids, groups, eff, prm, nnp)) = proc_ids(*p) else {
                continue;
            };
            assert_eq!(uids, format!("{b} {b} {b} {b}"), "{cmdline}");
            assert_eq!(gids, format!("{b} {b} {b} {b}"), "{cmdline}");
            assert_eq!(groups, "", "{cmdline}");
            assert_eq!(
                (eff.as_str(), prm.as_str(), nnp.as_str()),
                ("0000000000000000", "0000000000000000", "1"),
                "{cmdline}"
            );
        }

        // The agent's reads.
        let probes_file = env.fake_dir.join("claude-probes.jsonl");
        let probes = || -> Vec<serde_json::Value> {
            std::fs::read_to_string(&probes_file)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        };
        env.wait_until("the agent's probes", Duration::from_secs(20), || {
            probes().len() >= probe.len()
        })
        .await;
        let seen = probes();
        let result = |path: &str| -> &serde_json::Value {
            seen.iter()
                .find(|r| r["path"] == path)
                .unwrap_or_else(|| panic!("no probe of {path}: {seen:?}"))
        };
        for path in &forbidden {
            let r = result(path);
            assert_eq!(r["uid"], b, "{r}");
            assert_eq!(r["ok"], false, "the agent read {path}: {r}");
            assert_eq!(r["error"], "Permission denied", "{path}: {r}");
        }
        assert_eq!(result(&own.display().to_string())["ok"], true);
        assert_eq!(result(&gateway_config.display().to_string())["ok"], true);

        // And the agent's model request went through the proxy.
        let turns_file = env.fake_dir.join("claude-turns.jsonl");
        env.wait_until("the agent's answer", Duration::from_secs(20), || {
            std::fs::read_to_string(&turns_file)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .any(|t| t["ok"] == true && t["text"] == "FAKE-PONG")
        })
        .await;
        // Kimi saw the agents' real keys, which the agent never held.
        let used = kimi.keys_used();
        assert!(
            !used.is_empty() && used.iter().all(|k| k.starts_with("agent-")),
            "{used:?}"
        );

        // Ownership: gasclaw's files its own and private, the stack's files
        // the stack's; and a sweep of every file gasclaw keeps, read by a
        // process of the stack's uid.
        assert_eq!(owner_mode(gh), (a, 0o700));
        for f in ["gateway-token", "overseer-api-token", "local-tokens.json"] {
            assert_eq!(owner_mode(&gh.join(f)), (a, 0o600), "{f}");
        }
        assert_eq!(owner_mode(&stack_home), (b, 0o700));
        for (p, mode) in [
            (stack_home.join(".kimi-accounts/1/config.toml"), 0o600),
            (stack_home.join(".claude-kimigas"), 0o700),
            (own.clone(), 0o600),
            (stack_home.join(".openclaw"), 0o700),
            (gateway_config.clone(), 0o600),
            (env.town.join("settings/config.json"), 0o600),
        ] {
            assert_eq!(owner_mode(&p), (b, mode), "{}", p.display());
        }
        let mut kept = Vec::new();
        walk_files(gh, &mut kept);
        walk_files(&secrets_dir, &mut kept);
        assert!(kept.len() > 5, "{kept:?}");
        for f in &kept {
            let out = std::process::Command::new("cat")
                .arg(f)
                .uid(b)
                .gid(b)
                .output()
                .expect("cat");
            assert!(!out.status.success(), "uid {b} read {}", f.display());
        }

        // gasclaw stops what it started, the stack's processes included.
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("kill");
        let status = tokio::time::timeout(Duration::from_secs(30), run.wait())
            .await
            .expect("exits")
            .expect("wait");
        assert_eq!(status.code(), Some(0));
        assert!(
            env.processes_matching("gateway").is_empty(),
            "the gateway survived gasclaw's stop"
        );
    });
}

fn walk_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk_files(&p, out),
            Ok(t) if t.is_file() => out.push(p),
            _ => {}
        }
    }
}

/// gasclaw refuses to run the stack under another uid when it cannot: not
/// root and not `GASCLAW_USER` already, `GASCLAW_USER` without the
/// capabilities to switch, or a secret file the stack could read. It never
/// carries on as a single uid, or with a leak, silently. Started as
/// `GASCLAW_USER` with the capabilities given from outside, it runs.
#[test]
fn the_uid_split_is_refused_by_name_when_it_cannot_be_made() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test starts gasclaw under unprivileged uids and needs root: run it as root"
    );
    run_test(Duration::from_secs(60), async {
        let mut env = TestEnv::new();
        let stack_home = env.dir.path().join("stack-home");
        env.set("GASCLAW_USER", &GASCLAW_UID.to_string())
            .set("STACK_USER", &STACK_UID.to_string())
            .set("STACK_HOME", &stack_home.display().to_string());
        chmod(env.dir.path(), 0o711);
        let run_as = |uid: u32| {
            let mut c = env.command(&["config"]);
            c.uid(uid).gid(uid);
            c
        };
        // Another unprivileged uid: cannot become GASCLAW_USER.
        let out = run_as(4259).output().await.expect("gasclaw");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "GASCLAW_USER is {GASCLAW_UID}:{GASCLAW_UID} but gasclaw runs as uid 4259, not root"
            )),
            "{err}"
        );
        // GASCLAW_USER itself, without CAP_SETUID: cannot start the stack.
        let out = run_as(GASCLAW_UID).output().await.expect("gasclaw");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("STACK_USER is set but gasclaw, running as uid 4251, cannot switch users"),
            "{err}"
        );
        // GASCLAW_USER itself, given the capabilities from outside
        // (ambient, as setpriv or a runtime would): works.
        let out = tokio::process::Command::new("setpriv")
            .args([
                &format!("--reuid={GASCLAW_UID}"),
                &format!("--regid={GASCLAW_UID}"),
                "--clear-groups",
                "--inh-caps=+setuid,+setgid",
                "--ambient-caps=+setuid,+setgid",
                "--",
            ])
            .arg(gasclaw_bin())
            .arg("config")
            .env_clear()
            .envs(&env.vars)
            .current_dir(env.dir.path())
            .output()
            .await
            .expect("setpriv");
        assert!(out.status.success(), "{out:?}");
        // As root it drops and works.
        let out = env.command(&["config"]).output().await.expect("gasclaw");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("{STACK_UID}:{STACK_UID}")), "{text}");
        // A secret file the stack could read (a host file left 0644, say)
        // is refused by name rather than silently shared.
        let keys = env.dir.path().join("kimi-keys");
        std::fs::write(&keys, AGENT_KEYS.join(":")).expect("keys");
        chmod(&keys, 0o644);
        env.unset("GASTOWN_KIMI_KEYS")
            .set("GASTOWN_KIMI_KEYS_FILE", &keys.display().to_string());
        let out = env.command(&["config"]).output().await.expect("gasclaw");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "GASTOWN_KIMI_KEYS_FILE: {} is readable by STACK_USER (uid {STACK_UID})",
                keys.display()
            )),
            "{err}"
        );
        chmod(&keys, 0o600);
        let out = env.command(&["config"]).output().await.expect("gasclaw");
        assert!(out.status.success(), "{out:?}");

        // A town made before the split (gasclaw's, here root's) is named
        // with the one command that fixes it, before gt fails on it.
        std::fs::create_dir(&env.town).expect("mkdir town");
        chown(&env.fake_dir, STACK_UID, true);
        let out = env.gasclaw(&["bootstrap"], Duration::from_secs(30)).await;
        assert_ne!(out.code, Some(0), "{out:?}");
        assert!(
            out.all().contains(&format!(
                "the town at {} belongs to uid 0, not STACK_USER ({STACK_UID}:{STACK_UID}); give it to the stack once: chown -R {STACK_UID}:{STACK_UID} {}",
                env.town.display(),
                env.town.display()
            )),
            "{out:?}"
        );
        assert!(
            !env.call_lines().iter().any(|c| c.starts_with("gt install")),
            "gt ran on a town it cannot write"
        );
    });
}
