//! Shipping it: the OpenClaw skills (front matter, and every script run
//! against the fake stack), Beads in chat, versions and the update check,
//! and the HTTP endpoints (`/healthz`, `/metrics` parsed as Prometheus text).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use gasclaw_fakes::bot_api::updates::{self, User};
use serde_json::Value;

const T: Duration = Duration::from_secs(180);

/// The front matter of a SKILL.md as key → raw value.
fn front_matter(text: &str) -> BTreeMap<String, String> {
    let body = text
        .strip_prefix("---\n")
        .expect("SKILL.md starts with ---");
    let end = body.find("\n---\n").expect("front matter ends with ---");
    body[..end]
        .lines()
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

fn skills() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo_root().join("skills"))
        .expect("skills/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// `gasclaw update --check --json` as program → (installed, pinned, problem).
fn versions(out: &Out) -> BTreeMap<String, (Value, Value, Value)> {
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("update --check --json is not JSON ({e}): {out:?}"));
    v.as_array()
        .expect("an array")
        .iter()
        .map(|p| {
            (
                p["program"].as_str().expect("program").to_string(),
                (
                    p["installed"].clone(),
                    p["pinned"].clone(),
                    p["problem"].clone(),
                ),
            )
        })
        .collect()
}

#[test]
fn update_check_reports_what_differs_from_the_pins() {
    run_test(T, async {
        let mut env = TestEnv::new();
        // The fakes report the pinned versions: nothing to report, exit 0.
        let out = env.gasclaw(&["update", "--check", "--json"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        let v = versions(&out);
        for p in ["gt", "dolt", "bd", "openclaw", "claude"] {
            assert_eq!(v[p].0, v[p].1, "{p}: {v:?}");
        }
        assert_eq!(v["gt"].1, "1.2.1");
        assert_eq!(v["claude"].1, "2.1.332");
        // A pin that differs from what is installed is reported, exit 1.
        env.set("CLAUDE_VERSION", "2.1.400");
        let out = env.gasclaw(&["update", "--check", "--json"], T).await;
        assert_eq!(out.code, Some(1), "a difference is exit 1: {out:?}");
        assert_eq!(versions(&out)["claude"].0, "2.1.332");
        let table = env.gasclaw(&["update", "--check"], T).await;
        let claude = table
            .stdout
            .lines()
            .find(|l| l.starts_with("claude"))
            .unwrap_or_default();
        assert!(claude.contains("DIFFERS"), "{}", table.stdout);
        assert_eq!(
            table.stdout.matches("DIFFERS").count(),
            1,
            "{}",
            table.stdout
        );
        env.set("CLAUDE_VERSION", "2.1.332");
        // A missing program is "not installed"; a hanging one is cut off
        // at CHECK_TIMEOUT and named, the others still answer.
        let fakes = repo_root().join("tests/fakes/bin");
        for prog in ["gt", "dolt", "claude"] {
            std::os::unix::fs::symlink(fakes.join(prog), env.bin.join(prog)).expect("symlink");
        }
        let hang = env.bin.join("openclaw");
        std::fs::write(&hang, "#!/bin/sh\nexec sleep 600\n").expect("write");

        std::fs::set_permissions(&hang, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let path = format!("{}:/usr/bin:/bin", env.bin.display());
        env.set("PATH", &path).set("CHECK_TIMEOUT", "2");
        let out = env.gasclaw(&["update", "--check", "--json"], T).await;
        assert!(
            out.elapsed < Duration::from_secs(8),
            "took {:?}",
            out.elapsed
        );
        assert_eq!(out.code, Some(1), "{out:?}");
        let v = versions(&out);
        assert_eq!(v["bd"].0, Value::Null);
        assert_eq!(v["bd"].2, "not installed");
        assert_eq!(v["openclaw"].0, Value::Null);
        assert!(
            v["openclaw"]
                .2
                .as_str()
                .unwrap_or("")
                .contains("`openclaw --version` timed out after 2s"),
            "{v:?}"
        );
        assert_eq!(v["gt"].0, "1.2.1");
    });
}

#[test]
fn tasks_without_a_town_say_so_clearly() {
    run_test(T, async {
        let env = TestEnv::new();
        let out = env.gasclaw(&["tasks"], T).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stderr
                .contains("the town has no task database yet (run bootstrap)"),
            "{out:?}"
        );
    });
}

#[test]
fn every_skill_has_valid_front_matter_and_its_scripts() {
    let names: Vec<String> = skills()
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "ais-orchestrator",
            "gastown-agents",
            "gastown-health",
            "gastown-keys",
            "gastown-update"
        ]
    );
    for dir in skills() {
        let text = std::fs::read_to_string(dir.join("SKILL.md")).expect("SKILL.md");
        let fm = front_matter(&text);
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            fm.get("name"),
            Some(&name),
            "{name}: name must match the directory"
        );
        assert!(
            fm.get("description").is_some_and(|d| d.len() > 20),
            "{name}: description"
        );
        assert!(
            matches!(
                fm.get("user-invocable").map(String::as_str),
                Some("true" | "false")
            ),
            "{name}"
        );
        let meta: Value = serde_json::from_str(fm.get("metadata").expect("metadata"))
            .expect("metadata is one-line JSON");
        assert_eq!(
            meta["openclaw"]["requires"]["bins"],
            serde_json::json!(["curl"]),
            "{name}"
        );
        assert!(
            fm.keys().all(
                |k| ["name", "description", "user-invocable", "metadata"].contains(&k.as_str())
            ),
            "{name}: {fm:?}"
        );
        // Every script the instructions name exists and is executable.
        for word in text.split_whitespace() {
            if let Some(rest) = word.trim_matches('`').strip_prefix("{baseDir}/") {
                let script = dir.join(rest.trim_end_matches(['`', ',', '.', ';']));
                let mode = std::fs::metadata(&script)
                    .unwrap_or_else(|_| panic!("{name}: {} missing", script.display()))
                    .permissions();
                use std::os::unix::fs::PermissionsExt;
                assert!(
                    mode.mode() & 0o111 != 0,
                    "{} not executable",
                    script.display()
                );
            }
        }
    }
}

/// Runs an installed skill script as the gateway runs it: from the
/// installed copy, with exactly the gateway process's environment.
async fn script(
    env: &TestEnv,
    gateway_env: &[(String, String)],
    skill: &str,
    name: &str,
    args: &[&str],
) -> (Option<i32>, String) {
    let path = env
        .home
        .join(".openclaw/skills")
        .join(skill)
        .join("scripts")
        .join(name);
    assert!(path.exists(), "{} not installed", path.display());
    let out = tokio::process::Command::new(&path)
        .args(args)
        .env_clear()
        .envs(gateway_env.iter().map(|(k, v)| (k, v)))
        .current_dir(env.home.join(".openclaw"))
        .output()
        .await
        .expect("run script");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The environment of a running process.
fn environ_of(pid: u32) -> Vec<(String, String)> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .expect("environ")
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// A sample's number, whatever type the parser gave it (OpenMetrics
/// counters read as untyped by a 0.0.4 parser).
fn num(v: &prometheus_parse::Value) -> f64 {
    match v {
        prometheus_parse::Value::Counter(x)
        | prometheus_parse::Value::Gauge(x)
        | prometheus_parse::Value::Untyped(x) => *x,
        _ => f64::NAN,
    }
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn skill_scripts_reach_gasclaw_only_through_its_endpoint_with_the_gateways_environment() {
    run_test(T, async {
        let tg = fake_telegram(false).await;
        let mut env = TestEnv::new();
        env.use_telegram(&tg);
        // An install by an earlier version allowlisted the gasclaw binary.
        let old = std::fs::canonicalize(gasclaw_bin()).expect("binary");
        std::fs::create_dir_all(env.home.join(".openclaw")).expect("mkdir");
        std::fs::write(
            env.home.join(".openclaw/exec-approvals.json"),
            serde_json::json!({"version": 1, "defaults": {}, "agents": {"main": {"allowlist": [
                {"pattern": old.display().to_string(), "id": "old"}
            ]}}})
            .to_string(),
        )
        .expect("old approvals");
        let run = env.start_run(&tg).await;
        // The installed copies keep their run bits.
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(
            env.home
                .join(".openclaw/skills/gastown-health/scripts/status.sh"),
        )
        .expect("installed");
        assert_eq!(m.permissions().mode() & 0o777, 0o755);
        // The environment the real gateway process has (scrubbed by gasclaw).
        let (gw, cmd) = env
            .processes_matching("gateway run")
            .first()
            .cloned()
            .expect("the gateway runs");
        let genv = environ_of(gw);
        let var = |k: &str| genv.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        // The endpoint bound port 0: the gateway got the port it bound.
        assert_eq!(
            var("GASCLAW_API_URL").as_deref(),
            Some(env.http_url().as_str()),
            "{cmd}"
        );
        for k in ["GASTOWN_KIMI_KEYS", "TELEGRAM_BOT_TOKEN", "GASCLAW_CONFIG"] {
            assert!(var(k).is_none(), "the gateway has {k}");
        }

        let (code, out) = script(&env, &genv, "gastown-health", "status.sh", &[]).await;
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(json(&out)["checks"].as_array().map(Vec::len), Some(5));
        let (code, out) = script(&env, &genv, "gastown-keys", "keys.sh", &[]).await;
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(json(&out)["agents"]["total"], 2);
        // Token usage through the same narrow path (nothing used yet).
        let (code, out) = script(&env, &genv, "gastown-keys", "usage.sh", &["week"]).await;
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(json(&out)["by"], "slot", "{out}");
        assert!(json(&out)["rows"].is_array(), "{out}");
        let (code, out) = script(&env, &genv, "gastown-agents", "agents.sh", &[]).await;
        assert_eq!(code, Some(0), "{out}");
        assert!(json(&out)["agents"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x["name"] == "mayor" && x["running"] == true)
        }));
        let made = env
            .gasclaw(&["tasks", "new", "Write", "the", "parser", "--json"], T)
            .await;
        let id = json(&made.stdout)[0]["id"]
            .as_str()
            .expect("id")
            .to_string();
        let (code, out) = script(&env, &genv, "ais-orchestrator", "tasks.sh", &[]).await;
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(json(&out)[0]["title"], "Write the parser");
        let (code, out) = script(&env, &genv, "ais-orchestrator", "task.sh", &[&id]).await;
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(json(&out)[0]["id"], id.as_str());

        // Control actions are refused, and nothing happens.
        env.clear_calls();
        for (skill, name, args) in [
            ("gastown-agents", "restart.sh", vec!["mayor"]),
            (
                "ais-orchestrator",
                "newtask.sh",
                vec!["Delete", "everything"],
            ),
            ("ais-orchestrator", "done.sh", vec![id.as_str()]),
            ("gastown-update", "check.sh", vec![]),
        ] {
            let (code, out) = script(&env, &genv, skill, name, &args).await;
            assert_eq!(code, Some(1), "{name}: {out}");
            assert!(
                json(&out)["error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("refused")),
                "{out}"
            );
        }
        assert!(
            !env.call_lines()
                .iter()
                .any(|l| l.contains("mayor stop") || l.contains("create") || l.contains("close")),
            "{:#?}",
            env.call_lines()
        );
        let (code, _) = script(&env, &genv, "gastown-agents", "restart.sh", &["rm -rf"]).await;
        assert_eq!(code, Some(2));
        // Without the overseer's token: nothing.
        let mut wrong = genv.clone();
        for (k, v) in &mut wrong {
            if k == "GASCLAW_API_TOKEN" {
                *v = "not-the-token".into();
            }
        }
        let (code, out) = script(&env, &wrong, "gastown-health", "status.sh", &[]).await;
        assert_eq!(code, Some(1));
        assert!(out.contains("wrong token"), "{out}");

        // Every overseer action is in the audit log, as the overseer's.
        let audit = std::fs::read_to_string(env.gasclaw_home.join("audit.log")).expect("audit");
        let lines: Vec<Value> = audit
            .lines()
            .map(json)
            .filter(|l| l["actor"] == "overseer")
            .collect();
        let seen: Vec<(String, String)> = lines
            .iter()
            .map(|l| {
                (
                    l["command"].as_str().unwrap_or("").to_string(),
                    l["outcome"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        for want in [
            ("status", "ok"),
            ("keys", "ok"),
            ("agents", "ok"),
            ("tasks", "ok"),
            ("task", "ok"),
            ("restart", "refused"),
            ("tasks", "refused"),
            ("update", "refused"),
        ] {
            assert!(
                seen.contains(&(want.0.to_string(), want.1.to_string())),
                "{want:?} not in {seen:?}"
            );
        }
        // The exec allowlist holds exactly the skills' scripts.
        let approvals = env.json(env.home.join(".openclaw/exec-approvals.json"));
        let patterns: Vec<&str> = approvals["agents"]["main"]["allowlist"]
            .as_array()
            .expect("allowlist")
            .iter()
            .filter_map(|e| e["pattern"].as_str())
            .collect();
        assert_eq!(patterns.len(), 1, "{patterns:?}");
        assert!(patterns[0].ends_with("/skills/*/scripts/*"), "{patterns:?}");
        let cfg = env.json(env.home.join(".openclaw/openclaw.json"));
        assert_eq!(cfg["tools"]["exec"]["mode"], "allowlist");
        assert_eq!(sigterm(run).await, Some(0));
        tg.stop();
    });
}

#[test]
fn beads_versions_and_the_http_endpoints_through_run() {
    run_test(T, async {
        let tg = fake_telegram(false).await;
        let mut env = TestEnv::new();
        env.use_telegram(&tg);
        env.set("TELEGRAM_ALLOW_IDS", "7002")
            .set("MONITOR_INTERVAL", "2");
        let run = env.start_run(&tg).await;
        let owner = User::new(OWNER_ID, "Owner");
        let say = |text: &str| {
            let tg = tg.clone();
            let floor = tg.last_seq();
            tg.push_update(updates::private_text(&owner, text));
            async move {
                tg.wait_for(
                    |c| {
                        c.seq > floor
                            && c.method == "sendmessage"
                            && c.chat_id() == Some(OWNER_ID as i64)
                    },
                    Duration::from_secs(20),
                )
                .await
                .expect("reply")
                .text()
                .to_string()
            }
        };
        // Beads in chat.
        assert_eq!(say("/tasks").await, "No open tasks.");
        let created = say("/newtask Fix the flaky test").await;
        assert!(
            created.starts_with("✅ Created hq-") && created.ends_with(": Fix the flaky test"),
            "{created}"
        );
        let id = created
            .trim_start_matches("✅ Created ")
            .split(':')
            .next()
            .expect("id")
            .to_string();
        say("/newtask Second thing").await;
        let list = say("/tasks").await;
        assert!(list.contains("Open tasks (2, newest first)"), "{list}");
        assert!(
            list.find("Second thing") < list.find("Fix the flaky test"),
            "newest first: {list}"
        );
        let one = say(&format!("/task {id}")).await;
        assert!(
            one.contains("<b>Fix the flaky test</b>") && one.contains("by telegram:Owner"),
            "{one}"
        );
        assert!(
            say(&format!("/done {id}"))
                .await
                .contains(&format!("Closed {id}"))
        );
        assert_eq!(say("/task hq-zzzz").await, "⚠️ No task matches hq-zzzz.");
        let member_tries = {
            let stranger_op = User::new(7002, "Op");
            let floor = tg.last_seq();
            tg.push_update(updates::private_text(&stranger_op, "/done hq-abcd"));
            tg.wait_for(
                |c| c.seq > floor && c.method == "sendmessage" && c.chat_id() == Some(7002),
                Duration::from_secs(20),
            )
            .await
            .expect("reply")
            .text()
            .to_string()
        };
        assert!(
            member_tries.contains("No task matches"),
            "operators may close: {member_tries}"
        );
        env.fault("BD_DOWN", "1");
        let down = say("/tasks").await;
        assert!(down.contains("connection refused"), "{down}");
        env.clear_fault("BD_DOWN");

        // Versions: every program, with a timeout, "not installed" when missing.
        let v = say("/version").await;
        for p in ["gasclaw", "gt", "dolt", "bd", "openclaw", "claude"] {
            assert!(v.contains(&format!("<code>{p}</code>")), "{v}");
        }
        assert!(
            v.contains("1.2.1")
                && v.contains("2.3.1")
                && v.contains("1.0.5")
                && v.contains("2026.9.6"),
            "{v}"
        );
        assert!(
            v.contains("2.1.332") && !v.contains("pinned"),
            "every fake reports its pin: {v}"
        );

        // /healthz: 200 once the bot polls and the monitor cycled.
        let base = env.http_url();
        let mut health = Value::Null;
        for _ in 0..50 {
            let r = reqwest::get(format!("{base}/healthz"))
                .await
                .expect("healthz");
            if r.status() == 200 {
                health = r.json().await.expect("json");
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(health["ok"], true, "{health}");
        assert_eq!(health["bot"]["polling"], true);
        assert_eq!(
            health["monitor"]["last_cycle"]["report"]["checks"]
                .as_array()
                .map(Vec::len),
            Some(5)
        );
        let hc = env.gasclaw(&["healthcheck"], T).await;
        assert_eq!(hc.code, Some(0), "{hc:?}");

        // /metrics parses as Prometheus text with the promised families.
        let text = reqwest::get(format!("{base}/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("body");
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");
        let names: std::collections::BTreeSet<&str> =
            scrape.samples.iter().map(|s| s.metric.as_str()).collect();
        for m in [
            "gasclaw_check_up",
            "gasclaw_check_latency_seconds",
            "gasclaw_alerts_sent_total",
            "gasclaw_alerts_queued",
            "gasclaw_commands_total",
            "gasclaw_key_cooldown_seconds",
            "gasclaw_pool_keys",
        ] {
            assert!(names.contains(m), "{m} missing from {names:?}");
        }
        let mayor_up = scrape
            .samples
            .iter()
            .find(|s| s.metric == "gasclaw_check_up" && s.labels.get("check") == Some("mayor"))
            .expect("mayor check");
        assert_eq!(num(&mayor_up.value), 1.0);
        let tasks_ok = scrape
            .samples
            .iter()
            .find(|s| {
                s.metric == "gasclaw_commands_total"
                    && s.labels.get("command") == Some("tasks")
                    && s.labels.get("outcome") == Some("ok")
            })
            .expect("commands by name and outcome");
        assert!(num(&tasks_ok.value) >= 3.0, "{:?}", tasks_ok.value);
        for s in secrets() {
            assert!(
                !text.contains(s)
                    && !serde_json::to_string(&health)
                        .unwrap_or_default()
                        .contains(s)
            );
        }

        assert_eq!(sigterm(run).await, Some(0));
        // Down: healthcheck says so.
        let hc = env.gasclaw(&["healthcheck"], T).await;
        assert_eq!(hc.code, Some(1), "{hc:?}");
        assert!(hc.stdout.contains("nothing listens"), "{hc:?}");
        tg.stop();
    });
}

#[test]
fn proxy_requests_show_in_metrics_by_status_and_key_hint() {
    run_test(T, async {
        let kimi = gasclaw_fakes::kimi::FakeKimi::start().await.expect("kimi");
        kimi.script(
            AGENT_KEYS[0],
            "A",
            vec![gasclaw_fakes::kimi::Reply::RateLimited { retry_after: None }],
        );
        let tg = fake_telegram(false).await;
        let mut env = TestEnv::new();
        env.use_telegram(&tg);
        env.set("KIMI_BASE_URL", &kimi.base_url());
        let run = env.start_run(&tg).await;
        let r = env.ask_model_as_agent().await;
        assert_eq!(r.status(), 200);
        let text = reqwest::get(format!("{}/metrics", env.http_url()))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("body");
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
            .expect("parse");
        let by = |metric: &str, pairs: &[(&str, &str)]| {
            scrape
                .samples
                .iter()
                .find(|s| {
                    s.metric == metric && pairs.iter().all(|(k, v)| s.labels.get(k) == Some(v))
                })
                .map(|s| s.value.clone())
        };
        let n = |m: &str, l: &[(&str, &str)]| {
            by(m, l)
                .map(|v| num(&v))
                .unwrap_or_else(|| panic!("{m} {l:?} missing: {text}"))
        };
        assert_eq!(
            n(
                "gasclaw_proxy_requests_total",
                &[("status", "200"), ("key", "…0002")]
            ),
            1.0
        );
        assert_eq!(n("gasclaw_proxy_retries_total", &[]), 1.0);
        assert!(
            n(
                "gasclaw_key_cooldown_seconds",
                &[("pool", "agents"), ("key", "…0001")]
            ) > 250.0
        );
        assert_eq!(
            n(
                "gasclaw_pool_keys",
                &[("pool", "agents"), ("state", "cooling")]
            ),
            1.0
        );
        assert_eq!(sigterm(run).await, Some(0));
        tg.stop();
        kimi.stop();
    });
}
